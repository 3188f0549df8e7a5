"""Capturing customers where they are (issue 21): a shop's webhooks taken in at the web tier,
then applied by the worker, each beside a baseline measured in the same run.

    .venv/bin/python bench/capture.py [--deliveries 4000] [--clients 16] [--keep]

1. The data: customers and their orders from the demo generator (demo/data: Chinese and
   Latin-script persons, +86 and US phones, the 80-product catalogue), as Shopify sends them:
   a `customers/update` per customer and an `orders/create` per order (its customer inside),
   each signed with the connector's secret (X-Shopify-Hmac-Sha256) under a webhook id of its
   own, `--deliveries` in all. Companies are left out: a shop's buyers are people.
2. The web tier: gunicorn as the production image runs it (gunicorn.conf.py: sync workers, the
   access log; `--web-workers` overrides its count) on 127.0.0.1, with DEBUG off; the
   requests carry the X-Forwarded-Proto a reverse proxy adds. `--clients` threads in a process
   of their own POST the deliveries:
   - baseline: the same bodies to an intake address no connector has (404: the whole
     middleware stack and one indexed lookup, nothing verified or stored) — the server's own
     ceiling for a request of that size;
   - intake: the signed deliveries to the connector's address: verified, stored, acknowledged,
     their application queued on the broker for after the commit.
   Both print requests/s acknowledged, p50 / p95 / p99 latency and the errors (anything but
   the expected status).
3. The worker: once the web server has stopped, a real Celery worker (as the product runs it:
   `celery -A crm worker`, the solo pool) applies the stored backlog, one delivery a task
   (connectors/deliveries.py): deliveries/s and customers + orders written/s from the first
   application to the last, and the worker's peak RSS.
4. Baseline: the same customers and orders as two CSV files (the records the connector hands
   the import: connectors/apply.py), into emptied tables through the product's import jobs as
   the worker runs them (customers, then the orders naming them by the shop's id), in a
   process of its own: customers + orders written/s and its peak RSS.

The broker is the one the environment names (the embedded filesystem broker under `make
bench`: REDIS_URL empty). It runs in a database of its own, BENCH_CAPTURE_DATABASE_URL (default
crm_bench_capture on 127.0.0.1:5432), created afresh and dropped at the end unless --keep.
Not a test: nothing passes or fails on time.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# The repository instead of bench/ itself: no module here may shadow a package of its name.
sys.path[0] = str(Path(__file__).resolve().parent.parent)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

from bench.databases import drop_database, fresh_database  # noqa: E402
from bench.processes import answer_case, measure_in_own_process, start_worker  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/crm_bench_capture"
FOLDER = ROOT / "var" / "bench" / "capture"
SHOP = "bench-capture.myshopify.com"
SECRET = "bench-capture-signing-secret"  # noqa: S105  (a throwaway shop's)
# The web server, the worker and the import as in production: DEBUG off (no query log, no
# static files looked for on each request), so what the figures describe is what a shop meets.
PRODUCTION_LIKE = {
    "DEBUG": "false",
    "ALLOWED_HOSTS": "127.0.0.1",
    # Nothing here sends mail; without DEBUG the settings want a real server named.
    "EMAIL_URL": "smtp://127.0.0.1:25",
}
# How long the server may take to answer its first request.
START_SECONDS = 60
# The worker is given up on when the backlog has not moved for this long.
STALL_SECONDS = 300
# Shopify's ids are large numbers; these keep the bench's apart from anything real.
CUSTOMER_ID_BASE = 7_100_000_000
ORDER_ID_BASE = 5_200_000_000


# --- the deliveries ----------------------------------------------------------------------------


def _moment(value: Any) -> str:
    return value.isoformat(timespec="seconds")


def _shopify_customer(row: Any) -> dict[str, Any]:
    """A generated customer as Shopify's REST payload writes one."""
    return {
        "id": CUSTOMER_ID_BASE + row.id,
        "first_name": row.given_name,
        "last_name": row.family_name,
        "email": row.email or None,
        "phone": row.phone or None,
        "created_at": _moment(row.created_at),
        "updated_at": _moment(row.updated_at),
        "tags": "",
        "email_marketing_consent": {
            "state": "subscribed" if row.consent_email else "not_subscribed"
        },
        "sms_marketing_consent": {"state": "subscribed" if row.consent_sms else "not_subscribed"},
        "default_address": {
            "address1": row.street,
            "city": row.city,
            "province": row.province,
            "country_code": row.country,
            "zip": row.postcode,
            "phone": row.phone or None,
        },
    }


_FINANCIAL_STATUS = {"paid": "paid", "refunded": "refunded", "cancelled": "voided"}


def _shopify_order(order: Any, lines: list[Any], customer: dict, catalog: dict) -> dict:
    """A generated purchase as Shopify's orders/create payload, its customer inside."""
    number = 1000 + order.id
    return {
        "id": ORDER_ID_BASE + order.id,
        "name": f"#{number}",
        "order_number": number,
        "email": customer["email"],
        "phone": customer["phone"],
        "created_at": _moment(order.occurred_at),
        "processed_at": _moment(order.occurred_at),
        "updated_at": _moment(order.occurred_at),
        "cancelled_at": _moment(order.occurred_at) if order.status == "cancelled" else None,
        "currency": order.currency,
        "financial_status": _FINANCIAL_STATUS[order.status],
        "total_price": str(order.amount),
        "total_discounts": "0.00",
        "customer": customer,
        "line_items": [
            {
                "sku": catalog[line.product_id].sku,
                "name": catalog[line.product_id].name_zh,
                "quantity": line.quantity,
                "price": str(line.unit_price),
                "total_discount": "0.00",
            }
            for line in lines
        ],
        "refunds": [],
    }


def shop_deliveries(count: int, seed: int) -> Iterator[tuple[str, dict]]:
    """(topic, payload): each generated person's customers/update, then an orders/create per
    purchase, until `count`."""
    from django.utils import timezone

    from customers.models import CustomerKind
    from demo.data.customers import customers
    from demo.data.purchases import catalog_item, products, transactions
    from demo.data.scenario import Scenario

    catalog = {number: catalog_item(number, row) for number, row in enumerate(products(), 1)}
    scenario = Scenario(seed=seed, now=timezone.localtime(), catalog=tuple(catalog.values()))
    made, order_id, line_id = 0, 1, 1
    for generated in customers(scenario, count):
        if generated.row.kind != CustomerKind.PERSON:
            continue
        customer = _shopify_customer(generated.row)
        yield "customers/update", customer
        made += 1
        for order, lines in transactions(
            scenario, [generated.plan], start_id=order_id, line_start_id=line_id
        ):
            if made == count:
                return
            yield "orders/create", _shopify_order(order, lines, customer, catalog)
            made, order_id, line_id = made + 1, order.id + 1, line_id + len(lines)
        if made == count:
            return


def write_deliveries(path: Path, count: int, seed: int) -> None:
    """The signed requests, one JSON object a line: what the clients send, read back by the
    import baseline too."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for topic, payload in shop_deliveries(count, seed):
            body = json.dumps(payload, ensure_ascii=False).encode()
            signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest())
            headers = {
                "Content-Type": "application/json",
                "X-Shopify-Topic": topic,
                "X-Shopify-Hmac-Sha256": signature.decode(),
                "X-Shopify-Webhook-Id": str(uuid.uuid4()),
                "X-Shopify-Shop-Domain": SHOP,
                "X-Shopify-API-Version": "2025-01",
                # What the reverse proxy in front of gunicorn says (else: redirected to https).
                "X-Forwarded-Proto": "https",
            }
            handle.write(json.dumps({"headers": headers, "body": body.decode()}) + "\n")


# --- the clients -------------------------------------------------------------------------------


def post_all(args: argparse.Namespace) -> dict:
    """The clients' process: every request of the file POSTed to `args.address` by
    `args.clients` threads; requests/s, latency percentiles (ms) and the requests answered
    otherwise than `args.expect`."""
    import urllib3

    with Path(args.requests).open(encoding="utf-8") as handle:
        requests = [json.loads(line) for line in handle]
    host, port = args.address.split("//", 1)[1].split("/", 1)[0].split(":")
    path = "/" + args.address.split("//", 1)[1].split("/", 1)[1]
    pool = urllib3.HTTPConnectionPool(host, int(port), maxsize=args.clients, retries=False)
    latencies: list[float] = []
    errors: dict[str, int] = {}
    lock = threading.Lock()
    pending = iter(requests)

    def client() -> None:
        while True:
            with lock:
                request = next(pending, None)
            if request is None:
                return
            body = request["body"].encode()
            started = time.perf_counter()
            try:
                response = pool.urlopen("POST", path, body=body, headers=request["headers"])
                outcome = str(response.status)
            except urllib3.exceptions.HTTPError as error:
                outcome = error.__class__.__name__
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                if outcome == str(args.expect):
                    latencies.append(elapsed)
                else:
                    errors[outcome] = errors.get(outcome, 0) + 1

    threads = [threading.Thread(target=client) for _client in range(args.clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0.0] * 99
    return {
        "answered": len(latencies),
        "seconds": seconds,
        "p50": cuts[49],
        "p95": cuts[94],
        "p99": cuts[98],
        "errors": errors,
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def served_app(web_workers: int | None) -> Iterator[str]:
    """gunicorn with the production image's settings on a free port of 127.0.0.1 until the
    block ends; yields its base URL."""
    import urllib3

    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    log = FOLDER / "gunicorn.log"
    command = [sys.executable, "-m", "gunicorn", "crm.wsgi", "--config", "gunicorn.conf.py"]
    command += ["--bind", f"127.0.0.1:{port}"]
    if web_workers:
        command += ["--workers", str(web_workers)]
    with log.open("wb") as output:
        server = subprocess.Popen(command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + START_SECONDS
            while server.poll() is None and time.monotonic() < deadline:
                try:
                    urllib3.request("GET", f"{base_url}/health/", retries=False)
                except urllib3.exceptions.HTTPError:
                    time.sleep(0.2)
                else:
                    break
            else:
                raise RuntimeError(f"The app did not start on {base_url}:\n{log.read_text()}")
            yield base_url
        finally:
            server.terminate()
            server.wait(timeout=30)


def post(address: str, requests: Path, clients: int, expect: int) -> dict:
    return measure_in_own_process(
        __file__,
        "post",
        "--address",
        address,
        "--requests",
        str(requests),
        "--clients",
        str(clients),
        "--expect",
        str(expect),
    )


# --- the worker --------------------------------------------------------------------------------


def _peak_rss_mb(pid: int) -> float:
    """A live process's peak resident set (Linux: VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _written() -> tuple[int, int]:
    from customers.models import Customer
    from interactions.models import Transaction

    return Customer.objects.count(), Transaction.objects.count()


def apply_backlog() -> dict:
    """A worker started on the stored backlog, left until nothing waits (or nothing moved for
    STALL_SECONDS); the deliveries by status, the first and last application, its peak RSS."""
    from django.db.models import Count, Max, Min

    from connectors.models import DeliveryStatus, InboundDelivery

    waiting = InboundDelivery.objects.filter(status=DeliveryStatus.RECEIVED)
    worker = start_worker()
    try:
        left, moved = waiting.count(), time.monotonic()
        while left and worker.poll() is None and time.monotonic() - moved < STALL_SECONDS:
            time.sleep(1)
            now_left = waiting.count()
            if now_left != left:
                left, moved = now_left, time.monotonic()
        peak = _peak_rss_mb(worker.pid) if worker.poll() is None else 0.0
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    statuses = dict(
        InboundDelivery.objects.values_list("status").annotate(n=Count("pk")).order_by()
    )
    span = InboundDelivery.objects.aggregate(first=Min("applied_at"), last=Max("applied_at"))
    return {
        "statuses": statuses,
        "seconds": (span["last"] - span["first"]).total_seconds() if span["first"] else 0.0,
        "peak_mb": peak,
        "notes": list(
            InboundDelivery.objects.filter(status=DeliveryStatus.FAILED)
            .values_list("note", flat=True)
            .distinct()[:3]
        ),
    }


# --- the file import ---------------------------------------------------------------------------


def write_files(requests: Path) -> tuple[Path, Path]:
    """The deliveries' customers and orders as the two CSV files a shop's export would give:
    the very records the connector hands the import (connectors/apply.py), one line per order
    line."""
    import csv

    from connectors.apply import _order_records
    from connectors.changes import CustomerChange, OrderChange
    from connectors.platforms import adapter_for

    adapter = adapter_for("shopify")
    customers: dict[str, dict] = {}
    orders: list[dict] = []
    with requests.open(encoding="utf-8") as handle:
        for line in handle:
            request = json.loads(line)
            topic = request["headers"]["X-Shopify-Topic"]
            for change in adapter.changes(topic, adapter.payload(request["body"])):
                if isinstance(change, CustomerChange):
                    customers[change.external_id] = change.record
                elif isinstance(change, OrderChange):
                    customers.setdefault(change.customer.external_id, change.customer.record)
                    details = {"total": str(change.total), "status": change.status}
                    orders.extend(_order_records(change, details))
    paths = FOLDER / "customers.csv", FOLDER / "orders.csv"
    for path, records in zip(paths, (list(customers.values()), orders), strict=True):
        columns = list(dict.fromkeys(key for record in records for key in record))
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, columns)
            writer.writeheader()
            for record in records:
                writer.writerow(
                    {key: ",".join(v) if isinstance(v, list) else v for key, v in record.items()}
                )
    return paths


def import_files(args: argparse.Namespace) -> dict:
    """The import baseline's process: emptied tables, then the two files through the import
    jobs as the worker runs them."""
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from bench.generate import truncate
    from bench.orders import run_import
    from customers.models import InvalidValues, SourceChannel, UpdatePolicy

    settings.MEDIA_ROOT = FOLDER / "media"
    truncate()
    actor = get_user_model().objects.get(username="bench-capture")
    options = {
        "source_name": args.system,
        "source_channel": SourceChannel.ONLINE_SHOP,
        "policy": UpdatePolicy.OVERWRITE,
        "invalid_values": InvalidValues.DROP_VALUE,
    }
    figures = {
        "customers": run_import("customers", FOLDER / "customers.csv", actor, **options),
        "orders": run_import("transactions", FOLDER / "orders.csv", actor, **options),
    }
    figures["written"] = sum(_written())
    return figures


# --- the run -----------------------------------------------------------------------------------


def _set_up(requests: Path, args: argparse.Namespace) -> Any:
    from django.contrib.auth import get_user_model

    from connectors.services import create_connector

    get_user_model().objects.create_user("bench-capture", is_superuser=True, is_staff=True)
    started = time.perf_counter()
    write_deliveries(requests, args.deliveries, args.seed)
    print(
        f"  {args.deliveries:,} deliveries generated and signed in "
        f"{time.perf_counter() - started:.1f} s"
    )
    return create_connector(
        actor=None, platform="shopify", name="Bench shop", shop_url=SHOP, secret=SECRET
    )


def _web_row(label: str, figures: dict) -> str:
    rate = figures["answered"] / figures["seconds"]
    errors = sum(figures["errors"].values())
    detail = f"  {figures['errors']}" if errors else ""
    return (
        f"  {label:<44}{rate:8,.0f}/s {figures['p50']:8.1f} {figures['p95']:7.1f} "
        f"{figures['p99']:7.1f} {errors:7,}{detail}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # The worker applies a delivery at a time (~20/s on 2 vCPUs): 4,000 take a few minutes.
    parser.add_argument("--deliveries", type=int, default=4_000)
    parser.add_argument("--clients", type=int, default=16, help="concurrent senders")
    parser.add_argument(
        "--web-workers", type=int, help="gunicorn workers (default: gunicorn.conf.py's)"
    )
    parser.add_argument("--seed", type=int, default=21)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    for hidden in ("--address", "--requests", "--system"):
        parser.add_argument(hidden, help=argparse.SUPPRESS)
    parser.add_argument("--expect", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.update(PRODUCTION_LIKE)
    if answer_case({"post": post_all, "import": import_files}, args):
        return 0

    url = os.environ.get("BENCH_CAPTURE_DATABASE_URL", DEFAULT_URL)
    os.environ["DATABASE_URL"] = url
    fresh_database(url)
    FOLDER.mkdir(parents=True, exist_ok=True)
    requests = FOLDER / "deliveries.jsonl"
    try:
        import django

        django.setup()
        from django.db import connections

        from connectors.models import InboundDelivery

        print(f"Shop webhooks captured: Shopify, {args.clients} concurrent clients")
        connector = _set_up(requests, args)
        connections.close_all()  # nothing of this process's held while the others measure

        print(
            f"\n  {'web tier (gunicorn)':<44}{'answered':>10} {'p50 ms':>8} {'p95':>7} {'p99':>7}"
            f" {'errors':>7}"
        )
        with served_app(args.web_workers) as base_url:
            refused = post(f"{base_url}/inbound/no-such-connector/", requests, args.clients, 404)
            print(_web_row("baseline: same bodies, unknown address (404)", refused))
            intake = post(
                f"{base_url}/inbound/{connector.public_key}/", requests, args.clients, 200
            )
            print(_web_row("intake: verified, stored, acknowledged", intake))
        stored = InboundDelivery.objects.count()
        print(f"  stored {stored:,} of {intake['answered']:,} acknowledged")

        applied = apply_backlog()
        customers, orders = _written()
        seconds = applied["seconds"] or float("nan")
        print(f"\n  {'applying':<44}{'items':>10} {'seconds':>8} {'items/s':>9} {'peak RSS':>9}")
        print(
            f"  {'worker: deliveries applied, first to last':<44}{stored:10,} {seconds:8.1f} "
            f"{stored / seconds:9,.0f} {applied['peak_mb']:6.0f} MB"
        )
        print(
            f"  {'  customers + orders written':<44}{customers + orders:10,} {seconds:8.1f} "
            f"{(customers + orders) / seconds:9,.0f}"
        )
        print(f"    deliveries by status: {applied['statuses']}")
        for note in applied["notes"]:
            print(f"    failed: {note}")

        write_files(requests)
        connections.close_all()
        imported = measure_in_own_process(__file__, "import", "--system", connector.system_name)
        import_seconds = imported["customers"]["seconds"] + imported["orders"]["seconds"]
        for kind in ("customers", "orders"):
            job = imported[kind]
            print(
                f"  {f'baseline: file import, {kind} CSV':<44}{job['rows']:10,} "
                f"{job['seconds']:8.1f} {job['rows'] / job['seconds']:9,.0f}"
                f"  created {job['created']:,}, failed {job['failed']:,}, {job['status']}"
            )
        print(
            f"  {'  customers + orders written':<44}{imported['written']:10,} "
            f"{import_seconds:8.1f} {imported['written'] / import_seconds:9,.0f} "
            f"{imported['peak_mb']:6.0f} MB"
        )
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            drop_database(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
