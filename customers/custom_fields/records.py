"""Custom values on a record: written into its JSON column (a sensitive field's value sealed
with privacy.crypto), compared for the audit log, and shown to a given viewer.

A sensitive field's stored entry is {"sealed": token, "index": blind index, "masked": mask}:
the token is bound to the record kind and the key (the context), so a value copied into another
field or kind does not decrypt; the blind index lets an exact value be found (the duplicate
check, a lookup) without decrypting anything; the mask is what a page shows."""

from __future__ import annotations

import datetime
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.utils.formats import date_format, number_format
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from accounts.templatetags.staff import staff_name
from accounts.users import staff_accounts
from customers.custom_fields.models import NAME_PREFIX, FieldDefinition, FieldType, Sensitivity
from customers.custom_fields.selectors import defined_fields
from customers.custom_fields.values import as_typed, clean_value, clean_values, in_stored_form
from privacy import crypto
from privacy.audit.recording import record_event
from privacy.masking import mask, mask_text

# The masking kind of a personal value's shown text by type; any other type is hidden whole.
_MASK_KIND = {
    FieldType.PHONE: "phone",
    FieldType.EMAIL: "email",
    FieldType.TEXT: "text",
    FieldType.LONG_TEXT: "text",
    FieldType.URL: "text",
}
# The audit log says a sensitive or long free-text value changed, never to what.
_CHANGED_ONLY = "…"


def sealing_context(field: FieldDefinition) -> str:
    return f"custom.{field.target}.{field.key}"


def sealed_contexts(target: str) -> dict[str, str]:
    """Key -> sealing context of every field of `target` records that may hold sealed values
    (key rotation reads them): the sensitive ones, archived ones included, and those whose
    values were ever sealed or unsealed by a conversion (customers/custom_fields/conversion.py),
    which may hold both forms until it ends, or for good where it left a value as it was."""
    fields = FieldDefinition.objects.filter(target=target).filter(
        Q(sensitivity=Sensitivity.SENSITIVE) | Q(conversions__reseals=True)
    )
    return {field.key: sealing_context(field) for field in fields.distinct()}


def is_sealed(entry: Any) -> bool:
    return isinstance(entry, dict) and "sealed" in entry


def is_hidden(field: FieldDefinition, entry: Any) -> bool:
    """Whether `entry` is shown to everyone as its mask only: a sealed value, or a plain one
    under a field made sensitive that its conversion has not sealed yet."""
    return is_sealed(entry) or field.sensitivity == Sensitivity.SENSITIVE


def hidden_text(field: FieldDefinition, entry: Any) -> str:
    """The mask of an entry is_hidden() shows."""
    if is_sealed(entry):
        return entry.get("masked", "")
    return masked_value(field, shown_text(field, entry))


def seal(field: FieldDefinition, value: Any) -> dict[str, str]:
    """A sensitive field's stored entry for the clean `value`."""
    return {
        "sealed": crypto.encrypt(
            json.dumps(value, ensure_ascii=False), context=sealing_context(field)
        ),
        "index": blind_index(field, value),
        "masked": masked_value(field, value),
    }


def blind_index(field: FieldDefinition, value: Any) -> str:
    """The blind index of a sensitive field's clean `value`: finds an equal sealed value
    without decrypting anything."""
    return crypto.blind_index(json.dumps(value, ensure_ascii=False), context=sealing_context(field))


def unseal(field: FieldDefinition, entry: Any) -> Any:
    """The clean value of a stored entry, decrypting a sealed one."""
    if is_sealed(entry):
        return json.loads(crypto.decrypt(entry["sealed"], context=sealing_context(field)))
    return entry


def as_stored_now(field: FieldDefinition, plain: Any) -> Any:
    """A plain stored value in the form `field` stores now: as it is when it has that form
    (an archived choice, a colleague who left), else one stored under the field's earlier
    settings cleaned again as a value of the field. Raises ValidationError when it is none."""
    if in_stored_form(field, plain):
        return plain
    return clean_value(field, as_typed(plain))


def current_value(field: FieldDefinition, stored: Any) -> Any:
    """as_stored_now for a reader of a value that its conversion
    (customers/custom_fields/conversion.py) has not reached yet, or kept as it was: None
    when it is no value of the field."""
    if stored is None:
        return None
    try:
        return as_stored_now(field, stored)
    except ValidationError:
        return None


def fields_by_key(fields: Iterable[FieldDefinition]) -> dict[str, FieldDefinition]:
    return {field.key: field for field in fields}


def prepare_values(
    fields: Iterable[FieldDefinition], raw: Mapping[str, Any], *, creating: bool
) -> dict[str, Any]:
    """`raw` (key -> value as typed) cleaned for `fields`; for a new record, with each field's
    default for what `raw` leaves out. A required field may be left out (forms ask for it; a
    shop or a file that knows nothing of it must not be refused) but not emptied. Raises
    ValidationError keyed `custom.<key>`, the name services, forms and the API report a custom
    value's problem under."""
    fields = list(fields)
    unknown = set(raw).difference(field.key for field in fields)
    if unknown:
        raise TypeError(f"Not custom fields of this record kind: {sorted(unknown)}")
    try:
        clean = clean_values(fields, raw, partial=True)
    except ValidationError as error:
        raise ValidationError(
            {f"{NAME_PREFIX}{key}": problems for key, problems in error.error_dict.items()}
        ) from error
    if creating:
        for field in fields:
            if field.key not in raw and field.default is not None:
                clean[field.key] = field.default
    return clean


def store_values(
    record: Any,
    fields: Iterable[FieldDefinition],
    clean: Mapping[str, Any],
    *,
    values_field: str = "custom",
) -> list[str]:
    """Write clean values into the record's JSON column: None removes the key, a sensitive
    value is sealed. Returns the keys whose value changed."""
    by_key = fields_by_key(fields)
    stored = dict(getattr(record, values_field) or {})
    changed: list[str] = []
    for key, value in clean.items():
        field = by_key[key]
        current = stored.get(key)
        if value is None:
            if stored.pop(key, None) is not None:
                changed.append(key)
            continue
        sensitive = field.sensitivity == Sensitivity.SENSITIVE
        if is_sealed(current) == sensitive and unseal(field, current) == value:
            continue
        stored[key] = seal(field, value) if sensitive else value
        changed.append(key)
    setattr(record, values_field, stored)
    return changed


def write_values(
    record: Any, target: str, raw: Mapping[str, Any], *, creating: bool
) -> dict[str, list[Any]]:
    """Clean `raw` (key -> value as typed) for the fields of `target` records and write it into
    the record's JSON column (prepare_values, store_values), unsaved; returns the audit log's
    entries for what changed (audit_diff). Raises ValidationError keyed `custom.<key>`."""
    if not raw and not creating:
        return {}
    fields = defined_fields(target)
    before = dict(record.custom or {})
    if not store_values(record, fields, prepare_values(fields, raw, creating=creating)):
        return {}
    return audit_diff(defined_fields(target, archived=True), before, record.custom)


def reveal_value(
    *,
    actor: Any,
    record: Any,
    field: FieldDefinition,
    action: str,
    customer: Any,
    naming: Mapping[str, Any] | None = None,
) -> str:
    """A sensitive value of `record` as a person reads it, for a user holding
    `reveal_national_id`; audited as `action` before anything is decrypted, against the
    `customer` it is about (so that the person's copy lists who saw it), naming the field and,
    with `naming`, the record (a deal, an interaction). "" when the record holds no value."""
    if not actor.has_perm("customers.reveal_national_id"):
        raise PermissionDenied
    entry = (record.custom or {}).get(field.key)
    if entry is None:
        return ""
    record_event(
        actor=actor, action=action, target=customer, changes={"field": field.key, **(naming or {})}
    )
    return shown_text(field, unseal(field, entry))


def merge_source(field: FieldDefinition, records: Sequence[Any]) -> Any | None:
    """The record a merge takes `field`'s value from unless the reviewer chooses: the most
    recently updated one holding a value; None for several choices (the merge unites them)."""
    holding = [record for record in records if record.custom.get(field.key) is not None]
    if not holding:
        return None
    if field.type == FieldType.CHOICES and not any(
        is_sealed(record.custom[field.key]) for record in holding
    ):
        return None
    return max(holding, key=lambda record: (record.updated_at, record.pk))


def merged_values(
    fields: Iterable[FieldDefinition], records: Sequence[Any], chosen: Mapping[str, int]
) -> dict[str, Any]:
    """The custom values of records merged into one: per key, the value of the record
    `chosen` names (key -> record id), else merge_source's, several choices united. A key no
    longer defined keeps the newest record's value. Sealed entries are taken as they are (the
    record kind and key they are bound to do not change)."""
    by_key = fields_by_key(fields)
    by_id = {record.pk: record for record in records}
    newest_first = sorted(records, key=lambda record: (record.updated_at, record.pk), reverse=True)
    merged: dict[str, Any] = {}
    for key in {key for record in records for key in record.custom}:
        field = by_key.get(key)
        source = by_id.get(chosen[key]) if key in chosen else None
        if source is None and field is not None:
            source = merge_source(field, records)
            if source is None and field.type == FieldType.CHOICES:
                # Each record's keys as the field stores them now (a value its conversion has
                # not reached is one choice's text); one that is no list of choices at all is
                # kept whole, from the newest record, rather than cut into keys.
                held = [record.custom.get(key) for record in records]
                lists = [current_value(field, entry) for entry in held if entry is not None]
                if all(isinstance(keys, list) for keys in lists):
                    if united := sorted({item for keys in lists for item in keys}):
                        merged[key] = united
                    continue
        if source is None:
            source = next(record for record in newest_first if key in record.custom)
        if source.custom.get(key) is not None:
            merged[key] = source.custom[key]
    return merged


def audit_diff(
    fields: Iterable[FieldDefinition], before: Mapping[str, Any], after: Mapping[str, Any]
) -> dict[str, list[Any]]:
    """The audit log's `custom.<key>` entries for what changed between two stored JSON
    objects. Audit rows are never changed, not even by an erasure, so they hold nothing that
    could identify the person: text of any sensitivity masked as pages mask personal values
    (as the built-in company and city are), long texts and sensitive values only as changed,
    choices, numbers, dates and yes / no of ordinary fields as stored. A key no longer
    defined shows as changed only."""
    by_key = fields_by_key(fields)
    diff: dict[str, list[Any]] = {}
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        field = by_key.get(key)
        field_name = f"{NAME_PREFIX}{key}"
        if (
            field is None
            or field.sensitivity == Sensitivity.SENSITIVE
            or field.type == FieldType.LONG_TEXT
            or is_sealed(old)
            or is_sealed(new)
        ):
            diff[field_name] = [_CHANGED_ONLY if old else "", _CHANGED_ONLY if new else ""]
        elif field.sensitivity == Sensitivity.PERSONAL or field.type in _MASK_KIND:
            diff[field_name] = [masked_value(field, old), masked_value(field, new)]
        else:
            diff[field_name] = [old, new]
    return diff


def shown_text(field: FieldDefinition, value: Any) -> str:
    """A clean value as a person reads it, in the active language: choice labels, localised
    numbers and dates, yes or no, a colleague's name. A value still in the form of the field's
    earlier type (its conversion is under way, or kept it) is shown as it was typed."""
    if value is None or value == "" or value == []:
        return ""
    current = current_value(field, value)
    return str(as_typed(value)) if current is None else _typed_text(field, current)


def _typed_text(field: FieldDefinition, value: Any) -> str:
    kind = field.type
    if kind == FieldType.NUMBER:
        return number_format(Decimal(value), decimal_pos=field.decimals, force_grouping=True)
    if kind == FieldType.MONEY:
        amount = number_format(Decimal(value), decimal_pos=2, force_grouping=True)
        return f"{field.currency} {amount}".strip()
    if kind == FieldType.DATE:
        return date_format(datetime.date.fromisoformat(value), "SHORT_DATE_FORMAT")
    if kind == FieldType.YES_NO:
        return str(_("Yes") if value else _("No"))
    if kind in (FieldType.CHOICE, FieldType.CHOICES):
        labels = choice_labels(field)
        keys = value if isinstance(value, list) else [value]
        return ", ".join(labels.get(key, key) for key in keys)
    if kind == FieldType.USER:
        return colleague_names(field).get(value, f"#{value}")
    return str(value)


def colleague_names(field: FieldDefinition) -> dict[int, str]:
    """Staff id -> name as pages show it, read once per field instance (one query for a page
    showing the field on many records: a timeline, a list)."""
    names = field.__dict__.get("_colleague_names")
    if names is None:
        names = {user.pk: staff_name(user) for user in staff_accounts()}
        field.__dict__["_colleague_names"] = names
    return names


def portable_writer(
    field: FieldDefinition,
    *,
    unmasked: bool,
    usernames: Mapping[int, str],
    decrypting: bool = False,
) -> Callable[[Any], str]:
    """The function writing `field`'s stored entries as a file holds them, in words an import
    takes back (choices by label, yes / no, a colleague's user name, numbers and dates as
    stored): a personal value masked unless `unmasked`, a sensitive one always, unless
    `decrypting` (the person's own copy: sealed values decrypted, every value whole). The
    words are looked up once, in the active language: an export writes a value in every
    row."""
    kind = field.type
    if kind in (FieldType.CHOICE, FieldType.CHOICES):
        labels = choice_labels(field)

        def text(entry: Any) -> str:
            if isinstance(entry, list):
                return ", ".join(labels.get(key, key) for key in entry)
            return labels.get(entry, entry)

    elif kind == FieldType.YES_NO:
        yes, no = str(_("yes")), str(_("no"))

        def text(entry: Any) -> str:
            return yes if entry else no

    elif kind == FieldType.USER:

        def text(entry: Any) -> str:
            return usernames.get(entry, str(entry))

    else:
        text = str
    masks = field.sensitivity == Sensitivity.PERSONAL and not unmasked

    def write(entry: Any) -> str:
        if entry is None or entry == "" or entry == []:
            return ""
        if is_hidden(field, entry) and not decrypting:
            return hidden_text(field, entry)
        plain = unseal(field, entry)
        current = current_value(field, plain)
        written = str(as_typed(plain)) if current is None else text(current)
        return masked_value(field, written) if masks else written

    return write


def portable_text(
    field: FieldDefinition, entry: Any, *, unmasked: bool, usernames: Mapping[int, str]
) -> str:
    """One stored entry as portable_writer writes it."""
    return portable_writer(field, unmasked=unmasked, usernames=usernames)(entry)


def api_values(fields: Iterable[FieldDefinition], stored: Mapping[str, Any]) -> dict[str, Any]:
    """A record's custom values as the API and webhooks carry them, one key per field (null
    when empty): ordinary values as stored (a choice's key, several keys, a decimal string, an
    ISO date, true / false, a colleague's id); personal ones as text, unmasked (whoever sends
    them on masks them for its reader: mask_personal_values); sensitive ones as their mask,
    never decrypted here."""
    values: dict[str, Any] = {}
    for field in fields:
        entry = stored.get(field.key)
        if entry is None:
            values[field.key] = None
        elif is_hidden(field, entry):
            values[field.key] = hidden_text(field, entry)
        elif field.sensitivity == Sensitivity.PERSONAL:
            values[field.key] = portable_text(field, entry, unmasked=True, usernames={})
        else:
            current = current_value(field, entry)
            values[field.key] = entry if current is None else current
    return values


def mask_personal_values(
    fields: Iterable[FieldDefinition], values: Mapping[str, Any]
) -> dict[str, Any]:
    """api_values as a reader who may not see the record's personal data gets them."""
    personal = {field.key: field for field in fields if field.sensitivity == Sensitivity.PERSONAL}
    return {
        key: masked_value(personal[key], value) if key in personal and value else value
        for key, value in values.items()
    }


def choice_labels(field: FieldDefinition) -> dict[str, str]:
    """key -> label in the active language of the field's choices, worked out once per field
    instance and language: an export shows a label in every row (instances live for one
    request or job, so a renamed choice shows from the next)."""
    cache = field.__dict__.setdefault("_choice_labels", {})
    language = get_language()
    if language not in cache:
        cache[language] = {choice.key: choice.label for choice in field.choices.all()}
    return cache[language]


def masked_value(field: FieldDefinition, value: Any) -> str:
    """What someone without the right to see a personal or sensitive value is shown."""
    if value is None or value == "" or value == []:
        return ""
    kind = _MASK_KIND.get(field.type)
    if kind is None:
        return mask_text(str(value), keep=0)  # hidden whole: a yes / no or a date says much
    return mask(kind, str(value))


@dataclass(frozen=True)
class ShownValue:
    """One custom value on a page: its field, the text shown, and whether it is the real value
    (False: a mask); `revealable` for a sensitive value the viewer may reveal."""

    field: FieldDefinition
    text: str
    visible: bool
    revealable: bool = False

    @property
    def link(self) -> str:
        """A tel:, mailto: or web link for a visible value, "" otherwise."""
        if not self.visible or not self.text:
            return ""
        if self.field.type == FieldType.PHONE:
            return f"tel:{self.text}"
        if self.field.type == FieldType.EMAIL:
            return f"mailto:{self.text}"
        if self.field.type == FieldType.URL:
            return self.text
        return ""


def by_group(items: Iterable[Any], group_of: Callable[[Any], str]) -> list[tuple[str, list[Any]]]:
    """(group, items) in the items' order, the unnamed group first: it carries no heading,
    so it must not look like part of the group above it."""
    groups: dict[str, list[Any]] = {"": []}
    for item in items:
        groups.setdefault(group_of(item), []).append(item)
    return [(group, members) for group, members in groups.items() if members]


def shown_values(
    fields: Iterable[FieldDefinition],
    stored: Mapping[str, Any],
    *,
    sees_personal: bool,
    may_reveal: bool,
) -> list[tuple[str, list[ShownValue]]]:
    """The record's values with a value, grouped as the form groups them ((group, values) in
    the fields' order), masked as the viewer must see them (shown_value)."""
    shown_list = [
        shown_value(field, stored[field.key], sees_personal=sees_personal, may_reveal=may_reveal)
        for field in fields
        if stored.get(field.key) is not None
    ]
    return by_group(shown_list, lambda shown: shown.field.group)


def shown_value(
    field: FieldDefinition, entry: Any, *, sees_personal: bool, may_reveal: bool
) -> ShownValue:
    """One stored entry as the viewer must see it: a personal value masked unless
    `sees_personal`; a sensitive one always masked here (it is revealed one at a time,
    audited; `may_reveal` offers it)."""
    if is_hidden(field, entry):
        return ShownValue(field, hidden_text(field, entry), False, revealable=may_reveal)
    if field.sensitivity == Sensitivity.PERSONAL and not sees_personal:
        return ShownValue(field, masked_value(field, shown_text(field, entry)), False)
    return ShownValue(field, shown_text(field, entry), True)
