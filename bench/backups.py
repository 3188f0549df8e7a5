"""Backup and restore times on the loaded data, each case in its own process, beside the plain
PostgreSQL tools measured in the same run.

    DATABASE_URL=postgres://.../crm_bench .venv/bin/python bench/backups.py [--drill]

Cases:
- baseline `pg_dump --format=custom --compress=6` of the database into a file: what an operator
  would run by hand, no manifest, no encryption;
- the product's backup (`operations.backups.services.create_backup`): the same pg_dump of an
  exported snapshot, with every table counted and checksummed in that snapshot beside it, then
  tarred, encrypted in AES-GCM chunks, fsynced and renamed into place;
- `verify_backup` of that file (checksum, every chunk, the dump's table of contents);
- baseline `pg_restore --jobs=2` of the plain dump into a new database;
- the product's restore (`restore_backup --into`): decrypt and unpack, the same pg_restore,
  ANALYZE, every table counted and checksummed again and compared with the manifest;
- with --drill, the nightly restore drill as it runs (restore, compare, `migrate --check`).

Files go to var/bench/backups and are deleted afterwards; restored databases are dropped.
Not a test: nothing passes or fails on time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

from bench.processes import measure_in_own_process

BENCH_DIR = Path(__file__).resolve().parent.parent / "var" / "bench" / "backups"
PLAIN_DUMP = BENCH_DIR / "plain.dump"


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_case(case: str) -> dict:
    import django

    django.setup()
    from django.conf import settings

    from operations.backups.engines import PostgresEngine, Target
    from operations.backups.services import (
        create_backup,
        list_backups,
        restore_backup,
        run_drill,
        verify_backup,
    )

    settings.BACKUP_DIR = BENCH_DIR
    live = Target.live()
    engine = PostgresEngine()
    env = engine._libpq_env(live)
    figures: dict = {"case": case}
    started = time.perf_counter()
    if case == "pg_dump":
        subprocess.run(
            ["pg_dump", "--format=custom", "--compress=6", f"--file={PLAIN_DUMP}"],
            env=env,
            check=True,
        )
        figures["bytes"] = PLAIN_DUMP.stat().st_size
    elif case == "backup":
        run = create_backup()
        assert not run.failure, run.failure
        figures.update(bytes=run.size_bytes, rows=run.rows, tables=run.tables)
    elif case == "verify":
        report = verify_backup(list_backups()[0].path)
        assert report.ok, report.problems
        figures["rows"] = report.manifest.rows
    elif case == "pg_restore":
        scratch = live.elsewhere("crm_bench_plain_restore")
        engine.drop(scratch)
        subprocess.run(["createdb", "--template=template0", scratch.name], env=env, check=True)
        subprocess.run(
            [
                "pg_restore",
                "--no-owner",
                "--no-acl",
                "--jobs=2",
                f"--dbname={scratch.name}",
                str(PLAIN_DUMP),
            ],
            env=env,
            check=True,
        )
        figures["seconds"] = time.perf_counter() - started
        engine.drop(scratch)
    elif case == "restore":
        result = restore_backup(list_backups()[0].path, into="crm_bench_restored")
        figures.update(rows=result.manifest.rows, tables=len(result.manifest.tables))
        figures["seconds"] = time.perf_counter() - started
        engine.drop(result.target)
    elif case == "drill":
        drill = run_drill()
        assert not drill.failure, drill.failure
        figures.update(rows=drill.rows_compared, restore_seconds=drill.restore_seconds)
    figures.setdefault("seconds", time.perf_counter() - started)
    figures["peak_mb"] = _peak_mb()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case")
    parser.add_argument("--drill", action="store_true", help="also time the restore drill")
    options = parser.parse_args()
    if options.case:
        print(json.dumps(run_case(options.case)))
        return

    import django

    django.setup()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_database_size(current_database()), (SELECT count(*) FROM customers_customer)"
        )
        size, customers = cursor.fetchone()
    connection.close()
    shutil.rmtree(BENCH_DIR, ignore_errors=True)
    BENCH_DIR.mkdir(parents=True)

    print(f"Backup and restore: {customers:,} customers, database {size / 2**30:.1f} GiB on disk")
    print(f"  {'case':52} {'seconds':>8} {'size MiB':>9} {'peak MB':>8}")
    cases = {
        "pg_dump": "baseline: pg_dump -Fc -Z6 into a file",
        "backup": "product: backup (snapshot, manifest, encrypted)",
        "verify": "product: verify_backup",
        "pg_restore": "baseline: pg_restore -j2 of the plain dump",
        "restore": "product: restore --into (verified, checksums)",
    }
    if options.drill:
        cases["drill"] = "product: restore drill (restore, compare, migrate)"
    try:
        for case, label in cases.items():
            figures = measure_in_own_process(__file__, case)
            size_mib = f"{figures['bytes'] / 2**20:9,.0f}" if "bytes" in figures else " " * 9
            print(
                f"  {label:52} {figures['seconds']:8.1f} {size_mib} {figures['peak_mb']:8.0f}",
                flush=True,
            )
    finally:
        shutil.rmtree(BENCH_DIR, ignore_errors=True)


if __name__ == "__main__":
    main()
