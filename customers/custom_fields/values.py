"""A custom field's value from what a person, a file or another system gives, in the form it
is stored in on the record (a JSON value), and back for reading. Pure apart from reading the
field's choices and, for a staff member, the users.

Stored forms: text as a string; a number or an amount as a decimal string with the field's
places ("1200.50": exact, and ordered by a numeric cast on PostgreSQL); a date as
"YYYY-MM-DD" (ordered as text); yes / no as true / false; a choice as its key, several as a
sorted list of keys; a web address, an email and a phone as customers/normalize.py writes
them; a staff member as the user's id. Empty is None, never stored."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from accounts.templatetags.staff import staff_name
from accounts.users import staff_accounts
from customers.custom_fields.models import TEXT_TYPES, FieldDefinition, FieldType
from customers.normalize import (
    NormalizationError,
    fold_width,
    normalize_email,
    normalize_name,
    normalize_phone,
    normalize_website,
    parse_date,
)
from kernel.free_text import UNREADABLE_TEXT, has_unreadable_characters

TEXT_MAX_LENGTH = 255
LONG_TEXT_MAX_LENGTH = 10_000
MONEY_DECIMALS = 2
# Digits before the point: a 15-digit amount is already more than anyone's turnover.
MAX_WHOLE_DIGITS = 15

_YES = {"1", "y", "yes", "true", "t", "on", "x", "✓", "是", "有", "对", "真"}
_NO = {"0", "n", "no", "false", "f", "off", "否", "无", "不", "没有", "假"}
# What people write around an amount ("¥1,200.50", "1 200 元", "RMB 300").
_AMOUNT_NOISE = re.compile(r"[\s,_'¥$€£￥]|元|块|RMB|CNY|USD|EUR", re.IGNORECASE)
# What separates several choices written as one text ("VIP, 新客；B2B").
_CHOICE_SEPARATORS = re.compile(r"[,;，；、|/\n]")


def is_empty(raw: Any) -> bool:
    if raw is None:
        return True
    if isinstance(raw, str):
        return not raw.strip()
    if isinstance(raw, (list, tuple, set)):
        return not any(not is_empty(item) for item in raw)
    return False


# The types whose values clean_value looks up in the database (a colleague by user name).
CLEANED_FROM_DATABASE = frozenset({FieldType.USER})


def clean_value(field: FieldDefinition, raw: Any) -> Any:
    """The stored form of `raw` for `field`, None when it is empty. Raises ValidationError
    with a message in the user's language that never repeats the value; reads the database
    only for the types in CLEANED_FROM_DATABASE."""
    if is_empty(raw):
        return None
    kind = field.type
    if kind in (FieldType.TEXT, FieldType.LONG_TEXT):
        return _text(raw, TEXT_MAX_LENGTH if kind == FieldType.TEXT else LONG_TEXT_MAX_LENGTH)
    if kind == FieldType.NUMBER:
        return _decimal(raw, field.decimals)
    if kind == FieldType.MONEY:
        return _decimal(raw, MONEY_DECIMALS)
    if kind == FieldType.DATE:
        return _normalised(parse_date, raw).isoformat()
    if kind == FieldType.YES_NO:
        return _yes_no(raw)
    if kind == FieldType.CHOICE:
        return _choice_key(field, raw)
    if kind == FieldType.CHOICES:
        return _choice_keys(field, raw)
    if kind == FieldType.URL:
        return _normalised(normalize_website, raw)
    if kind == FieldType.EMAIL:
        return _normalised(normalize_email, raw)
    if kind == FieldType.PHONE:
        return _normalised(
            lambda value: normalize_phone(value, region=settings.DEFAULT_PHONE_REGION), raw
        )
    if kind == FieldType.USER:
        return _staff_member(raw)
    raise ValueError(f"Unknown custom field type {kind!r}")


_DECIMAL_FORM = re.compile(r"-?\d+(?:\.(\d+))?")
_DATE_FORM = re.compile(r"\d{4}-\d{2}-\d{2}")


def in_stored_form(field: FieldDefinition, stored: Any) -> bool:
    """Whether a plain stored value has the form `field` stores now, judged by its shape
    alone (cheap enough for every cell of an export): False for one stored under the field's
    earlier settings, which its conversion has not rewritten yet (or kept as it was)."""
    kind = field.type
    if kind in (FieldType.NUMBER, FieldType.MONEY):
        match = _DECIMAL_FORM.fullmatch(stored) if isinstance(stored, str) else None
        places = field.decimals if kind == FieldType.NUMBER else MONEY_DECIMALS
        return match is not None and len(match.group(1) or "") == places
    if kind == FieldType.DATE:
        return isinstance(stored, str) and _DATE_FORM.fullmatch(stored) is not None
    if kind == FieldType.YES_NO:
        return isinstance(stored, bool)
    if kind == FieldType.CHOICE:
        return isinstance(stored, str) and stored in _stored_choice_keys(field)
    if kind == FieldType.CHOICES:
        keys = _stored_choice_keys(field)
        return isinstance(stored, list) and all(key in keys for key in stored)
    if kind == FieldType.USER:
        return isinstance(stored, int) and not isinstance(stored, bool)
    return kind in TEXT_TYPES and isinstance(stored, str)


def _stored_choice_keys(field: FieldDefinition) -> frozenset[str]:
    """Every choice's key, archived ones included (values keep them), once per instance."""
    keys = field.__dict__.get("_choice_keys")
    if keys is None:
        keys = field.__dict__["_choice_keys"] = frozenset(c.key for c in field.choices.all())
    return keys


def as_typed(stored: Any) -> Any:
    """A stored value as a person would type it: what clean_value takes to store it again
    under other settings (another type, other decimals)."""
    if isinstance(stored, list):
        return ", ".join(str(item) for item in stored)
    if isinstance(stored, bool):
        return "yes" if stored else "no"
    return stored


def clean_values(
    fields: Iterable[FieldDefinition], raw: Mapping[str, Any], *, partial: bool = False
) -> dict[str, Any]:
    """`raw` (key -> value) cleaned field by field, raising one ValidationError with every
    field's message (keyed by the field's key). A required field without a value is an error,
    unless `partial` (a change naming only some fields) leaves it out of `raw`."""
    clean: dict[str, Any] = {}
    errors: dict[str, list[ValidationError]] = {}
    for field in fields:
        if field.key not in raw:
            if field.required and not partial:
                errors[field.key] = [ValidationError(_("This field is required."), "required")]
            continue
        try:
            clean[field.key] = clean_value(field, raw[field.key])
        except ValidationError as error:
            errors[field.key] = error.error_list
            continue
        if clean[field.key] is None and field.required:
            errors[field.key] = [ValidationError(_("This field is required."), "required")]
    if errors:
        raise ValidationError(errors)
    return clean


def _normalised(normalise, raw: Any) -> Any:
    try:
        value = normalise(raw)
    except NormalizationError as error:
        raise ValidationError(error.message, code=error.code) from error
    if value is None or value == "":
        raise ValidationError(_("Enter a valid value."), code="invalid")
    return value


def _text(raw: Any, max_length: int) -> str:
    text = str(raw)
    if has_unreadable_characters(text):
        raise ValidationError(UNREADABLE_TEXT, code="unreadable_text")
    text = text.strip()
    if len(text) > max_length:
        raise ValidationError(
            _("Write at most %(limit)d characters.") % {"limit": max_length}, code="max_length"
        )
    return text


def _decimal(raw: Any, places: int) -> str:
    if isinstance(raw, bool):
        raise ValidationError(_("Enter a number."), code="invalid_number")
    text = _AMOUNT_NOISE.sub("", fold_width(str(raw)))
    try:
        number = Decimal(text)
    except InvalidOperation as error:
        raise ValidationError(_("Enter a number."), code="invalid_number") from error
    if not number.is_finite():
        raise ValidationError(_("Enter a number."), code="invalid_number")
    if number and number.adjusted() >= MAX_WHOLE_DIGITS:
        raise ValidationError(_("This number is too large."), code="too_large")
    quantized = number.quantize(Decimal(1).scaleb(-places))
    if quantized != number:
        raise ValidationError(
            _("Use at most %(places)d decimal places.") % {"places": places}, code="decimals"
        )
    number = quantized
    return f"{number:f}"


def _yes_no(raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    text = fold_width(str(raw)).strip().lower()
    if text in _YES:
        return True
    if text in _NO:
        return False
    raise ValidationError(_("Answer yes or no."), code="invalid_yes_no")


def _choice_keys(field: FieldDefinition, raw: Any) -> list[str]:
    """Several choices: a list, or a text naming them between separators ("Gold、Silver"),
    unless the whole text is one choice's name ("B2B/B2C")."""
    if isinstance(raw, str):
        try:
            return [_choice_key(field, raw)]
        except ValidationError:
            items: list[Any] = _CHOICE_SEPARATORS.split(raw)
    else:
        items = list(raw)
    return sorted({_choice_key(field, item) for item in items if not is_empty(item)})


def _choice_key(field: FieldDefinition, raw: Any) -> str:
    """The key of the choice `raw` names: its key, or its label in either language."""
    try:
        wanted = normalize_name(str(raw)).casefold()
    except NormalizationError as error:
        raise ValidationError(error.message, code=error.code) from error
    key = _choice_names(field).get(wanted)
    if key is None:
        raise ValidationError(_("Choose one of the field's choices."), code="invalid_choice")
    return key


def _choice_names(field: FieldDefinition) -> dict[str, str]:
    """Each offered choice's key and labels, casefolded -> its key, worked out once per field
    instance (an import cleans a value of the field in every row; the choices are
    prefetched by the callers that clean many values). Where two choices share a name, the
    first in order keeps it."""
    names = field.__dict__.get("_choice_names")
    if names is None:
        names = {}
        for choice in field.choices.all():
            if choice.archived:
                continue
            for name in (choice.key, choice.label_en, choice.label_zh):
                if name:
                    names.setdefault(name.casefold(), choice.key)
        field.__dict__["_choice_names"] = names
    return names


def staff_choices(*, including: int | None = None) -> list[tuple[str, str]]:
    """(id, name) of the active colleagues a staff-member field may name, and of the one a
    record names though they left (`including`), by name."""
    people = staff_accounts().filter(Q(is_active=True) | Q(pk=including))
    return [(str(user.pk), staff_name(user)) for user in people.order_by("last_name", "pk")]


def _staff_member(raw: Any) -> int:
    """An active colleague's id, from the id or the user name (not a service account's)."""
    people = staff_accounts().filter(is_active=True)
    text = str(raw).strip()
    user = people.filter(**{"pk" if text.isdigit() else "username": text}).first()
    if user is None:
        raise ValidationError(_("Choose an active staff member."), code="invalid_user")
    return user.pk
