"""The nightly analytics run, in the order each part needs the one before: metrics and stages,
the churn model on them, the segments built on both, then the dashboards' figures. The beat,
the *Recompute now* button and the demo data all run this."""

from __future__ import annotations

import logging

from analytics.churn import train_churn_model
from analytics.dashboards.cache import warm_dashboards
from analytics.metrics import refresh_metrics
from analytics.models import MetricsRun, SegmentMember
from analytics.segments.ready_made import ensure_ready_made_segments
from analytics.segments.refresh import refresh_segments
from customers.models import Customer, LifecycleStageChange
from interactions.models import Product, TransactionLine
from kernel.table_statistics import analyze_stale_tables, analyze_tables

logger = logging.getLogger(__name__)

# What the churn model, segments and dashboards read besides what the metrics refresh has
# brought up to date (analytics.metrics.TABLES_READ): analysed first where stale, so that the
# run does not depend on autovacuum having caught up with the day's bulk writes.
TABLES_READ_AFTER_METRICS = (
    Customer.tags.through,
    TransactionLine,
    Product,
    LifecycleStageChange,
)


def refresh_analytics(*, queued_run_id: int | None = None) -> MetricsRun | None:
    """Recompute everything analysts read. A failed churn model (recorded as failed, its
    previous scores kept) is logged and does not keep the segments or dashboards back. With
    `queued_run_id` (metrics.request_refresh), nothing if that run was taken already."""
    run = refresh_metrics(queued_run_id=queued_run_id)
    if run is None:
        return None
    try:
        train_churn_model()
    except Exception:
        logger.exception("Churn model training failed; the previous scores were kept")
    analyze_stale_tables(TABLES_READ_AFTER_METRICS)
    ensure_ready_made_segments()
    refresh_segments()
    # Every segment's members were just rewritten in bulk; lists, exports and the
    # dashboards' segment filters read them next.
    analyze_tables([SegmentMember])
    warm_dashboards()
    return run
