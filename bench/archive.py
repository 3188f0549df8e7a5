"""Archiving old interactions at scale, on a copy of the loaded bench database (the copy is
written to; the loaded database is only read, as CREATE DATABASE's template):

- the hot interactions table before: rows, and its size on disk (pg_total_relation_size:
  table, TOAST and indexes);
- the archive run (`archive_interactions`, in its own process with its own peak RSS) at the
  default age (INTERACTION_ARCHIVE_AFTER_DAYS, 1095) and then at 365 days, the shortest the
  settings check allows, beside a baseline measured in the same run: the same move one
  row at a time through the ORM (`save()` into the archive, `delete()` from the hot table, a
  transaction each) on --baseline-rows rows;
- the sizes after archiving, after a plain VACUUM (ANALYZE) and after VACUUM FULL (the copy is
  vacuumed once before anything is measured, as autovacuum keeps a table in service);
- what users feel, before and after: the dashboards' service chart (complaints and
  satisfaction per month; a sequential scan of the interactions) for the last 90 days, the
  last 12 months and all time, computed without the cache; the customer page and the whole
  timeline paged through, for --customers customers with interactions older than the 365-day
  cutoff.

    .venv/bin/python bench/archive.py [--source crm_bench] [--keep] [--repeats 5]

The copy is BENCH_ARCHIVE_DATABASE_URL (default crm_bench_archive on 127.0.0.1:5432), made
afresh from --source (nobody may be connected to it meanwhile) and dropped at the end unless
--keep. Not a test: nothing passes or fails on time.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

from bench.databases import drop_database
from bench.processes import answer_case, measure_in_own_process

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/crm_bench_archive"
SAMPLE_FILE = ROOT / "var" / "bench" / "archive_sample.json"
DEFAULT_AGE_DAYS = 1095
SHORTEST_AGE_DAYS = 365
MB = 1024 * 1024


def _cutoff(days: int) -> datetime.datetime:
    from django.utils import timezone

    return timezone.now() - datetime.timedelta(days=days)


def case_sizes() -> dict:
    from django.db import connection

    from interactions.models import ArchivedInteraction, Interaction

    figures = {}
    with connection.cursor() as cursor:
        for name, model in (("hot", Interaction), ("archive", ArchivedInteraction)):
            table = model._meta.db_table
            cursor.execute(
                f"SELECT COUNT(*), pg_total_relation_size(%s), pg_table_size(%s), "
                f"pg_indexes_size(%s) FROM {table}",
                [table, table, table],
            )
            rows, total, heap, indexes = cursor.fetchone()
            figures[name] = {"rows": rows, "total": total, "table": heap, "indexes": indexes}
    return figures


def case_sample(count: int) -> dict:
    """Customers with interactions older than the 365-day cutoff, spread over the ids."""
    from django.db import connection

    from interactions.models import Interaction

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT customer_id FROM {Interaction._meta.db_table} "
            "WHERE occurred_at < %s GROUP BY customer_id ORDER BY customer_id",
            [_cutoff(SHORTEST_AGE_DAYS)],
        )
        ids = [row[0] for row in cursor.fetchall()]
    step = max(1, len(ids) // count)
    chosen = ids[::step][:count]
    SAMPLE_FILE.parent.mkdir(parents=True, exist_ok=True)
    SAMPLE_FILE.write_text(json.dumps(chosen))
    return {"seconds": 0.0, "rows": len(chosen)}


def _p50_ms(run, repeats: int) -> float:
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def case_feel(repeats: int) -> dict:
    from django.utils import timezone

    from analytics.dashboards.cache import data_version
    from analytics.dashboards.charts import CHARTS, Scope
    from analytics.dashboards.periods import PeriodPreset, preset_period
    from bench.staff_clients import service_client
    from customers.models import Customer
    from interactions.selectors import customer_timeline

    version = data_version()
    reference = timezone.localdate(version.as_of)
    figures = {}
    for preset in (PeriodPreset.LAST_90_DAYS, PeriodPreset.LAST_12_MONTHS, PeriodPreset.ALL_TIME):
        scope = Scope(period=preset_period(preset, reference=reference), as_of=version.as_of)
        figures[f"chart {preset}"] = _p50_ms(lambda s=scope: CHARTS["service"].compute(s), repeats)
    ids = json.loads(SAMPLE_FILE.read_text())
    client, _user = service_client()
    page_ms, walk_ms, entries = [], [], []
    for pk in ids:
        started = time.perf_counter()
        response = client.get(f"/customers/{pk}/")
        page_ms.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
        customer = Customer.objects.get(pk=pk)
        started = time.perf_counter()
        page, cursor = customer_timeline(customer=customer)
        seen = len(page)
        while cursor:
            page, cursor = customer_timeline(customer=customer, after=cursor)
            seen += len(page)
        walk_ms.append((time.perf_counter() - started) * 1000)
        entries.append(seen)
    figures["customer page"] = statistics.median(page_ms)
    figures["timeline walk"] = statistics.median(walk_ms)
    figures["entries"] = statistics.median(entries)
    return {"seconds": 0.0, "rows": len(ids), "figures": figures}


def _without_query_log() -> None:
    # As in production: DEBUG (development settings) would keep every query in memory.
    from django.conf import settings

    settings.DEBUG = False


def case_move_per_row(days: int, rows: int) -> dict:
    """The baseline: the same move, one row at a time through the ORM."""
    from django.db import transaction
    from django.utils import timezone

    from interactions.models import ArchivedInteraction, Interaction

    _without_query_log()

    due = list(Interaction.objects.filter(occurred_at__lt=_cutoff(days)).order_by("pk")[:rows])
    attnames = [field.attname for field in Interaction._meta.concrete_fields]
    started = time.perf_counter()
    for interaction in due:
        with transaction.atomic():
            ArchivedInteraction(
                **{name: getattr(interaction, name) for name in attnames},
                archived_at=timezone.now(),
            ).save(force_insert=True)
            interaction.delete()
    return {"seconds": time.perf_counter() - started, "rows": len(due)}


def case_archive(days: int) -> dict:
    from interactions.archive import archive_interactions

    _without_query_log()
    started = time.perf_counter()
    run = archive_interactions(older_than=datetime.timedelta(days=days))
    return {"seconds": time.perf_counter() - started, "rows": run.rows_done}


def case_vacuum(full: bool) -> dict:
    from django.db import connection

    from interactions.models import ArchivedInteraction, Interaction

    started = time.perf_counter()
    with connection.cursor() as cursor:  # autocommit: VACUUM cannot run in a transaction
        if full:
            cursor.execute(f"VACUUM FULL {Interaction._meta.db_table}")
        for model in (Interaction, ArchivedInteraction):
            cursor.execute(f"VACUUM (ANALYZE) {model._meta.db_table}")
    return {"seconds": time.perf_counter() - started, "rows": 0}


CASES = {
    "sizes": lambda a: case_sizes(),
    "sample": lambda a: case_sample(a.customers),
    "feel": lambda a: case_feel(a.repeats),
    "per-row-default": lambda a: case_move_per_row(DEFAULT_AGE_DAYS, a.baseline_rows),
    "per-row-shortest": lambda a: case_move_per_row(SHORTEST_AGE_DAYS, a.baseline_rows),
    "archive-default": lambda a: case_archive(DEFAULT_AGE_DAYS),
    "archive-shortest": lambda a: case_archive(SHORTEST_AGE_DAYS),
    "vacuum": lambda a: case_vacuum(full=False),
    "vacuum-full": lambda a: case_vacuum(full=True),
}


def _move_line(name: str, figures: dict) -> None:
    rate = figures["rows"] / figures["seconds"] if figures["seconds"] else 0.0
    print(
        f"{name:<48} {figures['rows']:>10,} {figures['seconds']:>9.1f} s "
        f"{rate:>10,.0f}/s {figures['peak_mb']:>7.0f} MB"
    )


def _size_line(state: str, sizes: dict) -> None:
    hot, archive = sizes["hot"], sizes["archive"]
    print(
        f"{state:<34} {hot['rows']:>11,} {hot['total'] / MB:>9,.0f} {hot['table'] / MB:>8,.0f} "
        f"{hot['indexes'] / MB:>8,.0f} {archive['rows']:>11,} {archive['total'] / MB:>9,.0f}"
    )


def _copy_database(url: str, source: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        others = admin.execute(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = %s", [source]
        ).fetchone()[0]
        if others:
            raise SystemExit(f"{others} session(s) use {source}: the copy needs it to themselves.")
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "migrate", "--no-input", "-v", "0"],
        check=True,
        cwd=ROOT,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", choices=CASES)
    parser.add_argument("--source", default="crm_bench")
    parser.add_argument("--keep", action="store_true", help="keep the copy afterwards")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--baseline-rows", type=int, default=2_000)
    args = parser.parse_args()
    if answer_case(CASES, args):
        return

    url = os.environ.get("BENCH_ARCHIVE_DATABASE_URL", DEFAULT_URL)
    os.environ["DATABASE_URL"], os.environ["REDIS_URL"] = url, ""
    began = time.perf_counter()
    _copy_database(url, args.source)
    print(f"Copied {args.source} in {time.perf_counter() - began:.0f} s")
    options = [
        f"--repeats={args.repeats}",
        f"--customers={args.customers}",
        f"--baseline-rows={args.baseline_rows}",
    ]

    def run(case: str) -> dict:
        return measure_in_own_process(__file__, case, *options)

    try:
        # A table in service has been vacuumed (hint bits set, visibility map kept) by
        # autovacuum; a freshly loaded copy has not: the same state before as after.
        settle = run("vacuum")
        print(f"VACUUM (ANALYZE) of the fresh copy: {settle['seconds']:.0f} s")
        sizes = {"before": run("sizes")}
        run("sample")
        feel = {"before": run("feel")}
        print()
        print(f"{'move':<48} {'rows':>10} {'time':>11} {'rate':>12} {'peak RSS':>10}")
        for label, age in (("default", DEFAULT_AGE_DAYS), ("shortest", SHORTEST_AGE_DAYS)):
            _move_line(f"  baseline: save() + delete() a row, {age} days", run(f"per-row-{label}"))
            _move_line(f"archive_interactions, older than {age} days", run(f"archive-{label}"))
        sizes["after archiving"] = run("sizes")
        vacuum = run("vacuum")
        sizes[f"after VACUUM ({vacuum['seconds']:.0f} s)"] = run("sizes")
        feel["after VACUUM"] = run("feel")
        full = run("vacuum-full")
        sizes[f"after VACUUM FULL ({full['seconds']:.0f} s)"] = run("sizes")
        feel["after VACUUM FULL"] = run("feel")
    finally:
        SAMPLE_FILE.unlink(missing_ok=True)
        if not args.keep:
            drop_database(url)

    print()
    print(
        f"{'interactions, MB':<34} {'hot rows':>11} {'hot total':>9} {'table':>8} "
        f"{'indexes':>8} {'archived':>11} {'archive':>9}"
    )
    for state, figures in sizes.items():
        _size_line(state, figures)
    print()
    samples = feel["before"]["rows"]
    states = list(feel)
    print(f"{'what users feel, p50 ms':<48}" + "".join(f"{state:>20}" for state in states))
    rows = (
        ("service chart, last 90 days (no cache)", "chart 90d"),
        ("service chart, last 12 months (no cache)", "chart 12m"),
        ("service chart, all time (no cache)", "chart all"),
        (f"customer page, {samples} customers", "customer page"),
        (
            f"timeline paged to its end ({feel['before']['figures']['entries']:.0f} entries)",
            "timeline walk",
        ),
    )
    for label, key in rows:
        print(f"{label:<48}" + "".join(f"{feel[state]['figures'][key]:>20.1f}" for state in states))


if __name__ == "__main__":
    main()
