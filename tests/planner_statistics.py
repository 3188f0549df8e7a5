"""Reading and resetting PostgreSQL's planner statistics in tests (crm/table_statistics.py).

Both work inside the test's transaction: ANALYZE writes pg_statistic and pg_class.reltuples
transactionally, whereas the activity counters (pg_stat_user_tables) are only updated after a
commit. Resetting needs a superuser, as the test database's owner is; it is rolled back with
the test.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection, models


def _names(tables: Iterable[type[models.Model]]) -> list[str]:
    return [connection.ops.quote_name(model._meta.db_table) for model in tables]


def forget_statistics(*tables: type[models.Model]) -> None:
    """Make the tables look never analysed: no column statistics, reltuples -1."""
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM pg_statistic WHERE starelid = ANY(CAST(%s AS regclass[]))",
            [_names(tables)],
        )
        cursor.execute(
            "UPDATE pg_class SET reltuples = -1 WHERE oid = ANY(CAST(%s AS regclass[]))",
            [_names(tables)],
        )


def unanalysed(*tables: type[models.Model]) -> list[str]:
    """Those of the tables without planner statistics (never analysed, or since forgotten).
    An analysed empty table has reltuples 0 and no column statistics."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_class c WHERE c.oid = ANY(CAST(%s AS regclass[])) "
            "AND (c.reltuples < 0 OR (c.reltuples > 0 AND NOT EXISTS "
            "(SELECT 1 FROM pg_statistic p WHERE p.starelid = c.oid))) ORDER BY 1",
            [_names(tables)],
        )
        return [name for (name,) in cursor.fetchall()]
