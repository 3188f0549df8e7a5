"""Dashboard figures, cached under keys that name what they are as of (the last finished metrics
refresh and, for a segment's charts, its last membership change), and the nightly warm-up that
fills them."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.core.cache import cache
from django.utils import timezone

from analytics.dashboards.charts import CHARTS, Chart, Scope
from analytics.dashboards.periods import Period, PeriodPreset, preset_period, project_zone
from analytics.models import MetricsRun, Segment

# A chart keyed by a finished refresh is valid until the next one changes the key; the timeout
# only bounds how long unused entries occupy the cache.
CACHE_SECONDS = 2 * 24 * 3600
# Without any finished refresh the figures run up to "now", which moves: keep them briefly.
UNREFRESHED_CACHE_SECONDS = 5 * 60


@dataclass(frozen=True)
class DataVersion:
    """The last finished metrics refresh (None when there has been none: figures then run up
    to the moment they are computed)."""

    run_id: int | None
    as_of: datetime.datetime
    computed_at: datetime.datetime | None = None

    @property
    def token(self) -> str:
        if not self.run_id:
            return "unrefreshed"
        # The time too: an id alone can come back (SQLite reuses a deleted last id).
        computed = int(self.computed_at.timestamp() * 1_000_000) if self.computed_at else 0
        return f"run{self.run_id}-{computed}"

    @property
    def reference_date(self) -> datetime.date:
        return timezone.localtime(self.as_of, project_zone()).date()


def data_version() -> DataVersion:
    """The refresh whose results the metrics table holds: the one whose metrics were committed
    last, even while the rest of its run (churn, segments, this module's warm-up) goes on."""
    run = (
        MetricsRun.objects.filter(computed_at__isnull=False)
        .order_by("-computed_at", "-pk")
        .values("pk", "as_of", "computed_at")
        .first()
    )
    if run is None:
        return DataVersion(run_id=None, as_of=timezone.now())
    return DataVersion(run_id=run["pk"], as_of=run["as_of"], computed_at=run["computed_at"])


def segment_token(segment: Segment) -> str:
    """Changes whenever the segment's members change: every refresh of a dynamic segment and
    every change to a static list sets `refreshed_at` (analytics/segments/refresh.py,
    analytics/segments/services.py)."""
    refreshed = segment.refreshed_at.timestamp() if segment.refreshed_at else "never"
    return f"s{segment.pk}-{refreshed}"


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
