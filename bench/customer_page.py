"""Customer page (360°) latency with a long history, beside a short one, in the same run.

    DATABASE_URL=postgres://.../crm_bench .venv/bin/python bench/customer_page.py

Gives one loaded customer a 2,000-entry history (1,500 interactions, 500 purchases; added once,
kept for later runs) and times the whole page request through Django's test client next to a
customer with a handful of entries, with the number of SQL queries of each. A third line times
the naive page that renders the whole history unpaginated, on the same customer. Not a test.
"""

from __future__ import annotations

import argparse
import datetime
import os
import sys
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

import django

django.setup()

from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from bench.staff_clients import p50_p95, service_client  # noqa: E402
from customers.models import Customer  # noqa: E402
from interactions.models import Interaction, Transaction  # noqa: E402

LONG_HISTORY_SOURCE = "bench-long-history"


def _long_history_customer() -> Customer:
    """The customer carrying the bench's 2,000-entry history (created on first run)."""
    tagged = Transaction.objects.filter(source_system=LONG_HISTORY_SOURCE).first()
    if tagged is not None:
        return tagged.customer
    customer = Customer.objects.order_by("pk").first()
    now = timezone.now()
    Interaction.objects.bulk_create(
        Interaction(
            customer=customer,
            kind=("call", "visit", "consult", "complaint", "feedback")[n % 5],
            channel="phone",
            occurred_at=now - datetime.timedelta(hours=3 * n),
            subject=f"Bench interaction {n}",
            satisfaction=3 if n % 5 == 3 else None,
        )
        for n in range(1500)
    )
    Transaction.objects.bulk_create(
        Transaction(
            customer=customer,
            occurred_at=now - datetime.timedelta(hours=7 * n + 1),
            channel="store",
            amount=Decimal("128.00"),
            currency="CNY",
            source_system=LONG_HISTORY_SOURCE,
            external_ref=f"B-{n}",
        )
        for n in range(500)
    )
    return customer


def _time_page(client: Client, url: str, repeats: int) -> tuple[float, float, int]:
    timings = []
    for _ in range(repeats):
        with CaptureQueriesContext(connection) as queries:
            start = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.status_code
    return (*p50_p95(timings), len(queries.captured_queries))


def _naive_full_history(customer: Customer) -> None:
    """What a first version of the page does: every interaction and purchase, no paging."""
    list(customer.interactions.select_related("staff", "contact").order_by("-occurred_at"))
    list(customer.transactions.order_by("-occurred_at"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=40)
    args = parser.parse_args()
    client, _user = service_client()

    long_customer = _long_history_customer()
    short_customer = (
        Customer.objects.annotate(entries=Count("interactions"))
        .filter(entries__gt=0, entries__lt=5)
        .order_by("pk")
        .first()
    )
    history = long_customer.interactions.count() + long_customer.transactions.count()
    print(f"Database: {connection.vendor}, {Customer.objects.count():,} customers")
    print(f"{'customer page':<34}{'entries':>8}{'p50 ms':>9}{'p95 ms':>9}{'queries':>9}")
    for label, customer in (
        ("short history (baseline)", short_customer),
        ("long history", long_customer),
    ):
        entries = customer.interactions.count() + customer.transactions.count()
        p50, p95, queries = _time_page(client, f"/customers/{customer.pk}/", args.repeats)
        print(f"{label:<34}{entries:>8,}{p50:>9.1f}{p95:>9.1f}{queries:>9}")
    timings = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        _naive_full_history(long_customer)
        timings.append((time.perf_counter() - start) * 1000)
    p50, p95 = p50_p95(timings)
    print(f"{'naive: whole history, ORM only':<34}{history:>8,}{p50:>9.1f}{p95:>9.1f}{2:>9}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
