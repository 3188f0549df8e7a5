"""Reads of purchases, interactions and follow-ups, scoped through the customers a user sees."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import Avg, Count, Max, Q, QuerySet, Sum

from customers.models import Customer
from customers.selectors import customers_visible_to
from interactions.models import (
    ArchivedInteraction,
    ArchiveRun,
    FollowUp,
    Interaction,
    Transaction,
    TransactionLine,
    TransactionStatus,
)
from interactions.timeline import TIMELINE_PURCHASES as TIMELINE_PURCHASES
from interactions.timeline import (
    TimelineRequest,
    TimelineSource,
    timeline_source,
    timeline_sources,
)
from kernel.actors import Actor


def transactions_visible_to(user: Actor) -> QuerySet[Transaction]:
    """The purchases of the customers `user` may see (`customers_visible_to`)."""
    return Transaction.objects.filter(customer__in=customers_visible_to(user))


def interactions_visible_to(
    user: Actor, *, archived: bool = False
) -> QuerySet[Interaction] | QuerySet[ArchivedInteraction]:
    """The interactions with the customers `user` may see: from the table staff work in, or
    with `archived` from the archive (interactions/archive.py), which keeps the same ids."""
    table = ArchivedInteraction if archived else Interaction
    return table.objects.filter(customer__in=customers_visible_to(user))


def follow_ups_visible_to(user: Actor) -> QuerySet[FollowUp]:
    """Every follow-up, open or done, on the customers `user` may see, whoever it is
    assigned to."""
    return FollowUp.objects.filter(customer__in=customers_visible_to(user))


def follow_ups_for(*, user: Actor) -> QuerySet[FollowUp]:
    """Open follow-ups assigned to the user on customers they may see, soonest first."""
    return (
        FollowUp.objects.filter(
            assignee=user, done_at__isnull=True, customer__in=customers_visible_to(user)
        )
        .select_related("customer")
        .order_by("due_at", "pk")
    )


def recent_interactions_for(*, user: Actor) -> QuerySet[Interaction]:
    """The newest interactions on the user's own customers. From the hot table only: archived
    interactions are older than INTERACTION_ARCHIVE_AFTER_DAYS, at least a year (the system
    check interactions.E002), which is not recent; the customer page still shows them."""
    return (
        Interaction.objects.filter(customer__owner=user, customer__merged_into__isnull=True)
        .select_related("customer", "staff")
        .order_by("-occurred_at", "-pk")
    )


def open_follow_ups(*, customer: Customer, limit: int = 20) -> list[FollowUp]:
    """The customer's follow-ups still to do, soonest first."""
    return list(customer.follow_ups.filter(done_at__isnull=True).select_related("assignee")[:limit])


def latest_purchases(*, customer: Customer, limit: int = 5) -> list[Transaction]:
    """The customer's `limit` newest purchases with their lines: two queries."""
    return list(
        customer.transactions.prefetch_related("lines").order_by("-occurred_at", "-pk")[:limit]
    )


def latest_interactions(
    *, customer: Customer, limit: int = 5
) -> list[Interaction | ArchivedInteraction]:
    """The customer's `limit` newest interactions, archived ones included: two queries of at
    most `limit` rows (an interaction imported late may be older than archived ones)."""
    found: dict[int, Interaction | ArchivedInteraction] = {}
    for table in (customer.interactions, customer.archived_interactions):
        rows = table.select_related("staff", "contact").order_by("-occurred_at", "-pk")[:limit]
        for row in rows:
            # A row archived between the two queries is in both answers: kept once.
            found.setdefault(row.pk, row)
    newest = sorted(found.values(), key=lambda row: (row.occurred_at, row.pk), reverse=True)
    return newest[:limit]


@dataclass(frozen=True)
class TimelineEntry:
    occurred_at: datetime.datetime
    source: TimelineSource
    record: Any

    @property
    def is_purchase(self) -> bool:
        return self.source.key == "t"

    @property
    def is_archived(self) -> bool:
        return isinstance(self.record, ArchivedInteraction)

    @property
    def cursor(self) -> str:
        return f"{self.source.key}{self.record.pk}"

    @property
    def template(self) -> str:
        return self.source.template


# (time, the source's rank, pk) of the entry a cursor names.
Anchor = tuple[datetime.datetime, int, int]


def _after_entry(customer: Customer, cursor: str) -> Anchor | None:
    """Where the entry a cursor like "i42" / "t7" / "d3" names sits in the order; None when
    the cursor names nothing (the page then starts from the newest entry)."""
    source = timeline_source(cursor[:1])
    if source is None or not cursor[1:].isdigit():
        return None
    pk = int(cursor[1:])
    occurred_at = source.locate(customer, pk)
    return None if occurred_at is None else (occurred_at, source.rank, pk)


def _older(anchor: Anchor | None, source: TimelineSource) -> Q:
    """The rows of `source` after `anchor` in the order of the page: entries sort by time,
    then the source's rank, then id, all descending."""
    if anchor is None:
        return Q()
    at, anchor_rank, pk = anchor
    field = source.time_field
    if source.rank > anchor_rank:  # at the anchor's time this source's rows came before it
        return Q(**{f"{field}__lt": at})
    if source.rank < anchor_rank:  # ... and these come after it
        return Q(**{f"{field}__lte": at})
    return Q(**{f"{field}__lt": at}) | Q(**{field: at, "pk__lt": pk})


def customer_timeline(
    *, customer: Customer, kind: str = "", after: str = "", size: int = 20, user: Any = None
) -> tuple[list[TimelineEntry], str | None]:
    """The customer's history from every registered timeline source (interactions/timeline.py:
    interactions, archived ones marked as such, purchases, and what other apps add), newest
    first, one page at a time.

    `kind` is one of a source's filter choices (that source alone, e.g. an InteractionKind
    value or TIMELINE_PURCHASES) or "" (everything). `after` is the cursor of the last entry
    shown. `user` is the reader, for the sources that link what only some may open. One
    query (two for interactions: the hot table and the archive) of at most size + 1 rows per
    source, plus one to place the cursor, whatever the length of the history."""
    sources = [source for source in timeline_sources() if not kind or kind in source.kinds]
    anchor = _after_entry(customer, after) if after else None
    entries: list[TimelineEntry] = []
    for source in sources:
        request = TimelineRequest(
            customer=customer,
            user=user,
            kind=kind,
            older=_older(anchor, source),
            limit=size + 1,
        )
        entries += [
            TimelineEntry(getattr(record, source.time_field), source, record)
            for record in source.rows(request)
        ]
    entries.sort(key=lambda e: (e.occurred_at, e.source.rank, e.record.pk), reverse=True)
    page = entries[:size]
    return page, page[-1].cursor if len(entries) > size else None


def every_interaction_sql(columns: str, where: str) -> str:
    """A derived table of every interaction, hot and archived, for set-based SQL (metrics,
    churn): `SELECT columns ... WHERE where` of both tables joined by UNION ALL. One statement
    reads both under one snapshot, so a row being archived meanwhile counts once. `columns`
    and `where` are SQL written by the caller (column names, parameter placeholders), never
    user input."""
    hot, archive = Interaction._meta.db_table, ArchivedInteraction._meta.db_table
    return (
        f"(SELECT {columns} FROM {hot} WHERE {where} "  # noqa: S608
        f"UNION ALL SELECT {columns} FROM {archive} WHERE {where})"
    )


def archive_may_hold(*, since: datetime.datetime | None) -> bool:
    """Whether the archive may hold interactions that occurred at or after `since` (None: at
    any time). Rows enter the archive only through interactions.archive, which records the
    cutoff of each run before moving anything older than it: a reader of a period starting
    after every cutoff can leave the archive out."""
    runs = ArchiveRun.objects.filter(dry_run=False, rows_done__gt=0)
    if since is not None:
        runs = runs.filter(cutoff__gt=since)
    return runs.exists()


def last_archive_run() -> ArchiveRun | None:
    """The latest archive run (dry runs included), for the administrators' status page."""
    return ArchiveRun.objects.select_related("created_by").order_by("-created_at", "-pk").first()


def preferred_categories(*, customer: Customer, limit: int = 3) -> list[tuple[str, object]]:
    """The product categories the customer spent most on (paid orders): [(category, spend)]."""
    return list(
        TransactionLine.objects.filter(
            transaction__customer=customer,
            transaction__status=TransactionStatus.PAID,
            product__isnull=False,
        )
        .exclude(product__category="")
        .values("product__category")
        .annotate(spend=Sum("line_total"))
        .order_by("-spend", "product__category")
        .values_list("product__category", "spend")[:limit]
    )


def customer_record_counts(*, customer: Customer) -> dict[str, int]:
    """How many contact people, interactions (archived ones included) and open follow-ups the
    customer has: four counts on the customer's indexes, whatever the history's length."""
    return {
        "contacts": customer.contacts.count(),
        "interactions": customer.interactions.count() + customer.archived_interactions.count(),
        "open_follow_ups": customer.follow_ups.filter(done_at__isnull=True).count(),
    }


def customer_totals(*, customer: Customer) -> dict[str, Any]:
    """Order count, revenue, last purchase and average order value over paid transactions."""
    return Transaction.objects.filter(customer=customer, status=TransactionStatus.PAID).aggregate(
        orders=Count("pk"),
        revenue=Sum("amount"),
        last_purchase=Max("occurred_at"),
        average_order=Avg("amount"),
    )
