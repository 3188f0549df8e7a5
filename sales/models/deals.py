"""Deals and the pipelines they move through: a pipeline's stages (each with a win probability
and a kind: open, won or lost), the deal itself and the products it would sell."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from customers.custom_fields.models import values_field
from kernel.free_text import NOTE_LENGTH, BoundedTextField, validate_readable_text
from kernel.models import Versioned


def default_currency() -> str:
    return settings.DEFAULT_CURRENCY


def _in_current_language(english: str, chinese: str) -> str:
    """Administrators name pipelines and stages in both languages: the Chinese name shows when
    the page is in Chinese and one was given, the English name otherwise."""
    language = (get_language() or "").lower()
    if chinese and language.startswith("zh"):
        return chinese
    return english


class Pipeline(Versioned):
    """A sales process: its stages in order. One pipeline is the default, the board opened
    first and the one new deals start in."""

    name = models.CharField(_("name"), max_length=100, validators=[validate_readable_text])
    name_zh = models.CharField(
        _("name in Chinese"), max_length=100, blank=True, validators=[validate_readable_text]
    )
    ordering = models.PositiveIntegerField(_("order"), default=0)
    is_default = models.BooleanField(_("default pipeline"), default=False)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["ordering", "pk"]
        verbose_name = _("pipeline")
        verbose_name_plural = _("pipelines")
        permissions = [("manage_pipelines", _("Can configure pipelines and their stages"))]
        constraints = [
            # At most one default pipeline: the board's landing page must not be ambiguous.
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="pipeline_one_default"
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return _in_current_language(self.name, self.name_zh)


class StageKind(models.TextChoices):
    OPEN = "open", _("Open")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")


class Stage(models.Model):
    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages")
    name = models.CharField(_("name"), max_length=100, validators=[validate_readable_text])
    name_zh = models.CharField(
        _("name in Chinese"), max_length=100, blank=True, validators=[validate_readable_text]
    )
    order = models.PositiveIntegerField(_("order"), default=0)
    win_probability = models.PositiveSmallIntegerField(
        _("win probability (%)"),
        default=0,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    kind = models.CharField(
        _("kind"), max_length=10, choices=StageKind.choices, default=StageKind.OPEN
    )

    class Meta:
        ordering = ["pipeline", "order", "pk"]
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        constraints = [
            models.CheckConstraint(
                condition=Q(win_probability__gte=0) & Q(win_probability__lte=100),
                name="stage_probability_percent",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return _in_current_language(self.name, self.name_zh)

    @property
    def is_open(self) -> bool:
        return self.kind == StageKind.OPEN


class Deal(Versioned):
    """A sale being worked on: who would buy, what, for how much, by when, and how far along."""

    customer = models.ForeignKey(
        "customers.Customer",
        verbose_name=_("customer"),
        on_delete=models.PROTECT,
        related_name="deals",
    )
    contact = models.ForeignKey(
        "customers.Contact",
        verbose_name=_("contact"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deals",
    )
    title = models.CharField(_("title"), max_length=200, validators=[validate_readable_text])
    amount = models.DecimalField(
        _("amount"), max_digits=14, decimal_places=2, default=0, validators=[MinValueValidator(0)]
    )
    currency = models.CharField(
        _("currency"),
        max_length=3,
        default=default_currency,
        validators=[RegexValidator(r"^[A-Z]{3}$", _("Enter a three-letter ISO currency code."))],
    )
    expected_close_date = models.DateField(_("expected close date"), null=True, blank=True)
    pipeline = models.ForeignKey(
        Pipeline, verbose_name=_("pipeline"), on_delete=models.PROTECT, related_name="deals"
    )
    stage = models.ForeignKey(
        Stage, verbose_name=_("stage"), on_delete=models.PROTECT, related_name="deals"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("owner"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deals",
    )
    notes = BoundedTextField(
        _("notes"), max_length=NOTE_LENGTH, blank=True, validators=[validate_readable_text]
    )
    lost_reason = models.CharField(
        _("lost reason"), max_length=300, blank=True, validators=[validate_readable_text]
    )
    # The values of the custom fields defined for deals (customers/custom_fields/).
    custom = values_field()
    won_at = models.DateTimeField(_("won at"), null=True, blank=True)
    lost_at = models.DateTimeField(_("lost at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    # The purchase recorded when the deal was won: set once, so a second "won" post finds it
    # and records nothing more.
    purchase = models.OneToOneField(
        "interactions.Transaction",
        verbose_name=_("purchase"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="deal",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("deal")
        verbose_name_plural = _("deals")
        permissions = [
            # Without it a person sees the deals they or their team own, of customers they see.
            ("view_all_deals", _("Can view and work on deals of every owner")),
            ("export_deals", _("Can export deals")),
        ]
        indexes = [
            # The board: one column is a pipeline's stage, newest first, optionally one owner.
            models.Index(fields=["stage", "-id"], name="deal_stage_idx"),
            models.Index(fields=["stage", "owner", "-id"], name="deal_stage_owner_idx"),
            # The board's column totals read this index alone on PostgreSQL (an index-only
            # scan; elsewhere the column is not included).
            models.Index(
                fields=["pipeline", "stage"], include=["amount"], name="deal_board_totals_idx"
            ),
            # A salesperson's board: their own deals' column totals without reading the
            # pipeline's other deals; the customer to join for the customer scope and the close
            # time for the closed columns' window are included (index-only on PostgreSQL).
            models.Index(
                fields=["owner", "pipeline", "stage"],
                include=["amount", "customer", "closed_at"],
                name="deal_owner_board_idx",
            ),
            # Close-month filters, the forecast and the calendar.
            models.Index(
                fields=["pipeline", "expected_close_date"], name="deal_pipeline_close_idx"
            ),
            models.Index(fields=["owner", "expected_close_date"], name="deal_owner_close_idx"),
            models.Index(fields=["customer", "-id"], name="deal_customer_idx"),
            models.Index(fields=["won_at"], name="deal_won_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class DealLine(models.Model):
    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="lines")
    product = models.ForeignKey(
        "interactions.Product",
        verbose_name=_("product"),
        on_delete=models.PROTECT,
        related_name="deal_lines",
    )
    quantity = models.DecimalField(_("quantity"), max_digits=12, decimal_places=3, default=1)
    unit_price = models.DecimalField(_("unit price"), max_digits=16, decimal_places=4)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("deal line")
        verbose_name_plural = _("deal lines")
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="deal_line_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="deal_line_price_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product}"

    @property
    def line_total(self):
        return self.quantity * self.unit_price


class DealChangeKind(models.TextChoices):
    CREATED = "created", _("Created")
    MOVED = "moved", _("Moved")
    WON = "won", _("Won")
    LOST = "lost", _("Lost")
    REOPENED = "reopened", _("Reopened")


class DealStageChange(models.Model):
    """One step of a deal's stage history: its creation (no `from_stage`) and every move,
    written by sales.deals.services in the move's transaction. The kind is kept as it was
    then: a stage may change kind later once no deal is in it."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="stage_changes")
    kind = models.CharField(_("change"), max_length=10, choices=DealChangeKind.choices)
    from_stage = models.ForeignKey(
        Stage, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    to_stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+")
    # The deal's lost reason when it was lost: scrubbed with the deal's by an erasure.
    lost_reason = models.CharField(_("lost reason"), max_length=300, blank=True)
    at = models.DateTimeField(_("when"), default=timezone.now)
    # Nobody for imports and background work.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("deal stage change")
        verbose_name_plural = _("deal stage changes")
        # The deal page's history and the customer timeline (through the deal), newest first.
        indexes = [models.Index(fields=["deal", "-at", "-id"], name="deal_stage_change_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.deal_id}"
