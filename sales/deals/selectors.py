"""Reads of deals, always scoped to what the asking user may see: with `view_all_deals`
every deal of a customer they see; otherwise the deals they or their team own (a manager's
team, accounts/teams.py) among the customers they see."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, DecimalField, F, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from accounts.teams import manages_anyone, owned_by_user_or_team
from customers.selectors import newest_matches, search_customers
from kernel.actors import Actor
from sales.deals import board_totals
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


# Won and lost columns show the deals closed in this many days (when no close month narrows
# the board): the open stages are the work in hand, the closed ones only grow. The list holds
# them all (each closed column links to it).
RECENTLY_CLOSED_DAYS = 30


def recently_closed_since(*, today: datetime.date | None = None) -> datetime.datetime:
    """The start of the won and lost columns' window: midnight (the project's time zone)
    RECENTLY_CLOSED_DAYS days ago. A day, not a moment, so that the totals' cache key
    (sales/deals/board_totals.py) holds for the day."""
    day = (today or timezone.localdate()) - datetime.timedelta(days=RECENTLY_CLOSED_DAYS)
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


@dataclass
class BoardColumn:
    stage: Stage
    count: int
    total: Decimal
    weighted_total: Decimal
    cards: list[Deal]
    # Won and lost columns: the deals closed since this moment only (None: all of them).
    closed_since: datetime.datetime | None = None

    @property
    def more(self) -> int:
        return max(self.count - len(self.cards), 0)


@dataclass
class Board:
    columns: list[BoardColumn]
    # When the counts and totals were computed: up to board_totals.CACHE_SECONDS ago.
    totals_as_of: datetime.datetime


def board_columns(
    *,
    user: Actor,
    pipeline: Pipeline,
    deals: QuerySet[Deal] | None = None,
    closed_since: datetime.datetime | None = None,
) -> Board:
    """The pipeline's stages in order, each with its number of deals, their total and their
    weighted total (amount × the stage's probability), from one aggregate query (kept for a
    short while: sales/deals/board_totals.py), and its newest BOARD_CARDS_PER_STAGE cards from
    one query per stage (always read). `deals` is the user's visible deals with the page's
    filters (default: all visible). With `closed_since`, won and lost columns (counts, totals
    and cards) hold only the deals closed since then; open columns are always complete."""
    scoped = (deals if deals is not None else deals_visible_to(user)).filter(pipeline=pipeline)
    if closed_since is not None:
        # Open deals have no close time (services._close_for_stage keeps it so).
        scoped = scoped.filter(Q(closed_at__isnull=True) | Q(closed_at__gte=closed_since))
    stages = list(pipeline.stages.order_by("order", "pk"))
    money = DecimalField(max_digits=20, decimal_places=2)
    # Count and total per stage only: the weighted total is the stage's total times its
    # probability, so the aggregate reads the deals alone (no join per deal). COUNT(*), not
    # of the id, which the covering indexes do not hold.
    totals = board_totals.cached_totals(
        scoped.order_by()
        .values("stage_id")
        .annotate(
            count=Count("*"),
            total=Coalesce(Sum("amount"), Value(Decimal("0")), output_field=money),
        )
    )
    columns = []
    for stage in stages:
        count, total = totals.by_stage.get(stage.pk, (0, Decimal("0")))
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
                total=total,
                weighted_total=(total * stage.win_probability / 100).quantize(Decimal("0.01")),
                cards=cards,
                closed_since=None if stage.is_open else closed_since,
            )
        )
    return Board(columns=columns, totals_as_of=totals.computed_at)


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


def search_deals(
    *,
    user: Actor,
    query: str,
    limit: int = 5,
    matching_customer_ids: Sequence[int] | None = None,
) -> list[Deal]:
    """At most `limit` deals `user` may see whose customer matches `query` as the customer
    search does (customers.selectors.search_customers), or whose title contains it, newest
    first. The matching customers are the newest SEARCH_CANDIDATES (newest_matches), or
    `matching_customer_ids` when the caller has read them already. Each way is a bounded read
    of ids, without an order: `ORDER BY id DESC LIMIT` over a condition that few deals meet
    has PostgreSQL walk the whole table backwards."""
    text = (query or "").strip()
    if not text:
        return []
    visible = deals_visible_to(user)
    if matching_customer_ids is None:
        matching_customer_ids = newest_matches(
            search_customers(user=user, query=text), limit=SEARCH_CANDIDATES
        )
    matching_customers = list(matching_customer_ids[:SEARCH_CANDIDATES])
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
