"""Dashboard figures: a registry of charts, each a small table computed set-based (GROUP BY in
the database, never a loop over customers) for a period and optionally one segment, and cached.

Reading rules every chart shares:

- Only active customers count: merged tombstones and archived customers are left out, and so are
  their orders and interactions (a static segment may still list a tombstone). Interactions
  moved to the archive (interactions/archive.py) count like the others.
- Figures are as of the last finished metrics refresh (`MetricsRun.as_of`): the per-customer
  figures (orders, lifetime value, first purchase, repeat buyer) come from CustomerMetrics, and
  orders, interactions and new customers later than the refresh are not counted until the next
  one, so that every chart on a page describes the same moment and a cached chart is never
  staler than the metrics it sits beside. Lifecycle stages are read as they are.
- Preset periods end on the day of that refresh ("last 30 days" = the 30 days up to it), so
  their cache keys stay the same until the next refresh, which `warm_dashboards` fills.
- Months are calendar months in the project's time zone (settings.TIME_ZONE), on both engines.

Cached values hold raw keys and numbers only (stage and channel keys, first days of months,
Decimals); labels are applied when a table is shown, so one cached table serves every language.
"""

from __future__ import annotations

import datetime
import zoneinfo
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, DateField, Exists, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.functional import Promise, lazy
from django.utils.translation import gettext_lazy as _

from analytics.models import CustomerMetrics, MetricsRun, Segment, SegmentMember
from customers.models import Customer, LifecycleStage, SourceChannel
from interactions.models import (
    ArchivedInteraction,
    Interaction,
    InteractionKind,
    Transaction,
    TransactionStatus,
)
from interactions.selectors import archive_may_hold
from kernel.models import JobStatus

CENT = Decimal("0.01")
# A chart keyed by a finished refresh is valid until the next one changes the key; the timeout
# only bounds how long unused entries occupy the cache.
CACHE_SECONDS = 2 * 24 * 3600
# Without any finished refresh the figures run up to "now", which moves: keep them briefly.
UNREFRESHED_CACHE_SECONDS = 5 * 60
TOP_CITIES = 15
COHORT_MONTHS = 12
# Dates outside these years are refused by the period form (and would overflow date sums).
FIRST_YEAR, LAST_YEAR = 1900, 2999
# The row that sums the cities after the top ones (no typed city can start with NUL).
OTHER_CITIES = "\x00other"


# --- Periods ----------------------------------------------------------------------------------


class PeriodPreset:
    LAST_30_DAYS = "30d"
    LAST_90_DAYS = "90d"
    LAST_12_MONTHS = "12m"
    THIS_YEAR = "year"
    ALL_TIME = "all"
    CUSTOM = "custom"

    choices = (
        (LAST_30_DAYS, _("Last 30 days")),
        (LAST_90_DAYS, _("Last 90 days")),
        (LAST_12_MONTHS, _("Last 12 months")),
        (THIS_YEAR, _("This year")),
        (ALL_TIME, _("All time")),
        (CUSTOM, _("Custom dates")),
    )
    # Every preset but custom: what the nightly warm-up computes.
    presets = (LAST_30_DAYS, LAST_90_DAYS, LAST_12_MONTHS, THIS_YEAR, ALL_TIME)
    default = LAST_12_MONTHS


@dataclass(frozen=True)
class Period:
    """Days `start` to `end`, both included, in the project's time zone; no start: from the
    beginning."""

    start: datetime.date | None
    end: datetime.date
    preset: str = PeriodPreset.CUSTOM

    @property
    def key(self) -> str:
        return f"{self.start.isoformat() if self.start else 'start'}..{self.end.isoformat()}"

    def query(self) -> dict[str, str]:
        """The query-string parameters that select this period again."""
        if self.preset != PeriodPreset.CUSTOM:
            return {"period": self.preset}
        return {
            "period": PeriodPreset.CUSTOM,
            "start": self.start.isoformat() if self.start else "",
            "end": self.end.isoformat(),
        }

    def bounds(
        self, as_of: datetime.datetime
    ) -> tuple[datetime.datetime | None, datetime.datetime]:
        """[lower, upper): local midnight of the start day, and the earlier of midnight after
        the end day and `as_of` (nothing later than the refresh counts)."""
        zone = _zone()
        lower = (
            datetime.datetime.combine(self.start, datetime.time.min, tzinfo=zone)
            if self.start
            else None
        )
        after_end = datetime.datetime.combine(
            self.end + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone
        )
        # Strictly after as_of is excluded: a refresh at 01:00 counts what happened up to 01:00.
        upper = min(after_end, as_of + datetime.timedelta(microseconds=1))
        return lower, upper


def preset_period(preset: str, *, reference: datetime.date) -> Period:
    """The period a preset names, ending on `reference` (the day of the last refresh)."""
    if preset == PeriodPreset.LAST_30_DAYS:
        start = reference - datetime.timedelta(days=29)
    elif preset == PeriodPreset.LAST_90_DAYS:
        start = reference - datetime.timedelta(days=89)
    elif preset == PeriodPreset.LAST_12_MONTHS:
        # Twelve calendar months, the current one included, so monthly charts show 12 bars.
        start = _add_months(reference.replace(day=1), -11)
    elif preset == PeriodPreset.THIS_YEAR:
        start = reference.replace(month=1, day=1)
    elif preset == PeriodPreset.ALL_TIME:
        start = None
    else:
        raise ValueError(preset)
    return Period(start=start, end=reference, preset=preset)


def _zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def _add_months(month: datetime.date, count: int) -> datetime.date:
    index = month.year * 12 + month.month - 1 + count
    return datetime.date(index // 12, index % 12 + 1, 1)


def _months_between(first: datetime.date, later: datetime.date) -> int:
    return (later.year - first.year) * 12 + later.month - first.month


def _month_range(first: datetime.date, last: datetime.date) -> list[datetime.date]:
    return [_add_months(first, n) for n in range(_months_between(first, last) + 1)]


# --- What the figures are as of -------------------------------------------------------------


@dataclass(frozen=True)
class DataVersion:
    """The last finished metrics refresh (None when there has been none: figures then run up
    to the moment they are computed)."""

    run_id: int | None
    as_of: datetime.datetime
    finished_at: datetime.datetime | None = None

    @property
    def token(self) -> str:
        if not self.run_id:
            return "unrefreshed"
        # The finish time too: an id alone can come back (SQLite reuses a deleted last id).
        finished = int(self.finished_at.timestamp() * 1_000_000) if self.finished_at else 0
        return f"run{self.run_id}-{finished}"

    @property
    def reference_date(self) -> datetime.date:
        return timezone.localtime(self.as_of, _zone()).date()


def data_version() -> DataVersion:
    """The refresh whose results the metrics table holds: the one that finished last."""
    run = (
        MetricsRun.objects.filter(status=JobStatus.DONE)
        .order_by("-finished_at", "-pk")
        .values("pk", "as_of", "finished_at")
        .first()
    )
    if run is None:
        return DataVersion(run_id=None, as_of=timezone.now())
    return DataVersion(run_id=run["pk"], as_of=run["as_of"], finished_at=run["finished_at"])


def segment_token(segment: Segment) -> str:
    """Changes whenever the segment's members change: every refresh of a dynamic segment and
    every change to a static list sets `refreshed_at` (analytics.segments)."""
    refreshed = segment.refreshed_at.timestamp() if segment.refreshed_at else "never"
    return f"s{segment.pk}-{refreshed}"


# --- Charts -----------------------------------------------------------------------------------


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
        upper = timezone.localtime(self.bounds[1] - datetime.timedelta(microseconds=1), _zone())
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
    return TruncMonth(field, output_field=DateField(), tzinfo=_zone())


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
    return [(month, *found.get(month, empty)) for month in _month_range(first, last)]


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
    zone = _zone()
    # Orders up to 12 months after the last cohort month, and never after the refresh.
    horizon = datetime.datetime.combine(
        _add_months(max(sizes), COHORT_MONTHS + 1), datetime.time.min, tzinfo=zone
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
        offset = _months_between(cohort, month)
        if 1 <= offset <= COHORT_MONTHS:
            returning[(cohort, offset)] = buyers
    observed = timezone.localtime(scope.as_of, zone).date().replace(day=1)
    return [
        (
            cohort,
            size,
            *(
                _rate(returning.get((cohort, offset), 0), size)
                if _add_months(cohort, offset) <= observed
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


def _lazy_format(text: str | Promise, **values: Any) -> Promise:
    """`text % values`, translated when shown rather than when the module loads."""
    return lazy(lambda: str(text) % values, str)()


_STAGES = dict(LifecycleStage.choices)
_CHANNELS = {**dict(SourceChannel.choices), "": _("Unknown")}
_CITIES = {"": _("No city"), OTHER_CITIES: _("Other cities")}


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


# --- Reading, caching, warming --------------------------------------------------------------


def cache_key(chart: Chart, period: Period, segment: Segment | None, version: DataVersion) -> str:
    """Chart, period (its dates), segment (and its membership version) and the refresh: a new
    refresh or segment refresh makes new keys, so nothing is ever invalidated by hand."""
    who = segment_token(segment) if segment is not None else "all"
    return f"dashboards:1:{chart.key}:{period.key}:{who}:{version.token}"


def chart_rows(
    chart: Chart,
    period: Period,
    *,
    segment: Segment | None = None,
    version: DataVersion | None = None,
) -> list[tuple]:
    """The chart's rows for the period (and segment), from the cache or computed and cached.
    Rows are tuples of plain values in the order of `chart.columns`."""
    version = version or data_version()
    key = cache_key(chart, period, segment, version)
    rows = cache.get(key)
    if rows is None:
        rows = chart.compute(Scope(period=period, as_of=version.as_of, segment=segment))
        timeout = CACHE_SECONDS if version.run_id else UNREFRESHED_CACHE_SECONDS
        cache.set(key, rows, timeout)
    return rows


def warm_dashboards(*, segments: bool = True) -> int:
    """Compute and cache every chart for every preset period over the whole base, and (with
    `segments`) every segment's charts for the default period: call it after the nightly
    metrics and segment refresh. Idempotent (already cached charts are left as they are).
    Returns how many charts were read or computed."""
    version = data_version()
    reference = version.reference_date
    count = 0
    for preset in PeriodPreset.presets:
        period = preset_period(preset, reference=reference)
        for chart in CHARTS.values():
            chart_rows(chart, period, version=version)
            count += 1
    if segments:
        period = preset_period(PeriodPreset.default, reference=reference)
        for segment in Segment.objects.order_by("pk"):
            for chart in CHARTS.values():
                chart_rows(chart, period, segment=segment, version=version)
                count += 1
    return count


# --- Presenting -------------------------------------------------------------------------------


def display_value(column: Column, value: Any) -> str:
    """A cell as the table and the CSV file show it (the same text in both)."""
    if value is None:
        return ""
    if column.kind == "category":
        return str((column.choices or {}).get(value, value))
    if column.kind == "month":
        return value.strftime("%Y-%m")
    if column.kind == "money":
        return f"{value:.2f}"
    if column.kind == "percent":
        return f"{value:.1f}"
    if column.kind == "score":
        return f"{value:.2f}"
    return str(value)


def display_rows(chart: Chart, rows: Iterable[tuple]) -> list[list[str]]:
    return [
        [display_value(column, value) for column, value in zip(chart.columns, row, strict=True)]
        for row in rows
    ]


def headers(chart: Chart) -> list[str]:
    return [str(column.label) for column in chart.columns]


def chart_payload(chart: Chart, rows: list[tuple]) -> dict[str, Any]:
    """What dashboards.js draws: category labels, and one dataset per plotted column (numbers,
    null where there is no figure)."""
    first, *values = chart.columns
    return {
        "drawing": chart.drawing,
        "labels": [display_value(first, row[0]) for row in rows],
        "datasets": [
            {
                "label": str(column.label),
                "kind": column.kind,
                "plot": column.plot,
                "axis": column.axis,
                "data": [None if row[index] is None else float(row[index]) for row in rows],
            }
            for index, column in enumerate(values, start=1)
            if column.plot
        ],
    }


def cohort_shade(value: float | None, top: float) -> int | None:
    """0–10: the shading step of a retention cell, relative to the table's largest share
    `top` (retention is often 10–30 %: absolute steps would leave every cell pale); None for
    a blank cell."""
    if value is None:
        return None
    return round(10 * value / top) if top else 0
