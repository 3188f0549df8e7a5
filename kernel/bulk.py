"""Inserting many new rows at once: PostgreSQL's COPY where it runs, bulk_create elsewhere.

COPY skips what makes bulk_create slow at import scale (building one INSERT with every value
prepared by each field), and ids come from the table's own sequence, reserved in one query, so
the objects know their primary keys afterwards, as they do after bulk_create.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from typing import TypeVar

from django.db import connection, models
from django.utils import timezone
from psycopg.types.json import Jsonb

T = TypeVar("T")


def insert_new(model: type[models.Model], objects: Sequence[models.Model]) -> None:
    """Insert unsaved objects of one model and set their primary keys. Fields with auto_now
    or auto_now_add get the current time, as save() would give them."""
    if not objects:
        return
    meta = model._meta
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(objects)
        return
    now = timezone.now()
    for field in meta.concrete_fields:
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            for obj in objects:
                setattr(obj, field.attname, now)
    columns = list(meta.concrete_fields)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [meta.db_table, meta.pk.column, len(objects)],
        )
        for obj, (pk,) in zip(objects, cursor.fetchall(), strict=True):
            obj.pk = pk
        names = ", ".join(quoted_column(field) for field in columns)
        # JSON goes through psycopg's jsonb dumper (Customer.custom); the rest as it is.
        cells = [
            (lambda value: None if value is None else Jsonb(value))
            if isinstance(field, models.JSONField)
            else (lambda value: value)
            for field in columns
        ]
        attnames = [field.attname for field in columns]
        with cursor.copy(
            f"COPY {connection.ops.quote_name(meta.db_table)} ({names}) FROM STDIN"
        ) as copy:
            for obj in objects:
                copy.write_row(
                    [cell(getattr(obj, name)) for cell, name in zip(cells, attnames, strict=True)]
                )
    for obj in objects:
        obj._state.adding = False
        obj._state.db = connection.alias


def insert_values(model: type[models.Model], fields: Sequence[str], rows: Sequence[tuple]) -> None:
    """Insert rows given as tuples of `fields` values (attribute names, e.g. "customer_id"),
    for link and history tables whose new rows are not needed as objects afterwards. Every
    column without a database default must be among `fields`."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        model._default_manager.bulk_create(
            [model(**dict(zip(fields, row, strict=True))) for row in rows]
        )
        return
    meta = model._meta
    by_attname = {field.attname: field for field in meta.concrete_fields}
    columns = ", ".join(quoted_column(by_attname[name]) for name in fields)
    # COPY goes to psycopg's cursor itself: its errors are made Django's (a unique constraint
    # refusing a row is an IntegrityError, as from bulk_create).
    with (
        connection.wrap_database_errors,
        connection.cursor() as cursor,
        cursor.copy(
            f"COPY {connection.ops.quote_name(meta.db_table)} ({columns}) FROM STDIN"
        ) as copy,
    ):
        for row in rows:
            copy.write_row(row)


def batched(items: Iterable[T], size: int) -> Iterator[tuple[T, ...]]:
    """Python 3.12's itertools.batched, for 3.11."""
    iterator = iter(items)
    while batch := tuple(itertools.islice(iterator, size)):
        yield batch


def quoted_column(field: models.Field) -> str:
    """A concrete field's column, quoted for raw SQL on the current connection."""
    # A concrete field always has its column; the type allows None for relations without one.
    assert field.column is not None
    return connection.ops.quote_name(field.column)
