"""The shared pool's nightly run at scale, beside baselines measured in the same run, each case
in its own process and its own transaction, rolled back at the end (the loaded data stays as
the other benchmarks expect it).

    DATABASE_URL=postgres://.../crm_bench .venv/bin/python bench/pool.py [--sample 2000]

Set-up (inside each case's transaction): a third of the live customers get an owner among
--owners bench staff accounts, and their owners' last activity spread evenly over the last 60
days, so that with the default rules (30 days, warned 3 days before) about a tenth of the owned
customers are warned and half are returned to the pool.

Product: `release_idle_customers()` exactly as the nightly task runs it (warnings in bulk, then
batches of set-based releases with their history rows, audit event and notifications).
Baselines: a plain scan reading the same owned customers' ids and owners through the index
(the floor any run must pay to find them); and the straightforward per-customer loop (load,
change the owner, save, a history row, a notification), timed on --sample customers and
extrapolated. Not a test: nothing passes or fails on time.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

from bench.processes import answer_case, measure_in_own_process

IDLE_SPREAD_DAYS = 60


def _owned_customers(owners: int) -> int:
    """Give a third of the live customers an owner and an idle time (set-based, one UPDATE)."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    staff = get_user_model().objects.bulk_create(
        get_user_model()(username=f"pool-bench-{n}", is_staff=True) for n in range(owners)
    )
    ids = [user.pk for user in staff]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE customers_customer
               SET owner_id = (%s::bigint[])[(id %% %s) + 1],
                   owner_active_at = now() - make_interval(secs => (id %% %s) * 86400.0 / 3 + 60)
             WHERE id %% 3 = 0 AND merged_into_id IS NULL
            """,
            [ids, len(ids), IDLE_SPREAD_DAYS * 3],
        )
        owned = cursor.rowcount
        cursor.execute("ANALYZE customers_customer")
    return owned


def _in_rolled_back_transaction(case):
    def run(args) -> dict:
        from django.db import transaction

        with transaction.atomic():
            figures = {"owned": _owned_customers(args.owners), **case(args)}
            transaction.set_rollback(True)
        return figures

    return run


@_in_rolled_back_transaction
def product_case(args) -> dict:
    from customers.models import Customer
    from sales.pool.services import release_idle_customers

    began = time.perf_counter()
    result = release_idle_customers()
    return {
        "seconds": round(time.perf_counter() - began, 2),
        "customers": Customer.objects.count(),
        "warned": result.warned,
        "released": result.released,
    }


@_in_rolled_back_transaction
def scan_case(args) -> dict:
    from django.utils import timezone

    from customers.models import Customer

    cutoff = timezone.now()
    began = time.perf_counter()
    rows = sum(
        1
        for _row in Customer.objects.filter(owner__isnull=False, owner_active_at__lt=cutoff)
        .order_by("owner_active_at")
        .values_list("pk", "owner_id")
        .iterator(chunk_size=10_000)
    )
    return {"seconds": round(time.perf_counter() - began, 2), "rows": rows}


@_in_rolled_back_transaction
def loop_case(args) -> dict:
    import datetime

    from django.utils import timezone

    from customers.models import Customer
    from notifications.models import NotificationKind
    from notifications.services import notify
    from sales.models import OwnershipChange, OwnershipChangeKind

    cutoff = timezone.now() - datetime.timedelta(days=30)
    idle = Customer.objects.filter(owner__isnull=False, owner_active_at__lt=cutoff)
    total = idle.count()
    began = time.perf_counter()
    done = 0
    for customer in idle.select_related("owner")[: args.sample]:
        former = customer.owner
        customer.owner = None
        customer.owner_active_at = None
        customer.save(update_fields=["owner", "owner_active_at", "updated_at"])
        OwnershipChange.objects.create(
            customer=customer, from_owner=former, kind=OwnershipChangeKind.AUTO_RELEASE
        )
        notify(former, NotificationKind.POOL_RELEASED, customer.name, customer_id=customer.pk)
        done += 1
    seconds = time.perf_counter() - began
    return {
        "sample": done,
        "seconds": round(seconds, 2),
        "extrapolated": round(seconds * total / max(done, 1), 1),
        "idle": total,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=("product", "scan", "loop"))
    parser.add_argument("--owners", type=int, default=200)
    parser.add_argument("--sample", type=int, default=2_000)
    args = parser.parse_args()
    cases = {"product": product_case, "scan": scan_case, "loop": loop_case}
    if answer_case(cases, args):
        return
    script = str(Path(__file__).resolve())
    options = ("--owners", str(args.owners), "--sample", str(args.sample))
    scan = measure_in_own_process(script, "scan", *options)
    loop = measure_in_own_process(script, "loop", *options)
    product = measure_in_own_process(script, "product", *options)
    print(
        f"Shared pool, nightly run: {product['customers']:,} customers, "
        f"{product['owned']:,} owned by {args.owners} people"
    )
    print(f"{'case':<62}{'seconds':>10}{'peak MB':>9}")
    label = f"baseline: indexed scan of the {scan['rows']:,} owned customers' ids"
    print(f"{label:<62}{scan['seconds']:>10,}{scan['peak_mb']:>9.0f}")
    label = f"baseline: per-customer ORM loop, {loop['sample']:,} timed, extrapolated"
    print(f"{label:<62}{loop['extrapolated']:>10,}{loop['peak_mb']:>9.0f}")
    label = "product: release_idle_customers (set-based batches)"
    print(f"{label:<62}{product['seconds']:>10,}{product['peak_mb']:>9.0f}")
    print(f"({product['warned']:,} owners' customers warned, {product['released']:,} returned)")


if __name__ == "__main__":
    main()
