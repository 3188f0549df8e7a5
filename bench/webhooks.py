"""Webhook delivery under a write load, end to end, beside what the network path allows.

    .venv/bin/python bench/webhooks.py [--events 6000] [--subscriptions 2]

1. A receiver on 127.0.0.1 in a process of its own (it must not share the GIL with the
   sender): a threaded HTTP/1.1 server answering 200 at once, noting each request's arrival
   time and webhook-id.
2. `--subscriptions` subscriptions to it (an Administrator service account: unmasked payloads)
   listening to customer.created, customer.updated and transaction.recorded.
3. A real Celery worker (as the product runs it: `celery -A crm worker`, the solo pool), kicked
   by each commit that wrote events, relays the outbox and sends.
4. A write load in another process, through the real services, in rounds: 100 customers
   created by one bulk upsert (`customers/imports/records.py upsert_records`), the same 100
   changed by a second one, and 100 purchases recorded (`record_transaction`) in one
   transaction: `--events` events in all, each sent once to every subscription.

Printed: deliveries/s from the first write to the last arrival, and from the first arrival to
the last; the delay from each event's commit (its `occurred_at`, written in the write's
transaction) to its arrival at the receiver, p50 / p95 / max; and the baseline: the same bodies
POSTed plainly to the same receiver from one pooled requests.Session by as many threads as the
worker's pool (WEBHOOKS_CONCURRENCY) — the rate the network path and the receiver allow.

It runs in a database of its own, BENCH_WEBHOOKS_DATABASE_URL (default crm_bench_hooks on
127.0.0.1:5432), created afresh and dropped at the end unless --keep. Not a test: nothing
passes or fails on time.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from pathlib import Path
from threading import Lock, Thread

# The repository instead of bench/ itself: no module here may shadow a package of its name.
sys.path[0] = str(Path(__file__).resolve().parent.parent)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

from bench.databases import drop_database, fresh_database  # noqa: E402
from bench.processes import answer_case, measure_in_own_process, start_worker  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/crm_bench_hooks"
ROUND = 100  # customers created, the same changed, purchases recorded: 3 × ROUND events
TOPICS = ["customer.created", "customer.updated", "transaction.recorded"]
# Longest wait for the last delivery after the writes end.
DRAIN_SECONDS = 600


def serve_receiver(commands: Connection) -> None:
    """The receiver's process: answer every POST with 200 at once, note (arrival, webhook-id);
    on "collect" send the notes and forget them, on "stop" end."""
    arrivals: list[tuple[float, str]] = []
    lock = Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: the sender's pooled connections are reused

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            arrived = time.time()
            with lock:
                arrivals.append((arrived, self.headers.get("webhook-id", "")))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    Thread(target=server.serve_forever, daemon=True).start()
    commands.send(server.server_address[1])
    while (command := commands.recv()) != "stop":
        if command == "count":
            commands.send(len(arrivals))
        elif command == "collect":
            with lock:
                commands.send(list(arrivals))
                arrivals.clear()
    server.shutdown()


class Receiver:
    def __init__(self) -> None:
        # Forked before Django is set up: the receiver holds no connection of the sender's.
        self._commands, theirs = multiprocessing.Pipe()
        self.process = multiprocessing.get_context("fork").Process(
            target=serve_receiver, args=(theirs,), daemon=True
        )
        self.process.start()
        self.url = f"http://127.0.0.1:{self._commands.recv()}/hooks"

    def count(self) -> int:
        self._commands.send("count")
        return self._commands.recv()

    def collect(self) -> list[tuple[float, str]]:
        self._commands.send("collect")
        return self._commands.recv()

    def stop(self) -> None:
        self._commands.send("stop")
        self.process.join(timeout=10)


def write_load(args: argparse.Namespace) -> dict:
    """The writer's process: rounds of customers created, changed and purchases recorded,
    through the services; returns when it started and ended (epoch seconds)."""
    import datetime
    from decimal import Decimal

    from django.contrib.auth import get_user_model
    from django.db import transaction

    from customers.imports.records import upsert_records
    from customers.models import Customer
    from interactions.services import record_transaction

    actor = get_user_model().objects.get(username="bench-hooks-writer")
    started = time.time()
    written = 0
    number = args.first
    while written < args.events:
        records = [
            {"external_id": f"H-{number + i}", "name": f"Bench Hooks {number + i}"}
            for i in range(ROUND)
        ]
        number += ROUND
        created = upsert_records(
            actor=actor, kind="customers", records=records, source_name="bench"
        )
        changed = [
            {**record, "email": f"{record['external_id']}@example.com"} for record in records
        ]
        upsert_records(actor=actor, kind="customers", records=changed, source_name="bench")
        customers = Customer.objects.filter(pk__in=[result.id for result in created.results])
        with transaction.atomic():
            for customer in customers:
                record_transaction(
                    actor=actor,
                    customer=customer,
                    occurred_at=datetime.datetime.now(datetime.UTC),
                    channel="online_shop",
                    amount=Decimal("99.50"),
                )
        written += 3 * ROUND
    return {"started": started, "ended": time.time(), "events": written}


def baseline(url: str, bodies: list[str], threads: int) -> float:
    """Plain POSTs of these bodies from one pooled session by `threads` threads: per second."""
    from concurrent.futures import ThreadPoolExecutor

    import requests
    from requests.adapters import HTTPAdapter

    session = requests.Session()
    adapter = HTTPAdapter(pool_connections=threads, pool_maxsize=threads, max_retries=0)
    session.mount("http://", adapter)

    def post(body: str) -> int:
        response = session.post(
            url, data=body.encode(), headers={"content-type": "application/json"}
        )
        return response.status_code

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        codes = list(pool.map(post, bodies))
    elapsed = time.perf_counter() - started
    assert set(codes) == {200}, set(codes)
    return len(bodies) / elapsed


def delay_figures(arrivals: list[tuple[float, str]]) -> str:
    """p50 / p95 / max of commit → arrival, the commit time being the event's occurred_at."""
    from kernel.models import OutboxEvent

    ids = {int(message_id.removeprefix("msg_")) for _arrived, message_id in arrivals}
    committed = {
        pk: occurred.timestamp()
        for pk, occurred in OutboxEvent.objects.filter(pk__in=ids).values_list("pk", "occurred_at")
    }
    delays = sorted(
        arrived - committed[int(message_id.removeprefix("msg_"))]
        for arrived, message_id in arrivals
    )
    p95 = delays[min(len(delays) - 1, round(0.95 * (len(delays) - 1)))]
    return f"p50 {statistics.median(delays):.2f}  p95 {p95:.2f}  max {delays[-1]:.2f}"


def rate(arrivals: list[tuple[float, str]]) -> float:
    """Deliveries per second from the first arrival to the last."""
    times = [arrived for arrived, _id in arrivals]
    return len(times) / (max(times) - min(times))


def wait_for(receiver: Receiver, count: int) -> list[tuple[float, str]]:
    """What the receiver got once `count` requests arrived (or DRAIN_SECONDS passed)."""
    deadline = time.monotonic() + DRAIN_SECONDS
    while receiver.count() < count and time.monotonic() < deadline:
        time.sleep(0.1)
    return receiver.collect()


def subscribe(args: argparse.Namespace, url: str) -> None:
    """The service account, the owner, the writer and the subscriptions."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from accounts.api_keys import create_service_account
    from privacy import roles
    from webhooks.services import create_subscription

    account = create_service_account(
        actor=None, username="bench-hooks", groups=[Group.objects.get(name=roles.ADMINISTRATOR)]
    )
    users = get_user_model().objects
    owner = users.create_user("bench-hooks-owner", email="owner@example.com", is_superuser=True)
    users.create_user("bench-hooks-writer", is_superuser=True)
    for number in range(args.subscriptions):
        create_subscription(
            actor=None,
            name=f"Bench receiver {number + 1}",
            target_url=url,
            topics=TOPICS,
            service_account=account,
            owner=owner,
        )


def write(args: argparse.Namespace, *, first: int) -> dict:
    """The write load in its own process, customers numbered from `first`."""
    return measure_in_own_process(
        __file__, "write", "--events", str(args.events), "--first", str(first)
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=3000, help="events written per phase")
    parser.add_argument("--subscriptions", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--first", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.events = -(-args.events // (3 * ROUND)) * 3 * ROUND  # whole rounds
    os.environ["WEBHOOKS_ALLOW_PRIVATE_TARGETS"] = "true"  # the receiver is on loopback
    if answer_case({"write": write_load}, args):
        return 0

    url = os.environ.get("BENCH_WEBHOOKS_DATABASE_URL", DEFAULT_URL)
    os.environ["DATABASE_URL"], os.environ["REDIS_URL"] = url, ""
    fresh_database(url)
    receiver = Receiver()
    worker = None
    try:
        import django

        django.setup()
        from django.conf import settings

        subscribe(args, receiver.url)
        expected = args.events * args.subscriptions
        threads = settings.WEBHOOKS_CONCURRENCY
        print(
            f"Webhook deliveries to a local receiver: {args.events:,} events a phase × "
            f"{args.subscriptions} subscriptions = {expected:,} deliveries; {threads} sending "
            "threads (WEBHOOKS_CONCURRENCY)"
        )
        # 1. A backlog: what the sender alone sustains (relay included).
        write(args, first=0)
        worker = start_worker()
        backlog = wait_for(receiver, expected)
        print(f"  {'backlog (written first, then a worker started)':<48}{rate(backlog):8,.0f}/s")
        # 2. Under a write load, the worker kicked by each commit.
        load = write(args, first=args.events)
        arrivals = wait_for(receiver, expected)
        last = max(arrived for arrived, _id in arrivals)
        writing = load["ended"] - load["started"]
        print(f"  {'under a write load, first to last arrival':<48}{rate(arrivals):8,.0f}/s")
        print(
            f"  {'  first write to last arrival':<48}"
            f"{len(arrivals) / (last - load['started']):8,.0f}/s"
        )
        print(f"  {'  the write load':<48}{load['events'] / writing:8,.0f} events/s")
        print(f"  {'  delay, commit to arrival (s)':<48}{delay_figures(arrivals)}")
        # 3. What the path itself takes: the same bodies, plainly, as many threads.
        from webhooks.models import Delivery

        bodies = list(Delivery.objects.order_by("pk").values_list("body", flat=True)[:expected])
        plain = baseline(receiver.url, bodies, threads)
        print(f"  {f'baseline: plain POSTs, one session, {threads} threads':<48}{plain:8,.0f}/s")
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)
        receiver.stop()
        if not args.keep:
            from django.db import connections

            connections.close_all()
            drop_database(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
