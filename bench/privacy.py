"""Privacy at scale, each case in its own process (its peak memory its own), beside baselines
measured in the same run:

- audit append: events recorded one per transaction through `record_event` (hash chain under
  the advisory lock, alert checks) beside the same single-row INSERTs into a plain copy of the
  table (what an unchained log costs);
- verify_audit: the whole chain of --events events hashed and checked, beside reading the same
  rows in the same batches without hashing (the read floor);
- erasure: one customer with a long history anonymised by the set-based service, beside the
  same rows scrubbed one `save()` at a time;
- retention: a dry run and the real run over --leads stale leads (anonymised in batches of
  500), beside erasing them one customer per call.

    .venv/bin/python bench/privacy.py [--events 1000000] [--appends 20000] [--leads 50000]

It works in a database of its own (BENCH_PRIVACY_DATABASE_URL, default crm_bench_privacy on
127.0.0.1:5432), dropped and created afresh: the audit rows it adds are kept by the append-only
trigger. Not a test: nothing passes or fails on time.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")

from bench.databases import fresh_database
from bench.processes import answer_case, measure_in_own_process

ROOT = Path(__file__).resolve().parent.parent

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/crm_bench_privacy"
HISTORY = {"interactions": 2000, "transactions": 500, "follow_ups": 50, "contacts": 5}


def _event_fields(number: int) -> dict:
    return {
        "actor_label": "bench",
        "action": "customer.update",
        "target_type": "customers.customer",
        "target_id": str(number),
        "changes": {"city": ["杭*", "宁*"], "phone": ["+86 138****0000", "+86 139****0001"]},
    }


def case_append_chain(count: int) -> dict:
    from privacy.audit.recording import record_event

    started = time.perf_counter()
    for number in range(count):
        fields = _event_fields(number)
        record_event(
            actor=None,
            action=fields["action"],
            changes=fields["changes"],
            actor_label=fields["actor_label"],
        )
    return {"seconds": time.perf_counter() - started, "rows": count}


def case_append_plain(count: int) -> dict:
    from django.db import connection
    from django.utils import timezone

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_plain_audit")
        cursor.execute("CREATE TABLE bench_plain_audit (LIKE privacy_auditevent INCLUDING ALL)")
        insert = (
            "INSERT INTO bench_plain_audit (sequence, occurred_at, actor_label, action, "
            "target_type, target_id, changes, user_agent, via, previous_hash, event_hash) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, '', 'system', '', '')"
        )
        started = time.perf_counter()
        for number in range(count):
            fields = _event_fields(number)
            cursor.execute(  # autocommit: one transaction per event, like record_event's
                insert,
                [
                    number + 1,
                    timezone.now(),
                    fields["actor_label"],
                    fields["action"],
                    fields["target_type"],
                    fields["target_id"],
                    json.dumps(fields["changes"], ensure_ascii=False),
                ],
            )
        seconds = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_plain_audit")
    return {"seconds": seconds, "rows": count}


def case_fill(count: int) -> dict:
    """A valid chain of `count` more events, written by COPY (setup, not a figure)."""
    from django.db import connection
    from django.utils import timezone

    from privacy.audit.chain import GENESIS_HASH, canonical_ip, event_hash, storable_changes
    from privacy.models import AuditEvent

    last = AuditEvent.objects.order_by("-sequence").values_list("sequence", "event_hash").first()
    sequence, previous = last if last else (0, GENESIS_HASH)
    moment = timezone.now()
    columns = (
        "sequence, occurred_at, actor_label, action, target_type, target_id, changes, "
        "ip_address, user_agent, via, previous_hash, event_hash"
    )
    started = time.perf_counter()
    with (
        connection.cursor() as cursor,
        cursor.copy(f"COPY privacy_auditevent ({columns}) FROM STDIN") as copy,
    ):
        for number in range(count):
            sequence += 1
            fields = {
                **_event_fields(number),
                "sequence": sequence,
                "occurred_at": moment + datetime.timedelta(microseconds=number),
                "actor_id": None,
                "ip_address": canonical_ip("10.0.0.1"),
                "user_agent": "bench",
                "via": "system",
                "previous_hash": previous,
            }
            fields["changes"] = storable_changes(fields["changes"])
            previous = event_hash(fields)
            copy.write_row(
                (
                    sequence,
                    fields["occurred_at"],
                    fields["actor_label"],
                    fields["action"],
                    fields["target_type"],
                    fields["target_id"],
                    json.dumps(fields["changes"], ensure_ascii=False),
                    fields["ip_address"],
                    fields["user_agent"],
                    fields["via"],
                    fields["previous_hash"],
                    previous,
                )
            )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE privacy_auditevent")
    return {"seconds": time.perf_counter() - started, "rows": count}


def case_verify() -> dict:
    from privacy.audit.verification import verify_chain

    started = time.perf_counter()
    report = verify_chain()
    if report.first_break is not None:
        raise SystemExit(f"the bench chain is broken: {report.first_break}")
    return {"seconds": time.perf_counter() - started, "rows": report.checked}


def case_read() -> dict:
    from privacy.audit.chain import CHAINED_FIELDS
    from privacy.audit.verification import DEFAULT_BATCH_SIZE
    from privacy.models import AuditEvent

    started = time.perf_counter()
    rows, expected = 0, 1
    while True:
        batch = list(
            AuditEvent.objects.filter(sequence__gte=expected)
            .order_by("sequence")
            .values("pk", *CHAINED_FIELDS, "event_hash")[:DEFAULT_BATCH_SIZE]
        )
        rows += len(batch)
        if len(batch) < DEFAULT_BATCH_SIZE:
            break
        expected = batch[-1]["sequence"] + 1
    return {"seconds": time.perf_counter() - started, "rows": rows}


def _customer_with_history(label: str) -> int:
    from decimal import Decimal

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from customers.models import Contact, Customer
    from interactions.models import FollowUp, Interaction, Transaction

    staff, _created = get_user_model().objects.get_or_create(username="bench-staff")
    customer = Customer.objects.create(
        name=f"{label} 王丽娟", phone="+8613800138000", email="lijuan@example.cn", city="杭州"
    )
    now = timezone.now()
    Contact.objects.bulk_create(
        Contact(customer=customer, name=f"联系人{n}", phone=f"+861380013{n:04d}")
        for n in range(HISTORY["contacts"])
    )
    Interaction.objects.bulk_create(
        Interaction(
            customer=customer,
            kind="call",
            occurred_at=now - datetime.timedelta(hours=n),
            subject=f"来电 {n}",
            body="客户询问发货时间，留下手机号 13800138000",
        )
        for n in range(HISTORY["interactions"])
    )
    Transaction.objects.bulk_create(
        Transaction(
            customer=customer,
            occurred_at=now - datetime.timedelta(days=n),
            channel="store",
            amount=Decimal("99.00"),
            external_ref=f"{label}-{n}",
        )
        for n in range(HISTORY["transactions"])
    )
    FollowUp.objects.bulk_create(
        FollowUp(
            customer=customer, title="回访", notes="电话 13800138000", due_at=now, assignee=staff
        )
        for _ in range(HISTORY["follow_ups"])
    )
    return customer.pk


def case_erase_service() -> dict:
    from privacy.subjects.erasure import anonymise_customers

    pk = _customer_with_history("service")
    started = time.perf_counter()
    counts = anonymise_customers([pk], actor=None, reason="request", evidence="bench")
    return {"seconds": time.perf_counter() - started, "rows": sum(counts.values())}


def case_erase_per_row() -> dict:
    """The same scrub as the service, a row at a time through the ORM."""
    from django.db import transaction

    from customers.models import Contact, Customer
    from interactions.models import FollowUp, Interaction, Transaction

    pk = _customer_with_history("per-row")
    started = time.perf_counter()
    rows = 0
    with transaction.atomic():
        for interaction in Interaction.objects.filter(customer=pk):
            interaction.subject = interaction.body = ""
            interaction.save(update_fields=["subject", "body"])
            rows += 1
        for order in Transaction.objects.filter(customer=pk):
            order.external_ref = ""
            order.save(update_fields=["external_ref"])
            rows += 1
        for follow_up in FollowUp.objects.filter(customer=pk):
            follow_up.title = follow_up.notes = ""
            follow_up.save(update_fields=["title", "notes"])
            rows += 1
        for contact in Contact.objects.filter(customer=pk):
            contact.delete()
            rows += 1
        customer = Customer.objects.get(pk=pk)
        customer.name, customer.phone, customer.email, customer.city = f"#{pk}", "", "", ""
        customer.save()
        rows += 1
    return {"seconds": time.perf_counter() - started, "rows": rows}


def case_leads(count: int) -> dict:
    """`count` leads idle for three years, each with an interaction (setup)."""
    from django.utils import timezone

    from customers.models import Customer
    from interactions.models import Interaction

    long_ago = timezone.now() - datetime.timedelta(days=3 * 365)
    started = time.perf_counter()
    for first in range(0, count, 5000):
        batch = Customer.objects.bulk_create(
            Customer(
                name=f"Lead {n}",
                phone=f"+86139{n:08d}",
                email=f"lead{n}@example.org",
                lifecycle_stage="lead",
                created_at=long_ago,
            )
            for n in range(first, min(first + 5000, count))
        )
        Interaction.objects.bulk_create(
            Interaction(customer=c, kind="visit", occurred_at=long_ago, subject="询价")
            for c in batch
        )
    return {"seconds": time.perf_counter() - started, "rows": count}


def case_retention(dry_run: bool) -> dict:
    from privacy.models import RetentionKind, RetentionPolicy
    from privacy.retention import apply_retention

    RetentionPolicy.objects.exclude(kind=RetentionKind.STALE_LEADS).update(enabled=False)
    started = time.perf_counter()
    run = apply_retention(dry_run=dry_run)
    rows = run.results[RetentionKind.STALE_LEADS]["rows"]
    return {"seconds": time.perf_counter() - started, "rows": rows}


def case_retention_one_by_one(count: int) -> dict:
    """Erase `count` more stale leads one customer per call, as a loop over the service would."""
    from django.utils import timezone

    from privacy.models import RetentionKind, RetentionPolicy
    from privacy.retention import due_rows
    from privacy.subjects.erasure import anonymise_customers

    policy = RetentionPolicy.objects.get(kind=RetentionKind.STALE_LEADS)
    ids = due_rows(policy, timezone.now())[:count]
    started = time.perf_counter()
    for pk in ids:
        anonymise_customers([pk], actor=None, reason="retention", evidence="bench")
    return {"seconds": time.perf_counter() - started, "rows": len(ids)}


CASES = {
    "append-chain": lambda a: case_append_chain(a.appends),
    "append-plain": lambda a: case_append_plain(a.appends),
    "fill": lambda a: case_fill(a.events),
    "verify": lambda a: case_verify(),
    "read": lambda a: case_read(),
    "erase-service": lambda a: case_erase_service(),
    "erase-per-row": lambda a: case_erase_per_row(),
    "leads": lambda a: case_leads(a.leads),
    "retention-dry": lambda a: case_retention(True),
    "retention-one-by-one": lambda a: case_retention_one_by_one(a.one_by_one),
    "retention-real": lambda a: case_retention(False),
}


def _line(name: str, figures: dict, unit: str = "rows") -> None:
    rate = figures["rows"] / figures["seconds"] if figures["seconds"] else float("inf")
    print(
        f"{name:<44} {figures['rows']:>10,} {unit:<9} {figures['seconds']:>9.2f} s "
        f"{rate:>12,.0f}/s {figures['peak_mb']:>8.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--case", choices=CASES)
    parser.add_argument("--appends", type=int, default=20_000)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--leads", type=int, default=50_000)
    parser.add_argument("--one-by-one", type=int, default=1_000)
    args = parser.parse_args()
    if answer_case(CASES, args):
        return

    url = os.environ.get("BENCH_PRIVACY_DATABASE_URL", DEFAULT_URL)
    os.environ["DATABASE_URL"], os.environ["REDIS_URL"] = url, ""
    fresh_database(url)
    options = [
        f"--appends={args.appends}",
        f"--events={args.events}",
        f"--leads={args.leads}",
        f"--one-by-one={args.one_by_one}",
    ]

    def run(case: str) -> dict:
        return measure_in_own_process(__file__, case, *options)

    print(f"{'case':<44} {'rows':>10} {'':<9} {'time':>11} {'rate':>14} {'peak RSS':>11}")
    chain, plain = run("append-chain"), run("append-plain")
    _line("audit append, hash chain (record_event)", chain, "events")
    _line("  baseline: plain single-row INSERT", plain, "events")
    _line("  (setup) chained events written by COPY", run("fill"), "events")
    verify, read = run("verify"), run("read")
    _line("verify_audit: whole chain hashed and checked", verify, "events")
    _line("  baseline: the same batches read, no hashing", read, "events")
    erase, per_row = run("erase-service"), run("erase-per-row")
    _line("erasure of one customer with a long history", erase)
    _line("  baseline: the same rows, one save() each", per_row)
    _line("  (setup) stale leads with an interaction", run("leads"), "customers")
    dry = run("retention-dry")
    one_by_one = run("retention-one-by-one")
    real = run("retention-real")
    _line("retention dry run, stale leads", dry, "customers")
    _line("retention run, stale leads anonymised", real, "customers")
    _line("  baseline: one customer per erase call", one_by_one, "customers")
    print()
    print(
        f"Chain vs plain append: {chain['seconds'] / plain['seconds']:.1f}x the time; "
        f"verify vs read: {verify['seconds'] / read['seconds']:.1f}x; "
        f"erasure set-based vs per row: {per_row['seconds'] / erase['seconds']:.1f}x faster; "
        f"retention batches vs one by one: "
        f"{(one_by_one['seconds'] / one_by_one['rows']) / (real['seconds'] / real['rows']):.1f}x "
        f"faster per customer. Dry run {dry['rows']:,} = real run "
        f"{real['rows'] + one_by_one['rows']:,} (real + one by one)."
    )


if __name__ == "__main__":
    main()
