"""Reading custom values in SQL: equality as JSON containment (one GIN index on PostgreSQL serves
every key: customers' 0023), and the ordered value of a field for ranges and sorting, which on
PostgreSQL has an expression index of its own, built without locking writes
(CREATE INDEX CONCURRENTLY) by a task once the field is saved.

Numbers and amounts are stored as decimal strings ("1200.50"); their ordered value is
`crm_decimal(custom ->> 'key')`, a SQL function (customers' 0023) that gives NULL for anything
that is not a plain decimal, so that no stored value can ever make a write fail on the index
(a cast would). Dates are ISO text, which orders as it is; so does text."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import DecimalField, Func, Q, TextField
from django.db.models.expressions import Expression
from django.db.models.fields.json import KeyTextTransform

from customers.custom_fields.models import (
    NOT_IDENTIFYING_TYPES,
    FieldDefinition,
    FieldType,
    Sensitivity,
)
from customers.custom_fields.records import blind_index
from customers.custom_fields.selectors import defined_fields
from customers.custom_fields.targets import registered_kinds, target_for
from customers.custom_fields.values import clean_value

# The types whose values have an order: ranges and sorting, on an index of their own.
ORDERED_TYPES = (FieldType.NUMBER, FieldType.MONEY, FieldType.DATE, FieldType.TEXT)
NUMERIC_TYPES = (FieldType.NUMBER, FieldType.MONEY)


class DecimalOf(Func):
    """A decimal string as a number: crm_decimal() on PostgreSQL, CAST on SQLite (which never
    fails: a string that is not a number is 0 there)."""

    function = "crm_decimal"
    output_field = DecimalField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        return self.as_sql(compiler, connection, template="CAST(%(expressions)s AS NUMERIC)")


class TextOf(Func):
    """A JSON key's text as plain text: compared as text, where Django would read the other
    side of a comparison with a JSON key as JSON on SQLite ("2022-01-01" is not JSON)."""

    function = ""
    output_field = TextField()


def is_ordered(field: FieldDefinition) -> bool:
    """Whether the field's values can be compared by order and sorted: an ordered type, not
    sealed (a sealed value is ciphertext)."""
    return field.type in ORDERED_TYPES and field.sensitivity != Sensitivity.SENSITIVE


def ordered_text(field: FieldDefinition) -> Expression:
    """The field's value as text (a JSON key's text, compared as text on every engine)."""
    return TextOf(KeyTextTransform(field.key, target_for(field.target).values_field))


def ordered_value(field: FieldDefinition) -> Expression:
    """The field's value as SQL orders it (exactly the expression its index is built on)."""
    if field.type in NUMERIC_TYPES:
        return DecimalOf(KeyTextTransform(field.key, target_for(field.target).values_field))
    return ordered_text(field)


def holds(field: FieldDefinition, stored: Any) -> Q:
    """The records whose value of `field` is `stored` (a clean value), or, for several
    choices, whose choices include the `stored` key."""
    values_field = target_for(field.target).values_field
    if connection.vendor == "postgresql":
        wanted = [stored] if field.type == FieldType.CHOICES else stored
        return Q(**{f"{values_field}__contains": {field.key: wanted}})
    if field.type == FieldType.CHOICES:
        # SQLite reads the list as its JSON text; keys are slugs, so the quoted key is one
        # element, never part of another.
        return Q(**{f"{values_field}__{field.key}__icontains": f'"{stored}"'})
    return Q(**{f"{values_field}__{field.key}": stored})


def holds_sealed(field: FieldDefinition, value: Any) -> Q:
    """The records whose sealed value of `field` is the clean `value` (by its blind index)."""
    values_field = target_for(field.target).values_field
    index = blind_index(field, value)
    if connection.vendor == "postgresql":
        return Q(**{f"{values_field}__contains": {field.key: {"index": index}}})
    return Q(**{f"{values_field}__{field.key}__index": index})


def identifying_conditions(target: str, text: str) -> tuple[Q, Q]:
    """The records of `target` holding `text` (as typed in a search box, cleaned as each field
    cleans it) in a field marked identifying (a member number, a WeChat id): (ordinary fields'
    condition, personal and sensitive fields' condition); each matches nothing when no field
    takes the text. The second is for the caller to narrow to whose personal data the reader
    may see: finding someone by a hidden value would tell it."""
    ordinary = hidden = Q(pk__in=[])
    for field in defined_fields(target, archived=True):
        if not field.identifying or field.type in NOT_IDENTIFYING_TYPES:
            continue
        try:
            value = clean_value(field, text)
        except ValidationError:
            continue
        if value is None:
            continue
        if field.sensitivity == Sensitivity.SENSITIVE:
            hidden |= holds_sealed(field, value)
        elif field.sensitivity == Sensitivity.PERSONAL:
            hidden |= holds(field, value)
        else:
            ordinary |= holds(field, value)
    return ordinary, hidden


def index_name(field: FieldDefinition, *, numeric: bool | None = None) -> str:
    """The field's order index, named by what it orders (numbers or text), so that a field
    whose type changes gets a new one and the old is dropped, both outside any request."""
    numeric = field.type in NUMERIC_TYPES if numeric is None else numeric
    return f"custom_field_{field.pk}_{'number' if numeric else 'text'}"


def build_order_index(field: FieldDefinition) -> bool:
    """Make the field's order indexes what it needs now, on PostgreSQL, without blocking
    writes: an index of the other kind, or of a field no longer ordered (sealed now), is
    dropped; the one it needs is built, or built again after a failed earlier build (left
    INVALID). Must run outside a transaction. Returns whether an index was built."""
    if connection.vendor != "postgresql":
        return False
    ordered = is_ordered(field) and target_for(field.target).ordered_by_value
    wanted = index_name(field) if ordered else ""
    with connection.cursor() as cursor:
        for numeric in (True, False):
            name = index_name(field, numeric=numeric)
            if name != wanted:
                cursor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"')
        if not wanted:
            return False
        cursor.execute(
            "SELECT indisvalid FROM pg_index JOIN pg_class ON pg_class.oid = indexrelid "
            "WHERE relname = %s",
            [wanted],
        )
        found = cursor.fetchone()
        if found is not None and found[0]:
            return False
        if found is not None:
            cursor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{wanted}"')
        target = target_for(field.target)
        key = field.key.replace("'", "''")
        value = f"({target.values_field} ->> '{key}')"
        if field.type in NUMERIC_TYPES:
            value = f"crm_decimal{value}"
        table = target.model._meta.db_table
        cursor.execute(f'CREATE INDEX CONCURRENTLY "{wanted}" ON "{table}" (({value}), id)')
    return True


def build_missing_order_indexes() -> int:
    """Bring every field's order indexes up to date (after a field is saved, and hourly, in
    case no worker ran then); returns how many were built."""
    kinds = [kind for kind, _label in registered_kinds()]
    fields = FieldDefinition.objects.filter(target__in=kinds)
    return sum(build_order_index(field) for field in fields)
