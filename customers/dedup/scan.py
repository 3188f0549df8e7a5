"""Duplicate detection runs: feature table -> model -> scored pairs -> candidates and groups.

A full run compares all active customers and (with enough of them) re-estimates the model; an
incremental run compares only customers created or changed since the last finished run against
the customers that share a blocking key with them, scoring with the last full run's model.
Pairs a reviewer decided are never touched again; an open pair whose two customers were both
compared and no longer reach the threshold is withdrawn, as is any open pair of a customer
since archived or merged, so the queue only holds what the current data supports.

Everything that writes candidates (scans, imports, review decisions, merges) does so under one
lock, so that two writers never interleave.
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from customers.models import (
    CandidateStatus,
    Customer,
    DuplicateCandidate,
    DuplicateScan,
    ScanMode,
)
from kernel.bulk import batched
from kernel.jobs.runner import JobKind, JobRun
from kernel.models import JobStatus

# The model's modules (Splink, DuckDB, pyarrow: some 80 MB) are imported by the functions that
# compare customers, so that a process that only registers this kind of job (every command,
# through customers/apps.py) does not load them.
if TYPE_CHECKING:
    from customers.dedup.linkage import Features, ScoredPair

WRITE_BATCH = 5_000
# Changed customers whose neighbours (or pairs) are looked up in one query.
ID_BATCH = 2_000
# Customers written just before the last scan started may have committed after it read them.
CHANGE_MARGIN = datetime.timedelta(minutes=5)
# An arbitrary constant naming the candidates lock (PostgreSQL advisory locks take a number).
_CANDIDATES_LOCK = 5_115_005


@contextmanager
def candidates_locked() -> Iterator[None]:
    """A transaction holding the one lock every writer of duplicate candidates takes.
    PostgreSQL: an advisory lock; SQLite serialises writers by itself."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_CANDIDATES_LOCK])
        yield


def start_scan(*, actor: Any, mode: str, min_probability: float | None = None) -> DuplicateScan:
    """Queue a scan (run by the worker). `actor` is None for the nightly run."""
    scan = create_scan(actor=actor, mode=mode, min_probability=min_probability)
    SCAN_JOBS.enqueue(scan)
    return scan


def create_scan(
    *, actor: Any = None, mode: str, min_probability: float | None = None
) -> DuplicateScan:
    return DuplicateScan.objects.create(
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
        mode=mode,
        min_probability=(
            settings.DEDUP_MIN_PROBABILITY if min_probability is None else min_probability
        ),
        status=JobStatus.QUEUED,
    )


def last_model() -> DuplicateScan | None:
    """The latest finished full run, whose model incremental runs score with (incremental runs
    store none of their own)."""
    return (
        DuplicateScan.objects.filter(mode=ScanMode.FULL, status=JobStatus.DONE)
        .exclude(model={})
        .order_by("-finished_at", "-pk")
        .first()
    )


def current_model() -> dict[str, Any]:
    """The model of the last full run, or the priors before there was one."""
    from customers.dedup import linkage

    base = last_model()
    return base.model if base is not None else linkage.prior_model()


def last_finished() -> DuplicateScan | None:
    return DuplicateScan.objects.filter(status=JobStatus.DONE).order_by("-started_at").first()


class DuplicateScanKind(JobKind[DuplicateScan]):
    """A scan: compare, record the pairs, regroup, merge what is certain. One runs at a time;
    a scan whose worker died starts over, and one silent for half an hour is given up."""

    model = DuplicateScan
    audit_prefix = "duplicates.scan"
    seen_with = ("customers.merge_customers",)
    followed_at = "duplicates:queue"
    time_limit = datetime.timedelta(minutes=30)
    unexpected_failure = _("The search for duplicates stopped because of an internal error.")

    def work(self, run: JobRun[DuplicateScan]) -> None:
        scan = run.job
        began = time.monotonic()
        if scan.mode == ScanMode.INCREMENTAL and last_model() is not None:
            found = _incremental(scan)
            scan.model, scan.trained = {}, False
        else:
            found, scan.model, scan.trained = _full(scan, run)
        scan.customers_compared = found.count
        run.check()
        scan.pairs_found = _record(scan, found)
        scan.groups_found = regroup()
        scan.auto_merged = _auto_merge()
        scan.seconds = round(time.monotonic() - began, 2)

    def audit_changes(self, job: DuplicateScan) -> dict[str, Any]:
        return {
            "mode": job.mode,
            "customers_compared": job.customers_compared,
            "pairs_found": job.pairs_found,
            "auto_merged": job.auto_merged,
        }


SCAN_JOBS = DuplicateScanKind()


class _Found:
    """What one comparison produced: the pairs and how many customers were compared; for
    incremental runs also which customers were compared and which of them had changed."""

    def __init__(
        self,
        pairs: list[ScoredPair],
        count: int,
        compared: set[int] | None = None,
        changed: set[int] | None = None,
    ):
        self.pairs, self.count, self.compared, self.changed = pairs, count, compared, changed


def _features() -> Features:
    from customers.dedup.linkage import Features

    return Features(memory_limit=settings.DEDUP_MEMORY_LIMIT)


def _full(scan: DuplicateScan, run: JobRun[DuplicateScan]) -> tuple[_Found, dict, bool]:
    from customers.dedup import features as feature_rows
    from customers.dedup import linkage

    features = _features()
    try:
        count = feature_rows.load(features, feature_rows.active_customers())
        run.check()
        model, trained = linkage.train(features, min_pairs=settings.DEDUP_EM_MIN_PAIRS)
        run.check()
        pairs = list(linkage.predict(features, model, min_probability=scan.min_probability))
    finally:
        features.close()
    return _Found(pairs, count), model, trained


def _incremental(scan: DuplicateScan) -> _Found:
    from customers.dedup import features as feature_rows

    previous = last_finished()
    active = feature_rows.active_customers()
    if previous is None:
        changed = set(active.values_list("pk", flat=True))
    else:
        changed = set(
            active.filter(updated_at__gte=previous.started_at - CHANGE_MARGIN).values_list(
                "pk", flat=True
            )
        )
    return _compare(changed, min_probability=scan.min_probability)


def _compare(changed_ids: set[int], *, min_probability: float) -> _Found:
    """Score the changed customers against every active customer sharing a blocking key with
    them (and each other), with the current model."""
    from customers.dedup import features as feature_rows
    from customers.dedup import linkage

    if not changed_ids:
        return _Found([], 0, set(), changed_ids)
    active = feature_rows.active_customers()
    features = _features()
    try:
        compared = set(changed_ids)  # neighbours of several batches are loaded once
        for batch in batched(sorted(changed_ids), ID_BATCH):
            changed = active.filter(pk__in=batch)
            # The partners of their open pairs too, whether or not they still share a key:
            # those pairs are judged again.
            partners = DuplicateCandidate.objects.filter(
                Q(customer_a__in=batch) | Q(customer_b__in=batch), status=CandidateStatus.OPEN
            ).values_list("customer_a", "customer_b")
            known = {pk for pair in partners for pk in pair}
            neighbourhood = active.filter(feature_rows.neighbours(changed) | Q(pk__in=known))
            feature_rows.load(features, neighbourhood, skip=compared)
        for batch in batched(sorted(changed_ids), ID_BATCH):
            feature_rows.load(features, active.filter(pk__in=batch), changed_ids=changed_ids)
        pairs = list(
            linkage.predict(
                features, current_model(), min_probability=min_probability, only_changed=True
            )
        )
    finally:
        features.close()
    return _Found(pairs, len(compared), compared, changed_ids)


def scan_customers(customer_ids: set[int]) -> int:
    """Compare the given customers (new ones, say from an import) with everyone and put their
    likely duplicates in the review queue. Returns the number of pairs recorded."""
    if not customer_ids:
        return 0
    found = _compare(customer_ids, min_probability=settings.DEDUP_MIN_PROBABILITY)
    recorded = _record(None, found)
    regroup()
    return recorded


def _active_among(ids: Iterable[int]) -> set[int]:
    from customers.dedup import features as feature_rows

    active: set[int] = set()
    for batch in batched(sorted(set(ids)), WRITE_BATCH):
        active.update(
            feature_rows.active_customers().filter(pk__in=batch).values_list("pk", flat=True)
        )
    return active


def _record(scan: DuplicateScan | None, found: _Found) -> int:
    """Store the pairs: new ones open, known open ones refreshed, decided ones untouched; then
    withdraw open pairs that no longer hold (see the module's docstring)."""
    pairs = {(pair.left, pair.right): pair for pair in found.pairs}
    with candidates_locked():
        # A customer merged or archived while the scan ran is no longer anyone's duplicate.
        active = _active_among(key for pair in pairs for key in pair)
        pairs = {key: pair for key, pair in pairs.items() if active.issuperset(key)}
        _withdraw(found, pairs)
        known: dict[tuple[int, int], DuplicateCandidate] = {}
        for batch in batched(sorted({a for a, _ in pairs}), WRITE_BATCH):
            for candidate in DuplicateCandidate.objects.filter(customer_a__in=batch):
                known[(candidate.customer_a_id, candidate.customer_b_id)] = candidate
        new, refreshed = [], []
        for key, pair in pairs.items():
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
                candidate.probability = pair.probability
                candidate.reasons = reasons
                candidate.scan = scan
                refreshed.append(candidate)
        DuplicateCandidate.objects.bulk_create(new, batch_size=WRITE_BATCH)
        DuplicateCandidate.objects.bulk_update(
            refreshed, ["probability", "reasons", "scan"], batch_size=WRITE_BATCH
        )
    return len(pairs)


def _withdraw(found: _Found, pairs: dict[tuple[int, int], ScoredPair]) -> None:
    """Delete open pairs this comparison judged and did not find again (both customers were
    compared, one of them changed), and open pairs of customers no longer active."""
    open_pairs = DuplicateCandidate.objects.filter(status=CandidateStatus.OPEN)
    stale: list[int] = []
    if found.changed is None or found.compared is None:
        candidates = open_pairs.values_list("pk", "customer_a", "customer_b")
        stale = [pk for pk, a, b in candidates if (a, b) not in pairs]
    else:
        for batch in batched(sorted(found.changed), ID_BATCH):
            for pk, a, b in open_pairs.filter(
                Q(customer_a__in=batch) | Q(customer_b__in=batch)
            ).values_list("pk", "customer_a", "customer_b"):
                if (a, b) not in pairs and a in found.compared and b in found.compared:
                    stale.append(pk)
        stale += open_pairs.filter(
            Q(customer_a__merged_into__isnull=False)
            | Q(customer_a__archived_at__isnull=False)
            | Q(customer_a__restricted_at__isnull=False)
            | Q(customer_b__merged_into__isnull=False)
            | Q(customer_b__archived_at__isnull=False)
            | Q(customer_b__restricted_at__isnull=False)
        ).values_list("pk", flat=True)
    for batch in batched(stale, WRITE_BATCH):
        open_pairs.filter(pk__in=batch).delete()


def regroup(groups: Iterable[int] | None = None) -> int:
    """Give open pairs that chain (A~B, B~C) one group, named by its smallest customer id
    (union-find). With `groups`, only those groups are recomputed: after a decision removes
    pairs, a group can only split. Returns the number of groups recomputed."""
    with candidates_locked():
        pairs = DuplicateCandidate.objects.filter(status=CandidateStatus.OPEN)
        if groups is not None:
            pairs = pairs.filter(group__in=sorted(set(groups)))
        rows = list(pairs.values_list("pk", "customer_a_id", "customer_b_id", "group"))
        parent: dict[int, int] = {}

        def root(node: int) -> int:
            parent.setdefault(node, node)
            while parent[node] != node:
                parent[node] = parent[parent[node]]
                node = parent[node]
            return node

        for _, a, b, _ in rows:
            ra, rb = root(a), root(b)
            if ra != rb:
                parent[max(ra, rb)] = min(ra, rb)
        moves: dict[int, list[int]] = {}
        for pk, a, _, group in rows:
            if root(a) != group:
                moves.setdefault(root(a), []).append(pk)
        for group, pks in moves.items():
            for batch in batched(pks, WRITE_BATCH):
                DuplicateCandidate.objects.filter(pk__in=batch).update(group=group)
    return len({root(a) for _, a, _, _ in rows})


def _auto_merge() -> int:
    threshold = settings.DEDUP_AUTO_MERGE_PROBABILITY
    if threshold is None:
        return 0
    from customers.dedup.review import merge_groups_above

    # The administrator set the threshold for every customer: no one's scope narrows it.
    merged, _ = merge_groups_above(
        actor=None, min_probability=threshold, within=Customer.objects.all()
    )
    return merged
