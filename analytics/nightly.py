"""The nightly analytics run, in the order each part needs the one before: metrics and stages,
the churn model on them, the segments built on both, then the dashboards' figures. The beat,
the *Recompute now* button and the demo data all run this: one kind of job on the job runner
(kernel/jobs/runner.py), a `MetricsRun` row; the refresh_metrics command runs its first part
alone (`metrics_only`)."""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from analytics.churn import train_churn_model
from analytics.dashboards.cache import warm_dashboards
from analytics.metrics import compute_metrics
from analytics.models import MetricsRun, SegmentMember
from analytics.segments.ready_made import ensure_ready_made_segments
from analytics.segments.refresh import refresh_segments
from customers.models import Customer, LifecycleStageChange
from interactions.models import Product, TransactionLine
from kernel.jobs.runner import JobKind, JobRun
from kernel.models import JobStatus
from kernel.table_statistics import analyze_stale_tables, analyze_tables

# What the churn model, segments and dashboards read besides what the metrics refresh has
# brought up to date (analytics.metrics.TABLES_READ): analysed first where stale, so that the
# run does not depend on autovacuum having caught up with the day's bulk writes.
TABLES_READ_AFTER_METRICS = (
    Customer.tags.through,
    TransactionLine,
    Product,
    LifecycleStageChange,
)


class AnalyticsRefreshKind(JobKind[MetricsRun]):
    """Everything analysts read, recomputed. One runs at a time; a run whose worker died
    starts over, and one silent for two hours (a whole run takes minutes at a million
    customers) is given up, so that it no longer blocks the next."""

    model = MetricsRun
    audit_prefix = "metrics.refresh"
    seen_with = ("analytics.view_segment",)
    followed_at = "segments:list"
    time_limit = datetime.timedelta(hours=2)
    unexpected_failure = _("The recomputation stopped because of an internal error.")

    def work(self, run: JobRun[MetricsRun]) -> None:
        compute_metrics(run.job)
        if run.job.metrics_only:
            return
        run.check()
        # A failed training is recorded on its own row, with the previous scores kept; it
        # does not keep the segments or dashboards back.
        train_churn_model()
        run.check()
        analyze_stale_tables(TABLES_READ_AFTER_METRICS)
        ensure_ready_made_segments()
        refresh_segments()
        # Every segment's members were just rewritten in bulk; lists, exports and the
        # dashboards' segment filters read them next.
        analyze_tables([SegmentMember])
        run.check()
        warm_dashboards()

    def audit_changes(self, job: MetricsRun) -> dict[str, Any]:
        return {
            "customers": job.customers,
            "stage_changes": job.stage_changes,
            "metrics_only": job.metrics_only,
        }


ANALYTICS_REFRESH = AnalyticsRefreshKind()


def request_refresh(*, actor: Any) -> MetricsRun | None:
    """Queue a run for the worker, once the caller's transaction commits; None when one is
    queued or running already."""
    with transaction.atomic():
        if ANALYTICS_REFRESH.active() is not None:
            return None
        run = MetricsRun.objects.create(created_by=actor, status=JobStatus.QUEUED)
        ANALYTICS_REFRESH.enqueue(run)
    return run


def refresh_analytics() -> MetricsRun | None:
    """The whole run here and now (the beat's task, the demo data); returns it finished."""
    run = MetricsRun.objects.create(status=JobStatus.QUEUED)
    return ANALYTICS_REFRESH.run(run.pk)
