"""Dashboards: every chart's figures against a plain Python computation over generated history
(for a period, for all time, for a segment), on both engines; CSV downloads; permissions;
caching keyed by the metrics refresh."""

from __future__ import annotations

import codecs
import csv
import datetime
import io
import random
import zoneinfo
from collections import Counter, defaultdict
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from analytics.dashboards.cache import cache_key, chart_rows, data_version, warm_dashboards
from analytics.dashboards.charts import CHARTS, OTHER_CITIES
from analytics.dashboards.display import display_rows, headers
from analytics.dashboards.periods import Period, PeriodPreset, preset_period
from analytics.metrics import refresh_metrics
from analytics.models import CustomerMetrics, Segment, SegmentKind, SegmentMember
from analytics.segments.services import add_members
from customers import services
from customers.models import Customer, LifecycleStage
from interactions.models import Interaction, InteractionKind, Transaction, TransactionStatus
from privacy import roles
from privacy.models import AuditEvent
from sales.models import Deal, Stage, StageKind
from tests.factories import CustomerFactory, InteractionFactory, TransactionFactory, UserFactory

pytestmark = pytest.mark.django_db

ZONE = zoneinfo.ZoneInfo(settings.TIME_ZONE)
AS_OF = datetime.datetime(2026, 6, 30, 12, 0, tzinfo=ZONE)
CENT = Decimal("0.01")
CHANNELS = ("store", "wechat", "web_form", "referral", "")
# 18 cities, so that the top 15 and "other cities" both show; one is a formula to Excel.
CITIES = ("上海", "北京", "广州", "深圳", "杭州", '=HYPERLINK("http://x")', "成都", "武汉", "西安",
          "南京", "重庆", "天津", "苏州", "长沙", "郑州", "青岛", "沈阳", "")  # fmt: skip
START = datetime.datetime(2024, 5, 1, tzinfo=ZONE)


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


def _at(rng: random.Random, start=START, end=AS_OF) -> datetime.datetime:
    seconds = int((end - start).total_seconds())
    return start + datetime.timedelta(seconds=rng.randint(0, seconds))


def _customer(rng: random.Random, index: int, *, created_at=None) -> Customer:
    customer = CustomerFactory(
        name=f"Customer {index}",
        source_channel=rng.choice(CHANNELS),
        city=rng.choice(CITIES),
        lifecycle_stage=rng.choice([LifecycleStage.LEAD, LifecycleStage.PROSPECT]),
    )
    created = created_at or _at(rng)
    Customer.objects.filter(pk=customer.pk).update(created_at=created)
    customer.created_at = created
    return customer


def _deals(customer: Customer, rng: random.Random, owners: list, count: int) -> None:
    """Deals in every kind of stage, some in another currency, some without a close date or
    owner, some created after the refresh."""
    stages = list(Stage.objects.filter(pipeline__is_default=True))
    for _ in range(count):
        stage = rng.choice(stages)
        closed = _at(rng) if stage.kind != StageKind.OPEN else None
        Deal.objects.create(
            customer=customer,
            title="Deal",
            pipeline=stage.pipeline,
            stage=stage,
            owner=rng.choice(owners),
            amount=Decimal(rng.randint(1, 99_999)) / 100,
            currency=rng.choice(("CNY", "CNY", "CNY", "USD")),
            expected_close_date=rng.choice(
                (
                    None,
                    _at(rng).date(),
                    (AS_OF + datetime.timedelta(days=rng.randint(0, 500))).date(),
                )
            ),
            won_at=closed if stage.kind == StageKind.WON else None,
            lost_at=closed if stage.kind == StageKind.LOST else None,
            closed_at=closed,
            created_at=_at(rng, end=AS_OF + datetime.timedelta(days=3)),
        )


def _history(customer: Customer, rng: random.Random, *, orders: int, interactions: int) -> None:
    for _ in range(orders):
        TransactionFactory(
            customer=customer,
            occurred_at=_at(rng),
            amount=Decimal(rng.randint(100, 900_000)) / 100,
            status=rng.choice(
                [TransactionStatus.PAID] * 4
                + [TransactionStatus.REFUNDED, TransactionStatus.CANCELLED]
            ),
        )
    for _ in range(interactions):
        InteractionFactory(
            customer=customer,
            kind=rng.choice(
                [InteractionKind.CALL, InteractionKind.COMPLAINT, InteractionKind.FEEDBACK]
            ),
            occurred_at=_at(rng),
            satisfaction=rng.choice((None, 1, 2, 3, 4, 5)),
        )


@pytest.fixture
def world():
    """60 customers over two years (several channels, cities and stages), with orders and
    interactions; a merged tombstone and an archived customer that still carry history, a
    customer who joined after the refresh, orders after it; metrics refreshed as of AS_OF; a
    static segment of a third of the customers plus the tombstone."""
    rng = random.Random(7)
    customers = [_customer(rng, index) for index in range(60)]
    for customer in customers:
        _history(
            customer,
            rng,
            orders=rng.choice((0, 0, 1, 1, 2, 3, 5, 8)),
            interactions=rng.randint(0, 5),
        )
    # Long-gone buyers, so that the churned stage is represented.
    for customer in customers[:6]:
        TransactionFactory(
            customer=customer,
            occurred_at=START + datetime.timedelta(days=3),
            amount=Decimal("88.00"),
        )
    tombstone = _customer(rng, 100)
    _history(tombstone, rng, orders=4, interactions=4)
    Customer.objects.filter(pk=tombstone.pk).update(merged_into=customers[0])
    archived = _customer(rng, 101)
    _history(archived, rng, orders=4, interactions=4)
    services.archive_customer(actor=None, customer=archived)
    owners = [None, *(UserFactory(username=f"seller{n}") for n in range(12))]
    for customer in [*customers, tombstone, archived]:
        _deals(customer, rng, owners, rng.choice((0, 1, 2, 3)))
    late = _customer(rng, 102, created_at=AS_OF + datetime.timedelta(days=2))
    TransactionFactory(customer=late, occurred_at=AS_OF + datetime.timedelta(days=2))
    TransactionFactory(customer=customers[1], occurred_at=AS_OF + datetime.timedelta(hours=1))
    refresh_metrics(as_of=AS_OF)
    segment = Segment.objects.create(name="Hand-picked", kind=SegmentKind.STATIC)
    members = [*customers[::3], tombstone, archived]
    SegmentMember.objects.bulk_create(SegmentMember(segment=segment, customer=c) for c in members)
    return {"segment": segment}


# --- The same figures in plain Python ---------------------------------------------------------


def _local_day(moment: datetime.datetime) -> datetime.date:
    return timezone.localtime(moment, ZONE).date()


def _month(moment: datetime.datetime) -> datetime.date:
    return _local_day(moment).replace(day=1)


def _in(period: Period, moment: datetime.datetime) -> bool:
    day = _local_day(moment)
    return (period.start is None or day >= period.start) and day <= period.end and moment <= AS_OF


def _plus(month: datetime.date, count: int) -> datetime.date:
    index = month.year * 12 + month.month - 1 + count
    return datetime.date(index // 12, index % 12 + 1, 1)


def _rate(part: int, whole: int):
    return round(100 * part / whole, 1) if whole else None


def _cents(value) -> Decimal:
    return Decimal(value).quantize(CENT, ROUND_HALF_UP)


def _months(period: Period, found: dict, empty: tuple) -> list[tuple]:
    if not found and period.start is None:
        return []
    first = period.start.replace(day=1) if period.start else min(found)
    last = max([_month(min(AS_OF, _end_of(period))), *found])
    rows, month = [], first
    while month <= last:
        rows.append((month, *found.get(month, empty)))
        month = _plus(month, 1)
    return rows


def _end_of(period: Period) -> datetime.datetime:
    return datetime.datetime.combine(period.end, datetime.time.max, tzinfo=ZONE)


class Expected:
    """Every chart recomputed from the rows, one customer at a time."""

    def __init__(self, period: Period, segment: Segment | None = None):
        self.period = period
        members = (
            set(SegmentMember.objects.filter(segment=segment).values_list("customer_id", flat=True))
            if segment
            else None
        )
        self.active = {
            c.pk: c
            for c in Customer.objects.all()
            if c.merged_into_id is None
            and c.archived_at is None
            and (members is None or c.pk in members)
        }
        self.paid: dict[int, list[Transaction]] = defaultdict(list)
        for order in Transaction.objects.filter(status=TransactionStatus.PAID):
            if order.customer_id in self.active and order.occurred_at <= AS_OF:
                self.paid[order.customer_id].append(order)
        self.interactions = [
            i
            for i in Interaction.objects.all()
            if i.customer_id in self.active and _in(period, i.occurred_at)
        ]
        self.joined = [c for c in self.active.values() if _in(period, c.created_at)]
        self.deals = [
            d
            for d in Deal.objects.select_related("stage", "owner")
            if d.customer_id in self.active and d.created_at <= AS_OF
        ]

    def pipeline(self):
        rows = []
        for stage in Stage.objects.filter(kind=StageKind.OPEN).order_by("order"):
            open_deals = [d for d in self.deals if d.stage_id == stage.pk and d.closed_at is None]
            local = [d for d in open_deals if d.currency == settings.DEFAULT_CURRENCY]
            amount = sum((d.amount for d in local), Decimal(0))
            weighted = sum((d.amount * stage.win_probability / 100 for d in local), Decimal(0))
            rows.append(
                (
                    (f"Sales › {stage.name}", f"销售 › {stage.name_zh}"),
                    len(open_deals),
                    _cents(amount),
                    _cents(weighted),
                    len(open_deals) - len(local),
                )
            )
        return rows

    def win_rate(self):
        closed = [d for d in self.deals if d.closed_at and _in(self.period, d.closed_at)]
        if not closed:
            return []
        by_owner: dict = defaultdict(lambda: [0, 0])
        for d in closed:
            owner = d.owner
            name = (
                (
                    f"{owner.get_full_name()} ({owner.username})"
                    if owner.get_full_name()
                    else owner.username
                )
                if owner
                else "\x00nobody"
            )
            by_owner[name][0 if d.won_at else 1] += 1
        owners = sorted(by_owner.items(), key=lambda row: (-sum(row[1]), row[0]))
        won, lost = sum(w for _, (w, _l) in owners), sum(lost for _, (_w, lost) in owners)
        rows = [("\x00all", won, lost, _rate(won, won + lost))]
        rows += [(name, w, lost, _rate(w, w + lost)) for name, (w, lost) in owners[:10]]
        if owners[10:]:
            w, lost = (sum(figures[i] for _, figures in owners[10:]) for i in (0, 1))
            rows.append(("\x00other", w, lost, _rate(w, w + lost)))
        return rows

    def forecast(self):
        this_month = _month(AS_OF)
        found: dict = defaultdict(lambda: [Decimal(0)] * 3)
        for d in self.deals:
            if d.currency != settings.DEFAULT_CURRENCY:
                continue
            if d.won_at and _in(self.period, d.won_at):
                found[_month(d.won_at)][0] += d.amount
            if d.closed_at is None and d.expected_close_date:
                month = max(d.expected_close_date.replace(day=1), this_month)
                if month < _plus(this_month, 12):
                    found[month][1] += d.amount
                    found[month][2] += d.amount * d.stage.win_probability / 100
        if not found:
            return []
        first = self.period.start.replace(day=1) if self.period.start else min(found)
        last = max([_plus(this_month, 11), *found])
        rows, month = [], first
        while month <= last:
            rows.append((month, *(_cents(v) for v in found.get(month, [0, 0, 0]))))
            month = _plus(month, 1)
        return rows

    def _sorted_counts(self, values) -> list[tuple]:
        return sorted(Counter(values).items(), key=lambda row: (-row[1], row[0]))

    def stages(self):
        counts = Counter(c.lifecycle_stage for c in self.joined)
        return [(stage, counts.get(stage, 0)) for stage in LifecycleStage.values]

    def channels(self):
        return self._sorted_counts(c.source_channel for c in self.joined)

    def cities(self):
        rows = self._sorted_counts(c.city for c in self.joined)
        if len(rows) > 15:
            rows = [*rows[:15], (OTHER_CITIES, sum(n for _, n in rows[15:]))]
        return rows

    def new_customers(self):
        found = Counter(_month(c.created_at) for c in self.joined)
        return _months(self.period, {m: (n,) for m, n in found.items()}, (0,))

    def revenue(self):
        found: dict = {}
        for orders in self.paid.values():
            for order in orders:
                if _in(self.period, order.occurred_at):
                    revenue, count = found.get(_month(order.occurred_at), (Decimal(0), 0))
                    found[_month(order.occurred_at)] = (revenue + order.amount, count + 1)
        return _months(self.period, found, (Decimal("0.00"), 0))

    def _by_channel(self):
        groups: dict[str, list[Customer]] = defaultdict(list)
        for customer in self.joined:
            groups[customer.source_channel].append(customer)
        return groups

    def channel_value(self):
        rows = []
        for channel, group in self._by_channel().items():
            buyers = [c for c in group if self.paid[c.pk]]
            if not buyers:
                continue
            revenue = sum((o.amount for c in buyers for o in self.paid[c.pk]), Decimal(0))
            rows.append(
                (
                    channel,
                    len(buyers),
                    _rate(sum(len(self.paid[c.pk]) >= 2 for c in buyers), len(buyers)),
                    _rate(
                        sum(c.lifecycle_stage == LifecycleStage.CHURNED for c in buyers),
                        len(buyers),
                    ),
                    _cents(revenue / len(buyers)),
                )
            )
        return sorted(rows, key=lambda row: (-row[1], row[0]))

    def conversion(self):
        rows = []
        for channel, group in self._by_channel().items():
            buyers = [c for c in group if self.paid[c.pk]]
            revenue = sum((o.amount for c in buyers for o in self.paid[c.pk]), Decimal(0))
            rows.append(
                (
                    channel,
                    len(group),
                    len(buyers),
                    _rate(len(buyers), len(group)),
                    _cents(revenue),
                    _cents(revenue / len(group)),
                )
            )
        return sorted(rows, key=lambda row: (-row[1], row[0]))

    def cohorts(self):
        cohorts: dict[datetime.date, list[int]] = defaultdict(list)
        for pk, orders in self.paid.items():
            if not orders:
                continue
            first = min(o.occurred_at for o in orders)
            if _in(self.period, first):
                cohorts[_month(first)].append(pk)
        observed = _month(AS_OF)
        rows = []
        for cohort in sorted(cohorts):
            members = cohorts[cohort]
            cells = []
            for offset in range(1, 13):
                month = _plus(cohort, offset)
                again = sum(
                    any(_month(o.occurred_at) == month for o in self.paid[pk]) for pk in members
                )
                cells.append(_rate(again, len(members)) if month <= observed else None)
            rows.append((cohort, len(members), *cells))
        return rows

    def service(self):
        found: dict = {}
        for interaction in self.interactions:
            month = _month(interaction.occurred_at)
            complaints, rated, total = found.get(month, (0, 0, 0))
            found[month] = (
                complaints + (interaction.kind == InteractionKind.COMPLAINT),
                rated + (interaction.satisfaction is not None),
                total + (interaction.satisfaction or 0),
            )
        return _months(
            self.period,
            {m: (c, r, round(t / r, 2) if r else None) for m, (c, r, t) in found.items()},
            (0, 0, None),
        )


EXPECTED = {
    "stages": Expected.stages,
    "channels": Expected.channels,
    "cities": Expected.cities,
    "new-customers": Expected.new_customers,
    "revenue": Expected.revenue,
    "channel-value": Expected.channel_value,
    "cohorts": Expected.cohorts,
    "service": Expected.service,
    "conversion": Expected.conversion,
    "pipeline": Expected.pipeline,
    "win-rate": Expected.win_rate,
    "forecast": Expected.forecast,
}
PERIODS = {
    "one year": Period(start=datetime.date(2025, 7, 1), end=datetime.date(2026, 6, 30)),
    "days inside months": Period(start=datetime.date(2024, 9, 14), end=datetime.date(2025, 11, 3)),
    "all time": preset_period(PeriodPreset.ALL_TIME, reference=AS_OF.date()),
}


def _normalised(rows):
    """Money as cents, the engines' only representational difference."""
    return [
        tuple(_cents(value) if isinstance(value, Decimal) else value for value in row)
        for row in rows
    ]


def test_every_chart_has_an_expected_computation():
    assert set(EXPECTED) == set(CHARTS)


@pytest.mark.parametrize("period_name", PERIODS)
@pytest.mark.parametrize("in_segment", [False, True], ids=["everyone", "segment"])
def test_every_chart_equals_a_plain_python_computation(world, period_name, in_segment):
    period = PERIODS[period_name]
    segment = world["segment"] if in_segment else None
    expected = Expected(period, segment)
    assert expected.joined, "the generated history covers the period"
    for key, chart in CHARTS.items():
        rows = chart_rows(chart, period, segment=segment)
        assert _normalised(rows) == _normalised(EXPECTED[key](expected)), key
        assert all(len(row) == len(chart.columns) for row in rows), key


def test_the_history_exercises_every_rule(world):
    """The comparisons above would prove little on data without these cases."""
    expected = Expected(PERIODS["all time"])
    assert any(row[3] for row in expected.channel_value()), "churned buyers"
    assert any(row[2] for row in expected.channel_value()), "repeat buyers"
    assert len(expected.cities()) == 16
    assert expected.cities()[-1][0] == OTHER_CITIES
    assert any(row[2] for row in expected.cohorts()), "customers who came back"
    stages = chart_rows(CHARTS["stages"], PERIODS["all time"])
    # The tombstone, the archived customer and the late one are all left out.
    assert sum(n for _, n in stages) == 60


def test_preset_periods_end_on_the_day_of_the_refresh():
    reference = datetime.date(2026, 6, 30)
    assert preset_period("30d", reference=reference) == Period(
        datetime.date(2026, 6, 1), reference, "30d"
    )
    assert preset_period("90d", reference=reference).start == datetime.date(2026, 4, 2)
    assert preset_period("12m", reference=reference).start == datetime.date(2025, 7, 1)
    assert preset_period("year", reference=reference).start == datetime.date(2026, 1, 1)
    assert preset_period("all", reference=reference).start is None


# --- Caching ----------------------------------------------------------------------------------


def test_a_metrics_refresh_brings_new_figures_and_until_then_the_cache_answers(world):
    chart, period = CHARTS["revenue"], PERIODS["all time"]
    before = chart_rows(chart, period)
    customer = Customer.objects.filter(merged_into__isnull=True, archived_at__isnull=True).first()
    # Backdated into the period: only the cache can hide it.
    TransactionFactory(
        customer=customer, occurred_at=AS_OF - datetime.timedelta(days=1), amount=Decimal("1000")
    )
    assert chart_rows(chart, period) == before
    refresh_metrics(as_of=AS_OF)
    after = chart_rows(chart, period)
    assert after != before
    june = {row[0]: row for row in after}[datetime.date(2026, 6, 1)]
    june_before = {row[0]: row for row in before}[datetime.date(2026, 6, 1)]
    assert june[1] - june_before[1] == Decimal("1000.00")
    assert june[2] == june_before[2] + 1


def test_a_static_segment_edit_brings_new_figures(world):
    segment, chart, period = world["segment"], CHARTS["stages"], PERIODS["all time"]
    before = sum(n for _, n in chart_rows(chart, period, segment=segment))
    outsider = Customer.objects.exclude(
        pk__in=SegmentMember.objects.filter(segment=segment).values("customer_id")
    ).filter(merged_into__isnull=True, archived_at__isnull=True, created_at__lte=AS_OF)[0]
    add_members(actor=None, segment=segment, customers=Customer.objects.filter(pk=outsider.pk))
    segment.refresh_from_db()
    after = sum(n for _, n in chart_rows(chart, period, segment=segment))
    assert after == before + 1


def test_warming_caches_every_preset_for_everyone_and_the_default_for_segments(world):
    assert warm_dashboards() == len(CHARTS) * (len(PeriodPreset.presets) + 1)
    version = data_version()
    for preset in PeriodPreset.presets:
        period = preset_period(preset, reference=AS_OF.date())
        for chart in CHARTS.values():
            assert cache.get(cache_key(chart, period, None, version)) is not None
    period = preset_period(PeriodPreset.default, reference=AS_OF.date())
    key = cache_key(CHARTS["cohorts"], period, world["segment"], version)
    assert cache.get(key) is not None


# --- Pages, fragments, downloads ---------------------------------------------------------------


def test_the_page_renders_without_computing_and_each_chart_loads_as_a_fragment(
    world, client, analyst_user, django_assert_max_num_queries
):
    client.force_login(analyst_user)
    with django_assert_max_num_queries(8):
        response = client.get("/dashboards/?period=12m")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Figures as of" in page
    for key in CHARTS:
        assert f'hx-get="/dashboards/charts/{key}/?period=12m"' in page
    assert "vendor/chartjs/chart.umd.min.js" in page
    assert "js/dashboards.js" in page
    assert "<script>" not in page  # no inline script
    fragment = client.get("/dashboards/charts/revenue/?period=12m")
    assert fragment.status_code == 200
    assert 'id="chart-revenue-data" type="application/json"' in fragment.content.decode()
    assert "/dashboards/revenue.csv?period=12m" in fragment.content.decode()
    cohorts = client.get("/dashboards/charts/cohorts/?period=all").content.decode()
    assert "cohort-shade-" in cohorts
    assert "<table" in cohorts


def test_a_cached_fragment_reads_no_figures_from_the_database(world, client, analyst_user):
    client.force_login(analyst_user)
    client.get("/dashboards/charts/cohorts/?period=all")
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/dashboards/charts/cohorts/?period=all").status_code == 200
    tables = (Customer, Transaction, Interaction, CustomerMetrics)
    for query in queries.captured_queries:
        assert not any(model._meta.db_table in query["sql"] for model in tables), query["sql"]
    assert len(queries) <= 6  # session, user, permissions, the refresh


@pytest.mark.parametrize("key", sorted(CHARTS))
def test_csv_matches_the_chart_and_is_formula_safe_and_audited(world, client, analyst_user, key):
    client.force_login(analyst_user)
    segment = world["segment"]
    response = client.get(f"/dashboards/{key}.csv?period=all&segment={segment.pk}")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f"segment-{segment.pk}" in response["Content-Disposition"]
    raw = response.content
    assert raw.startswith(codecs.BOM_UTF8)
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    chart = CHARTS[key]
    rows = chart_rows(chart, PERIODS["all time"], segment=segment)
    assert table[0] == headers(chart)
    assert table[1:] == [
        [f"'{cell}" if cell and cell[0] in "=+-@" else cell for cell in row]
        for row in display_rows(chart, rows)
    ]
    event = AuditEvent.objects.get(action="dashboard.download")
    assert event.actor == analyst_user
    assert event.changes["chart"] == key
    assert event.changes["segment"] == segment.pk


def test_a_formula_in_a_city_name_is_neutralised_in_the_csv(world, client, analyst_user):
    client.force_login(analyst_user)
    text = client.get("/dashboards/cities.csv?period=all").content.decode("utf-8-sig")
    assert "'=HYPERLINK" in text
    assert "\n=HYPERLINK" not in text
    assert ",=HYPERLINK" not in text


def test_csv_headers_follow_the_readers_language(world, client, analyst_user):
    client.force_login(analyst_user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    text = client.get("/dashboards/revenue.csv?period=all").content.decode("utf-8-sig")
    from django.utils import translation

    with translation.override("zh-hans"):
        expected = headers(CHARTS["revenue"])
    assert text.splitlines()[0] == ",".join(expected)


def test_the_segment_dashboard_names_the_segment(world, client, analyst_user):
    client.force_login(analyst_user)
    segment = world["segment"]
    response = client.get(f"/dashboards/segment/{segment.pk}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Hand-picked" in page
    assert f"/dashboards/charts/stages/?period=12m&amp;segment={segment.pk}" in page


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("period=custom&start=2026-05-01&end=2026-01-01", "must not be after"),
        ("period=custom&start=2026-05-01", "both a start and an end"),
        ("period=custom&start=2026-13-01&end=2026-12-01", "Enter a valid date"),
        ("period=custom&start=0900-01-01&end=2026-12-01", "between the years"),
        ("period=decade", "Select a valid choice"),
    ],
)
def test_a_bad_period_is_refused_with_a_clear_message(client, analyst_user, query, message):
    client.force_login(analyst_user)
    for path in ("/dashboards/", "/dashboards/charts/revenue/", "/dashboards/revenue.csv"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 400, path
        assert message in response.content.decode(), path


def test_a_custom_period_reads_its_own_figures(world, client, analyst_user):
    client.force_login(analyst_user)
    response = client.get(
        "/dashboards/charts/stages/?period=custom&start=2025-07-01&end=2026-06-30"
    )
    assert response.status_code == 200
    expected = Expected(PERIODS["one year"]).stages()
    assert response.context["rows"] == [
        [str(LifecycleStage(stage).label), str(n)] for stage, n in expected
    ]


# --- Permissions ------------------------------------------------------------------------------

DASHBOARD_PATHS = ("/dashboards/", "/dashboards/charts/stages/", "/dashboards/stages.csv")


@pytest.mark.parametrize("path", DASHBOARD_PATHS)
def test_anonymous_visitors_are_sent_to_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


@pytest.mark.parametrize(
    ("role", "status"),
    [
        (roles.ANALYST, 200),
        (roles.ADMINISTRATOR, 200),
        (roles.SALES, 403),
        (roles.SERVICE, 403),
        (roles.PRIVACY_OFFICER, 403),
        (None, 403),
    ],
)
@pytest.mark.parametrize("path", DASHBOARD_PATHS)
def test_dashboards_need_the_dashboards_permission(client, make_user, role, status, path):
    client.force_login(make_user(role))
    assert client.get(path).status_code == status


def test_dashboards_need_to_see_every_customer(client):
    user = UserFactory()
    user.user_permissions.add(
        Permission.objects.get(codename="view_dashboards", content_type__app_label="analytics")
    )
    client.force_login(user)
    for path in ("/dashboards/", "/dashboards/charts/stages/", "/dashboards/stages.csv"):
        assert client.get(path).status_code == 403, path


def test_a_segment_dashboard_also_needs_view_segment(client, world):
    segment = world["segment"]
    user = UserFactory()
    user.user_permissions.add(
        *Permission.objects.filter(
            Q(codename="view_dashboards", content_type__app_label="analytics")
            | Q(codename="view_all_customers", content_type__app_label="customers")
        )
    )
    client.force_login(user)
    assert client.get("/dashboards/").status_code == 200
    for path in (
        f"/dashboards/segment/{segment.pk}/",
        f"/dashboards/charts/stages/?segment={segment.pk}",
        f"/dashboards/stages.csv?segment={segment.pk}",
    ):
        assert client.get(path).status_code == 403, path


@pytest.mark.parametrize(
    "path",
    [
        "/dashboards/charts/nonsense/",
        "/dashboards/nonsense.csv",
        "/dashboards/segment/999999/",
        "/dashboards/charts/stages/?segment=999999",
        "/dashboards/charts/stages/?segment=abc",
    ],
)
def test_unknown_charts_and_segments_answer_404(client, analyst_user, path):
    client.force_login(analyst_user)
    assert client.get(path).status_code == 404
