"""The query planner's statistics, brought up to date by whoever writes in bulk.

PostgreSQL plans every query from per-table statistics (`pg_class.reltuples`, the column
histograms and distinct counts in `pg_statistic`) that only ANALYZE writes. Rows loaded with
COPY or bulk INSERT leave them as they were — for a table filled from empty, none at all — until
autovacuum gets round to it, a minute or more later and never inside the writing transaction.
A job that reads the tables meanwhile is planned blind: the first metrics refresh after an
import of 70,000 orders chose nested loops over what it took for a few rows and ran for
minutes instead of under a second (issue 18; bench/orders.py measures it). So every bulk writer
analyses the tables it touched once it is done (`analyze_tables`), and the nightly jobs first
analyse whatever a writer that skipped it left stale (`analyze_stale_tables`), so that they do
not depend on autovacuum having run.

SQLite's planner reads `sqlite_stat1`, which likewise only ANALYZE writes; without it SQLite
assumes every table holds about a million rows and every index narrows to ten, which suits
these joins. bench/orders.py measured the metrics refresh on SQLite with and without
`sqlite_stat1` after the same import and found the same plan and time, so on SQLite these
functions do nothing: an ANALYZE there reads every row of every index (no sampling) and would
add seconds to each import for nothing.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import connection, models

# Autovacuum's own rule (autovacuum_analyze_threshold 50 + autovacuum_analyze_scale_factor
# 0.1 of the rows): a table whose rows changed by more than this since its last ANALYZE is
# analysed again before a nightly job reads it.
STALE_AFTER_ROWS = 50
STALE_AFTER_FRACTION = 0.1


def _tables(tables: Iterable[type[models.Model] | str]) -> list[str]:
    names = [table if isinstance(table, str) else table._meta.db_table for table in tables]
    return sorted(set(names))


def analyze_tables(tables: Iterable[type[models.Model] | str]) -> None:
    """Bring the planner statistics of the given models' (or tables') tables up to date, for
    a bulk writer to call once, when it has finished writing. On PostgreSQL one ANALYZE of
    those tables, which samples at most 30,000 rows each (`default_statistics_target` 100), so
    it costs about the same at a thousand rows as at ten million: once per job, not per batch.
    Safe inside a transaction (ANALYZE is transactional there and counts the rows the
    transaction wrote; the statistics are visible to others when it commits) and outside
    one. Does nothing on SQLite (see the module's docstring)."""
    names = _tables(tables)
    if connection.vendor != "postgresql" or not names:
        return
    quoted = ", ".join(connection.ops.quote_name(name) for name in names)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {quoted}")


def stale_tables(
    tables: Iterable[type[models.Model] | str], *, fraction: float = STALE_AFTER_FRACTION
) -> list[str]:
    """The given tables whose statistics are missing (never analysed, by hand or by
    autovacuum) or stale: more rows inserted, updated or deleted since the last ANALYZE than
    STALE_AFTER_ROWS plus `fraction` of the rows it counted. PostgreSQL only; [] elsewhere.
    Changes committed in the last second may not be counted yet (each server process reports
    its counts at most once a second)."""
    names = _tables(tables)
    if connection.vendor != "postgresql" or not names:
        return []
    with connection.cursor() as cursor:
        # reltuples is -1 until a table's first ANALYZE or VACUUM; a table that a VACUUM or
        # CREATE INDEX counted but nothing analysed has no column statistics. Both are read
        # from the catalogue, which an ANALYZE updates within its transaction (the activity
        # counters only after it commits).
        cursor.execute(
            """
            SELECT c.relname
            FROM pg_class c
            LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
            WHERE c.oid = ANY(CAST(%s AS regclass[]))
              AND (
                c.reltuples < 0
                OR (c.reltuples > 0
                    AND NOT EXISTS (SELECT 1 FROM pg_statistic p WHERE p.starelid = c.oid))
                OR s.n_mod_since_analyze > %s + %s * GREATEST(c.reltuples, 0)
              )
            ORDER BY c.relname
            """,
            [
                [connection.ops.quote_name(name) for name in names],
                STALE_AFTER_ROWS,
                fraction,
            ],
        )
        return [name for (name,) in cursor.fetchall()]


def analyze_stale_tables(
    tables: Iterable[type[models.Model] | str], *, fraction: float = STALE_AFTER_FRACTION
) -> list[str]:
    """Analyse those of the given tables whose statistics are missing or stale
    (`stale_tables`), for a job about to read them; returns their names."""
    stale = stale_tables(tables, fraction=fraction)
    analyze_tables(stale)
    return stale
