"""Reads of deals, always scoped to what the asking user may see: with `view_all_deals`
every deal of a customer they see; otherwise the deals they or their team own (a manager's
team, accounts/teams.py) among the customers they see."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, DecimalField, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.http import Http404

from accounts.teams import manages_anyone, owned_by_user_or_team
from customers.selectors import search_customers
from kernel.actors import Actor
from sales.models import Deal, DealStageChange, Pipeline, Stage, StageKind

# Cards drawn per board column: the rest is one "more" link to the list, so a column of a
# million deals costs what a column of fifty does.
BOARD_CARDS_PER_STAGE = 50
LIST_PAGE_SIZE = 50


def deals_visible_to(user: Actor) -> QuerySet[Deal]:
    """The deals `user` may see: none without `sales.view_deal`; with `view_all_deals` those
    of every customer they may see; otherwise those they or their team own, of customers they
    may see.

    The customer's scope is joined, not asked as `customer IN (customers_visible_to)`: that
    subquery reads every visible customer on each board. The deals of a merged customer moved
    to the survivor with the merge (customers/merge.py), so whoever sees every customer needs no
    customer condition at all."""
    if not (user.has_perm("sales.view_deal") and user.has_perm("customers.view_customer")):
        return Deal.objects.none()
    deals = Deal.objects.all()
    if not user.has_perm("customers.view_all_customers"):
        deals = deals.filter(
            owned_by_user_or_team(user, "customer__owner") | Q(customer__owner__isnull=True),
            customer__merged_into__isnull=True,
        )
    if user.has_perm("sales.view_all_deals"):
        return deals
    return deals.filter(owned_by_user_or_team(user))


def get_deal_for(user: Actor, pk: int) -> Deal:
    """The deal if `user` may see it, with what its page shows; Http404 otherwise."""
    try:
        return (
            deals_visible_to(user)
            .select_related("customer", "contact", "pipeline", "stage", "owner", "purchase")
            .get(pk=pk)
        )
    except Deal.DoesNotExist as missing:
        raise Http404 from missing


STAGE_HISTORY_SHOWN = 20


def deal_stage_history(deal: Deal, *, limit: int = STAGE_HISTORY_SHOWN) -> list[DealStageChange]:
    """The deal's latest `limit` stage changes (a deal the caller loaded through get_deal_for),
    newest first, with the stages and who made them: one query."""
    return list(
        deal.stage_changes.select_related("from_stage", "to_stage", "actor").order_by("-at", "-pk")[
            :limit
        ]
    )


def can_change_deal(user: Actor, deal: Deal) -> bool:
    """Whether `user` may edit or move `deal` (which they see): `change_deal`, and the deal's
    customer not erased."""
    return user.has_perm("sales.change_deal") and not deal.customer.erased_at


def pipelines_for_board() -> QuerySet[Pipeline]:
    return Pipeline.objects.filter(active=True).order_by("-is_default", "ordering", "pk")


def get_pipeline(pk: int | None = None) -> Pipeline:
    """The active pipeline `pk`, or the default one; Http404 when there is none."""
    pipelines = pipelines_for_board()
    pipeline = pipelines.filter(pk=pk).first() if pk is not None else pipelines.first()
    if pipeline is None:
        raise Http404
    return pipeline


def filter_deals(
    deals: QuerySet[Deal], *, owner_id: int | None = None, close_month: datetime.date | None = None
) -> QuerySet[Deal]:
    """The board's and list's filters: one owner; deals expected to close in a month (any day
    of it given)."""
    if owner_id is not None:
        deals = deals.filter(owner_id=owner_id)
    if close_month is not None:
        start = close_month.replace(day=1)
        end = (start + datetime.timedelta(days=32)).replace(day=1)
        deals = deals.filter(expected_close_date__gte=start, expected_close_date__lt=end)
    return deals


@dataclass
class BoardColumn:
    stage: Stage
    count: int
    total: Decimal
    weighted_total: Decimal
    cards: list[Deal]

    @property
    def more(self) -> int:
        return max(self.count - len(self.cards), 0)


def board_columns(
    *, user: Actor, pipeline: Pipeline, deals: QuerySet[Deal] | None = None
) -> list[BoardColumn]:
    """The pipeline's stages in order, each with its number of deals, their total and their
    weighted total (amount × the stage's probability), from one aggregate query, and its
    newest BOARD_CARDS_PER_STAGE cards from one query per stage (by the stage index).
    `deals` is the user's visible deals with the page's filters (default: all visible)."""
    scoped = (deals if deals is not None else deals_visible_to(user)).filter(pipeline=pipeline)
    stages = list(pipeline.stages.order_by("order", "pk"))
    money = DecimalField(max_digits=20, decimal_places=2)
    # Count and total per stage only: the weighted total is the stage's total times its
    # probability, so the aggregate reads the deals alone (no join per deal).
    sums: dict[int, dict[str, Any]] = {
        row["stage_id"]: dict(row)
        for row in scoped.order_by()
        .values("stage_id")
        .annotate(
            count=Count("pk"),
            total=Coalesce(Sum("amount"), Value(Decimal("0")), output_field=money),
        )
    }
    columns = []
    for stage in stages:
        row: dict[str, Any] = sums.get(stage.pk, {})
        count = row.get("count", 0)
        cards = (
            list(
                scoped.filter(stage=stage)
                .select_related("customer", "owner")
                .order_by("-pk")[:BOARD_CARDS_PER_STAGE]
            )
            if count
            else []
        )
        columns.append(
            BoardColumn(
                stage=stage,
                count=count,
                total=Decimal(row.get("total") or 0),
                weighted_total=(
                    Decimal(row.get("total") or 0) * stage.win_probability / 100
                ).quantize(Decimal("0.01")),
                cards=cards,
            )
        )
    return columns


def deal_page(deals: QuerySet[Deal], *, before: int | None = None) -> tuple[list[Deal], int | None]:
    """One page of the list, newest first, by keyset (`before`: the last id shown): never a
    count. Returns the page and the id to continue before, or None on the last page."""
    if before is not None:
        deals = deals.filter(pk__lt=before)
    rows = list(
        deals.select_related("customer", "stage", "owner", "pipeline").order_by("-pk")[
            : LIST_PAGE_SIZE + 1
        ]
    )
    page = rows[:LIST_PAGE_SIZE]
    return page, page[-1].pk if len(rows) > LIST_PAGE_SIZE else None


def deals_of_customer(*, user: Actor, customer_id: int, limit: int = 20) -> list[Deal]:
    """The customer's deals `user` may see, open ones first, then newest."""
    return list(
        deals_visible_to(user)
        .filter(customer_id=customer_id)
        .select_related("stage", "owner")
        .order_by(F("closed_at").desc(nulls_first=True), "-pk")[:limit]
    )


# A title search shorter than this matches no title (the customer's matches still count): a
# trigram index (sales/migrations/0006) answers three characters or more, a shorter substring
# would read every deal.
TITLE_QUERY_MIN_LENGTH = 3
# How many candidates each way is read before the newest are kept.
SEARCH_CANDIDATES = 200


def search_deals(*, user: Actor, query: str, limit: int = 5) -> list[Deal]:
    """At most `limit` deals `user` may see whose customer matches `query` as the customer
    search does (customers.selectors.search_customers), or whose title contains it, newest
    first. Each way is a bounded read of ids, without an order: `ORDER BY id DESC LIMIT` over
    a condition that few deals meet has PostgreSQL walk the whole table backwards."""
    text = (query or "").strip()
    if not text:
        return []
    visible = deals_visible_to(user)
    matching_customers = list(
        search_customers(user=user, query=text)
        .order_by("-pk")
        .values_list("pk", flat=True)[:SEARCH_CANDIDATES]
    )
    candidates: set[int] = set()
    if matching_customers:
        candidates.update(
            visible.filter(customer_id__in=matching_customers)
            .order_by()
            .values_list("pk", flat=True)[:SEARCH_CANDIDATES]
        )
    if len(text) >= TITLE_QUERY_MIN_LENGTH:
        candidates.update(
            visible.filter(title__icontains=text)
            .order_by()
            .values_list("pk", flat=True)[:SEARCH_CANDIDATES]
        )
    newest = sorted(candidates, reverse=True)[:limit]
    return list(
        Deal.objects.filter(pk__in=newest).select_related("customer", "stage").order_by("-pk")
    )


def open_deals_closing_between(
    *,
    user: Actor,
    start: datetime.date,
    end: datetime.date,
    owner_ids: list[int] | None = None,
) -> QuerySet[Deal]:
    """Open deals `user` may see expected to close from `start` to `end` (both included),
    optionally of these owners only, by close date (for the calendar)."""
    deals = deals_visible_to(user).filter(
        closed_at__isnull=True,
        stage__kind=StageKind.OPEN,
        expected_close_date__gte=start,
        expected_close_date__lte=end,
    )
    if owner_ids is not None:
        deals = deals.filter(owner_id__in=owner_ids)
    return deals.select_related("customer", "stage", "owner").order_by("expected_close_date", "pk")


def sees_other_owners(user: Actor) -> bool:
    """Whether the owner filter means anything to `user`: they see all deals, or manage a
    team with members."""
    return user.has_perm("sales.view_all_deals") or manages_anyone(user)
