"""Duplicate detection runs: feature table -> model -> scored pairs -> candidates and groups.

A full run compares all active customers and (with enough of them) re-estimates the model; an
incremental run compares only customers created or changed since the last finished run against
the customers that share a blocking key with them, scoring with the last full run's model.
Pairs a reviewer marked "not duplicates" are never proposed again; open pairs a run no longer
finds are withdrawn (full runs) so the queue only holds what the current data supports.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from crm.models import JobStatus
from customers.dedup import features as feature_rows
from customers.dedup import linkage
from customers.dedup.linkage import Features, ScoredPair
from customers.models import (
    CandidateStatus,
    DuplicateCandidate,
    DuplicateScan,
    ScanMode,
)

WRITE_BATCH = 5_000
# Changed customers whose neighbours are looked up in one query.
NEIGHBOURHOOD_BATCH = 2_000


def start_scan(*, actor: Any, mode: str, min_probability: float | None = None) -> DuplicateScan:
    """Queue a scan (run by the worker). `actor` is None for the nightly run."""
    from customers.tasks import run_duplicate_scan

    scan = DuplicateScan.objects.create(
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
        mode=mode,
        min_probability=(
            settings.DEDUP_MIN_PROBABILITY if min_probability is None else min_probability
        ),
        status=JobStatus.QUEUED,
    )
    transaction.on_commit(lambda: run_duplicate_scan.delay(scan.pk))
    return scan


def last_model() -> DuplicateScan | None:
    """The latest finished full run, whose model incremental runs score with (incremental runs
    store none of their own)."""
    return (
        DuplicateScan.objects.filter(mode=ScanMode.FULL, status=JobStatus.DONE)
        .exclude(model={})
        .order_by("-finished_at", "-pk")
        .first()
    )


def run_scan(scan: DuplicateScan) -> DuplicateScan:
    """Run a queued scan to the end; on an error the scan is marked failed and re-raised."""
    claimed = DuplicateScan.objects.filter(pk=scan.pk, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, started_at=timezone.now(), heartbeat_at=timezone.now()
    )
    if not claimed:
        return scan  # already run (a redelivered message) or cancelled
    scan.refresh_from_db()
    began = time.monotonic()
    try:
        changed_ids = None
        if scan.mode == ScanMode.INCREMENTAL and last_model() is not None:
            pairs, compared, changed_ids = _incremental(scan)
            scan.model, scan.trained = {}, False
        else:
            pairs, compared, scan.model, scan.trained = _full(scan)
        scan.customers_compared = compared
        scan.pairs_found = _record(scan, pairs, changed_ids)
        scan.groups_found = regroup()
        scan.auto_merged = _auto_merge(scan)
    except Exception:
        DuplicateScan.objects.filter(pk=scan.pk).update(
            status=JobStatus.FAILED, finished_at=timezone.now()
        )
        raise
    scan.status = JobStatus.DONE
    scan.finished_at = timezone.now()
    scan.seconds = round(time.monotonic() - began, 2)
    scan.save()
    return scan


def _features() -> Features:
    return Features(memory_limit=settings.DEDUP_MEMORY_LIMIT)


def _full(scan: DuplicateScan) -> tuple[list[ScoredPair], int, dict, bool]:
    features = _features()
    try:
        compared = feature_rows.load(features, feature_rows.active_customers())
        model, trained = linkage.train(features, min_customers=settings.DEDUP_TRAINING_MIN)
        pairs = list(linkage.predict(features, model, min_probability=scan.min_probability))
    finally:
        features.close()
    return pairs, compared, model, trained


def current_model() -> dict[str, Any]:
    """The model of the last full run, or the priors before there was one."""
    base = last_model()
    return base.model if base is not None else linkage.prior_model()


def _incremental(scan: DuplicateScan) -> tuple[list[ScoredPair], int, set[int]]:
    previous = last_finished()
    active = feature_rows.active_customers()
    changed = active.filter(updated_at__gte=previous.started_at) if previous else active
    changed_ids = set(changed.values_list("pk", flat=True))
    pairs, compared = _compare(changed_ids, min_probability=scan.min_probability)
    return pairs, compared, changed_ids


def _compare(changed_ids: set[int], *, min_probability: float) -> tuple[list[ScoredPair], int]:
    """Score the changed customers against every active customer sharing a blocking key with
    them (and each other), with the current model."""
    if not changed_ids:
        return [], 0
    active = feature_rows.active_customers()
    features = _features()
    try:
        compared = 0
        ids = sorted(changed_ids)
        seen = set(changed_ids)  # neighbours of several batches are loaded once
        for start in range(0, len(ids), NEIGHBOURHOOD_BATCH):
            changed = active.filter(pk__in=ids[start : start + NEIGHBOURHOOD_BATCH])
            neighbourhood = active.filter(feature_rows.neighbours(changed))
            compared += feature_rows.load(features, neighbourhood, skip=seen)
        compared += feature_rows.load(features, active.filter(pk__in=ids), changed_ids=changed_ids)
        pairs = list(
            linkage.predict(
                features, current_model(), min_probability=min_probability, only_changed=True
            )
        )
    finally:
        features.close()
    return pairs, compared


def scan_customers(customer_ids: set[int]) -> int:
    """Compare the given customers (new ones, say from an import) with everyone and put their
    likely duplicates in the review queue. Returns the number of pairs recorded."""
    if not customer_ids:
        return 0
    pairs, _ = _compare(customer_ids, min_probability=settings.DEDUP_MIN_PROBABILITY)
    recorded = _record(None, pairs, customer_ids)
    regroup()
    return recorded


def last_finished() -> DuplicateScan | None:
    return DuplicateScan.objects.filter(status=JobStatus.DONE).order_by("-started_at").first()


@transaction.atomic
def _record(
    scan: DuplicateScan | None, pairs: list[ScoredPair], changed_ids: set[int] | None
) -> int:
    """Store the pairs: new ones open, known open ones refreshed, decided ones untouched.
    A full run withdraws open pairs it did not find again; an incremental run does that
    only for pairs of the customers it re-compared."""
    found = {(pair.left, pair.right): pair for pair in pairs}
    # A customer merged or archived while the scan ran is no longer anyone's duplicate.
    involved = sorted({pair.left for pair in pairs} | {pair.right for pair in pairs})
    active: set[int] = set()
    for start in range(0, len(involved), WRITE_BATCH):
        active.update(
            feature_rows.active_customers()
            .filter(pk__in=involved[start : start + WRITE_BATCH])
            .values_list("pk", flat=True)
        )
    found = {key: pair for key, pair in found.items() if active.issuperset(key)}
    stale = DuplicateCandidate.objects.filter(status=CandidateStatus.OPEN)
    if changed_ids is not None:
        stale = stale.filter(pairs_of(changed_ids))
    stale_ids = [
        pk
        for pk, a, b in stale.values_list("pk", "customer_a", "customer_b")
        if (a, b) not in found
    ]
    for start in range(0, len(stale_ids), WRITE_BATCH):
        DuplicateCandidate.objects.filter(pk__in=stale_ids[start : start + WRITE_BATCH]).delete()
    known: dict[tuple[int, int], DuplicateCandidate] = {}
    keys = list(found)
    for start in range(0, len(keys), WRITE_BATCH):
        lefts = {a for a, _ in keys[start : start + WRITE_BATCH]}
        for candidate in DuplicateCandidate.objects.filter(customer_a__in=lefts):
            known[(candidate.customer_a_id, candidate.customer_b_id)] = candidate
    new, refreshed = [], []
    for key, pair in found.items():
        candidate = known.get(key)
        reasons = [list(reason) for reason in pair.reasons]
        if candidate is None:
            new.append(
                DuplicateCandidate(
                    customer_a_id=pair.left,
                    customer_b_id=pair.right,
                    probability=pair.probability,
                    reasons=reasons,
                    group=pair.left,
                    scan=scan,
                )
            )
        elif candidate.status == CandidateStatus.OPEN:
            candidate.probability, candidate.reasons, candidate.scan = (
                pair.probability,
                reasons,
                scan,
            )
            refreshed.append(candidate)
    DuplicateCandidate.objects.bulk_create(new, batch_size=WRITE_BATCH)
    DuplicateCandidate.objects.bulk_update(
        refreshed, ["probability", "reasons", "scan"], batch_size=WRITE_BATCH
    )
    return len(found)


def regroup() -> int:
    """Give open pairs that chain (A~B, B~C) one group, named by its smallest customer id
    (union-find over the open pairs). Returns the number of groups."""
    parent: dict[int, int] = {}

    def root(node: int) -> int:
        parent.setdefault(node, node)
        while parent[node] != node:
            parent[node] = parent[parent[node]]
            node = parent[node]
        return node

    rows = list(
        DuplicateCandidate.objects.filter(status=CandidateStatus.OPEN).values_list(
            "pk", "customer_a_id", "customer_b_id", "group"
        )
    )
    for _, a, b, _ in rows:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)
    moves: dict[int, list[int]] = {}
    for pk, a, _, group in rows:
        if root(a) != group:
            moves.setdefault(root(a), []).append(pk)
    with transaction.atomic():
        for group, pks in moves.items():
            for start in range(0, len(pks), WRITE_BATCH):
                DuplicateCandidate.objects.filter(pk__in=pks[start : start + WRITE_BATCH]).update(
                    group=group
                )
    return len({root(a) for _, a, _, _ in rows})


def _auto_merge(scan: DuplicateScan) -> int:
    threshold = settings.DEDUP_AUTO_MERGE_PROBABILITY
    if threshold is None:
        return 0
    from customers.dedup.review import merge_groups_above

    merged, _ = merge_groups_above(actor=None, min_probability=threshold, system=True)
    return merged


def pairs_of(customer_ids: Iterable[int]) -> Q:
    ids = sorted(set(customer_ids))
    return Q(customer_a__in=ids) | Q(customer_b__in=ids)
