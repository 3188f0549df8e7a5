"""Dashboard charts: a registry of charts, each a small table computed set-based (GROUP BY in
the database, never a loop over customers) for a period and optionally one segment.

Reading rules every chart shares:

- Only active customers count: merged tombstones and archived customers are left out, and so are
  their orders and interactions (a static segment may still list a tombstone). Interactions
  moved to the archive (interactions/archive.py) count like the others.
- Figures are as of the last finished metrics refresh (`MetricsRun.as_of`): the per-customer
  figures (orders, lifetime value, first purchase, repeat buyer) come from CustomerMetrics, and
  orders, interactions and new customers later than the refresh are not counted until the next
  one, so that every chart on a page describes the same moment and a cached chart is never
  staler than the metrics it sits beside. Lifecycle stages are read as they are.

Rows hold raw keys and numbers only (stage and channel keys, first days of months, Decimals);
labels are applied when a table is shown (display.py), so one cached table serves every language.
Names administrators give in both languages (pipeline stages) are kept as (English, Chinese)
pairs for the same reason.

The deal charts (pipeline, win rate, forecast) read deals of active customers created up to the
refresh, as they stand when the chart is computed (a deal's stage has no history): the first
request after a refresh computes them, and they stay until the next one, like the others. Their
amounts are in the default currency (settings.DEFAULT_CURRENCY) only: no exchange rates are
kept, so deals in another currency are left out of every amount and counted in a column of
their own in the pipeline chart.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.db.models import (
    Count,
    DateField,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
)
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.functional import Promise, lazy
from django.utils.translation import gettext_lazy as _

from analytics.dashboards.periods import (
    Period,
    add_months,
    month_range,
    months_between,
    project_zone,
)
from analytics.models import CustomerMetrics, Segment, SegmentMember
from customers.models import Customer, LifecycleStage, SourceChannel
from interactions.models import (
    ArchivedInteraction,
    Interaction,
    InteractionKind,
    Transaction,
    TransactionStatus,
)
from interactions.selectors import archive_may_hold
from sales.models import Deal, Stage, StageKind

CENT = Decimal("0.01")

TOP_CITIES = 15
COHORT_MONTHS = 12

# The row that sums the cities after the top ones (no typed city can start with NUL).
OTHER_CITIES = "\x00other"
TOP_OWNERS = 10
FORECAST_MONTHS = 12
# The win-rate chart's rows for every owner together, the owners after the top ones, and deals
# without an owner (no user name can start with NUL).
ALL_OWNERS = "\x00all"
OTHER_OWNERS = "\x00other"
NO_OWNER = "\x00nobody"


@dataclass(frozen=True)
class Scope:
    """What a chart is computed over."""

    period: Period
    as_of: datetime.datetime
    segment: Segment | None = None

    @property
    def bounds(self) -> tuple[datetime.datetime | None, datetime.datetime]:
        return self.period.bounds(self.as_of)

    def customers_q(self, prefix: str = "") -> Q:
        """Active customers (of the segment), for a query whose customer is at `prefix`."""
        condition = Q(
            **{f"{prefix}merged_into__isnull": True, f"{prefix}archived_at__isnull": True}
        )
        if self.segment is not None:
            # Through the foreign key column, not a join, when the customer is a relation.
            outer = "customer_id" if prefix == "customer__" else f"{prefix}pk"
            members = SegmentMember.objects.filter(
                segment_id=self.segment.pk, customer_id=OuterRef(outer)
            )
            condition &= Q(Exists(members))
        return condition

    def in_period(self, field: str) -> Q:
        lower, upper = self.bounds
        condition = Q(**{f"{field}__lt": upper})
        if lower is not None:
            condition &= Q(**{f"{field}__gte": lower})
        return condition

    def first_month(self) -> datetime.date | None:
        return self.period.start.replace(day=1) if self.period.start else None

    def last_month(self) -> datetime.date:
        upper = timezone.localtime(
            self.bounds[1] - datetime.timedelta(microseconds=1), project_zone()
        )
        return upper.date().replace(day=1)


@dataclass(frozen=True)
class Column:
    key: str
    label: str | Promise
    # category (a key shown through `choices`), month, count, money, percent, score
    kind: str
    choices: Mapping[str, Any] | None = None
    # How dashboards.js draws it: "bar", "line" or "" (in the table and CSV only); on the
    # left axis ("y") or the right one ("y1").
    plot: str = ""
    axis: str = "y"


@dataclass(frozen=True)
class Chart:
    key: str
    title: str | Promise
    # The period semantics, shown under the chart.
    explanation: str | Promise
    columns: tuple[Column, ...]
    compute: Callable[[Scope], list[tuple]]
    # bar, hbar (horizontal bars), doughnut, cohort (an HTML table, no canvas)
    drawing: str = "bar"


def _customers(scope: Scope) -> QuerySet[Customer]:
    """Active customers who joined in the period."""
    return Customer.objects.filter(scope.customers_q(), scope.in_period("created_at"))


def _month(field: str) -> TruncMonth:
    return TruncMonth(field, output_field=DateField(), tzinfo=project_zone())


def _money(value: Any) -> Decimal:
    # SQLite sums decimals in floating point: cents are what both engines agree on.
    return Decimal(str(value or 0)).quantize(CENT, ROUND_HALF_UP)


def _rate(part: int, whole: int) -> float | None:
    """A percentage with one decimal; None when there is nothing to divide by."""
    return round(100 * part / whole, 1) if whole else None


def _average(total: Any, count: int) -> Decimal | None:
    return (_money(total) / count).quantize(CENT, ROUND_HALF_UP) if count else None


def _fill_months(scope: Scope, found: Mapping[datetime.date, tuple], empty: tuple) -> list[tuple]:
    """One row per month from the period's first month (or the first with figures) to its
    last, months without figures filled with `empty`."""
    if not found and scope.first_month() is None:
        return []
    first = scope.first_month() or min(found)
    last = max(scope.last_month(), *found) if found else scope.last_month()
    if last < first:
        return []
    return [(month, *found.get(month, empty)) for month in month_range(first, last)]


def customers_by_stage(scope: Scope) -> list[tuple]:
    counts = dict(
        _customers(scope)
        .order_by()
        .values("lifecycle_stage")
        .annotate(n=Count("pk"))
        .values_list("lifecycle_stage", "n")
    )
    # Every stage in the funnel's order, empty ones too, so charts compare across periods.
    return [(stage, counts.pop(stage, 0)) for stage in LifecycleStage.values] + sorted(
        counts.items()
    )


def customers_by_channel(scope: Scope) -> list[tuple]:
    rows = (
        _customers(scope)
        .order_by()
        .values("source_channel")
        .annotate(n=Count("pk"))
        .values_list("source_channel", "n")
    )
    return sorted(rows, key=lambda row: (-row[1], row[0]))


def customers_by_city(scope: Scope) -> list[tuple]:
    rows = sorted(
        _customers(scope)
        .order_by()
        .values("city")
        .annotate(n=Count("pk"))
        .values_list("city", "n"),
        key=lambda row: (-row[1], row[0]),
    )
    top, rest = rows[:TOP_CITIES], rows[TOP_CITIES:]
    if rest:
        top.append((OTHER_CITIES, sum(n for _, n in rest)))
    return top


def new_customers_per_month(scope: Scope) -> list[tuple]:
    found = {
        month: (n,)
        for month, n in _customers(scope)
        .order_by()
        .annotate(month=_month("created_at"))
        .values("month")
        .annotate(n=Count("pk"))
        .values_list("month", "n")
    }
    return _fill_months(scope, found, (0,))


def _paid_orders(scope: Scope) -> QuerySet[Transaction]:
    return Transaction.objects.filter(
        scope.customers_q("customer__"),
        scope.in_period("occurred_at"),
        status=TransactionStatus.PAID,
    )


def revenue_per_month(scope: Scope) -> list[tuple]:
    found = {
        month: (_money(revenue), orders)
        for month, revenue, orders in _paid_orders(scope)
        .order_by()
        .annotate(month=_month("occurred_at"))
        .values("month")
        .annotate(revenue=Sum("amount"), orders=Count("pk"))
        .values_list("month", "revenue", "orders")
    }
    return _fill_months(scope, found, (Decimal("0.00"), 0))


def _buyers_by_channel(scope: Scope) -> QuerySet:
    """Per source channel, customers who joined in the period and have bought, from the
    refreshed metrics (no order is read)."""
    return (
        CustomerMetrics.objects.filter(
            scope.customers_q("customer__"),
            scope.in_period("customer__created_at"),
        )
        .order_by()
        .values("customer__source_channel")
    )


def value_by_channel(scope: Scope) -> list[tuple]:
    rows = (
        _buyers_by_channel(scope)
        .filter(orders__gt=0)
        .annotate(
            buyers=Count("pk"),
            repeat=Count("pk", filter=Q(repeat_buyer=True)),
            churned=Count("pk", filter=Q(customer__lifecycle_stage=LifecycleStage.CHURNED)),
            revenue=Sum("revenue"),
        )
        .values_list("customer__source_channel", "buyers", "repeat", "churned", "revenue")
    )
    return sorted(
        (
            (
                channel,
                buyers,
                _rate(repeat, buyers),
                _rate(churned, buyers),
                _average(revenue, buyers),
            )
            for channel, buyers, repeat, churned, revenue in rows
        ),
        key=lambda row: (-row[1], row[0]),
    )


def channel_conversion(scope: Scope) -> list[tuple]:
    rows = (
        _customers(scope)
        .order_by()
        .values("source_channel")
        .annotate(
            joined=Count("pk"),
            buyers=Count("pk", filter=Q(metrics__orders__gt=0)),
            revenue=Sum("metrics__revenue"),
        )
        .values_list("source_channel", "joined", "buyers", "revenue")
    )
    return sorted(
        (
            (
                channel,
                joined,
                buyers,
                _rate(buyers, joined),
                _money(revenue),
                _average(revenue, joined),
            )
            for channel, joined, buyers, revenue in rows
        ),
        key=lambda row: (-row[1], row[0]),
    )


def cohort_retention(scope: Scope) -> list[tuple]:
    """Rows: first-purchase month, cohort size, then for month +1 … +12 the share (%) of the
    cohort with a paid order in that calendar month; None for months not reached yet."""
    cohorts = CustomerMetrics.objects.filter(
        scope.customers_q("customer__"), scope.in_period("first_purchase_at")
    )
    sizes = dict(
        cohorts.order_by()
        .annotate(cohort=_month("first_purchase_at"))
        .values("cohort")
        .annotate(n=Count("pk"))
        .values_list("cohort", "n")
    )
    if not sizes:
        return []
    lower, upper = scope.bounds
    zone = project_zone()
    # Orders up to 12 months after the last cohort month, and never after the refresh.
    horizon = datetime.datetime.combine(
        add_months(max(sizes), COHORT_MONTHS + 1), datetime.time.min, tzinfo=zone
    )
    orders = Transaction.objects.filter(
        scope.customers_q("customer__"),
        status=TransactionStatus.PAID,
        occurred_at__lt=min(horizon, scope.as_of + datetime.timedelta(microseconds=1)),
        customer__metrics__first_purchase_at__lt=upper,
    )
    if lower is not None:
        orders = orders.filter(customer__metrics__first_purchase_at__gte=lower)
    returning: dict[tuple[datetime.date, int], int] = {}
    for cohort, month, buyers in (
        orders.order_by()
        .annotate(
            cohort=_month("customer__metrics__first_purchase_at"), month=_month("occurred_at")
        )
        .values("cohort", "month")
        .annotate(buyers=Count("customer_id", distinct=True))
        .values_list("cohort", "month", "buyers")
    ):
        offset = months_between(cohort, month)
        if 1 <= offset <= COHORT_MONTHS:
            returning[(cohort, offset)] = buyers
    observed = timezone.localtime(scope.as_of, zone).date().replace(day=1)
    return [
        (
            cohort,
            size,
            *(
                _rate(returning.get((cohort, offset), 0), size)
                if add_months(cohort, offset) <= observed
                else None
                for offset in range(1, COHORT_MONTHS + 1)
            ),
        )
        for cohort, size in sorted(sizes.items())
    ]


def complaints_and_satisfaction(scope: Scope) -> list[tuple]:
    def by_month(table: QuerySet) -> QuerySet:
        return (
            table.filter(scope.customers_q("customer__"), scope.in_period("occurred_at"))
            .order_by()
            .annotate(month=_month("occurred_at"))
            .values("month")
            .annotate(
                complaints=Count("pk", filter=Q(kind=InteractionKind.COMPLAINT)),
                rated=Count("satisfaction"),
                total=Sum("satisfaction"),
            )
            .values_list("month", "complaints", "rated", "total")
        )

    months = by_month(Interaction.objects)
    # Archived interactions count too, read in the same statement; a period that starts after
    # everything archived (the default twelve months) reads the hot table alone.
    if archive_may_hold(since=scope.bounds[0]):
        months = months.union(by_month(ArchivedInteraction.objects), all=True)
    sums: dict[datetime.date, list[int]] = {}
    for month, complaints, rated, total in months:
        figures = sums.setdefault(month, [0, 0, 0])
        figures[0] += complaints
        figures[1] += rated
        figures[2] += total or 0
    found = {
        month: (complaints, rated, round(total / rated, 2) if rated else None)
        for month, (complaints, rated, total) in sums.items()
    }
    return _fill_months(scope, found, (0, 0, None))


def _deals(scope: Scope) -> QuerySet[Deal]:
    """Deals of active customers (of the segment) created up to the refresh."""
    return Deal.objects.filter(scope.customers_q("customer__"), created_at__lte=scope.as_of)


def _in_default_currency() -> Q:
    return Q(currency=settings.DEFAULT_CURRENCY)


def _weighted() -> ExpressionWrapper:
    """An open deal's amount times its stage's chance of being won."""
    return ExpressionWrapper(
        F("amount") * F("stage__win_probability") / Value(100),
        output_field=DecimalField(max_digits=20, decimal_places=4),
    )


def _open_deals(scope: Scope) -> QuerySet[Deal]:
    # Open means no close time (Deal.is_open); no condition on the stage's kind, whose
    # estimate would lead the planner to a nested loop over every open deal.
    return _deals(scope).filter(closed_at__isnull=True)


def pipeline_by_stage(scope: Scope) -> list[tuple]:
    """Per open stage of the active pipelines (in their order, empty stages too): open deals,
    their amount and weighted amount, and the open deals in another currency. Not limited to
    the period: the pipeline is what is open now."""
    stages = list(
        Stage.objects.filter(kind=StageKind.OPEN, pipeline__active=True)
        .order_by("pipeline__ordering", "pipeline_id", "order", "pk")
        .values_list("pk", "pipeline__name", "pipeline__name_zh", "name", "name_zh")
    )
    default_currency = _in_default_currency()
    figures = {
        stage: (deals, _money(amount), _money(weighted), other)
        for stage, deals, amount, weighted, other in _open_deals(scope)
        .order_by()
        .values("stage_id")
        .annotate(
            deals=Count("pk"),
            total=Sum("amount", filter=default_currency),
            weighted=Sum(_weighted(), filter=default_currency),
            other=Count("pk", filter=~default_currency),
        )
        .values_list("stage_id", "deals", "total", "weighted", "other")
    }
    empty = (0, Decimal("0.00"), Decimal("0.00"), 0)
    return [
        (
            (f"{pipeline} › {name}", f"{pipeline_zh or pipeline} › {name_zh or name}"),
            *figures.get(stage, empty),
        )
        for stage, pipeline, pipeline_zh, name, name_zh in stages
    ]


def _owner_name(first: str, last: str, username: str | None) -> str:
    if username is None:
        return NO_OWNER
    # The user name too: two colleagues may share a full name.
    full_name = f"{first} {last}".strip()
    return f"{full_name} ({username})" if full_name else username


def win_rate(scope: Scope) -> list[tuple]:
    """Deals won and lost in the period and the share won: every owner together, then the
    owners who closed the most (the rest together)."""
    rows = (
        _deals(scope)
        .filter(scope.in_period("closed_at"))
        .order_by()
        .values("owner_id", "owner__first_name", "owner__last_name", "owner__username")
        .annotate(
            won=Count("pk", filter=Q(won_at__isnull=False)),
            lost=Count("pk", filter=Q(lost_at__isnull=False)),
        )
        .values_list("owner__first_name", "owner__last_name", "owner__username", "won", "lost")
    )
    owners = sorted(
        (
            (_owner_name(first, last, username), won, lost)
            for first, last, username, won, lost in rows
        ),
        key=lambda row: (-(row[1] + row[2]), row[0]),
    )
    if not owners:
        return []
    top, rest = owners[:TOP_OWNERS], owners[TOP_OWNERS:]

    def row(key: str, won: int, lost: int) -> tuple:
        return (key, won, lost, _rate(won, won + lost))

    total_won, total_lost = sum(o[1] for o in owners), sum(o[2] for o in owners)
    shown = [row(ALL_OWNERS, total_won, total_lost), *(row(*owner) for owner in top)]
    if rest:
        shown.append(row(OTHER_OWNERS, sum(o[1] for o in rest), sum(o[2] for o in rest)))
    return shown


def deal_forecast(scope: Scope) -> list[tuple]:
    """Per month: the amount of deals won in it (within the period), and the amount and
    weighted amount of open deals expected to close in it, from the refresh's month to
    FORECAST_MONTHS months on. Open deals whose expected close date has passed are counted in
    the refresh's month (they are still expected); those without a date are left out."""
    this_month = timezone.localtime(scope.as_of, project_zone()).date().replace(day=1)
    horizon = add_months(this_month, FORECAST_MONTHS)
    default_currency = _in_default_currency()
    # One statement: open deals' rows leave "won" NULL, won deals' rows the other two.
    nothing = Value(None, output_field=DecimalField(max_digits=20, decimal_places=4))
    expected = (
        _open_deals(scope)
        .filter(default_currency, expected_close_date__lt=horizon)
        .order_by()
        .annotate(month=TruncMonth("expected_close_date", output_field=DateField()))
        .values("month")
        .annotate(won=nothing, open_amount=Sum("amount"), weighted=Sum(_weighted()))
        .values_list("month", "won", "open_amount", "weighted")
    )
    won = (
        _deals(scope)
        .filter(default_currency, scope.in_period("won_at"))
        .order_by()
        .annotate(month=_month("won_at"))
        .values("month")
        .annotate(won=Sum("amount"), open_amount=nothing, weighted=nothing)
        .values_list("month", "won", "open_amount", "weighted")
    )
    sums: dict[datetime.date, list[Decimal]] = {}
    for month, won_amount, open_amount, weighted in expected.union(won, all=True):
        expected_in = max(month, this_month) if won_amount is None else month
        figures = sums.setdefault(expected_in, [Decimal(0)] * 3)
        # Rounded once per month, after the overdue months are folded into this one.
        for index, value in enumerate((won_amount, open_amount, weighted)):
            figures[index] += Decimal(str(value or 0))
    if not sums:
        return []
    first = scope.first_month() or min(sums)
    last = max(add_months(this_month, FORECAST_MONTHS - 1), *sums)
    empty = [Decimal(0)] * 3
    return [
        (month, *(_money(value) for value in sums.get(month, empty)))
        for month in month_range(first, last)
    ]


def _lazy_format(text: str | Promise, **values: Any) -> Promise:
    """`text % values`, translated when shown rather than when the module loads."""
    return lazy(lambda: str(text) % values, str)()


_STAGES = dict(LifecycleStage.choices)
_CHANNELS = {**dict(SourceChannel.choices), "": _("Unknown")}
_CITIES = {"": _("No city"), OTHER_CITIES: _("Other cities")}


_OWNERS = {ALL_OWNERS: _("All owners"), OTHER_OWNERS: _("Other owners"), NO_OWNER: _("No owner")}


def _channel(label=None) -> Column:
    return Column("source_channel", label or _("Source channel"), "category", _CHANNELS)


CHARTS: dict[str, Chart] = {
    chart.key: chart
    for chart in (
        Chart(
            key="stages",
            title=_("Customers by lifecycle stage"),
            explanation=_(
                "Active customers who joined in the period, by their lifecycle stage today."
            ),
            columns=(
                Column("lifecycle_stage", _("Lifecycle stage"), "category", _STAGES),
                Column("customers", _("Customers"), "count", plot="bar"),
            ),
            compute=customers_by_stage,
        ),
        Chart(
            key="channels",
            title=_("Customers by source channel"),
            explanation=_("Active customers who joined in the period, by where they came from."),
            columns=(_channel(), Column("customers", _("Customers"), "count", plot="bar")),
            compute=customers_by_channel,
            drawing="doughnut",
        ),
        Chart(
            key="cities",
            title=_("Customers by city"),
            explanation=_lazy_format(
                _(
                    "Active customers who joined in the period, in the %(top)d cities with the "
                    "most of them; the rest together."
                ),
                top=TOP_CITIES,
            ),
            columns=(
                Column("city", _("City"), "category", _CITIES),
                Column("customers", _("Customers"), "count", plot="bar"),
            ),
            compute=customers_by_city,
            drawing="hbar",
        ),
        Chart(
            key="new-customers",
            title=_("New customers per month"),
            explanation=_("Active customers by the month they joined, within the period."),
            columns=(
                Column("month", _("Month"), "month"),
                Column("customers", _("New customers"), "count", plot="bar"),
            ),
            compute=new_customers_per_month,
        ),
        Chart(
            key="revenue",
            title=_("Revenue and orders per month"),
            explanation=_(
                "Paid orders placed in the period (refunded and cancelled ones do not count), "
                "by month."
            ),
            columns=(
                Column("month", _("Month"), "month"),
                Column("revenue", _("Revenue"), "money", plot="bar"),
                Column("orders", _("Orders"), "count", plot="line", axis="y1"),
            ),
            compute=revenue_per_month,
        ),
        Chart(
            key="channel-value",
            title=_("Repurchase, churn and lifetime value by source channel"),
            explanation=_(
                "Customers who joined in the period and have bought, by source channel: the "
                "share who bought more than once, the share now in the churned stage, and "
                "their average lifetime value (all their paid orders so far)."
            ),
            columns=(
                _channel(),
                Column("buyers", _("Buyers"), "count"),
                Column("repurchase_rate", _("Repurchase rate (%)"), "percent", plot="bar"),
                Column("churn_rate", _("Churn rate (%)"), "percent", plot="bar"),
                Column("average_ltv", _("Average lifetime value"), "money", plot="line", axis="y1"),
            ),
            compute=value_by_channel,
        ),
        Chart(
            key="cohorts",
            title=_("Retention by first-purchase month"),
            explanation=_(
                "Customers whose first paid order falls in the period, grouped by its month: "
                "the share (%) who placed a paid order again 1, 2, … 12 calendar months later. "
                "Months not reached yet are blank."
            ),
            columns=(
                Column("cohort", _("First purchase"), "month"),
                Column("customers", _("Customers"), "count"),
                *(
                    Column(f"month_{n}", _lazy_format(_("Month +%(n)d"), n=n), "percent")
                    for n in range(1, COHORT_MONTHS + 1)
                ),
            ),
            compute=cohort_retention,
            drawing="cohort",
        ),
        Chart(
            key="service",
            title=_("Complaints and satisfaction per month"),
            explanation=_(
                "Interactions in the period, by month: complaints logged, and the average "
                "satisfaction (1–5) of the interactions that were rated."
            ),
            columns=(
                Column("month", _("Month"), "month"),
                Column("complaints", _("Complaints"), "count", plot="bar"),
                Column("rated", _("Rated interactions"), "count"),
                Column("satisfaction", _("Average satisfaction"), "score", plot="line", axis="y1"),
            ),
            compute=complaints_and_satisfaction,
        ),
        Chart(
            key="conversion",
            title=_("Channel effectiveness"),
            explanation=_(
                "Customers who joined in the period, by source channel: the share who have "
                "bought since (leads → customers), and the revenue of all their paid orders."
            ),
            columns=(
                _channel(),
                Column("joined", _("New customers"), "count"),
                Column("buyers", _("Buyers"), "count"),
                Column("conversion_rate", _("Conversion rate (%)"), "percent", plot="bar"),
                Column("revenue", _("Revenue"), "money", plot="line", axis="y1"),
                Column("revenue_per_customer", _("Revenue per new customer"), "money"),
            ),
            compute=channel_conversion,
        ),
    )
}


def _deal_charts() -> tuple[Chart, ...]:
    currency = settings.DEFAULT_CURRENCY
    return (
        Chart(
            key="pipeline",
            title=_("Pipeline value by stage"),
            explanation=_lazy_format(
                _(
                    "Open deals of active customers by stage, now: their amount and their "
                    "amount weighted by the stage's win probability, in %(currency)s. Deals "
                    "in another currency are counted apart and left out of the amounts."
                ),
                currency=currency,
            ),
            columns=(
                Column("stage", _("Stage"), "names"),
                Column("deals", _("Open deals"), "count"),
                Column("amount", _("Amount"), "money", plot="bar"),
                Column("weighted", _("Weighted amount"), "money", plot="bar"),
                Column("other_currency", _("Deals in other currencies"), "count"),
            ),
            compute=pipeline_by_stage,
        ),
        Chart(
            key="win-rate",
            title=_("Win rate"),
            explanation=_lazy_format(
                _(
                    "Deals won or lost in the period: every owner together, then the %(top)d "
                    "owners who closed the most. The win rate is won ÷ (won + lost)."
                ),
                top=TOP_OWNERS,
            ),
            columns=(
                Column("owner", _("Owner"), "category", _OWNERS),
                Column("won", _("Won"), "count", plot="bar"),
                Column("lost", _("Lost"), "count", plot="bar"),
                Column("win_rate", _("Win rate (%)"), "percent", plot="line", axis="y1"),
            ),
            compute=win_rate,
        ),
        Chart(
            key="forecast",
            title=_("Deals won and forecast by month"),
            explanation=_lazy_format(
                _(
                    "Amount of the deals won in each month of the period, and of the open "
                    "deals expected to close in each of the next %(months)d months, also "
                    "weighted by their stage's win probability (a passed close date counts in "
                    "the current month), in %(currency)s."
                ),
                months=FORECAST_MONTHS,
                currency=currency,
            ),
            columns=(
                Column("month", _("Month"), "month"),
                Column("won", _("Won"), "money", plot="bar"),
                Column("open", _("Open, expected to close"), "money"),
                Column("weighted", _("Weighted forecast"), "money", plot="bar"),
            ),
            compute=deal_forecast,
        ),
    )


CHARTS.update((chart.key, chart) for chart in _deal_charts())
