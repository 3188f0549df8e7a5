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
from django.utils.translation import ngettext

from customers.audit import CustomFieldAction
from customers.custom_fields.indexes import is_ordered
from customers.custom_fields.models import (
    CHOICE_TYPES,
    FieldChoice,
    FieldDefinition,
    FieldType,
    Sensitivity,
)
from customers.custom_fields.records import store_values, unseal
from customers.custom_fields.targets import target_for
from customers.custom_fields.values import clean_value
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
# How many records that would not convert the refusal names.
UNCONVERTIBLE_SHOWN = 10
# Records rewritten per UPDATE when a field's stored form changes.
CONVERSION_BATCH = 2000


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
    **options: Any,
) -> FieldDefinition:
    """Create (`field` None) or change a custom field of `target` records, with its choices
    for a choice type. A change of type, decimals or sealing rewrites the stored values in
    their new form, or is refused, naming records, when one would not convert; the default is
    cleaned as a value of the field. Raises ValidationError."""
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
    before = {name: getattr(field, name) for name in SETTINGS}
    for name, value in options.items():
        setattr(field, name, value.strip() if isinstance(value, str) else value)
    if field.type != FieldType.NUMBER:
        field.decimals = 0
    if field.type != FieldType.MONEY:
        field.currency = ""
    else:
        field.currency = (field.currency or settings.DEFAULT_CURRENCY).upper()
    field.full_clean(exclude=["default"])
    field.save()
    if field.type in CHOICE_TYPES:
        _save_choices(field, choices)
    converted = 0
    if not created and _stored_form_changes(before, field):
        # An index on the values' old form stays usable meanwhile (its expression never fails
        # on a write); the task below replaces it.
        converted = _convert_stored_values(field)
    if is_ordered(field) or _stored_form_changes(before, field):
        # A task of its own: CREATE / DROP INDEX CONCURRENTLY run outside any transaction.
        from customers.tasks import build_custom_field_indexes

        transaction.on_commit(build_custom_field_indexes.delay)
    if field.default is not None:
        try:
            field.default = clean_value(field, _as_raw(field.default))
        except ValidationError as error:
            raise ValidationError({"default": error.messages}) from error
        field.save(update_fields=["default", "updated_at"])
    after = {name: getattr(field, name) for name in SETTINGS}
    changes = {
        name: [before[name], after[name]]
        for name in SETTINGS
        if created or before[name] != after[name]
    }
    changes["key"] = field.key
    if converted:
        changes["values_converted"] = converted
    changes["choices"] = list(field.choices.values_list("key", flat=True))
    record_event(
        actor=actor,
        action=CustomFieldAction.CREATE if created else CustomFieldAction.UPDATE,
        target=field,
        changes=changes,
    )
    return field


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


def _stored_form_changes(before: dict[str, Any], field: FieldDefinition) -> bool:
    """Whether the values stored under the field's old settings must be rewritten: another
    type, other decimals, or sealed where they were plain (or the other way round)."""
    was_sealed = before["sensitivity"] == Sensitivity.SENSITIVE
    return (
        before["type"] != field.type
        or before["decimals"] != field.decimals
        or was_sealed != (field.sensitivity == Sensitivity.SENSITIVE)
    )


def _as_raw(stored: Any) -> Any:
    """A stored value as a person would type it, for cleaning it again under another type."""
    if isinstance(stored, list):
        return ", ".join(str(item) for item in stored)
    if isinstance(stored, bool):
        return "yes" if stored else "no"
    return stored


def _convert_stored_values(field: FieldDefinition) -> int:
    """Rewrite every stored value of `field` in the form its (new) type and sensitivity store
    it in: cleaned again as the new type, sealed or unsealed. Raises ValidationError naming
    the records (with their number) whose value would not convert, and then nothing is
    written (the caller's transaction). Returns how many records changed."""
    field = FieldDefinition.objects.prefetch_related("choices").get(pk=field.pk)
    target = target_for(field.target)
    values_field = target.values_field
    refused: list[int] = []
    total = converted = 0
    for model in target.holders:
        holding = (
            model._base_manager.filter(**{f"{values_field}__has_key": field.key})
            .only("pk", values_field)
            .order_by("pk")
        )
        pending: list[Any] = []
        for record in holding.iterator(chunk_size=CONVERSION_BATCH):
            entry = getattr(record, values_field).get(field.key)
            try:
                value = clean_value(field, _as_raw(unseal(field, entry)))
            except ValidationError:
                total += 1
                if len(refused) < UNCONVERTIBLE_SHOWN:
                    refused.append(record.pk)
                continue
            if not total and store_values(
                record, [field], {field.key: value}, values_field=values_field
            ):
                pending.append(record)
            if len(pending) >= CONVERSION_BATCH:
                converted += _write_converted(model, pending, values_field)
        if not total:
            converted += _write_converted(model, pending, values_field)
    if total:
        named = ", ".join(f"#{pk}" for pk in refused) + (" …" if total > len(refused) else "")
        message = ngettext(
            "%(count)d record holds a value that is not a valid %(type)s: %(records)s.",
            "%(count)d records hold values that are not valid %(type)s: %(records)s.",
            total,
        ) % {
            "count": total,
            "type": field.get_type_display().lower(),
            "records": named,
        }
        raise ValidationError({"type": message}, code="unconvertible")
    return converted


def _write_converted(model: Any, records: list[Any], values_field: str) -> int:
    written = len(records)
    model._base_manager.bulk_update(records, [values_field])
    records.clear()
    return written


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
