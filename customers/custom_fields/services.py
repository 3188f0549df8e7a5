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
from customers.custom_fields.models import (
    CHOICE_TYPES,
    FieldChoice,
    FieldDefinition,
    FieldType,
)
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
)
# How many records that would not convert the refusal names.
UNCONVERTIBLE_SHOWN = 10


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
    for a choice type. A change of type is refused, naming records, when a stored value would
    not convert; the default is cleaned as a value of the field. Raises ValidationError."""
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
    if not created and before["type"] != field.type:
        _refuse_unconvertible(field, before["type"])
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


def _as_raw(stored: Any) -> Any:
    """A stored value as a person would type it, for cleaning it again under another type."""
    if isinstance(stored, list):
        return ", ".join(str(item) for item in stored)
    if isinstance(stored, bool):
        return "yes" if stored else "no"
    return stored


def _refuse_unconvertible(field: FieldDefinition, old_type: str) -> None:
    """Raise ValidationError naming the records whose value would not convert to the field's
    new type (with their number); converts nothing: values are cleaned when next written."""
    target = target_for(field.target)
    lookup = f"{target.values_field}__{field.key}"
    rows = (
        target.model.objects.filter(**{f"{target.values_field}__has_key": field.key})
        .values_list("pk", lookup)
        .order_by("pk")
    )
    refused: list[int] = []
    total = 0
    for pk, stored in rows.iterator(chunk_size=2000):
        if stored is None:
            continue
        try:
            clean_value(field, _as_raw(stored))
        except ValidationError:
            total += 1
            if len(refused) < UNCONVERTIBLE_SHOWN:
                refused.append(pk)
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
