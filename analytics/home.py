"""What an analyst's home page shows (crm.views.home): the key figures from the dashboards'
precomputed, cached charts, and the segments with their stored sizes. No count over the
customer table: the chart rows come from the cache the nightly refresh warms."""

from __future__ import annotations

from dataclasses import dataclass

from analytics.dashboards.cache import chart_rows, data_version
from analytics.dashboards.charts import CHARTS
from analytics.dashboards.display import display_rows, headers
from analytics.dashboards.periods import PeriodPreset, preset_period
from analytics.models import Segment
from kernel.actors import Actor

HOME_CHART = "stages"
HOME_SEGMENTS = 10


@dataclass(frozen=True)
class HomeFigures:
    title: str
    headers: list[str]
    rows: list[list[str]]
    segments: list[Segment]


def home_figures(*, user: Actor) -> HomeFigures | None:
    """Customers by lifecycle stage over the dashboards' default period, and the largest
    segments: for holders of `analytics.view_dashboards` who see every customer (the charts
    count the whole base, as the dashboards page); None for anyone else."""
    if not (
        user.has_perm("analytics.view_dashboards") and user.has_perm("customers.view_all_customers")
    ):
        return None
    version = data_version()
    period = preset_period(PeriodPreset.default, reference=version.reference_date)
    chart = CHARTS[HOME_CHART]
    segments = (
        list(Segment.objects.order_by("-size", "name")[:HOME_SEGMENTS])
        if user.has_perm("analytics.view_segment")
        else []
    )
    return HomeFigures(
        title=str(chart.title),
        headers=headers(chart),
        rows=display_rows(chart, chart_rows(chart, period, version=version)),
        segments=segments,
    )
