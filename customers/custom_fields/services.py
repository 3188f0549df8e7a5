"""Every write to custom fields' definitions: create, change, archive, restore, and their
choices. Audited (`custom_field.*`), with the definition's settings, never a record's value."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from customers.audit import CustomFieldAction
from customers.custom_fields.conversion import (
    before_change,
    request_conversion,
    stored_form_changes,
)
from customers.custom_fields.indexes import is_ordered
from customers.custom_fields.models import (
    CHOICE_TYPES,
    FieldChoice,
    FieldDefinition,
    FieldType,
)
from customers.custom_fields.values import as_typed, clean_value
from kernel.actors import Actor
from privacy.audit.recording import record_event

# The settings an administrator changes (besides the choices), in the audit's order.
SETTINGS = (
    "label_en",
    "label_zh",
    "type",
    "decimals",
    "currency",
    "required",
    "default",
    "help_en",
    "help_zh",
    "group_en",
    "group_zh",
    "position",
    "sensitivity",
    "identifying",
    "listed",
)


@dataclass(frozen=True)
class ChoiceSpec:
    """A choice as the form gives it: `key` empty for a new one."""

    label_en: str
    label_zh: str = ""
    key: str = ""
    archived: bool = False


def new_key(label_en: str, taken: Collection[str], *, fallback: str) -> str:
    """A key for a new field or choice: the English label as a slug, numbered when taken."""
    base = (slugify(label_en).replace("-", "_") or fallback)[:40]
    key, number = base, 2
    while key in taken:
        key, number = f"{base}_{number}", number + 1
    return key


@transaction.atomic
def save_field(
    *,
    actor: Actor,
    target: str,
    field: FieldDefinition | None = None,
    choices: Sequence[ChoiceSpec] = (),
    queue: bool = True,
    **options: Any,
) -> FieldDefinition:
    """Create (`field` None) or change a custom field of `target` records, with its choices
    for a choice type; the default is cleaned as a value of the field. A change that alters
    how values are stored (type, decimals, sealing) is left to a conversion job
    (customers/custom_fields/conversion.py, queued unless `queue` is false), which checks
    every stored value first: the field keeps its settings until then, and for good when a
    value would not convert. Raises ValidationError."""
    unknown = set(options).difference(SETTINGS)
    if unknown:
        raise TypeError(f"Not custom field settings: {sorted(unknown)}")
    created = field is None
    if field is None:
        taken = FieldDefinition.objects.filter(target=target).values_list("key", flat=True)
        key = new_key(options.get("label_en", ""), set(taken), fallback="field")
        field = FieldDefinition(target=target, key=key)
    elif field.target != target:
        raise ValidationError(_("This field belongs to another kind of record."))
    else:
        field = FieldDefinition.objects.select_for_update().get(pk=field.pk)
        before_change(field)
    before = settings_of(field)
    for name, value in options.items():
        setattr(field, name, value.strip() if isinstance(value, str) else value)
    if field.type != FieldType.NUMBER:
        field.decimals = 0
    if field.type != FieldType.MONEY:
        field.currency = ""
    else:
        field.currency = (field.currency or settings.DEFAULT_CURRENCY).upper()
    field.full_clean(exclude=["default"])
    converts = not created and stored_form_changes(before, settings_of(field))
    if not converts:
        field.save()
    if field.type in CHOICE_TYPES:
        # Saved at once even when the type waits for a conversion: the check cleans the
        # values against them.
        _save_choices(field, choices)
    if field.default is not None:
        try:
            field.default = clean_value(field, as_typed(field.default))
        except ValidationError as error:
            raise ValidationError({"default": error.messages}) from error
        if not converts:
            field.save(update_fields=["default", "updated_at"])
    if converts:
        requested = settings_of(field)
        field = FieldDefinition.objects.get(pk=field.pk)
        job = request_conversion(
            actor=actor, field=field, previous=before, requested=requested, queue=queue
        )
        # The settings change when the job switches them (audited then); the choices, which
        # its check needs, are saved now.
        record_event(
            actor=actor,
            action=CustomFieldAction.UPDATE,
            target=field,
            changes={"key": field.key, "choices": _choice_keys(field), "conversion": job.pk},
        )
        return field
    if is_ordered(field):
        # A task of its own: CREATE INDEX CONCURRENTLY runs outside any transaction.
        from customers.tasks import build_custom_field_indexes

        transaction.on_commit(build_custom_field_indexes.delay)
    changes = settings_changes(before, settings_of(field), created=created)
    changes["key"] = field.key
    changes["choices"] = _choice_keys(field)
    record_event(
        actor=actor,
        action=CustomFieldAction.CREATE if created else CustomFieldAction.UPDATE,
        target=field,
        changes=changes,
    )
    return field


def _choice_keys(field: FieldDefinition) -> list[str]:
    return list(field.choices.values_list("key", flat=True))


def settings_of(field: FieldDefinition) -> dict[str, Any]:
    """The field's SETTINGS by name, as stored (JSON)."""
    return {name: getattr(field, name) for name in SETTINGS}


def settings_changes(
    before: dict[str, Any], after: dict[str, Any], *, created: bool = False
) -> dict[str, list[Any]]:
    """The audit log's [before, after] of each setting that changed (all when `created`)."""
    return {
        name: [before[name], after[name]]
        for name in SETTINGS
        if created or before[name] != after[name]
    }


def _save_choices(field: FieldDefinition, choices: Sequence[ChoiceSpec]) -> None:
    """The choices as given, in that order: known keys changed, new ones added with a key from
    their English label; one left out is archived (values may hold it), never deleted."""
    existing = {choice.key: choice for choice in field.choices.all()}
    kept: set[str] = set()
    for position, spec in enumerate(choices):
        label_en = spec.label_en.strip()
        if not label_en:
            continue
        choice = existing.get(spec.key) if spec.key else None
        if choice is None:
            choice = FieldChoice(field=field, key=new_key(label_en, existing, fallback="choice"))
            existing[choice.key] = choice
        choice.label_en, choice.label_zh = label_en, spec.label_zh.strip()
        choice.position, choice.archived = position, spec.archived
        choice.full_clean(exclude=["field"])
        choice.save()
        kept.add(choice.key)
    for key, choice in existing.items():
        if key not in kept and not choice.archived:
            choice.archived = True
            choice.save(update_fields=["archived"])
    if not any(not choice.archived for choice in existing.values()):
        raise ValidationError({"choices": _("A choice field needs at least one choice.")})


def archive_field(*, actor: Actor, field: FieldDefinition) -> FieldDefinition:
    """Take the field off forms and lists; its values stay. Audited."""
    if field.archived_at is None:
        field.archived_at = timezone.now()
        field.save(update_fields=["archived_at", "updated_at"])
        record_event(actor=actor, action=CustomFieldAction.ARCHIVE, target=field)
    return field


def restore_field(*, actor: Actor, field: FieldDefinition) -> FieldDefinition:
    if field.archived_at is not None:
        field.archived_at = None
        field.save(update_fields=["archived_at", "updated_at"])
        record_event(actor=actor, action=CustomFieldAction.RESTORE, target=field)
    return field
