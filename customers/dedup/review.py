"""The review queue: groups of possible duplicates, and the decisions staff take on them.

Decisions are remembered per pair: "not duplicates" keeps the pair so that no scan proposes it
again (and a merge carries that memory over to the survivor); a merge closes the group's pairs.
Deciding takes what merging takes (`customers.selectors.can_merge_customers`), checked by the
pages (customers/dedup/views.py) and, for a bulk merge, again when the worker runs it; the
services here take the actor for the record and the audit.
"""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, Max, Min, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.audit import DuplicatesAction
from customers.dedup.reasons import notable
from customers.dedup.scan import candidates_locked, regroup
from customers.models import BulkMerge, CandidateStatus, Customer, DuplicateCandidate
from customers.selectors import customers_editable_by, customers_visible_to
from kernel.jobs.runner import JobFailedError, JobKind, JobRun
from kernel.models import JobStatus
from privacy.audit.recording import record_event


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
    """The active customers of a group that `actor` may see (all of them, or none: a group
    reaching outside the actor's scope is not shown)."""
    ids = _members(group)
    customers = list(
        customers_visible_to(actor)
        .filter(pk__in=ids, merged_into__isnull=True, archived_at__isnull=True)
        .select_related("owner")
        .order_by("pk")
    )
    return customers if len(customers) == len(ids) and len(ids) > 1 else []


def _members(group: int) -> set[int]:
    ids: set[int] = set()
    for a, b in DuplicateCandidate.objects.filter(
        group=group, status=CandidateStatus.OPEN
    ).values_list("customer_a_id", "customer_b_id"):
        ids |= {a, b}
    return ids


def refused_pairs(customers: Sequence[Customer]) -> list[DuplicateCandidate]:
    """Pairs among these customers that someone marked "not duplicates" (the chain of open
    pairs that grouped them does not undo that decision)."""
    ids = [customer.pk for customer in customers]
    return list(
        DuplicateCandidate.objects.filter(
            customer_a__in=ids, customer_b__in=ids, status=CandidateStatus.NOT_DUPLICATES
        ).select_related("customer_a", "customer_b", "decided_by")
    )


def pairs_between(customer_ids: Iterable[int]) -> list[tuple[int, int]]:
    return list(itertools.combinations(sorted(set(customer_ids)), 2))


def mark_not_duplicates(*, actor: Any, customers: Sequence[Customer]) -> int:
    """Remember that these customers are different people: every pair among them, found by a
    scan or not, is closed as "not duplicates" and never proposed again. Audited."""
    if len(customers) < 2:
        raise ValidationError(_("Choose at least two customers."))
    now = timezone.now()
    pairs = pairs_between(customer.pk for customer in customers)
    with candidates_locked():
        existing = {
            (c.customer_a_id, c.customer_b_id): c
            for c in DuplicateCandidate.objects.filter(
                customer_a__in=[a for a, _ in pairs], customer_b__in=[b for _, b in pairs]
            )
        }
        groups = {c.group for c in existing.values() if c.status == CandidateStatus.OPEN}
        for a, b in pairs:
            candidate = existing.get((a, b)) or DuplicateCandidate(
                customer_a_id=a, customer_b_id=b, probability=0.0, group=a
            )
            candidate.status = CandidateStatus.NOT_DUPLICATES
            candidate.decided_by, candidate.decided_at = actor, now
            candidate.save()
        record_event(
            actor=actor,
            action=DuplicatesAction.NOT_DUPLICATES,
            changes={"customers": sorted(customer.pk for customer in customers)},
        )
    regroup(groups)
    return len(pairs)


def settle_after_merge(*, actor: Any, survivor: Customer, others: Sequence[Customer]) -> list[int]:
    """Called by the merge service inside its transaction: the merged customers' open pairs
    among themselves are closed as merged, their "not duplicates" decisions carry over to the
    survivor, and their other open pairs are withdrawn (the next scan re-finds them). Returns
    the ids of the carried decisions, for undo."""
    ids = [survivor.pk, *(other.pk for other in others)]
    other_ids = [other.pk for other in others]
    now = timezone.now()
    decider = actor if getattr(actor, "is_authenticated", False) else None
    with candidates_locked():
        involved = DuplicateCandidate.objects.filter(
            Q(customer_a__in=ids) | Q(customer_b__in=ids), status=CandidateStatus.OPEN
        )
        groups = set(involved.values_list("group", flat=True))
        involved.filter(customer_a__in=ids, customer_b__in=ids).update(
            status=CandidateStatus.MERGED, decided_by=decider, decided_at=now
        )
        involving = Q(customer_a__in=other_ids) | Q(customer_b__in=other_ids)
        carried = []
        for decision in DuplicateCandidate.objects.filter(
            involving, status=CandidateStatus.NOT_DUPLICATES
        ).exclude(customer_a__in=ids, customer_b__in=ids):
            outsider = (
                decision.customer_b_id
                if decision.customer_a_id in other_ids
                else decision.customer_a_id
            )
            a, b = sorted((survivor.pk, outsider))
            candidate, created = DuplicateCandidate.objects.get_or_create(
                customer_a_id=a,
                customer_b_id=b,
                defaults={"probability": decision.probability, "group": a},
            )
            if created or candidate.status == CandidateStatus.OPEN:
                candidate.status = CandidateStatus.NOT_DUPLICATES
                candidate.decided_by, candidate.decided_at = decision.decided_by, now
                candidate.save()
                carried.append(candidate.pk)
        DuplicateCandidate.objects.filter(involving, status=CandidateStatus.OPEN).delete()
    regroup(groups)
    return carried


def reopen_after_undo(*, survivor: Customer, others: Sequence[Customer], carried: list[int]):
    """An undone merge takes back what it decided: the pairs it closed as merged are open
    again, with the probability, reasons and finding the reviewer saw, so the customers are
    back in the queue as the pair they were; the "not duplicates" decisions carried to the
    survivor go."""
    ids = [survivor.pk, *(other.pk for other in others)]
    with candidates_locked():
        closed = DuplicateCandidate.objects.filter(
            customer_a__in=ids, customer_b__in=ids, status=CandidateStatus.MERGED
        )
        closed.update(status=CandidateStatus.OPEN, decided_by=None, decided_at=None)
        DuplicateCandidate.objects.filter(pk__in=carried).delete()
        # Reopened pairs may join the groups of the customers' other open pairs again.
        groups = set(
            DuplicateCandidate.objects.filter(
                Q(customer_a__in=ids) | Q(customer_b__in=ids), status=CandidateStatus.OPEN
            ).values_list("group", flat=True)
        )
    regroup(groups)


def default_survivor(customers: Sequence[Customer]) -> Customer:
    """The record kept when nobody chooses: the oldest, whose id other systems most likely
    hold."""
    return min(customers, key=lambda customer: (customer.created_at, customer.pk))


def _safe_to_merge_unseen(customers: Sequence[Customer], min_probability: float) -> bool:
    """What bulk and automatic merges ask of a group nobody looked at: every pair in it scored
    at or above the threshold (not merely chained), none marked "not duplicates", no two
    different identity numbers."""
    ids = [customer.pk for customer in customers]
    scored = set(
        DuplicateCandidate.objects.filter(
            customer_a__in=ids,
            customer_b__in=ids,
            status=CandidateStatus.OPEN,
            probability__gte=min_probability,
        ).values_list("customer_a_id", "customer_b_id")
    )
    numbers = {c.id_number_blind_index for c in customers if c.id_number_blind_index}
    return scored == set(pairs_between(ids)) and len(numbers) <= 1


def merge_groups_above(
    *, actor: Any, min_probability: float, within: QuerySet[Customer], progress=None
) -> tuple[int, int]:
    """Merge every open group that is safe to merge unseen at `min_probability` (see
    _safe_to_merge_unseen), each in its own transaction with its oldest record surviving, as
    `actor` (None for the automatic merges). Only groups whose customers are all `within` are
    merged: the caller's rule for what these merges may touch (for a person, the customers they
    may edit). Groups reaching outside it, or that changed meanwhile, are skipped. Returns
    (merged, skipped)."""
    from customers.merge import merge_customers

    merged = skipped = 0
    groups = list(open_groups().filter(worst__gte=min_probability).values_list("group", flat=True))
    for done, group in enumerate(groups, start=1):
        customers = list(
            Customer.objects.filter(
                pk__in=_members(group), merged_into__isnull=True, archived_at__isnull=True
            ).order_by("pk")
        )
        try:
            if (
                len(customers) < 2
                or not _safe_to_merge_unseen(customers, min_probability)
                or within.filter(pk__in=[c.pk for c in customers]).count() < len(customers)
            ):
                raise ValidationError(_("This group needs a person to look at it."))
            survivor = default_survivor(customers)
            merge_customers(
                actor=actor,
                survivor=survivor,
                others=[c for c in customers if c.pk != survivor.pk],
            )
            merged += 1
        except ValidationError:
            skipped += 1
        if progress is not None:
            progress(done, len(groups), merged, skipped)
    return merged, skipped


def start_bulk_merge(*, actor: Any, min_probability: float) -> BulkMerge:
    """Queue the merge of every open group whose pairs all reach `min_probability`, for
    `actor`, who the caller checked holds `merge_customers` (the queue page)."""
    if not 0.5 <= min_probability <= 1:
        raise ValidationError(_("Choose a probability between 50% and 100%."))
    job = BulkMerge.objects.create(
        created_by=actor, min_probability=min_probability, status=JobStatus.QUEUED
    )
    record_event(
        actor=actor,
        action=DuplicatesAction.BULK_MERGE,
        target=job,
        changes={"min_probability": min_probability},
    )
    BULK_MERGE_JOBS.enqueue(job)
    return job


class BulkMergeKind(JobKind[BulkMerge]):
    """Merging every likely group, as the user who asked, with progress on the job row: only
    if they still hold the merge permission when the worker runs it, and only groups whose
    customers they may all edit. One runs at a time; one whose worker died starts over (groups
    merged already are no longer open), and one silent for half an hour is given up."""

    model = BulkMerge
    audit_prefix = "duplicates.bulk_merge"
    seen_with = ("customers.merge_customers",)
    followed_at = "duplicates:queue"
    time_limit = datetime.timedelta(minutes=30)
    unexpected_failure = _("The bulk merge stopped because of an internal error.")

    def work(self, run: JobRun[BulkMerge]) -> None:
        job = run.job
        if not job.created_by.has_perm("customers.merge_customers"):
            raise JobFailedError(
                _("Whoever started this bulk merge may no longer merge customers.")
            )

        def progress(done: int, total: int, merged: int, skipped: int) -> None:
            run.progress(done, total, groups_merged=merged, groups_skipped=skipped)

        job.groups_merged, job.groups_skipped = merge_groups_above(
            actor=job.created_by,
            min_probability=job.min_probability,
            within=customers_editable_by(job.created_by),
            progress=progress,
        )

    def audit_changes(self, job: BulkMerge) -> dict[str, Any]:
        return {"merged": job.groups_merged, "skipped": job.groups_skipped}


BULK_MERGE_JOBS = BulkMergeKind()
