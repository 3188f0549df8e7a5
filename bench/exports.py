"""Customer export at scale, each case in its own process (so that its peak memory is its own),
beside baselines measured in the same run.

    DATABASE_URL=postgres://.../crm_bench .venv/bin/python bench/exports.py

Cases: the product's export of every customer to CSV (unmasked, and masked as an analyst gets
it) and to XLSX, exactly as the worker writes them (chunks of 5,000 by primary key, tags read
per chunk, formula-safe cells); baselines: PostgreSQL `COPY (SELECT the same columns) TO
STDOUT` into a file for CSV, and django-import-export's export (what Django admin's button
does) of --baseline-rows customers to XLSX. Not a test: nothing passes or fails on time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

from bench.processes import measure_in_own_process, rate_line

COLUMNS = [
    "name",
    "gender",
    "birth_date",
    "phone",
    "email",
    "province",
    "city",
    "company_name",
    "lifecycle_stage",
    "value_grade",
    "source_channel",
    "owner",
    "tags",
]


def run_case(case: str, baseline_rows: int) -> dict:
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.db import connection

    from analytics.exports.jobs import EXPORT_JOBS
    from analytics.exports.services import start_export
    from customers.models import Customer
    from customers.resources import CustomerResource
    from privacy import roles

    settings.MEDIA_ROOT = settings.BASE_DIR / "var" / "bench" / "media"
    users = get_user_model().objects
    admin, _ = users.get_or_create(username="bench-exporter", defaults={"is_superuser": True})
    analyst, created = users.get_or_create(username="bench-analyst")
    if created:
        analyst.groups.add(Group.objects.get(name=roles.ANALYST))
    started = time.perf_counter()
    if case == "copy":
        out = settings.BASE_DIR / "var" / "bench" / "copy.csv"
        with connection.cursor() as cursor, out.open("wb") as handle:
            query = (
                "COPY (SELECT name, gender, birth_date, phone, email, province, city, "
                "company_name, lifecycle_stage, value_grade, source_channel, owner_id "
                "FROM customers_customer WHERE merged_into_id IS NULL AND archived_at IS NULL "
                "ORDER BY id) TO STDOUT WITH (FORMAT csv, HEADER true)"
            )
            with cursor.copy(query) as copy:
                for data in copy:
                    handle.write(data)
        rows = Customer.objects.filter(merged_into__isnull=True, archived_at__isnull=True).count()
        out.unlink()
    elif case == "import-export-xlsx":
        queryset = Customer.objects.order_by("pk")[:baseline_rows]
        data = CustomerResource(actor=admin).export(queryset=queryset)
        (settings.BASE_DIR / "var" / "bench" / "ie.xlsx").write_bytes(data.export("xlsx"))
        rows = len(data)
    else:
        format, actor = {
            "csv": ("csv", admin),
            "csv-masked": ("csv", analyst),
            "xlsx": ("xlsx", admin),
        }[case]
        job = start_export(actor=actor, params={}, columns=COLUMNS, format=format, queue=False)
        EXPORT_JOBS.run(job.pk)
        job.refresh_from_db()
        rows = job.rows_done
        job.file.delete()
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"case": case, "rows": rows, "seconds": seconds, "peak_mb": peak}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case")
    parser.add_argument("--baseline-rows", type=int, default=100_000)
    options = parser.parse_args()
    if options.case:
        print(json.dumps(run_case(options.case, options.baseline_rows)))
        return
    labels = {
        "copy": "baseline COPY ... TO STDOUT (CSV)",
        "csv": "product CSV, unmasked",
        "csv-masked": "product CSV, masked (analyst)",
        "xlsx": "product XLSX",
        "import-export-xlsx": "baseline django-import-export XLSX",
    }
    print("Customer export (each case in its own process; peak RSS is that process's)")
    for case, label in labels.items():
        figures = measure_in_own_process(
            __file__, case, "--baseline-rows", str(options.baseline_rows)
        )
        print(f"  {rate_line(label, figures, width=38)}")


if __name__ == "__main__":
    main()
