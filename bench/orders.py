"""A big order import followed at once by the metrics refresh, beside the same refresh after a
manual ANALYZE, on a public purchase log (issue 18).

    .venv/bin/python bench/orders.py [--timeout 120] [--keep]

The data: the CDNOW purchase log that the `lifetimes` package ships (23,570 customers of a US
music shop, 69,659 purchases: customer id, date, number of CDs, dollar value). It is written as
two CSV files under var/bench/ (customers: the shop's customer id and a generated name; orders:
one per line of the log) and imported into a new database through the product's
own import jobs, exactly as the worker runs them (`jobs.IMPORT_JOBS.run`), customers first, then
the orders naming them by the shop's customer id. Then, in the same process and at once,
`refresh_metrics()`:

1. product: right after the import (the import jobs analysed what they wrote);
2. baseline: after a manual ANALYZE of every table, the figure an administrator would get by
   hand;
3. before this change: the same import and refresh with the statistics as they were before
   the import jobs analysed their tables — the helper switched off for the import
   (kernel.table_statistics' functions made no-ops in that process, for the import jobs and the
   refresh), autovacuum switched
   off on the CRM tables for the run (it would otherwise race the refresh), and the emptied
   tables' old statistics deleted from pg_statistic with reltuples reset to -1 (the state of
   a table never analysed), so the refresh sees what it saw after a COPY into a new database;
4. this change's refresh on that same never-analysed data (as after a bulk load that skipped
   the helper): it first analyses the stale tables it reads (`analyze_stale_tables`), timed
   with the refresh.

The slow case is stopped after --timeout seconds (statement_timeout) and printed as "> N s".
Each import prints its rows per second, and the sum of the imported order totals beside the
file's sum. Every refresh starts from the stages as imported (the first moves every buyer's
stage; the moves are undone and vacuumed away before the next), so each does the same work.

It runs in a database of its own, BENCH_ORDERS_DATABASE_URL (default crm_bench_orders on
127.0.0.1:5432), created afresh and dropped at the end unless --keep: it empties the tables it
imports into. PostgreSQL only: it measures PostgreSQL's planner. Not a test: nothing passes or
fails on time.
"""

from __future__ import annotations

import argparse
import csv
import importlib.resources
import os
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

from bench.databases import drop_database, fresh_database
from bench.processes import answer_case, measure_in_own_process

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/crm_bench_orders"
SOURCE = "cdnow"
GIVEN = ("Anna", "James", "Maria", "Lukas", "Sophie", "Daniel", "Emma", "Noah", "Olivia", "Ethan")
FAMILY = ("Schmidt", "Smith", "Garcia", "Brown", "Rossi", "Martin", "Wilson", "Taylor", "Moore")


def cdnow_rows() -> list[tuple[str, str, int, Decimal]]:
    """(customer id, date YYYYMMDD, number of CDs, dollar value) per line of the log."""
    path = importlib.resources.files("lifetimes.datasets") / "CDNOW_master.txt"
    rows = []
    with path.open(encoding="ascii") as handle:
        next(handle)  # the header line
        for line in handle:
            customer_id, date, cds, dollars = line.split()
            rows.append((customer_id, date, int(cds), Decimal(dollars)))
    return rows


def write_files(folder: Path) -> tuple[Path, Path]:
    rows = cdnow_rows()
    folder.mkdir(parents=True, exist_ok=True)
    customers_path, orders_path = folder / "cdnow-customers.csv", folder / "cdnow-orders.csv"
    with customers_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Customer ID", "Name"])
        for customer_id in sorted({row[0] for row in rows}):
            number = int(customer_id)
            name = f"{GIVEN[number % len(GIVEN)]} {FAMILY[number // len(GIVEN) % len(FAMILY)]}"
            writer.writerow([customer_id, name])
    with orders_path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Order number", "Customer ID", "Date", "Quantity", "Amount", "Currency"])
        for line, (customer_id, date, cds, dollars) in enumerate(rows, start=1):
            writer.writerow(
                [
                    f"CD{line:06d}",
                    customer_id,
                    f"{date[:4]}-{date[4:6]}-{date[6:]}",
                    cds,
                    dollars,
                    "USD",
                ]
            )
    return customers_path, orders_path


def _crm_tables() -> list[str]:
    from bench.generate import _crm_models

    return [model._meta.db_table for model in _crm_models()]


def _forget_statistics() -> None:
    """Put the CRM tables' statistics back to those of tables never analysed: no rows in
    pg_statistic (TRUNCATE keeps the old ones) and reltuples -1 (superuser). Autovacuum is
    kept off them until _restore_autovacuum, so that only what the product does counts."""
    from django.db import connection

    tables = _crm_tables()
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(
                f"ALTER TABLE {connection.ops.quote_name(table)} SET (autovacuum_enabled = false)"
            )
        cursor.execute(
            "DELETE FROM pg_statistic WHERE starelid = ANY(CAST(%s AS regclass[]))", [tables]
        )
        cursor.execute(
            "UPDATE pg_class SET reltuples = -1, relpages = 0 "
            "WHERE oid = ANY(CAST(%s AS regclass[]))",
            [tables],
        )


def _restore_autovacuum() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in _crm_tables():
            cursor.execute(
                f"ALTER TABLE {connection.ops.quote_name(table)} RESET (autovacuum_enabled)"
            )


def run_import(kind: str, path: Path, actor, *, source_name: str, **options: str) -> dict:
    """A file imported through the product's import job exactly as the worker runs it
    (`options` go to configure_import); its rows, what came of them and the seconds taken."""
    from django.core.files.uploadedfile import UploadedFile

    from customers.imports import jobs

    started = time.perf_counter()
    with path.open("rb") as handle:
        job = jobs.create_import(
            actor=actor,
            kind=kind,
            upload=UploadedFile(handle, name=path.name, size=path.stat().st_size),
        )
    jobs.configure_import(
        actor=actor, job=job, mapping=job.mapping, source_name=source_name, **options
    )
    jobs.start_import(actor=actor, job=job, queue=False)
    jobs.IMPORT_JOBS.run(job.pk)
    seconds = time.perf_counter() - started
    job.refresh_from_db()
    return {
        "rows": job.rows_total,
        "created": job.rows_created,
        "failed": job.rows_failed,
        "status": job.status,
        "seconds": round(seconds, 1),
    }


def _as_imported():
    """A way back to the customers' stages as the import left them, so that every refresh
    timed below does the same work: the first one moves every buyer's stage and records the
    moves; the others would otherwise find nothing to move."""
    from django.db import connection

    from customers.models import Customer, LifecycleStageChange

    stages = dict(Customer.objects.values_list("pk", "lifecycle_stage"))
    last_change = LifecycleStageChange.objects.order_by("-pk").values_list("pk", flat=True)[0]

    def restore() -> None:
        LifecycleStageChange.objects.filter(pk__gt=last_change).delete()
        by_stage: dict[str, list[int]] = {}
        for pk, stage in stages.items():
            by_stage.setdefault(stage, []).append(pk)
        for stage, ids in by_stage.items():
            Customer.objects.filter(pk__in=ids).update(lifecycle_stage=stage)
        # The dead row versions of the moves undone would otherwise slow each later refresh.
        with connection.cursor() as cursor:
            for model in (Customer, LifecycleStageChange):
                cursor.execute(f"VACUUM {connection.ops.quote_name(model._meta.db_table)}")

    return restore


def _timed_refresh(timeout: int) -> dict:
    """Seconds the refresh took (None if it was stopped after `timeout` seconds) and the
    stage changes it recorded."""
    from django.db import connection

    from analytics.metrics import refresh_metrics
    from kernel.models import JobStatus

    with connection.cursor() as cursor:
        cursor.execute("SET statement_timeout = %s", [f"{timeout}s"])
    started = time.perf_counter()
    try:
        run = refresh_metrics()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = 0")
    if run.status != JobStatus.DONE:  # the job runner failed it: the statement timed out
        return {"seconds": None, "stage_changes": None}
    return {"seconds": time.perf_counter() - started, "stage_changes": run.stage_changes}


def _analyze_everything() -> float:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return time.perf_counter() - started


def run_case(args) -> dict:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db.models import Sum

    from analytics import metrics
    from interactions.models import Transaction

    settings.MEDIA_ROOT = settings.BASE_DIR / "var" / "bench" / "media"
    customers_path, orders_path = write_files(settings.BASE_DIR / "var" / "bench")
    actor, _created = get_user_model().objects.get_or_create(
        username="bench-importer", defaults={"is_superuser": True, "is_staff": True}
    )
    _forget_statistics()
    try:
        figures: dict = {
            "customers": run_import("customers", customers_path, actor, source_name=SOURCE),
            "orders": run_import("transactions", orders_path, actor, source_name=SOURCE),
            "file_total": str(sum(row[3] for row in cdnow_rows())),
            "imported_total": str(
                Transaction.objects.filter(source_system=SOURCE).aggregate(total=Sum("amount"))[
                    "total"
                ]
            ),
        }
        restore_stages = _as_imported()
        figures["refresh"] = _timed_refresh(args.timeout)
        restore_stages()
        figures["analyze"] = _analyze_everything()
        figures["analysed"] = _timed_refresh(args.timeout)
        # As before this change: nothing analysed the imported tables, nor does the refresh.
        restore_stages()
        _forget_statistics()
        helpers = {
            name: getattr(metrics, name) for name in ("analyze_tables", "analyze_stale_tables")
        }
        for name in helpers:
            setattr(metrics, name, lambda *tables, **options: [])
        figures["before"] = _timed_refresh(args.timeout)
        # The same never-analysed tables (a bulk load that skipped the helper), refreshed by
        # this change's refresh, which first analyses the stale tables it reads.
        restore_stages()
        _forget_statistics()
        for name, function in helpers.items():
            setattr(metrics, name, function)
        figures["checked"] = _timed_refresh(args.timeout)
    finally:
        _restore_autovacuum()
    return figures


def _row(label: str, refresh: dict, timeout: int) -> str:
    seconds, moves = refresh["seconds"], refresh["stage_changes"]
    shown = f"> {timeout}" if seconds is None else f"{seconds:.1f}"
    return f"  {label:<66}{shown:>9}{'' if moves is None else f'{moves:,}':>15}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", choices=("cdnow",), help=argparse.SUPPRESS)
    parser.add_argument("--timeout", type=int, default=120)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    if answer_case({"cdnow": run_case}, args):
        return
    url = os.environ.get("BENCH_ORDERS_DATABASE_URL", DEFAULT_URL)
    os.environ["DATABASE_URL"], os.environ["REDIS_URL"] = url, ""
    fresh_database(url)
    try:
        figures = measure_in_own_process(
            str(Path(__file__).resolve()), "cdnow", "--timeout", str(args.timeout)
        )
    finally:
        if not args.keep:
            drop_database(url)
    print(
        f"Orders: the CDNOW purchase log imported into emptied tables as the worker runs it, "
        f"then the metrics refresh at once (peak RSS {figures['peak_mb']:.0f} MB)"
    )
    for kind in ("customers", "orders"):
        part = figures[kind]
        print(
            f"  import {kind:<10}{part['rows']:>8,} rows {part['seconds']:7.1f} s "
            f"{part['rows'] / part['seconds']:>8,.0f} rows/s  created {part['created']:,}, "
            f"failed {part['failed']:,}, {part['status']}"
        )
    print(f"  order totals: file {figures['file_total']}, imported {figures['imported_total']}")
    print(f"  {'metrics refresh':<66}{'seconds':>9}{'stage changes':>15}")
    for label, key in (
        ("product: at once after the import", "refresh"),
        (
            f"baseline: after a manual ANALYZE of every table ({figures['analyze']:.1f} s)",
            "analysed",
        ),
        ("before this change: tables never analysed, no check", "before"),
        ("product on never-analysed tables: stale check + refresh", "checked"),
    ):
        print(_row(label, figures[key], args.timeout))


if __name__ == "__main__":
    main()
