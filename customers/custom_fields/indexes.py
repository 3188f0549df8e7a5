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

from django.db import connection
from django.db.models import DecimalField, Func, Q, TextField
from django.db.models.expressions import Expression
from django.db.models.fields.json import KeyTextTransform

from customers.custom_fields.models import FieldDefinition, FieldType, Sensitivity
from customers.custom_fields.targets import target_for

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


def is_filterable(field: FieldDefinition) -> bool:
    """Whether the list can filter by the field's value (a sealed value cannot be read)."""
    return field.sensitivity != Sensitivity.SENSITIVE


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


def index_name(field: FieldDefinition) -> str:
    return f"custom_field_{field.pk}_order"


def build_order_index(field: FieldDefinition) -> bool:
    """Build the field's expression index on PostgreSQL, without blocking writes; a failed
    earlier build (left INVALID) is dropped and built again. Must run outside a transaction.
    Returns whether an index was built."""
    if connection.vendor != "postgresql" or not is_ordered(field):
        return False
    target = target_for(field.target)
    table = target.model._meta.db_table
    name = index_name(field)
    key = field.key.replace("'", "''")
    value = f"({target.values_field} ->> '{key}')"
    if field.type in NUMERIC_TYPES:
        value = f"crm_decimal{value}"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indisvalid FROM pg_index JOIN pg_class ON pg_class.oid = indexrelid "
            "WHERE relname = %s",
            [name],
        )
        found = cursor.fetchone()
        if found is not None and found[0]:
            return False
        if found is not None:
            cursor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"')
        cursor.execute(f'CREATE INDEX CONCURRENTLY "{name}" ON "{table}" (({value}), id)')
    return True


def build_missing_order_indexes() -> int:
    """Build every ordered field's index that is missing or invalid (after a field is saved,
    and hourly, in case no worker ran then); returns how many were built."""
    return sum(build_order_index(field) for field in FieldDefinition.objects.all())


def drop_order_index(field: FieldDefinition) -> None:
    """Drop the field's expression index (before its values change form)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f'DROP INDEX IF EXISTS "{index_name(field)}"')
