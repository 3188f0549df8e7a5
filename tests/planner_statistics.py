"""Reading and resetting the planner's statistics in tests (kernel/table_statistics.py).

Both work inside the test's transaction, and what they change is rolled back with it: ANALYZE
writes PostgreSQL's pg_statistic and SQLite's sqlite_stat1 transactionally (PostgreSQL's
activity counters, pg_stat_user_tables, only change after a commit). PostgreSQL's ANALYZE
writes pg_class.reltuples and relpages in place, though: a rolled-back test leaves the row
estimate of what it analysed behind, which a test that analyses a large table undoes itself
(tests/crm/test_search.py). Resetting on PostgreSQL needs a superuser, as the test database's
owner is.
"""

from __future__ import annotations

from django.db import connection, models


def _names(tables: tuple[type[models.Model], ...]) -> list[str]:
    return sorted({model._meta.db_table for model in tables})


def forget_statistics(*tables: type[models.Model]) -> None:
    """Make the tables look never analysed. PostgreSQL: no column statistics, reltuples -1;
    SQLite: no sqlite_stat1 rows (the table is created empty where it was not there)."""
    quoted = [connection.ops.quote_name(name) for name in _names(tables)]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "DELETE FROM pg_statistic WHERE starelid = ANY(CAST(%s AS regclass[]))", [quoted]
            )
            cursor.execute(
                "UPDATE pg_class SET reltuples = -1 WHERE oid = ANY(CAST(%s AS regclass[]))",
                [quoted],
            )
            return
        cursor.execute("ANALYZE sqlite_master")  # creates sqlite_stat1 if it is missing
        for name in _names(tables):
            cursor.execute("DELETE FROM sqlite_stat1 WHERE tbl = %s", [name])


def unanalysed(*tables: type[models.Model]) -> list[str]:
    """Those of the tables holding rows without planner statistics (never analysed, or since
    forgotten). An analysed empty table has none on either engine, and needs none."""
    names = _names(tables)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "SELECT c.relname FROM pg_class c "
                "WHERE c.oid = ANY(CAST(%s AS regclass[])) "
                "AND ((c.reltuples < 0 AND pg_relation_size(c.oid) > 0) OR (c.reltuples > 0 "
                "AND NOT EXISTS "
                "(SELECT 1 FROM pg_statistic p WHERE p.starelid = c.oid))) ORDER BY 1",
                [[connection.ops.quote_name(name) for name in names]],
            )
            return [name for (name,) in cursor.fetchall()]
        missing = []
        for name in names:
            cursor.execute(
                f"SELECT EXISTS (SELECT 1 FROM {connection.ops.quote_name(name)}) "  # noqa: S608
                "AND NOT EXISTS (SELECT 1 FROM sqlite_stat1 WHERE tbl = %s)",
                [name],
            )
            if cursor.fetchone()[0]:
                missing.append(name)
        return missing
