"""The review queue: groups of possible duplicates, and the decisions staff take on them.

Decisions are remembered per pair: "not duplicates" keeps the pair so that no scan proposes it
again (and a merge carries that memory over to the survivor); a merge closes the group's pairs.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Max, Min, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.models import JobStatus
from customers.dedup.reasons import notable
from customers.models import BulkMerge, CandidateStatus, Customer, DuplicateCandidate
from customers.selectors import customers_visible_to
from privacy.audit import record_event


def open_groups(*, min_probability: float = 0.0) -> QuerySet:
    """Groups still to review, the most probable first: group, best and worst pair, size."""
    return (
        DuplicateCandidate.objects.filter(status=CandidateStatus.OPEN)
        .values("group")
        .annotate(best=Max("probability"), worst=Min("probability"), pairs=Count("pk"))
        .filter(best__gte=min_probability)
        .order_by("-best", "group")
    )


@dataclass(frozen=True)
class QueueEntry:
    group: int
    best: float
    customers: list[Customer]
    # The strongest pair's reasons, as codes with weights.
    reasons: list[tuple[str, float]]


def queue_entries(actor: Any, rows: Iterable[dict]) -> tuple[list[QueueEntry], int]:
    """The queue page's groups (rows of `open_groups`) with their customers, in three queries.
    Groups reaching a customer outside the actor's scope are left out; their number is
    returned too."""
    rows = list(rows)
    pairs: dict[int, list[DuplicateCandidate]] = {}
    for pair in DuplicateCandidate.objects.filter(
        group__in=[row["group"] for row in rows], status=CandidateStatus.OPEN
    ):
        pairs.setdefault(pair.group, []).append(pair)
    members = {
        group: {pair.customer_a_id for pair in found} | {pair.customer_b_id for pair in found}
        for group, found in pairs.items()
    }
    visible = customers_visible_to(actor).in_bulk(set().union(*members.values()) or [])
    entries, hidden = [], 0
    for row in rows:
        ids = members.get(row["group"], set())
        if len(ids) < 2 or not ids <= visible.keys():
            hidden += 1
            continue
        best = max(pairs[row["group"]], key=lambda pair: pair.probability)
        entries.append(
            QueueEntry(
                group=row["group"],
                best=row["best"],
                customers=sorted((visible[pk] for pk in ids), key=lambda c: c.pk),
                reasons=notable(best.reasons),
            )
        )
    return entries, hidden


def open_group_of(customer: Customer) -> int | None:
    """The review group the customer is waiting in, if any."""
    return (
        DuplicateCandidate.objects.filter(
            Q(customer_a=customer) | Q(customer_b=customer), status=CandidateStatus.OPEN
        )
        .values_list("group", flat=True)
        .first()
    )


def group_pairs(group: int) -> list[DuplicateCandidate]:
    return list(
        DuplicateCandidate.objects.filter(group=group, status=CandidateStatus.OPEN)
        .select_related("customer_a", "customer_b")
        .order_by("-probability")
    )


def group_customers(actor: Any, group: int) -> list[Customer]:
    """The live customers of a group that `actor` may see (all of them, or none: a group
    reaching outside the actor's scope is not shown)."""
    ids: set[int] = set()
    for pair in group_pairs(group):
        ids |= {pair.customer_a_id, pair.customer_b_id}
    customers = list(
        customers_visible_to(actor).filter(pk__in=ids, merged_into__isnull=True).order_by("pk")
    )
    return customers if len(customers) == len(ids) and len(ids) > 1 else []


def _require(actor: Any) -> None:
    if not actor.has_perm("customers.merge_customers"):
        raise PermissionDenied


def pairs_between(customer_ids: Iterable[int]) -> list[tuple[int, int]]:
    return list(itertools.combinations(sorted(set(customer_ids)), 2))


@transaction.atomic
def mark_not_duplicates(*, actor: Any, customers: Sequence[Customer]) -> int:
    """Remember that these customers are different people: every pair among them, found by a
    scan or not, is closed as "not duplicates" and never proposed again. Audited."""
    _require(actor)
    if len(customers) < 2:
        raise ValidationError(_("Choose at least two customers."))
    now = timezone.now()
    pairs = pairs_between(customer.pk for customer in customers)
    existing = {
        (c.customer_a_id, c.customer_b_id): c
        for c in DuplicateCandidate.objects.select_for_update().filter(
            customer_a__in=[a for a, _ in pairs], customer_b__in=[b for _, b in pairs]
        )
    }
    for a, b in pairs:
        candidate = existing.get((a, b)) or DuplicateCandidate(
            customer_a_id=a, customer_b_id=b, probability=0.0, group=a
        )
        candidate.status = CandidateStatus.NOT_DUPLICATES
        candidate.decided_by, candidate.decided_at = actor, now
        candidate.save()
    record_event(
        actor=actor,
        action="duplicates.not_duplicates",
        changes={"customers": sorted(customer.pk for customer in customers)},
    )
    return len(pairs)


def settle_after_merge(*, actor: Any, survivor: Customer, others: Sequence[Customer]) -> None:
    """Called by the merge service inside its transaction: the merged group's pairs are
    closed as merged, "not duplicates" decisions of the merged customers carry over to the
    survivor, and their other open pairs are withdrawn (the next scan re-finds them)."""
    ids = [survivor.pk, *(other.pk for other in others)]
    other_ids = [other.pk for other in others]
    now = timezone.now()
    decider = actor if getattr(actor, "is_authenticated", False) else None
    DuplicateCandidate.objects.filter(customer_a__in=ids, customer_b__in=ids).update(
        status=CandidateStatus.MERGED, decided_by=decider, decided_at=now
    )
    involving = Q(customer_a__in=other_ids) | Q(customer_b__in=other_ids)
    for candidate in DuplicateCandidate.objects.filter(
        involving, status=CandidateStatus.NOT_DUPLICATES
    ):
        outsider = (
            candidate.customer_b_id
            if candidate.customer_a_id in other_ids
            else candidate.customer_a_id
        )
        a, b = sorted((survivor.pk, outsider))
        DuplicateCandidate.objects.update_or_create(
            customer_a_id=a,
            customer_b_id=b,
            defaults={
                "status": CandidateStatus.NOT_DUPLICATES,
                "probability": candidate.probability,
                "group": a,
                "decided_by": candidate.decided_by,
                "decided_at": candidate.decided_at,
            },
        )
    DuplicateCandidate.objects.filter(involving, status=CandidateStatus.OPEN).delete()


def reopen_after_undo(*, survivor: Customer, others: Sequence[Customer]) -> None:
    """An undone merge forgets that the group was merged: the next scan judges it afresh."""
    ids = [survivor.pk, *(other.pk for other in others)]
    DuplicateCandidate.objects.filter(
        customer_a__in=ids, customer_b__in=ids, status=CandidateStatus.MERGED
    ).delete()


def default_survivor(customers: Sequence[Customer]) -> Customer:
    """The record kept when nobody chooses: the oldest, whose id other systems most likely
    hold."""
    return min(customers, key=lambda customer: (customer.created_at, customer.pk))


def merge_groups_above(
    *, actor: Any, min_probability: float, system: bool = False, progress=None
) -> tuple[int, int]:
    """Merge every open group whose pairs all reach `min_probability`, each group in its own
    transaction with its oldest record surviving. Groups the actor may not fully edit, or that
    changed meanwhile, are skipped. Returns (merged, skipped)."""
    from customers.merge import merge_customers

    if not system:
        _require(actor)
    merged = skipped = 0
    groups = list(open_groups().filter(worst__gte=min_probability).values_list("group", flat=True))
    for done, group in enumerate(groups, start=1):
        customers = _all_customers(group)
        try:
            if len(customers) < 2:
                raise ValidationError(_("This group has already been resolved."))
            survivor = default_survivor(customers)
            merge_customers(
                actor=actor,
                survivor=survivor,
                others=[c for c in customers if c.pk != survivor.pk],
                system=system,
            )
            merged += 1
        except (PermissionDenied, ValidationError):
            skipped += 1
        if progress is not None:
            progress(done, len(groups), merged, skipped)
    return merged, skipped


def _all_customers(group: int) -> list[Customer]:
    ids: set[int] = set()
    for pair in group_pairs(group):
        ids |= {pair.customer_a_id, pair.customer_b_id}
    return list(Customer.objects.filter(pk__in=ids, merged_into__isnull=True).order_by("pk"))


def start_bulk_merge(*, actor: Any, min_probability: float) -> BulkMerge:
    """Queue the merge of every open group whose pairs all reach `min_probability`."""
    from customers.tasks import run_bulk_merge

    _require(actor)
    if not 0.5 <= min_probability <= 1:
        raise ValidationError(_("Choose a probability between 50% and 100%."))
    job = BulkMerge.objects.create(
        created_by=actor, min_probability=min_probability, status=JobStatus.QUEUED
    )
    record_event(
        actor=actor,
        action="duplicates.bulk_merge",
        target=job,
        changes={"min_probability": min_probability},
    )
    transaction.on_commit(lambda: run_bulk_merge.delay(job.pk))
    return job


def run_bulk(job: BulkMerge) -> BulkMerge:
    """Run a queued bulk merge as the user who asked for it, with progress on the job row."""
    claimed = BulkMerge.objects.filter(pk=job.pk, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, started_at=timezone.now(), heartbeat_at=timezone.now()
    )
    if not claimed:
        return job
    job.refresh_from_db()

    def progress(done: int, total: int, merged: int, skipped: int) -> None:
        BulkMerge.objects.filter(pk=job.pk).update(
            rows_done=done,
            rows_total=total,
            groups_merged=merged,
            groups_skipped=skipped,
            heartbeat_at=timezone.now(),
        )

    try:
        merged, skipped = merge_groups_above(
            actor=job.created_by, min_probability=job.min_probability, progress=progress
        )
    except Exception:
        BulkMerge.objects.filter(pk=job.pk).update(
            status=JobStatus.FAILED, finished_at=timezone.now()
        )
        raise
    job.refresh_from_db()
    job.groups_merged, job.groups_skipped = merged, skipped
    job.status, job.finished_at = JobStatus.DONE, timezone.now()
    job.save()
    return job
