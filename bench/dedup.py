"""Duplicate detection: quality on a labelled set and speed at scale, each case in its own
process (so that its peak memory is its own), beside baselines measured in the same run.

    DATABASE_URL=postgres://.../crm_bench .venv/bin/python bench/dedup.py [--people 30000]

Quality: bench/dedup_set.py generates --people persons (about 1.75 records each, written the ways
real duplicates are: homophones, pinyin, swapped names, phone formats, moves, missing fields,
plus households sharing a phone and address that are *not* duplicates). The records are
normalised as the product stores them, the model is estimated from them (EM) and pairs at or
above DEDUP_MIN_PROBABILITY are compared with the truth: precision, recall, F1. Baseline:
exact matching on the normalised keys alone (same phone, email or identity number).

Scale, on the customers already in the database (bench/generate.py's 1M): a full scan exactly
as the nightly job runs it (features streamed from the database, EM, prediction, candidates,
groups); an incremental scan after 10,000 customers changed; baseline: the exact-key pairs as
one SQL self-join in PostgreSQL. Not a test: nothing passes or fails on time.
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

from bench.processes import measure_in_own_process

CHANGED = 10_000


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _labelled_features(people: int, seed: int, latin: bool):
    from bench.dedup_set import labelled_latin_people, labelled_people
    from customers.dedup import linkage
    from customers.dedup.features import SOURCE_FIELDS, feature_row
    from customers.services import ID_NUMBER_CONTEXT, normalise_profile
    from privacy import crypto

    generate = labelled_latin_people if latin else labelled_people
    features, rows, labels = linkage.Features(), [], {}
    for customer_id, record in enumerate(generate(people, seed=seed), start=1):
        values = dict(record.values)
        id_number = values.pop("id_number", "")
        kind = values.pop("id_document_kind", "")
        clean = normalise_profile(values)
        clean.update(
            id=customer_id,
            id_document_kind=kind,
            id_number_blind_index=(
                crypto.blind_index(id_number, context=ID_NUMBER_CONTEXT) if id_number else ""
            ),
        )
        rows.append(feature_row({**dict.fromkeys(SOURCE_FIELDS, ""), "birth_date": None, **clean}))
        labels[customer_id] = record.entity
    features.add(rows)
    return features, rows, labels


def quality_case(people: int, seed: int, latin: bool) -> dict:
    from django.conf import settings

    from bench.dedup_set import quality, true_pairs
    from customers.dedup import linkage

    features, _, labels = _labelled_features(people, seed, latin)
    began = time.perf_counter()
    model, trained = linkage.train(features, min_pairs=settings.DEDUP_EM_MIN_PAIRS)
    found = {
        (pair.left, pair.right)
        for pair in linkage.predict(features, model, min_probability=settings.DEDUP_MIN_PROBABILITY)
    }
    seconds = time.perf_counter() - began
    return {
        "records": features.count,
        "trained": trained,
        "seconds": round(seconds, 1),
        **quality(found, true_pairs(labels)),
    }


def exact_keys_case(people: int, seed: int, latin: bool) -> dict:
    """The baseline: pairs sharing a normalised phone, email or identity number."""
    import itertools

    from bench.dedup_set import quality, true_pairs
    from customers.dedup import linkage

    _, rows, labels = _labelled_features(people, seed, latin)
    began = time.perf_counter()
    found: set[tuple[int, int]] = set()
    names = [name for name, _ in linkage.FEATURE_COLUMNS]
    for column in (names.index(key) for key in ("phone", "email", "id_index")):
        by_key: dict[str, list[int]] = {}
        for row in rows:
            if row[column]:
                by_key.setdefault(row[column], []).append(row[0])
        for ids in by_key.values():
            found |= set(itertools.combinations(sorted(ids), 2))
    seconds = time.perf_counter() - began
    return {
        "records": len(rows),
        "seconds": round(seconds, 1),
        **quality(found, true_pairs(labels)),
    }


def full_scan_case() -> dict:
    from customers.dedup.scan import SCAN_JOBS
    from customers.models import DuplicateScan, ScanMode
    from kernel.models import JobStatus

    scan = DuplicateScan.objects.create(
        mode=ScanMode.FULL, min_probability=0.8, status=JobStatus.QUEUED
    )
    began = time.perf_counter()
    scan = SCAN_JOBS.run(scan.pk)
    figures = {
        "seconds": round(time.perf_counter() - began, 1),
        "customers": scan.customers_compared,
        "pairs": scan.pairs_found,
        "groups": scan.groups_found,
        "trained": scan.trained,
        "peak_mb": round(_peak_mb()),
    }
    return {**figures, "generated": _generated_quality(scan.min_probability)}


def _generated_quality(min_probability: float) -> dict | None:
    """Precision and recall against bench/generate.py's own truth: its re-registrations
    (CustomerPlan.duplicate_of), when the database holds exactly its customers."""
    from django.db.models import Max
    from django.utils import timezone

    from bench.dedup_set import quality, true_pairs
    from customers.models import CandidateStatus, Customer, DuplicateCandidate
    from demo.data.plans import customer_plans
    from demo.data.scenario import Scenario
    from demo.management.commands.seed_demo import ensure_products

    count = Customer.objects.count()
    if not count or Customer.objects.aggregate(Max("pk"))["pk__max"] != count:
        return None
    # generate.py's defaults: seed 1, 10M transactions and 10M interactions per 1M customers.
    scenario = Scenario(
        seed=1,
        now=timezone.localtime(),
        catalog=ensure_products(),
        mean_purchases=10.0,
        mean_interactions=10.0,
    )
    parent = list(range(count + 1))

    def root(node: int) -> int:
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    for plan in customer_plans(scenario, count):
        if plan.duplicate_of >= 0:
            parent[root(plan.id)] = root(scenario.customer_start_id + plan.duplicate_of)
    labels = {customer_id: root(customer_id) for customer_id in range(1, count + 1)}
    truth = true_pairs(labels)
    found = set(
        DuplicateCandidate.objects.filter(
            status=CandidateStatus.OPEN, probability__gte=min_probability
        ).values_list("customer_a_id", "customer_b_id")
    )
    return quality(found, truth)


def incremental_case() -> dict:
    """10,000 customers change (a name written another way, as an edit would), then the
    incremental scan."""
    from django.db import connection

    from customers.dedup.scan import SCAN_JOBS
    from customers.models import DuplicateScan, ScanMode
    from kernel.models import JobStatus

    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE customers_customer SET updated_at = now() WHERE id IN "
            "(SELECT id FROM customers_customer WHERE merged_into_id IS NULL "
            "ORDER BY md5(id::text) LIMIT %s)",
            [CHANGED],
        )
    scan = DuplicateScan.objects.create(
        mode=ScanMode.INCREMENTAL, min_probability=0.8, status=JobStatus.QUEUED
    )
    began = time.perf_counter()
    scan = SCAN_JOBS.run(scan.pk)
    return {
        "seconds": round(time.perf_counter() - began, 1),
        "changed": CHANGED,
        "customers": scan.customers_compared,
        "pairs": scan.pairs_found,
        "peak_mb": round(_peak_mb()),
    }


def sql_keys_case() -> dict:
    """Baseline at scale: every pair sharing a phone, email or identity number, in SQL."""
    from django.db import connection

    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*) FROM (
              SELECT a.id, b.id FROM customers_customer a JOIN customers_customer b
                ON a.phone = b.phone AND a.id < b.id
                WHERE a.phone <> '' AND a.merged_into_id IS NULL AND b.merged_into_id IS NULL
              UNION
              SELECT a.id, b.id FROM customers_customer a JOIN customers_customer b
                ON a.email = b.email AND a.id < b.id
                WHERE a.email <> '' AND a.merged_into_id IS NULL AND b.merged_into_id IS NULL
              UNION
              SELECT a.id, b.id FROM customers_customer a JOIN customers_customer b
                ON a.id_number_blind_index = b.id_number_blind_index AND a.id < b.id
                WHERE a.id_number_blind_index <> ''
                  AND a.merged_into_id IS NULL AND b.merged_into_id IS NULL
            ) pairs
            """
        )
        pairs = cursor.fetchone()[0]
    return {
        "seconds": round(time.perf_counter() - began, 1),
        "pairs": pairs,
        "peak_mb": round(_peak_mb()),
    }


def febrl_case() -> dict:
    """FEBRL2 written as an export, imported with import_customers and scanned with
    find_duplicates into an empty database; the import's own key matching is the baseline."""
    import tempfile

    from django.conf import settings
    from django.contrib.auth import get_user_model

    from bench.dedup_set import quality
    from bench.febrl import febrl2, found_links, import_and_scan, write_csv

    frame, truth = febrl2()
    username = "febrl-bench"
    get_user_model().objects.create_superuser(username, "febrl-bench@example.com", None)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "febrl2.csv"
        write_csv(frame, path)
        began = time.perf_counter()
        summary = import_and_scan(path, username=username)
        seconds = time.perf_counter() - began
    by_import, found = found_links(min_probability=settings.DEDUP_MIN_PROBABILITY)
    return {
        "records": len(frame),
        "customers": summary["scan"]["customers_compared"],
        "failed_rows": summary["import"]["failed"],
        "scan_seconds": summary["scan"]["seconds"],
        "seconds": round(seconds, 1),
        "baseline": quality(by_import, truth),
        "product": quality(found, truth),
    }


def _in_scratch_database(run):
    """Run `run()` with DATABASE_URL pointing to a new, migrated, empty database beside the
    bench one (FEBRL's customers must be the only ones), dropped afterwards."""
    import subprocess

    import psycopg

    bench_url = os.environ["DATABASE_URL"]
    url = f"{bench_url}_febrl"
    name = url.rsplit("/", 1)[1]
    admin_url = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = url
    try:
        root = Path(__file__).resolve().parent.parent
        subprocess.run(
            [sys.executable, str(root / "manage.py"), "migrate", "--no-input", "-v", "0"],
            check=True,
            cwd=root,
        )
        return run()
    finally:
        os.environ["DATABASE_URL"] = bench_url
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


CASES = {
    "quality": lambda args: quality_case(args.people, args.seed, args.latin),
    "exact_keys": lambda args: exact_keys_case(args.people, args.seed, args.latin),
    "febrl": lambda args: febrl_case(),
    "full_scan": lambda args: full_scan_case(),
    "incremental": lambda args: incremental_case(),
    "sql_keys": lambda args: sql_keys_case(),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=sorted(CASES))
    parser.add_argument("--people", type=int, default=30_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--latin-people", type=int, default=5_000)
    parser.add_argument("--latin", action="store_true", help="(a case) the Latin labelled set")
    parser.add_argument("--skip-scale", action="store_true", help="quality only")
    args = parser.parse_args()
    if args.case:
        import django

        django.setup()
        print(json.dumps(CASES[args.case](args)))
        return
    script = str(Path(__file__).resolve())
    header = (
        f"{'method':<34}{'records':>9}{'pairs':>9}{'true':>9}{'precision':>11}{'recall':>9}"
        f"{'F1':>8}{'s':>7}"
    )

    def line(label: str, r: dict, records: int, seconds: float) -> None:
        print(
            f"{label:<34}{records:>9,}{r['pairs_found']:>9,}{r['true_pairs']:>9,}"
            f"{r['precision']:>11.4f}{r['recall']:>9.4f}{r['f1']:>8.4f}{seconds:>7.1f}"
        )

    febrl = _in_scratch_database(lambda: measure_in_own_process(script, "febrl"))
    print(
        "Duplicate detection: FEBRL2 imported with import_customers, scanned with find_duplicates"
        f" ({febrl['customers']:,} customers after the import; {febrl['failed_rows']} rows"
        " refused by the import)"
    )
    print(header)
    line("baseline: exact keys at import", febrl["baseline"], febrl["records"], 0)
    line("product: import + scan", febrl["product"], febrl["records"], febrl["seconds"])
    print()
    for title, people, flags in (
        ("Latin-alphabet, no phones or emails,", args.latin_people, ["--latin"]),
        ("Chinese and mixed,", args.people, []),
    ):
        common = ["--people", str(people), "--seed", str(args.seed), *flags]
        print(f"Duplicate detection: quality on a labelled set, {title} {people:,} people")
        print(header)
        for case, label in (
            ("exact_keys", "baseline: exact phone/email/ID"),
            ("quality", "product: Splink model"),
        ):
            r = measure_in_own_process(script, case, *common)
            line(label, r, r["records"], r["seconds"])
        print()
    if args.skip_scale:
        return
    print("Duplicate detection at scale, on the customers in the database")
    print(f"{'case':<44}{'customers':>11}{'pairs':>9}{'seconds':>9}{'peak MB':>9}")
    baseline = measure_in_own_process(script, "sql_keys")
    label = "baseline: exact-key pairs, SQL self-join"
    print(
        f"{label:<44}{'':>11}{baseline['pairs']:>9,}"
        f"{baseline['seconds']:>9.1f}{baseline['peak_mb']:>9}"
    )
    full = measure_in_own_process(script, "full_scan")
    print(
        f"{'product: full scan (features, EM, predict)':<44}{full['customers']:>11,}"
        f"{full['pairs']:>9,}{full['seconds']:>9.1f}{full['peak_mb']:>9}"
    )
    incremental = measure_in_own_process(script, "incremental")
    label = f"product: incremental, {incremental['changed']:,} changed"
    print(
        f"{label:<44}{incremental['customers']:>11,}{incremental['pairs']:>9,}"
        f"{incremental['seconds']:>9.1f}{incremental['peak_mb']:>9}"
    )
    print(f"(model trained on this data: {full['trained']})")
    if full["generated"]:
        g = full["generated"]
        print(
            f"On the generated customers, against their own re-registrations: {g['pairs_found']:,}"
            f" pairs found, {g['true_pairs']:,} true; precision {g['precision']:.4f}, "
            f"recall {g['recall']:.4f}, F1 {g['f1']:.4f}"
        )


if __name__ == "__main__":
    main()
