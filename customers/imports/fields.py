"""From one row's cells to clean values: what every kind of import shares.

A row becomes a PreparedRow: the clean values of the fields its cells filled, and the issues
found (errors make the row fail; warnings say what was dropped or merged). Messages are
translated into the job's language and never contain the cell's value: that goes in the
report's own column.
"""

from __future__ import annotations

import datetime
import functools
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from customers.custom_fields.models import Sensitivity
from customers.custom_fields.values import CLEANED_FROM_DATABASE, clean_value
from customers.imports.mapping import IGNORE, ImportField
from customers.models import DateOrder, IssueSeverity
from customers.normalize import (
    NormalizationError,
    fold_width,
    normalize_email,
    normalize_phone,
    parse_date,
)
from kernel.free_text import UNREADABLE_TEXT, has_unreadable_characters, mark_unreadable
from privacy.masking import mask_id_number, mask_text
from privacy.tabular import unneutralise

MAX_REPORTED_VALUE = 200
SECRET_FIELDS = frozenset({"id_number"})


def is_sensitive(definition: Any) -> bool:
    """Whether a custom field's values are sealed (and so never quoted in a report)."""
    return definition is not None and definition.sensitivity == Sensitivity.SENSITIVE


@dataclass
class RowIssue:
    row: int
    column: str
    value: str
    message: str
    severity: str = IssueSeverity.ERROR


@dataclass
class PreparedRow:
    number: int
    # The raw text per field (joined when several columns feed one field).
    raw: dict[str, str]
    values: dict[str, Any] = field(default_factory=dict)
    issues: list[RowIssue] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)
    # For fields several columns may hold (ImportField.several): the other filled columns,
    # (header, text) in order of preference, after the one in `raw`.
    alternatives: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    # The id of the customer, order or interaction the row created, changed or found as it
    # was (set by the kind's write_batch; None for a failed row).
    stored_id: int | None = None
    # The custom fields the row's cells fill, by import key ("custom.<key>").
    definitions: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return any(issue.severity == IssueSeverity.ERROR for issue in self.issues)

    def add_issue(
        self,
        field_key: str,
        message: Any,
        *,
        warning: bool = False,
        value: str | None = None,
        column: str | None = None,
    ) -> None:
        """Report a problem with a field's cell; `value` is the cell when it is not among the
        row's raw values (a refused one), `column` its header when it is not the field's
        column (one of its alternatives)."""
        value = self.raw.get(field_key, "") if value is None else value
        column = self.columns.get(field_key, "") if column is None else column
        if field_key in SECRET_FIELDS:
            # Identity numbers are revealed only through the audited reveal, never in reports.
            value = mask_id_number(value)
        elif is_sensitive(self.definitions.get(field_key)):
            value = mask_text(value, keep=0)  # so are sensitive custom values
        self.issues.append(
            RowIssue(
                row=self.number,
                # The report quotes what it can store: unreadable characters as U+FFFD.
                column=mark_unreadable(column),
                value=mark_unreadable(value[:MAX_REPORTED_VALUE]),
                message=str(message),
                severity=IssueSeverity.WARNING if warning else IssueSeverity.ERROR,
            )
        )


# What a row may be matched by: its customer's id in the source system, phone, email, identity
# number (an order's or interaction's customer by the first three).
MATCH_KEYS = ("external_id", "phone", "email", "id_number")


@dataclass
class BatchOptions:
    """What a kind's `write_batch` needs to know about where its rows come from: an import
    job (customers/imports/jobs.py), or an API call (`job` None; customers/imports/records.py).
    `mapped_fields` are the fields a file's mapping fills for every row (empty when each
    record says its own); `match_on` the keys that may find an existing customer."""

    actor: Any
    job: Any
    source_name: str
    source_channel: str
    policy: str
    owner: Any = None
    mapped_fields: frozenset[str] = frozenset()
    match_on: frozenset[str] = frozenset(MATCH_KEYS)
    # A pass that writes nothing: the customers its earlier batches would have created
    # (customers/imports/earlier_rows.py).
    earlier_rows: Any = None


_LEFT_OUT = _("%(message)s The value was left out.")


def report_invalid(row: PreparedRow, key: str, message: Any, *, drop: bool) -> None:
    """An invalid value: an error that fails the row, or, when the user chose to drop invalid
    optional values (`drop`), a warning and the value left out."""
    if drop:
        row.add_issue(key, _LEFT_OUT % {"message": message}, warning=True)
    else:
        row.add_issue(key, message)


def row_custom_values(row: PreparedRow, problem: Callable[[str, Any], None]) -> dict[str, Any]:
    """The row's custom values (field key -> clean value), each cleaned as the forms clean it
    (customers/custom_fields/values.py); a value that does not fit is `problem(column key,
    message)`, and left out."""
    clean: dict[str, Any] = {}
    for key, definition in row.definitions.items():
        if key not in row.raw:
            continue
        try:
            clean[definition.key] = clean_value(definition, row.raw[key])
        except ValidationError as error:
            problem(key, error.messages[0])
    return clean


def cells_by_field(
    fields: Sequence[ImportField],
    headers: Sequence[str],
    mapping: Sequence[str],
    number: int,
    cells: Sequence[str],
) -> PreparedRow:
    """Gather a row's non-empty cells under the fields they are mapped to (RowCells, for one
    row)."""
    return RowCells(fields, headers, mapping)(number, cells)


class RowCells:
    """Gathers rows' non-empty cells under the fields they are mapped to, for a file's headers
    and mapping (read once, not for every row). A cell holding characters nobody typed
    (kernel.free_text) is left out and fails the row, whatever its field, so no kind of import
    stores it and every kind reports it the same way."""

    def __init__(
        self, fields: Sequence[ImportField], headers: Sequence[str], mapping: Sequence[str]
    ) -> None:
        self.headers, self.mapping = headers, mapping
        self.joins = {item.key for item in fields if item.joins}
        several = {item.key: item for item in fields if item.several}
        # Where each column of a field several columns may hold stands among them.
        self.ranks = {
            position: several[key].preference(header)
            for position, (header, key) in enumerate(zip(headers, mapping, strict=False))
            if key in several
        }
        self.definitions = {
            item.key: item.definition for item in fields if item.definition is not None
        }

    @property
    def reads_database(self) -> bool:
        """Whether cleaning the mapped cells reads the database (a custom field whose values
        name colleagues)."""
        mapped = set(self.mapping)
        return any(
            definition.type in CLEANED_FROM_DATABASE
            for key, definition in self.definitions.items()
            if key in mapped
        )

    def __call__(self, number: int, cells: Sequence[str]) -> PreparedRow:
        joins, ranks, definitions = self.joins, self.ranks, self.definitions
        raw: dict[str, str] = {}
        columns: dict[str, str] = {}
        unreadable: list[tuple[str, str]] = []
        filled: dict[str, list[tuple[int, int, str, str]]] = {}
        for position, (header, key, cell) in enumerate(
            zip(self.headers, self.mapping, cells, strict=False)
        ):
            if key == IGNORE:
                continue
            text = unneutralise(cell.strip())
            columns.setdefault(key, header)
            if not text:
                continue
            if has_unreadable_characters(text):
                unreadable.append((key, text))
            elif position in ranks:
                filled.setdefault(key, []).append((ranks[position], position, header, text))
            elif key in raw and key in joins:
                raw[key] = f"{raw[key]}{', ' if key == 'tags' else ' '}{text}"
            else:
                raw.setdefault(key, text)
        row = PreparedRow(
            number=number,
            raw=raw,
            columns=columns,
            definitions={key: definitions[key] for key in columns if key in definitions},
        )
        for key, found in filled.items():
            (_rank, _position, columns[key], raw[key]), *others = sorted(found)
            row.alternatives[key] = [(header, text) for _rank, _position, header, text in others]
        for key, text in unreadable:
            row.add_issue(key, UNREADABLE_TEXT, value=text)
        return row


def phone_value(raw: str) -> str:
    """A phone cell in E.164, numbers without a country code read in DEFAULT_PHONE_REGION."""
    return normalize_phone(raw, region=settings.DEFAULT_PHONE_REGION)


@dataclass(frozen=True)
class BatchValues:
    """A batch's phones, emails and dates as customers/normalize_batch.py cleaned them all at
    once, by text (`batch_values`); a text not among them is cleaned on its own, by the same
    rules, so every refusal and its message come from customers/normalize.py."""

    phones: Mapping[str, str]
    emails: Mapping[str, str]
    dates: Mapping[str, datetime.date]

    def phone(self, text: str) -> str:
        known = self.phones.get(text)
        return known if known is not None else phone_value(text)

    def email(self, text: str) -> str:
        known = self.emails.get(text)
        return known if known is not None else normalize_email(text)

    def date(self, text: str, *, date_order: str) -> datetime.date | None:
        known = self.dates.get(text)
        return known if known is not None else date_value(text, date_order=date_order)


# For rows prepared on their own: every value cleaned one by one.
NO_BATCH = BatchValues(MappingProxyType({}), MappingProxyType({}), MappingProxyType({}))
# The fields of every kind of import that the batch path cleans.
_BATCH_PHONES = ("phone", "customer_phone")
_BATCH_EMAILS = ("email", "customer_email")
_BATCH_DATES = ("birth_date",)


def batch_values(rows: Sequence[PreparedRow]) -> BatchValues:
    """Clean the phones, emails and dates of a batch of rows column by column."""
    # Imported at the first batch: pyarrow's compute kernels are 34 MB that processes which
    # never import anything (the web, beat) need not hold.
    from customers import normalize_batch

    def texts(keys: tuple[str, ...]) -> Iterator[str]:
        for row in rows:
            for key in keys:
                if key in row.raw:
                    yield row.raw[key]
                for _header, text in row.alternatives.get(key, ()):
                    yield text

    return BatchValues(
        phones=normalize_batch.phones(texts(_BATCH_PHONES), region=settings.DEFAULT_PHONE_REGION),
        emails=normalize_batch.emails(texts(_BATCH_EMAILS)),
        dates=normalize_batch.dates(texts(_BATCH_DATES)),
    )


def prepare_rows(
    module: Any, rows: Sequence[PreparedRow], *, invalid_values: str, date_order: str
) -> list[PreparedRow]:
    """A batch's gathered rows, each prepared by its kind's rows module, with the batch's
    phones, emails and dates cleaned at once."""
    batch = batch_values(rows)
    return [
        module.prepare(row, invalid_values=invalid_values, date_order=date_order, batch=batch)
        for row in rows
    ]


def first_valid(
    row: PreparedRow, key: str, normalise: Callable[[str], str]
) -> list[tuple[str, str, str]]:
    """The values a field several columns may hold (ImportField.several) that `normalise`
    accepts, as (header, text, clean value), distinct clean values only, in order of
    preference; the first is put in the row's `raw` and `columns` as the field's value. The
    refused ones are reported as warnings on their own columns, except, when none is valid,
    the field's value, which the field's own check reports."""
    if key not in row.raw:
        return []
    candidates = [(row.columns.get(key, ""), row.raw[key]), *row.alternatives.get(key, [])]
    valid: list[tuple[str, str, str]] = []
    refused: list[tuple[str, str, Any]] = []
    for header, text in candidates:
        try:
            clean = normalise(text)
        except NormalizationError as error:
            refused.append((header, text, error.message))
            continue
        if clean not in {value for _header, _text, value in valid}:
            valid.append((header, text, clean))
    if valid:
        row.columns[key], row.raw[key], _clean = valid[0]
    else:
        refused = refused[1:]  # the field's value: its own check reports it
    for header, text, message in refused:
        row.add_issue(
            key, _LEFT_OUT % {"message": message}, warning=True, value=text, column=header
        )
    return valid


TOO_LONG = _("This value is longer than %(limit)d characters.")


def fitting_text(
    row: PreparedRow, key: str, value: str, field: models.Field, *, drop: bool = False
) -> str:
    """`value` when it fits the model field it is stored in (its max_length: one source of
    limits for forms, services and imports), else "" and the problem reported (see
    report_invalid: an error, or with `drop` a warning and the value left out)."""
    if field.max_length is not None and len(value) > field.max_length:
        report_invalid(row, key, TOO_LONG % {"limit": field.max_length}, drop=drop)
        return ""
    return value


_CHOICE_INVALID = _("This is not one of the accepted values.")
_BOOLEAN_INVALID = _("Write yes or no.")
_NUMBER_INVALID = _("Enter a number.")
_DATETIME_INVALID = _("Enter a date and time such as 2024-01-05 14:30.")

_TRUE = frozenset(
    {"yes", "y", "true", "t", "1", "是", "同意", "已同意", "√", "✓", "subscribed", "x"}
)
_FALSE = frozenset(
    {
        "no",
        "n",
        "false",
        "f",
        "0",
        "否",
        "不同意",
        "未同意",
        "not_subscribed",
        "unsubscribed",
        "pending",
        "invalid",
        "redacted",
        "never_subscribed",
    }
)


def boolean_value(raw: str) -> bool:
    text = fold_width(raw).strip().casefold()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise NormalizationError(_BOOLEAN_INVALID, code="boolean_invalid")


@functools.cache
def _choice_lookup(
    choices: type[models.TextChoices], synonyms: tuple[tuple[str, str], ...]
) -> dict[str, str]:
    lookup: dict[str, str] = {}
    for language in ("en", *(code for code, _name in settings.LANGUAGES)):
        with translation.override(language):
            for value, label in choices.choices:
                lookup.setdefault(str(label).casefold(), value)
    for value in choices.values:
        if value:
            lookup[value.casefold()] = value
    lookup.update(synonyms)
    return lookup


def choice_value(
    choices: type[models.TextChoices], raw: str, synonyms: Iterable[tuple[str, str]] = ()
) -> str:
    """The stored value of a choice written as its value, its English or Chinese label, or a
    synonym ("男" for male)."""
    text = " ".join(fold_width(raw).split()).casefold()
    value = _choice_lookup(choices, tuple(synonyms)).get(text)
    if value is None:
        raise NormalizationError(_CHOICE_INVALID, code="choice_invalid")
    return value


# Where a customer or an order came from, as Chinese sheets write it; the values are shared by
# SourceChannel (customers) and SalesChannel (orders).
SHOP_CHANNEL_SYNONYMS = (
    ("门店", "store"),
    ("实体店", "store"),
    ("线下", "store"),
    ("网店", "online_shop"),
    ("官网", "online_shop"),
    ("商城", "online_shop"),
    ("shopify", "online_shop"),
    ("天猫", "marketplace"),
    ("淘宝", "marketplace"),
    ("京东", "marketplace"),
    ("拼多多", "marketplace"),
    ("抖音", "marketplace"),
    ("收银", "pos"),
    ("电话", "phone"),
)

_THOUSANDS = re.compile(r"(?<=\d)[,，](?=\d{3}\b)")
_CURRENCY_SIGNS = re.compile(r"^[¥￥$€£]|(元|rmb|cny)$", re.IGNORECASE)


def decimal_value(raw: str) -> Decimal:
    """A number as people write amounts: "1,299.00", "¥88", "88元"."""
    text = _CURRENCY_SIGNS.sub("", fold_width(raw).strip()).strip()
    text = _THOUSANDS.sub("", text)
    try:
        value = Decimal(text)
    except InvalidOperation as error:
        raise NormalizationError(_NUMBER_INVALID, code="number_invalid") from error
    if not value.is_finite():
        raise NormalizationError(_NUMBER_INVALID, code="number_invalid")
    return value


_TIME_PART = re.compile(r"^(?P<date>.+?)[T\s]+(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?")


_DATE_ORDER_UNSAID = _(
    "This date could be read as day/month or month/day. Say how the file writes such dates "
    "(“Dates such as 07/04/1980” on the mapping page; the commands' --date-order day-first "
    "or month-first), or write it as YYYY-MM-DD."
)


def date_value(raw: str, *, date_order: str) -> datetime.date | None:
    """A date as the file writes it, 07/04/1980 read as `date_order` (a DateOrder) says.
    Raises NormalizationError; for a date that could be either when the user did not say,
    with a message that tells them where to say it."""
    try:
        return parse_date(raw, day_first=_DAY_FIRST.get(date_order))
    except NormalizationError as error:
        if error.code == "date_order_ambiguous":
            raise NormalizationError(_DATE_ORDER_UNSAID, code=error.code) from error
        raise


_DAY_FIRST = {DateOrder.DAY_FIRST: True, DateOrder.MONTH_FIRST: False}


def datetime_value(raw: str, *, date_order: str) -> datetime.datetime:
    """A moment from a date alone ("2024-01-05": midnight) or a date and time ("2024/1/5 14:30",
    ISO 8601 with an offset); times without an offset are in the configured time zone.
    Raises NormalizationError, with date_value's message when the date is the problem."""
    text = fold_width(raw).strip()
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        match = _TIME_PART.match(text)
        day = date_value(match.group("date") if match else text, date_order=date_order)
        try:
            clock = (
                datetime.time(
                    int(match.group("h")), int(match.group("m")), int(match.group("s") or 0)
                )
                if match
                else datetime.time()
            )
        except ValueError as error:
            raise NormalizationError(_DATETIME_INVALID, code="datetime_invalid") from error
        moment = datetime.datetime.combine(day, clock)
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment
