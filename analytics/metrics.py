"""Per-customer metrics and lifecycle stages, recomputed for everyone in a few set-based SQL
statements (no per-customer Python): one pass over transactions, one over interactions (hot and
archived alike), window functions for the RFM quintiles, then the stage rules applied and their
changes recorded.

Both engines run the same statements but for two expressions (days between two timestamps, a
JSON object built from rows), which `_Dialect` supplies.
"""

from __future__ import annotations

import datetime
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from analytics.audit import MetricsAction
from analytics.models import CustomerMetrics, MetricsRun
from customers.models import Customer, LifecycleStage, LifecycleStageChange
from interactions.models import (
    ArchivedInteraction,
    Interaction,
    InteractionKind,
    Transaction,
    TransactionStatus,
)
from interactions.selectors import every_interaction_sql
from kernel.actors import Actor
from kernel.bulk import batched
from kernel.models import JobStatus
from kernel.table_statistics import analyze_stale_tables, analyze_tables
from privacy.audit.recording import record_event

# An arbitrary constant naming the refresh's advisory lock on PostgreSQL.
REFRESH_LOCK = 6_000_001


@dataclass(frozen=True)
class Dialect:
    """The few SQL expressions the engines spell differently (analytics.metrics and .churn)."""

    days_between: str  # {later} and {earlier} are filled in
    json_object_agg: str  # {key} and {value}
    epoch_seconds: str  # {column}: a timestamp as seconds since 1970, a double


DIALECTS = {
    "postgresql": Dialect(
        days_between="FLOOR(EXTRACT(EPOCH FROM ({later} - {earlier})) / 86400)",
        json_object_agg="jsonb_object_agg({key}, {value})",
        epoch_seconds="CAST(EXTRACT(EPOCH FROM {column}) AS DOUBLE PRECISION)",
    ),
    "sqlite": Dialect(
        days_between="CAST(julianday({later}) - julianday({earlier}) AS INTEGER)",
        json_object_agg="json_group_object({key}, {value})",
        epoch_seconds="((julianday({column}) - 2440587.5) * 86400.0)",
    ),
}


# What the refresh reads. Analysed first where their statistics are missing or stale, so that a
# refresh right after a bulk load that did not analyse them is not planned blind: on tables
# never analysed, the refresh after importing 70,000 orders ran for over two minutes instead
# of seven seconds (bench/orders.py).
TABLES_READ = (
    Customer,
    Transaction,
    Interaction,
    ArchivedInteraction,
    CustomerMetrics,
    LifecycleStageChange,
)


def refresh_metrics(
    *, actor: Actor | None = None, as_of: datetime.datetime | None = None
) -> MetricsRun:
    """Recompute every active customer's metrics as of `as_of` (default now) and move
    lifecycle stages by the rules, here and now, without the rest of the nightly run: the
    refresh_metrics command, and whoever needs fresh figures at once. Returns the finished run
    (the job runner writes its lifecycle: analytics/nightly.py)."""
    # analytics.nightly runs this module's work among the rest: imported here, not above.
    from analytics.nightly import ANALYTICS_REFRESH

    if as_of is not None:
        if not isinstance(as_of, datetime.datetime):
            raise TypeError("as_of is a datetime")
        if timezone.is_naive(as_of):
            as_of = timezone.make_aware(as_of)
    run = MetricsRun.objects.create(
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
        as_of=as_of,
        metrics_only=True,
        status=JobStatus.QUEUED,
    )
    return ANALYTICS_REFRESH.run_here(run)


def compute_metrics(run: MetricsRun) -> None:
    """The metrics part of `run`: every active customer's metrics as of `run.as_of` (None: now)
    and the stage moves, in one transaction, so that readers see the old figures until the
    new ones are complete; the run's counts and `computed_at` are written and audited
    ("metrics.refresh") in that transaction too. A second refresh started meanwhile waits for
    this one (PostgreSQL: an advisory lock; SQLite serialises writers)."""
    run.as_of = run.as_of or timezone.now()
    began = time.monotonic()
    analyze_stale_tables(TABLES_READ)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [REFRESH_LOCK])
        run.customers = _compute(run.as_of)
        # Every row was just rewritten: the stage rules below, the churn model, segments
        # and dashboards read them next. ANALYZE within the transaction counts its rows.
        analyze_tables([CustomerMetrics])
        run.stage_changes = _apply_stage_rules(run.as_of)
        run.computed_at = timezone.now()
        run.seconds = round(time.monotonic() - began, 2)
        # With the metrics, not when the whole run ends: the dashboards' figures are these
        # from now on (analytics/dashboards/cache.py), whatever the rest of the run does.
        MetricsRun.objects.filter(pk=run.pk).update(
            as_of=run.as_of,
            customers=run.customers,
            stage_changes=run.stage_changes,
            computed_at=run.computed_at,
            seconds=run.seconds,
        )
        record_event(
            actor=run.created_by,
            action=MetricsAction.REFRESH,
            target=run,
            changes={"customers": run.customers, "stage_changes": run.stage_changes},
        )


def _tables() -> dict[str, str]:
    return {
        "metrics": CustomerMetrics._meta.db_table,
        "customer": Customer._meta.db_table,
        "transaction": Transaction._meta.db_table,
        # Archived interactions count as they did before they moved.
        "interactions": every_interaction_sql(
            "customer_id, kind, satisfaction", "occurred_at <= %(now)s"
        ),
        "stage_change": LifecycleStageChange._meta.db_table,
    }


def _execute(sql: str, params: dict[str, Any]) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        changed: int = cursor.rowcount
        return changed


def _compute(as_of: datetime.datetime) -> int:
    dialect = DIALECTS[connection.vendor]
    now = connection.ops.adapt_datetimefield_value(as_of)
    tables = _tables()
    # The churn scores belong to the last training (analytics/churn.py), not to this refresh:
    # they are carried over the rebuild until the model scores again.
    _execute(
        f"CREATE TEMP TABLE churn_carried AS SELECT customer_id, churn_risk "  # noqa: S608
        f"FROM {tables['metrics']} WHERE churn_risk IS NOT NULL",
        {},
    )
    _execute(f"DELETE FROM {tables['metrics']}", {})  # noqa: S608  (table names from models)
    recency = dialect.days_between.format(later="%(now)s", earlier="t.last_at")
    by_kind = dialect.json_object_agg.format(key="k.kind", value="k.n")
    # RFM quintiles among customers who bought: the lowest fifth scores 1, the highest 5.
    # Ties share the lowest score of their range (RANK, not NTILE), so a score depends only on
    # the data, never on row order, and the many one-order buyers never look frequent. Ranked
    # in the same statement as the figures, so that each metrics row is written once.
    quintile = (
        "CASE WHEN m.orders > 0 THEN 1 + (5 * (RANK() OVER (PARTITION BY m.orders > 0 "
        "ORDER BY {column}) - 1)) / COUNT(*) OVER (PARTITION BY m.orders > 0) END"
    )
    # Identifiers come from the models and the dialect table above; values are parameters.
    # Money is summed in whole cents and the average rounded half up in integers, so that
    # SQLite (which sums in floating point) and PostgreSQL give the same figures.
    sql = f"""
        INSERT INTO {tables["metrics"]} (
            customer_id, orders, revenue, average_order_value, first_purchase_at,
            last_purchase_at, recency_days, repeat_buyer, interactions, interactions_by_kind,
            complaints, average_satisfaction, churn_risk, refreshed_at,
            recency_score, frequency_score, monetary_score
        )
        SELECT
            m.customer_id, m.orders, m.cents / 100.0, m.average_order, m.first_at, m.last_at,
            m.recency, m.orders >= 2, m.interactions, m.by_kind, m.complaints, m.satisfaction,
            m.churn_risk, %(now)s,
            {quintile.format(column="m.last_at")},
            {quintile.format(column="m.orders")},
            {quintile.format(column="m.cents")}
        FROM (
            SELECT
                c.id AS customer_id,
                COALESCE(t.orders, 0) AS orders,
                COALESCE(t.cents, 0) AS cents,
                CASE WHEN t.orders > 0
                     THEN ((2 * t.cents + t.orders) / (2 * t.orders)) / 100.0 END AS average_order,
                t.first_at,
                t.last_at,
                CASE WHEN t.orders > 0 THEN {recency} END AS recency,
                COALESCE(i.total, 0) AS interactions,
                COALESCE(i.by_kind, '{{}}') AS by_kind,
                COALESCE(i.complaints, 0) AS complaints,
                CASE WHEN i.rated > 0 THEN 1.0 * i.rating_sum / i.rated END AS satisfaction,
                CASE WHEN t.orders > 0 THEN carried.churn_risk END AS churn_risk
            FROM {tables["customer"]} c
            LEFT JOIN (
                SELECT customer_id, COUNT(*) AS orders,
                       CAST(ROUND(SUM(amount) * 100) AS BIGINT) AS cents,
                       MIN(occurred_at) AS first_at, MAX(occurred_at) AS last_at
                FROM {tables["transaction"]}
                WHERE status = %(paid)s AND occurred_at <= %(now)s
                GROUP BY customer_id
            ) t ON t.customer_id = c.id
            LEFT JOIN (
                SELECT k.customer_id, SUM(k.n) AS total,
                       SUM(CASE WHEN k.kind = %(complaint)s THEN k.n ELSE 0 END) AS complaints,
                       SUM(k.rating_sum) AS rating_sum, SUM(k.rated) AS rated,
                       {by_kind} AS by_kind
                FROM (
                    SELECT customer_id, kind, COUNT(*) AS n,
                           SUM(satisfaction) AS rating_sum, COUNT(satisfaction) AS rated
                    FROM {tables["interactions"]} every_interaction
                    GROUP BY customer_id, kind
                ) k
                GROUP BY k.customer_id
            ) i ON i.customer_id = c.id
            LEFT JOIN churn_carried carried ON carried.customer_id = c.id
            WHERE c.merged_into_id IS NULL AND c.archived_at IS NULL
        ) m
    """  # noqa: S608
    count = _execute(
        sql,
        {
            "now": now,
            "paid": TransactionStatus.PAID,
            "complaint": InteractionKind.COMPLAINT,
        },
    )
    _execute("DROP TABLE churn_carried", {})
    return count


def stage_rule(*, orders: int, recency_days: int | None) -> str | None:
    """The stage a purchase history implies. None: the rules say nothing about customers
    without a paid order (never bought, or every order refunded): lead, prospect or a stage
    staff set stays as it is."""
    if not orders or recency_days is None:
        return None
    if recency_days > settings.LIFECYCLE_CHURNED_DAYS:
        return LifecycleStage.CHURNED
    if recency_days > settings.LIFECYCLE_AT_RISK_DAYS:
        return LifecycleStage.AT_RISK
    return LifecycleStage.REPEAT if orders >= 2 else LifecycleStage.CUSTOMER


def _apply_stage_rules(as_of: datetime.datetime) -> int:
    """Move active customers whose purchase history implies another stage (`stage_rule`, in
    SQL) and record each move in the stage history. The moves are worked out once and the
    customers locked first, so that history and stages cannot disagree with a change staff
    make meanwhile. `updated_at` is left alone: a move by the rules is not an edit. Returns
    how many moved."""
    tables = _tables()
    rule = """
        CASE
            WHEN m.orders = 0 THEN NULL
            WHEN m.recency_days > %(churned_days)s THEN %(churned)s
            WHEN m.recency_days > %(at_risk_days)s THEN %(at_risk)s
            WHEN m.orders >= 2 THEN %(repeat)s
            ELSE %(customer)s
        END
    """
    params = {
        "churned_days": settings.LIFECYCLE_CHURNED_DAYS,
        "at_risk_days": settings.LIFECYCLE_AT_RISK_DAYS,
        "churned": LifecycleStage.CHURNED,
        "at_risk": LifecycleStage.AT_RISK,
        "repeat": LifecycleStage.REPEAT,
        "customer": LifecycleStage.CUSTOMER,
    }
    lock = " FOR UPDATE OF c" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT c.id, c.lifecycle_stage, {rule}
            FROM {tables["customer"]} c JOIN {tables["metrics"]} m ON m.customer_id = c.id
            WHERE c.merged_into_id IS NULL AND c.archived_at IS NULL
              AND {rule} IS NOT NULL AND {rule} <> c.lifecycle_stage
            {lock}
            """,  # noqa: S608
            params,
        )
        moves = cursor.fetchall()
    now = timezone.now()
    by_stage: dict[str, list[int]] = {}
    for customer_id, _, stage in moves:
        by_stage.setdefault(stage, []).append(customer_id)
    for stage, ids in by_stage.items():
        for batch in batched(ids, 5_000):
            # A new version, so that a profile form opened before cannot move the stage back.
            Customer.objects.filter(pk__in=batch).update(
                lifecycle_stage=stage, version=F("version") + 1
            )
    LifecycleStageChange.objects.bulk_create(
        (
            LifecycleStageChange(
                customer_id=customer_id, from_stage=old, to_stage=stage, changed_at=now
            )
            for customer_id, old, stage in moves
        ),
        batch_size=5_000,
    )
    return len(moves)
