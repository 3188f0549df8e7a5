"""The dashboards' deal charts on a small known set of deals, on both engines: pipeline value by
stage (amount and weighted, other currencies apart), win rate overall and per owner, and the
monthly forecast; the fragment in both languages within its query budget; permissions."""

from __future__ import annotations

import datetime
import zoneinfo
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.cache import cache
from django.utils import translation

from analytics.dashboards.charts import ALL_OWNERS, CHARTS, Scope
from analytics.dashboards.display import display_rows
from analytics.dashboards.periods import PeriodPreset, preset_period
from analytics.metrics import refresh_metrics
from customers import services
from sales.models import Deal, Stage
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db

ZONE = zoneinfo.ZoneInfo(settings.TIME_ZONE)
AS_OF = datetime.datetime(2026, 6, 30, 12, 0, tzinfo=ZONE)
PERIOD = preset_period(PeriodPreset.LAST_12_MONTHS, reference=AS_OF.date())
D = Decimal


def _at(year: int, month: int, day: int) -> datetime.datetime:
    return datetime.datetime(year, month, day, 10, tzinfo=ZONE)


def _deal(customer, stage: str, amount: str, **fields) -> Deal:
    stage_row = Stage.objects.get(pipeline__is_default=True, name=stage)
    fields.setdefault("created_at", _at(2025, 1, 1))
    return Deal.objects.create(
        customer=customer,
        title="Deal",
        pipeline=stage_row.pipeline,
        stage=stage_row,
        amount=D(amount),
        closed_at=fields.get("won_at") or fields.get("lost_at"),
        **fields,
    )


@pytest.fixture
def deals():
    li = UserFactory(username="li", first_name="Li", last_name="Lei")
    wang = UserFactory(username="wang", first_name="", last_name="")
    anna, bo, gone = CustomerFactory(name="Anna"), CustomerFactory(name="Bo"), CustomerFactory()
    services.archive_customer(actor=None, customer=gone)
    _deal(anna, "Proposal", "1000", owner=li, expected_close_date=datetime.date(2026, 7, 15))
    # A passed close date: still expected, in the current month.
    _deal(bo, "Lead", "200", owner=wang, expected_close_date=datetime.date(2026, 5, 10))
    _deal(anna, "Proposal", "500", currency="USD", expected_close_date=datetime.date(2026, 7, 1))
    _deal(bo, "Won", "300", owner=li, won_at=_at(2026, 3, 5))
    _deal(anna, "Lost", "50", owner=li, lost_at=_at(2026, 4, 1))
    _deal(bo, "Won", "700", owner=wang, won_at=_at(2026, 6, 10))
    _deal(anna, "Won", "40", owner=wang, won_at=_at(2025, 1, 1))  # before the period
    _deal(gone, "Proposal", "9999", expected_close_date=datetime.date(2026, 7, 1))
    _deal(anna, "Lead", "100", created_at=AS_OF + datetime.timedelta(hours=1))  # after it
    refresh_metrics(as_of=AS_OF)


def _rows(key: str) -> list[tuple]:
    return CHARTS[key].compute(Scope(period=PERIOD, as_of=AS_OF))


def test_pipeline_value_by_stage(deals):
    rows = _rows("pipeline")
    assert [row[0] for row in rows] == [
        ("Sales › Lead", "销售 › 线索"),
        ("Sales › Qualified", "销售 › 已确认需求"),
        ("Sales › Proposal", "销售 › 方案报价"),
        ("Sales › Negotiation", "销售 › 商务谈判"),
    ]
    assert [row[1:] for row in rows] == [
        (1, D("200.00"), D("20.00"), 0),
        (0, D("0.00"), D("0.00"), 0),
        # The USD deal is counted, apart, and not in the amounts.
        (2, D("1000.00"), D("500.00"), 1),
        (0, D("0.00"), D("0.00"), 0),
    ]
    with translation.override("zh-hans"):
        assert display_rows(CHARTS["pipeline"], rows)[2] == [
            "销售 › 方案报价",
            "2",
            "1000.00",
            "500.00",
            "1",
        ]


def test_win_rate_overall_and_per_owner(deals):
    assert _rows("win-rate") == [
        (ALL_OWNERS, 2, 1, 66.7),
        ("Li Lei (li)", 1, 1, 50.0),
        ("wang", 1, 0, 100.0),
    ]


def test_forecast_by_month(deals):
    rows = {row[0]: row[1:] for row in _rows("forecast")}
    assert min(rows) == datetime.date(2025, 7, 1)
    assert max(rows) == datetime.date(2027, 5, 1)
    assert len(rows) == 23
    zero = D("0.00")
    assert rows[datetime.date(2026, 3, 1)] == (D("300.00"), zero, zero)
    assert rows[datetime.date(2026, 6, 1)] == (D("700.00"), D("200.00"), D("20.00"))
    assert rows[datetime.date(2026, 7, 1)] == (zero, D("1000.00"), D("500.00"))
    assert rows[datetime.date(2026, 5, 1)] == (zero, zero, zero)


def test_the_deal_charts_load_as_fragments_within_their_query_budget(
    deals, client, analyst_user, django_assert_max_num_queries
):
    cache.clear()
    client.force_login(analyst_user)
    for key in ("pipeline", "win-rate", "forecast"):
        # Session, user, permissions, the refresh, then the chart's own queries.
        with django_assert_max_num_queries(8):
            response = client.get(f"/dashboards/charts/{key}/?period=12m")
        assert response.status_code == 200
        assert f'id="chart-{key}-data"' in response.content.decode()
    with translation.override("zh-hans"):
        page = client.get("/dashboards/charts/pipeline/?period=12m", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert "销售 › 方案报价" in page.content.decode()
    csv_file = client.get("/dashboards/win-rate.csv?period=12m")
    assert csv_file.status_code == 200


def test_the_deal_charts_are_for_those_who_see_every_customer(deals, client, sales_user):
    client.force_login(sales_user)
    assert client.get("/dashboards/charts/pipeline/?period=12m").status_code == 403
