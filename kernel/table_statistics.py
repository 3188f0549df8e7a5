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
guesses sizes and selectivities. bench/orders.py's import measured on SQLite: the metrics
refresh took 2.1 s without `sqlite_stat1` and 1.4-1.6 s with it, and ANALYZE of the whole
database 0.2 s, so SQLite's touched tables are analysed too (with `analysis_limit`, SQLite's
sampling, so that it stays cheap at any size). SQLite keeps no count of changes, so there a
table is stale only when it holds rows and has never been analysed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from django.db import connection, models, transaction

# Autovacuum's own rule (autovacuum_analyze_threshold 50 + autovacuum_analyze_scale_factor
# 0.1 of the rows): a table whose rows changed by more than this since its last ANALYZE is
# analysed again before a nightly job reads it.
STALE_AFTER_ROWS = 50
STALE_AFTER_FRACTION = 0.1
SQLITE_ANALYSIS_LIMIT = 1000


def _tables(tables: Iterable[type[models.Model] | str]) -> list[str]:
    names = [table if isinstance(table, str) else table._meta.db_table for table in tables]
    return sorted(set(names))


def analyze_tables(tables: Iterable[type[models.Model] | str]) -> None:
    """Bring the planner statistics of the given models' (or tables') tables up to date, for
    a bulk writer to call once, when it has finished writing. On PostgreSQL one ANALYZE of
    those tables, which samples at most 30,000 rows each (`default_statistics_target` 100), so
    it costs about the same at a thousand rows as at ten million: once per job, not per batch.
    Safe inside a transaction (ANALYZE is transactional on both engines and counts the rows
    the transaction wrote; others see the statistics when it commits) and outside one."""
    names = _tables(tables)
    if not names:
        return
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"ANALYZE {', '.join(quote(name) for name in names)}")
            return
        # At most this many index entries read per index: estimates as good for a plan,
        # at a cost that does not grow with the table.
        cursor.execute(f"PRAGMA analysis_limit = {SQLITE_ANALYSIS_LIMIT}")
        for name in names:
            cursor.execute(f"ANALYZE {quote(name)}")


def stale_tables(
    tables: Iterable[type[models.Model] | str], *, fraction: float = STALE_AFTER_FRACTION
) -> list[str]:
    """The given tables whose statistics are missing (never analysed, by hand or by
    autovacuum) or stale: more rows inserted, updated or deleted since the last ANALYZE than
    STALE_AFTER_ROWS plus `fraction` of the rows it counted. On PostgreSQL, changes committed
    in the last second may not be counted yet (each server process reports its counts at most
    once a second); on SQLite, which counts no changes, only tables never analysed that hold
    rows are stale."""
    names = _tables(tables)
    if not names:
        return []
    if connection.vendor != "postgresql":
        return _sqlite_never_analysed(names)
    with connection.cursor() as cursor:
        # reltuples is -1 until a table's first ANALYZE or VACUUM (an empty file has nothing
        # to plan for); a table that a VACUUM or CREATE INDEX counted but nothing analysed has
        # no column statistics. Both are read from the catalogue, which an ANALYZE updates
        # within its transaction (the activity counters only after it commits).
        cursor.execute(
            """
            SELECT c.relname
            FROM pg_class c
            LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
            WHERE c.oid = ANY(CAST(%s AS regclass[]))
              AND (
                (c.reltuples < 0 AND pg_relation_size(c.oid) > 0)
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


def _sqlite_never_analysed(names: list[str]) -> list[str]:
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")
        analysed = set()
        if cursor.fetchone():
            cursor.execute("SELECT DISTINCT tbl FROM sqlite_stat1")
            analysed = {name for (name,) in cursor.fetchall()}
        stale = []
        for name in names:
            if name in analysed:
                continue
            # An analysed empty table has no sqlite_stat1 row: nothing to plan for yet.
            cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {quote(name)})")  # noqa: S608
            if cursor.fetchone()[0]:
                stale.append(name)
        return stale


@contextmanager
def planned_as_index_lookups() -> Iterator[None]:
    """Queries in the block that look up a list of exact values (`phone IN (...)`) go through
    btree indexes, whatever the statistics say (PostgreSQL; nothing elsewhere).

    A table that a bulk writer is filling is planned on statistics that lag behind it (taken
    when it was a tenth of its size, or never): its trigram GIN index on the same column then
    looks as cheap as the btree one for an IN list, and the planner picks it. Each value's
    trigrams (`+86`, `861`, `@ex`) are in nearly every row, so that bitmap scan reads the whole
    index for every batch: bench/imports.py into a freshly migrated database ran at 116 rows/s
    instead of 1,100, 85% of it in those lookups. A GIN index can only be read by a bitmap scan,
    so turning bitmap scans (and sequential scans) off for the lookups leaves the btree index
    scan, which takes an IN list in one pass at any table size."""
    if connection.vendor != "postgresql":
        yield
        return
    settings = ("enable_bitmapscan", "enable_seqscan")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(['current_setting(%s)'] * len(settings))}", settings)
        before = cursor.fetchone()
        for name in settings:
            cursor.execute("SELECT set_config(%s, 'off', true)", [name])
        yield
        # Not on an error: the failed block's savepoint takes the settings back with it, and
        # a statement here would hide the error behind "current transaction is aborted".
        for name, value in zip(settings, before, strict=True):
            cursor.execute("SELECT set_config(%s, %s, true)", [name, value])
