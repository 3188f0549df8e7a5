"""Customer metrics refresh at scale, beside a baseline measured in the same run, each case in
its own process (so that its peak memory is its own).

    DATABASE_URL=postgres://.../crm_bench .venv/bin/python bench/metrics.py [--sample 5000]

Product: `refresh_metrics()` exactly as the nightly job runs it over every customer (set-based
SQL: metrics, RFM quintiles, stage rules and their history) in one transaction. Baseline: the
straightforward per-customer loop (two aggregate queries per customer through the ORM and a
save), timed on --sample customers and extrapolated to all of them. Not a test: nothing passes
or fails on time.

Churn: `train_churn_model()` as the nightly job runs it after the refresh (three feature
queries, two fits, every buyer scored), its time and peak memory beside the refresh's in the
same run; its quality, the held-out AUC, beside the obvious rule's on the same customers
(ranking by days since the last purchase).
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


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def product_case() -> dict:
    from analytics.metrics import refresh_metrics
    from interactions.models import Interaction, Transaction

    began = time.perf_counter()
    run = refresh_metrics()
    return {
        "seconds": round(time.perf_counter() - began, 1),
        "customers": run.customers,
        "transactions": Transaction.objects.count(),
        "interactions": Interaction.objects.count(),
        "stage_changes": run.stage_changes,
        "peak_mb": round(_peak_mb()),
    }


def segments_case() -> dict:
    """The ready-made segments refreshed one by one, as the nightly task does after the
    metrics; and, as a baseline for the largest, its members fetched into Python and written
    back with bulk_create."""
    from analytics.models import SegmentMember
    from analytics.segments.compilation import matching_customers
    from analytics.segments.ready_made import ensure_ready_made_segments
    from analytics.segments.refresh import refresh_segments

    ensure_ready_made_segments()
    began = time.perf_counter()
    refreshed = refresh_segments()
    product = time.perf_counter() - began
    largest = max(refreshed, key=lambda segment: segment.size)
    began = time.perf_counter()
    ids = list(matching_customers(largest.rules).values_list("pk", flat=True))
    SegmentMember.objects.filter(segment=largest).delete()
    SegmentMember.objects.bulk_create(
        [SegmentMember(segment=largest, customer_id=pk) for pk in ids], batch_size=5000
    )
    baseline = time.perf_counter() - began
    return {
        "segments": [
            {"name": s.name, "size": s.size, "seconds": s.refresh_seconds} for s in refreshed
        ],
        "all_seconds": round(product, 1),
        "largest": largest.name,
        "baseline_seconds": round(baseline, 1),
        "peak_mb": round(_peak_mb()),
    }


def churn_case() -> dict:
    from analytics.churn import train_churn_model

    began = time.perf_counter()
    model = train_churn_model()
    return {
        "seconds": round(time.perf_counter() - began, 1),
        "outcome": model.outcome or model.status,
        "reason": model.reason_text,
        "horizon_days": model.horizon_days,
        "training_customers": model.training_customers,
        "held_out_customers": model.held_out_customers,
        "held_out_churn_rate": model.held_out_churn_rate,
        "scored_customers": model.scored_customers,
        "auc": model.auc,
        "recency_auc": model.recency_auc,
        "peak_mb": round(_peak_mb()),
    }


def loop_case(sample: int) -> dict:
    from django.db.models import Avg, Count, Max, Min, Sum

    from customers.models import Customer
    from interactions.models import Interaction, TransactionStatus

    total = Customer.objects.filter(merged_into__isnull=True).count()
    ids = list(
        Customer.objects.filter(merged_into__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)[:sample]
    )
    began = time.perf_counter()
    for customer in Customer.objects.filter(pk__in=ids).iterator(chunk_size=1000):
        customer.transactions.filter(status=TransactionStatus.PAID).aggregate(
            orders=Count("pk"),
            revenue=Sum("amount"),
            first=Min("occurred_at"),
            last=Max("occurred_at"),
        )
        Interaction.objects.filter(customer=customer).aggregate(
            total=Count("pk"), satisfaction=Avg("satisfaction")
        )
        customer.save(update_fields=["updated_at"])
    seconds = time.perf_counter() - began
    return {
        "sample": len(ids),
        "seconds": round(seconds, 1),
        "extrapolated": round(seconds * total / max(len(ids), 1)),
        "peak_mb": round(_peak_mb()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", choices=("product", "loop", "segments", "churn"))
    parser.add_argument("--sample", type=int, default=5_000)
    args = parser.parse_args()
    if args.case:
        import django

        django.setup()
        cases = {"product": product_case, "segments": segments_case, "churn": churn_case}
        result = cases[args.case]() if args.case in cases else loop_case(args.sample)
        print(json.dumps(result))
        return
    script = str(Path(__file__).resolve())
    loop = measure_in_own_process(script, "loop", "--sample", str(args.sample))
    product = measure_in_own_process(script, "product")
    print(
        f"Metrics refresh: {product['customers']:,} customers, "
        f"{product['transactions']:,} transactions, {product['interactions']:,} interactions"
    )
    print(f"{'case':<58}{'seconds':>10}{'peak MB':>9}")
    label = f"baseline: per-customer ORM loop, {loop['sample']:,} timed, extrapolated"
    print(f"{label:<58}{loop['extrapolated']:>10,}{loop['peak_mb']:>9}")
    label = "product: set-based refresh (metrics, RFM, stages)"
    print(f"{label:<58}{product['seconds']:>10,}{product['peak_mb']:>9}")
    print(f"({product['stage_changes']:,} stage changes recorded)")
    churn = measure_in_own_process(script, "churn")
    print()
    print(
        f"Churn model ({churn['horizon_days']} days): {churn['outcome']}; learnt from "
        f"{churn['training_customers']:,} buyers, tested on {churn['held_out_customers']:,}, "
        f"{churn['scored_customers']:,} scored"
    )
    if churn["auc"] is None:
        print(churn["reason"])
    print(f"{'case':<58}{'seconds':>10}{'peak MB':>9}{'AUC':>7}")
    label = "for time: the metrics refresh above (same tables)"
    print(f"{label:<58}{product['seconds']:>10,}{product['peak_mb']:>9}{'':>7}")
    label = "for quality: rank by days since last purchase alone"
    recency = "" if churn["recency_auc"] is None else f"{churn['recency_auc']:.3f}"
    print(f"{label:<58}{'':>10}{'':>9}{recency:>7}")
    label = "product: train_churn_model (features, 2 fits, scores)"
    auc = "" if churn["auc"] is None else f"{churn['auc']:.3f}"
    print(f"{label:<58}{churn['seconds']:>10,}{churn['peak_mb']:>9}{auc:>7}")
    segments = measure_in_own_process(script, "segments")
    print()
    print(f"{'segment refresh (set-based INSERT ... SELECT)':<58}{'members':>10}{'seconds':>9}")
    for segment in segments["segments"]:
        print(f"{segment['name']:<58}{segment['size']:>10,}{segment['seconds']:>9.2f}")
    label = f"baseline: {segments['largest']} through Python + bulk_create"
    print(f"{label:<58}{'':>10}{segments['baseline_seconds']:>9.2f}")


if __name__ == "__main__":
    main()
