"""Bulk upsert through the API beside the file import, on the same records in the same run.

    DATABASE_URL=postgres://.../crm_bench .venv/bin/python bench/api_bulk.py [--rows 100000]

1. Writes bench/imports.py's messy customer CSV (Chinese headers, phones in many formats,
   dates three ways, tags, a few Excel-mangled phones and impossible dates) under var/bench/.
2. The file import of that file, end to end, as the worker runs it (bench/imports.py's
   `product_import`): rows/s.
3. The same rows as API records (each row's cells under the field its header maps to), posted
   1,000 a call to /api/v1/customers/bulk/ with an Administrator's API key through Django's
   whole HTTP stack in-process (DRF's APIClient: middleware, authentication, rate limit,
   parsing, the bulk upsert, rendering; no socket): rows/s, and the slowest call.

Both write into the same table of customers, each case in its own process, and the rows each
wrote are deleted after it. Not a test: nothing passes or fails on time.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import sys
import time
from pathlib import Path

# The repository instead of bench/ itself: a module here must never shadow a package of the
# same name (bench/requests.py once shadowed the one DRF's test client imports).
sys.path[0] = str(Path(__file__).resolve().parent.parent)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from accounts.api_keys import create_api_key, create_service_account  # noqa: E402
from bench.imports import product_import, remove_rows_after, write_file  # noqa: E402
from bench.processes import measure_in_own_process  # noqa: E402
from customers.imports.customer_rows import FIELDS  # noqa: E402
from customers.imports.mapping import suggest_mapping  # noqa: E402
from customers.models import Customer  # noqa: E402
from privacy import roles  # noqa: E402

CALL_SIZE = 1000


def read_records(path: Path) -> list[dict[str, str]]:
    """The file's rows as bulk records: each non-empty cell under its column's field."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        headers = next(reader)
        mapping = suggest_mapping(FIELDS, "customers", headers)
        return [
            {key: cell for key, cell in zip(mapping, cells, strict=False) if key and cell}
            for cells in reader
        ]


def api_client() -> APIClient:
    """An APIClient calling with a new key of a new Administrator service account."""
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    account = create_service_account(
        actor=None,
        username=f"bench-api-{time.time_ns()}",
        groups=[Group.objects.get(name=roles.ADMINISTRATOR)],
    )
    key = create_api_key(actor=None, account=account, name="bench")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key.secret}")
    return client


def bulk_upsert(path: Path) -> dict:
    """The file's rows posted CALL_SIZE a call; the time of all calls and their counts."""
    records = read_records(path)
    client = api_client()
    # As a running server would have: its URLs and the modules behind them loaded.
    post_records(client, [])
    counts = dict.fromkeys(("created", "updated", "unchanged", "failed"), 0)
    slowest = 0.0
    started = time.perf_counter()
    for first in range(0, len(records), CALL_SIZE):
        call_started = time.perf_counter()
        body = post_records(client, records[first : first + CALL_SIZE])
        slowest = max(slowest, time.perf_counter() - call_started)
        for outcome in counts:
            counts[outcome] += body[outcome]
    return {"seconds": time.perf_counter() - started, "slowest_call": slowest, **counts}


def post_records(client: APIClient, records: list[dict[str, str]]) -> dict:
    """One bulk call, as the file import is configured by bench/imports.py (invalid optional
    values dropped with a warning); its answer."""
    response = client.post(
        "/api/v1/customers/bulk/",
        {"records": records, "source": {"system": "bench"}, "invalid_values": "drop"},
        format="json",
        secure=True,
    )
    if response.status_code != 200:
        raise SystemExit(f"The bulk call answered {response.status_code}: {response.content!r}")
    return response.json()


def run_case(args: argparse.Namespace) -> dict:
    settings.MEDIA_ROOT = settings.BASE_DIR / "var" / "bench" / "media"
    path = Path(args.path)
    last_id = Customer.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    try:
        if args.case == "file":
            actor, _created = get_user_model().objects.get_or_create(
                username="bench-importer", defaults={"is_superuser": True, "is_staff": True}
            )
            seconds, job = product_import(path, actor)
            return {
                "seconds": seconds,
                "created": job.rows_created,
                "updated": job.rows_updated,
                "unchanged": job.rows_unchanged,
                "failed": job.rows_failed,
            }
        return bulk_upsert(path)
    finally:
        remove_rows_after(last_id)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--path", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.case:
        figures = run_case(options)
        figures["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(figures))
        return
    path = settings.BASE_DIR / "var" / "bench" / f"customers-{options.rows}.csv"
    if not path.exists():
        write_file(path, options.rows, options.seed)
    print(
        f"Bulk upsert through the API beside the file import: {options.rows:,} rows, into a "
        f"table of {Customer.objects.count():,} customers (each case in its own process)"
    )
    rates = {}
    for case, label in (
        ("file", "file import, end to end"),
        ("api", f"API bulk upsert, {CALL_SIZE:,} a call"),
    ):
        figures = measure_in_own_process(
            __file__, case, "--rows", str(options.rows), "--path", str(path)
        )
        rates[case] = options.rows / figures["seconds"]
        print(
            f"  {label:32} {options.rows:>9,} rows {figures['seconds']:7.1f} s "
            f"{rates[case]:>8,.0f} rows/s  peak RSS {figures['peak_mb']:4.0f} MB"
        )
        slowest = f", slowest call {figures['slowest_call']:.2f} s" if case == "api" else ""
        print(
            f"    created {figures['created']:,}, updated {figures['updated']:,}, unchanged "
            f"{figures['unchanged']:,}, failed {figures['failed']:,}{slowest}"
        )
    print(f"  API bulk upsert = {rates['api'] / rates['file']:.2f}x the file import's rate")


if __name__ == "__main__":
    main()
