"""The definition of a custom field and the choices of a choice field. Values live on the
records themselves (a JSON object per record, keyed by the definition's `key`)."""

from __future__ import annotations

from django.core.validators import MaxValueValidator
from django.db import models
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from kernel.free_text import validate_readable_text
from kernel.models import BackgroundJob


class FieldTarget(models.TextChoices):
    CUSTOMER = "customer", _("Customers")
    DEAL = "deal", _("Deals")
    INTERACTION = "interaction", _("Interactions")


class FieldType(models.TextChoices):
    TEXT = "text", _("Text")
    LONG_TEXT = "long_text", _("Long text")
    NUMBER = "number", _("Number")
    MONEY = "money", _("Money")
    DATE = "date", _("Date")
    YES_NO = "yes_no", _("Yes / no")
    CHOICE = "choice", _("One choice")
    CHOICES = "choices", _("Several choices")
    URL = "url", _("Web address")
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone")
    USER = "user", _("Staff member")


CHOICE_TYPES = (FieldType.CHOICE, FieldType.CHOICES)
# Types whose values are shared by many people whatever an administrator marks: never treated
# as identifying (the duplicate scan, the search box).
NOT_IDENTIFYING_TYPES = (FieldType.YES_NO, FieldType.CHOICES)
# Types whose values are free text as people write it.
TEXT_TYPES = (
    FieldType.TEXT,
    FieldType.LONG_TEXT,
    FieldType.URL,
    FieldType.EMAIL,
    FieldType.PHONE,
)


class Sensitivity(models.TextChoices):
    ORDINARY = "ordinary", _("Ordinary")
    PERSONAL = "personal", _("Personal: masked without the permission to see personal data")
    SENSITIVE = "sensitive", _("Sensitive: encrypted, revealed on request and audited")


def _in_language(english: str, chinese: str) -> str:
    """The Chinese text on Chinese pages when there is one, else the English."""
    if chinese and (get_language() or "").startswith("zh"):
        return chinese
    return english


def values_field() -> models.JSONField:
    """The column holding a record's custom values, by key, in their stored forms
    (customers/custom_fields/values.py), on every record kind registered as a target. The
    database default serves writers that name their columns and leave it out (the bench's
    loader, the interactions archive's copy)."""
    return models.JSONField(
        _("custom fields"),
        default=dict,
        blank=True,
        db_default=models.Value({}, output_field=models.JSONField()),
    )


# How a custom field is named beside the built-in fields, wherever both are listed: a service's
# errors, export columns, import fields, segment rules, the API ("custom.<key>").
NAME_PREFIX = "custom."


class FieldDefinition(models.Model):
    target = models.CharField(_("record kind"), max_length=20, choices=FieldTarget.choices)
    # The key values are stored under: made from the English label, never changed (the values
    # and any index on them would lose it).
    key = models.SlugField(_("key"), max_length=50, editable=False)
    label_en = models.CharField(
        _("label (English)"), max_length=100, validators=[validate_readable_text]
    )
    label_zh = models.CharField(
        _("label (Chinese)"), max_length=100, blank=True, validators=[validate_readable_text]
    )
    type = models.CharField(_("type"), max_length=20, choices=FieldType.choices)
    decimals = models.PositiveSmallIntegerField(
        _("decimal places"), default=0, validators=[MaxValueValidator(6)]
    )
    currency = models.CharField(
        _("currency"), max_length=3, blank=True, validators=[validate_readable_text]
    )
    required = models.BooleanField(_("required"), default=False)
    # In the stored form (customers.custom_fields.values): what a new record starts with.
    default = models.JSONField(_("default"), null=True, blank=True)
    help_en = models.CharField(
        _("help text (English)"), max_length=300, blank=True, validators=[validate_readable_text]
    )
    help_zh = models.CharField(
        _("help text (Chinese)"), max_length=300, blank=True, validators=[validate_readable_text]
    )
    group_en = models.CharField(
        _("group on the form (English)"),
        max_length=100,
        blank=True,
        validators=[validate_readable_text],
    )
    group_zh = models.CharField(
        _("group on the form (Chinese)"),
        max_length=100,
        blank=True,
        validators=[validate_readable_text],
    )
    position = models.PositiveIntegerField(_("order"), default=0)
    sensitivity = models.CharField(
        _("sensitivity"), max_length=20, choices=Sensitivity.choices, default=Sensitivity.ORDINARY
    )
    # Compared by the duplicate check, as a phone or an email is.
    identifying = models.BooleanField(_("identifies a person"), default=False)
    # A column of the record kind's list (and sortable there when its type orders).
    listed = models.BooleanField(_("column in the list"), default=False)
    # Archived fields leave forms and lists; their values stay until a retention rule or an
    # erasure removes them.
    archived_at = models.DateTimeField(_("archived at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")
        ordering = ["target", "position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["target", "key"], name="custom_field_key_per_target")
        ]
        permissions = [("manage_custom_fields", _("Can define custom fields"))]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return _in_language(self.label_en, self.label_zh)

    @property
    def name(self) -> str:
        """The field's name beside the built-in fields ("custom.<key>")."""
        return f"{NAME_PREFIX}{self.key}"

    @property
    def help_text(self) -> str:
        return _in_language(self.help_en, self.help_zh)

    def offered_labels(self) -> list[str]:
        """The labels of the choices offered (not archived), in their order."""
        return [choice.label for choice in self.choices.all() if not choice.archived]

    @property
    def group(self) -> str:
        return _in_language(self.group_en, self.group_zh)


class FieldChoice(models.Model):
    field = models.ForeignKey(FieldDefinition, on_delete=models.CASCADE, related_name="choices")
    # Stored in the values: never changed once used.
    key = models.SlugField(_("key"), max_length=50, editable=False)
    label_en = models.CharField(
        _("label (English)"), max_length=100, validators=[validate_readable_text]
    )
    label_zh = models.CharField(
        _("label (Chinese)"), max_length=100, blank=True, validators=[validate_readable_text]
    )
    position = models.PositiveIntegerField(_("order"), default=0)
    # No longer offered; values holding it keep it and still show its label.
    archived = models.BooleanField(_("archived"), default=False)

    class Meta:
        verbose_name = _("choice")
        verbose_name_plural = _("choices")
        ordering = ["position", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["field", "key"], name="custom_field_choice_key")
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return _in_language(self.label_en, self.label_zh)


class ConversionPhase(models.TextChoices):
    CHECKING = "checking", _("Checking the stored values")
    CONVERTING = "converting", _("Converting the stored values")


class FieldConversion(BackgroundJob):
    """A change of a field's settings that changes how its values are stored (another type,
    other decimals, sealed or no longer sealed), carried out by a worker
    (customers/custom_fields/conversion.py): every stored value is checked first, and the
    field keeps its settings when one would not convert; then the settings change and the
    values are rewritten in batches."""

    field = models.ForeignKey(
        FieldDefinition,
        verbose_name=_("custom field"),
        on_delete=models.PROTECT,
        related_name="conversions",
    )
    # The settings before and the settings asked for (customers/custom_fields/services.py
    # SETTINGS), the default in its stored form under the new ones.
    previous = models.JSONField(default=dict)
    requested = models.JSONField(default=dict)
    # Whether values go from sealed to plain or the other way: until every record is rewritten
    # some hold sealed values under a field that is no longer sensitive, which key rotation
    # must still reach (records.py sealed_contexts).
    reseals = models.BooleanField(default=False, editable=False)
    language = models.CharField(max_length=10, default="en", editable=False)
    phase = models.CharField(
        _("phase"), max_length=20, choices=ConversionPhase.choices, default=ConversionPhase.CHECKING
    )
    resumable = models.BooleanField(default=False, editable=False)
    # When the settings changed: records saved since are swept again at the end.
    switched_at = models.DateTimeField(null=True, blank=True, editable=False)
    # Where the rewriting got to: the holder (Target.holders' order) and its last record done.
    holder_done = models.PositiveSmallIntegerField(default=0, editable=False)
    last_pk = models.BigIntegerField(default=0, editable=False)
    values_converted = models.PositiveIntegerField(_("values converted"), default=0)
    # Records whose value would not convert, by id (the first UNCONVERTIBLE_SHOWN), and how
    # many in all: when checking, why the change was refused; when rewriting, values written
    # in the old form while the check ran, kept as they are.
    unconverted = models.JSONField(default=list)
    unconverted_count = models.PositiveIntegerField(_("values not converted"), default=0)

    class Meta(BackgroundJob.Meta):
        verbose_name = _("custom field conversion")
        verbose_name_plural = _("custom field conversions")
        constraints = [
            # One at a time per field: a second would convert values the first is rewriting.
            models.UniqueConstraint(
                fields=["field"],
                condition=models.Q(status__in=BackgroundJob.ACTIVE),
                name="one_active_conversion_per_field",
            )
        ]

    def __str__(self) -> str:
        return str(self.field)

    @property
    def requested_type_label(self) -> str:
        """The type asked for, as a sentence names it ("number")."""
        return str(FieldType(self.requested["type"]).label).lower()
