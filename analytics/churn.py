"""Churn risk: a gradient-boosted classifier trained nightly on the business's own history.

A customer *churns* who makes no paid purchase within `CHURN_HORIZON_DAYS` (H) after a cutoff.
With T the time of training:

- training sample: the buyers as of T − 2H, labelled by their purchases in [T − 2H, T − H);
- held-out sample: the buyers as of T − H, labelled by their purchases in [T − H, T). The model
  trained on the first is scored on this later period it never saw: the AUC analysts read;
- the model is then refitted on the held-out sample (the most recent fully labelled period)
  and scores every active buyer with features as of T.

A sample is the active customers (not archived, not merged) with a paid purchase before its
cutoff; features come only from paid transactions and interactions before the cutoff, one
set-based query per cutoff (no per-customer Python), read in chunks into numpy arrays. With too
few buyers, or too few of either outcome, in either sample there is no model: every score is
cleared and the ChurnModel row says why. Scores are written in one transaction, so a crash
leaves the previous ones. A training is a job on the job runner (kernel/jobs/runner.py).
"""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Subquery
from django.utils import formats, timezone
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from analytics.metrics import DIALECTS, REFRESH_LOCK
from analytics.models import ChurnModel, ChurnOutcome, CustomerMetrics
from customers.models import Customer, CustomerKind, SourceChannel
from interactions.models import InteractionKind, Transaction, TransactionStatus
from interactions.selectors import every_interaction_sql
from kernel.jobs.runner import JobKind, JobRun
from kernel.models import JobStatus

# scikit-learn is imported where a model is trained, not here: web processes read scores and
# the model's record through this module and need not load it (seconds, ~100 MB).
if TYPE_CHECKING:
    from sklearn.ensemble import HistGradientBoostingClassifier

# The model's inputs, in the order of a sample's feature columns.
FEATURES = (
    "recency_days",  # days since the last paid purchase
    "orders",
    "revenue",
    "average_order_value",
    "tenure_days",  # days since the first paid purchase
    "recent_orders",  # in the last horizon
    "recent_interactions",  # in the last horizon
    "recent_complaints",  # in the last horizon
    "average_satisfaction",  # of all rated interactions; missing if none
    "source_channel",  # a category (index in SourceChannel); missing if not known
    "company",  # 1 for a company, 0 for a person
)
RECENCY = FEATURES.index("recency_days")
_CHANNELS = tuple(SourceChannel.values)
_CHANNEL = FEATURES.index("source_channel")
# Fewer customers than this of either outcome (churned, stayed) in a sample: no model.
MIN_PER_OUTCOME = 25
_FETCH_ROWS = 10_000
_DAY = 86_400.0


@dataclass(frozen=True)
class Sample:
    """The buyers as of `cutoff`, in customer id order: `features` has one row per customer and
    one column per FEATURES entry (NaN where missing); `churned` (1.0 / 0.0) only when the
    sample was labelled."""

    cutoff: datetime.datetime
    customer_ids: np.ndarray
    features: np.ndarray
    churned: np.ndarray | None

    def __len__(self) -> int:
        return len(self.customer_ids)

    @property
    def churners(self) -> int:
        return int(self.churned.sum()) if self.churned is not None else 0

    @property
    def churn_rate(self) -> float | None:
        return self.churners / len(self) if len(self) else None


def train_churn_model(*, as_of: datetime.datetime | None = None) -> ChurnModel | None:
    """Train, evaluate and apply the churn model as of `as_of` (default now), here and now
    (the nightly run, the train_churn_model command), and return its finished ChurnModel row:
    done and SCORED (every active buyer's `CustomerMetrics.churn_risk` set, everyone else's
    None), done with TOO_LITTLE_DATA (every score cleared, `reason` says why), or failed, the
    previous scores left as they were."""
    as_of = as_of or timezone.now()
    if timezone.is_naive(as_of):
        as_of = timezone.make_aware(as_of)
    model = ChurnModel.objects.create(
        as_of=as_of, horizon_days=settings.CHURN_HORIZON_DAYS, status=JobStatus.QUEUED
    )
    return CHURN_TRAINING.run(model.pk)


class ChurnTrainingKind(JobKind[ChurnModel]):
    """A training, run where it was asked for. One whose worker died is not started again
    by itself (it is failed): the nightly run it belonged to starts over, training included."""

    model = ChurnModel
    audit_prefix = "churn.train"
    seen_with = ("analytics.view_dashboards", "customers.view_all_customers")
    followed_at = "dashboards:index"
    resumes_after_worker_loss = False
    unexpected_failure = _(
        "Training failed, so the previous scores were kept; the error is in the worker's log."
    )

    def work(self, run: JobRun[ChurnModel]) -> None:
        _train(run.job)

    def finishing(self, job: ChurnModel, status: str) -> None:
        if job.started_at is not None:
            job.seconds = round((job.finished_at - job.started_at).total_seconds(), 2)

    def audit_changes(self, job: ChurnModel) -> dict[str, Any]:
        return {"outcome": job.outcome, "auc": job.auc, "scored_customers": job.scored_customers}


CHURN_TRAINING = ChurnTrainingKind()


def latest_model() -> ChurnModel | None:
    """The last finished training (scored, too little data or failed), for the dashboard's
    churn card (templates/analytics/_churn_model.html, as `churn_model`); None before the
    first."""
    return ChurnModel.objects.filter(status__in=ChurnModel.FINISHED).first()


def metrics_with_churn_status(*, customer_id: int) -> CustomerMetrics | None:
    """The customer's metrics, None before the first refresh, in one query, with
    `churn_model_status`, `churn_model_outcome` and `churn_horizon_days` of the last finished
    churn model (None before the first): what the risk means and why a buyer has none."""
    last = ChurnModel.objects.filter(status__in=ChurnModel.FINISHED).order_by("-created_at", "-pk")
    return (
        CustomerMetrics.objects.filter(customer_id=customer_id)
        .annotate(
            churn_model_status=Subquery(last.values("status")[:1]),
            churn_model_outcome=Subquery(last.values("outcome")[:1]),
            churn_horizon_days=Subquery(last.values("horizon_days")[:1]),
        )
        .first()
    )


def _train(model: ChurnModel) -> None:
    from sklearn.metrics import roc_auc_score

    horizon = datetime.timedelta(days=model.horizon_days)
    training_cutoff, held_out_cutoff = model.as_of - 2 * horizon, model.as_of - horizon
    training = features_as_of(training_cutoff, label_until=held_out_cutoff)
    held_out = features_as_of(held_out_cutoff, label_until=model.as_of)
    model.training_customers, model.training_churn_rate = len(training), training.churn_rate
    model.held_out_customers, model.held_out_churn_rate = len(held_out), held_out.churn_rate
    reason = _too_little_data(training) or _too_little_data(held_out)
    if reason:
        model.outcome = ChurnOutcome.TOO_LITTLE_DATA
        model.reason, model.reason_values = reason
        _write_scores(np.empty(0, dtype=np.int64), np.empty(0))
        return
    evaluated = new_classifier().fit(training.features, training.churned)
    risk = evaluated.predict_proba(held_out.features)[:, 1]
    model.auc = float(roc_auc_score(held_out.churned, risk))
    # The obvious rule for comparison: the longer since the last purchase, the likelier gone.
    model.recency_auc = float(roc_auc_score(held_out.churned, held_out.features[:, RECENCY]))
    del training, evaluated
    final = new_classifier().fit(held_out.features, held_out.churned)
    del held_out
    current = features_as_of(model.as_of)
    model.scored_customers = _write_scores(
        current.customer_ids, final.predict_proba(current.features)[:, 1]
    )
    model.outcome = ChurnOutcome.SCORED


def new_classifier() -> HistGradientBoostingClassifier:
    """Gradient-boosted trees: no scaling needed, missing values handled, the source channel
    taken as a category. Small, regularised trees and a fixed seed: the same history gives the
    same scores."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(
        learning_rate=0.1,
        max_iter=100,
        max_leaf_nodes=15,
        l2_regularization=1.0,
        categorical_features=[_CHANNEL],
        random_state=0,
    )


def _too_little_data(sample: Sample) -> tuple[str, dict[str, Any]] | None:
    date = timezone.localdate(sample.cutoff).isoformat()
    if len(sample) < settings.CHURN_MIN_CUSTOMERS:
        return "too_few_buyers", {
            "count": len(sample),
            "date": date,
            "needed": settings.CHURN_MIN_CUSTOMERS,
        }
    stayed = len(sample) - sample.churners
    if min(sample.churners, stayed) < MIN_PER_OUTCOME:
        return "too_few_of_an_outcome", {
            "count": len(sample),
            "date": date,
            "churned": sample.churners,
            "stayed": stayed,
            "needed": MIN_PER_OUTCOME,
        }
    return None


def reason_text(model: ChurnModel) -> str:
    """Why `model` scored no one, in the reader's language ("" if it did); a failed training's
    reason is in the language the runner wrote it in."""
    values = dict(model.reason_values)
    for key in ("count", "needed", "churned", "stayed"):
        if key in values:
            values[key] = formats.number_format(values[key], force_grouping=True)
    if "date" in values:
        values["date"] = formats.date_format(
            datetime.date.fromisoformat(values["date"]), "SHORT_DATE_FORMAT"
        )
    values["days"] = model.horizon_days
    if model.reason == "too_few_buyers":
        return (
            ngettext(
                "Only %(count)s customer had bought before %(date)s; the model needs at least "
                "%(needed)s.",
                "Only %(count)s customers had bought before %(date)s; the model needs at least "
                "%(needed)s.",
                model.reason_values["count"],
            )
            % values
        )
    if model.reason == "too_few_of_an_outcome":
        return (
            gettext(
                "Of the %(count)s customers who had bought before %(date)s, %(churned)s "
                "bought nothing in the %(days)s days after and %(stayed)s bought again; the "
                "model needs at least %(needed)s of each."
            )
            % values
        )
    if model.status == JobStatus.FAILED:
        return model.failure
    return ""


def features_as_of(
    cutoff: datetime.datetime, *, label_until: datetime.datetime | None = None
) -> Sample:
    """The active customers with a paid purchase before `cutoff` and their FEATURES from paid
    transactions and interactions before it; with `label_until`, whether each churned: made no
    paid purchase in [cutoff, label_until). One query, read in chunks: memory holds the arrays,
    never a row object per customer."""
    horizon = datetime.timedelta(days=settings.CHURN_HORIZON_DAYS)
    epoch = DIALECTS[connection.vendor].epoch_seconds
    adapt = connection.ops.adapt_datetimefield_value
    params: dict[str, Any] = {
        "cutoff": adapt(cutoff),
        "since": adapt(cutoff - horizon),
        "paid": TransactionStatus.PAID,
        "complaint": InteractionKind.COMPLAINT,
        "company": CustomerKind.COMPANY,
        **{f"channel_{index}": channel for index, channel in enumerate(_CHANNELS)},
    }
    channel = " ".join(f"WHEN %(channel_{index})s THEN {index}" for index in range(len(_CHANNELS)))
    label, label_join = "NULL", ""
    if label_until is not None:
        params["until"] = adapt(label_until)
        label = "CASE WHEN b.customer_id IS NULL THEN 1 ELSE 0 END"
        label_join = f"""
            LEFT JOIN (
                SELECT DISTINCT customer_id FROM {Transaction._meta.db_table}
                WHERE status = %(paid)s AND occurred_at >= %(cutoff)s
                  AND occurred_at < %(until)s
            ) b ON b.customer_id = c.id
        """  # noqa: S608  (table name from the model)
    # The average satisfaction is of all time: archived interactions are read too.
    interactions = every_interaction_sql(
        "customer_id, occurred_at, kind, satisfaction", "occurred_at < %(cutoff)s"
    )
    # Identifiers come from the models and the table above; values are parameters.
    sql = f"""
        SELECT
            c.id,
            CASE c.source_channel {channel} END,
            CASE WHEN c.kind = %(company)s THEN 1 ELSE 0 END,
            t.orders, t.revenue, t.first_at, t.last_at, t.recent_orders,
            COALESCE(i.recent, 0), COALESCE(i.complaints, 0), i.satisfaction,
            {label}
        FROM {Customer._meta.db_table} c
        JOIN (
            SELECT customer_id, COUNT(*) AS orders,
                   CAST(SUM(amount) AS DOUBLE PRECISION) AS revenue,
                   {epoch.format(column="MIN(occurred_at)")} AS first_at,
                   {epoch.format(column="MAX(occurred_at)")} AS last_at,
                   SUM(CASE WHEN occurred_at >= %(since)s THEN 1 ELSE 0 END) AS recent_orders
            FROM {Transaction._meta.db_table}
            WHERE status = %(paid)s AND occurred_at < %(cutoff)s
            GROUP BY customer_id
        ) t ON t.customer_id = c.id
        LEFT JOIN (
            SELECT customer_id,
                   SUM(CASE WHEN occurred_at >= %(since)s THEN 1 ELSE 0 END) AS recent,
                   SUM(CASE WHEN occurred_at >= %(since)s AND kind = %(complaint)s
                            THEN 1 ELSE 0 END) AS complaints,
                   AVG(CAST(satisfaction AS DOUBLE PRECISION)) AS satisfaction
            FROM {interactions} every_interaction
            GROUP BY customer_id
        ) i ON i.customer_id = c.id
        {label_join}
        WHERE c.merged_into_id IS NULL AND c.archived_at IS NULL
        ORDER BY c.id
    """  # noqa: S608
    chunks = list(_fetch(sql, params))
    rows = np.concatenate(chunks) if chunks else np.empty((0, 12))
    del chunks
    now = cutoff.timestamp()
    ids, channel_code, company = rows[:, 0], rows[:, 1], rows[:, 2]
    orders, revenue, first_at, last_at = rows[:, 3], rows[:, 4], rows[:, 5], rows[:, 6]
    features = np.column_stack(
        (
            (now - last_at) / _DAY,
            orders,
            revenue,
            revenue / orders,
            (now - first_at) / _DAY,
            rows[:, 7],
            rows[:, 8],
            rows[:, 9],
            rows[:, 10],
            channel_code,
            company,
        )
    )
    return Sample(
        cutoff=cutoff,
        customer_ids=ids.astype(np.int64),
        features=features,
        churned=rows[:, 11].copy() if label_until is not None else None,
    )


def _fetch(sql: str, params: dict[str, Any]) -> Iterator[np.ndarray]:
    """The query's rows as float arrays of up to _FETCH_ROWS rows each (None → NaN). On
    PostgreSQL through a server-side cursor, as QuerySet.iterator() does, so neither side
    holds the whole result as Python objects."""
    chunked = not connection.settings_dict.get("DISABLE_SERVER_SIDE_CURSORS")
    # On PostgreSQL in a transaction: outside one, Django declares the cursor WITH HOLD, and
    # PostgreSQL then materialises the whole result before the first row comes back. Not on
    # SQLite, where a transaction begins IMMEDIATE and would hold the write lock while reading.
    in_transaction = transaction.atomic() if connection.vendor == "postgresql" else nullcontext()
    with in_transaction:
        cursor = connection.chunked_cursor() if chunked else connection.cursor()
        with cursor:
            cursor.execute(sql, params)
            while rows := cursor.fetchmany(_FETCH_ROWS):
                yield np.array(rows, dtype=np.float64)


def _write_scores(customer_ids: np.ndarray, risks: np.ndarray) -> int:
    """Replace every customer's churn risk with `risks` (None for everyone else), in one
    transaction; returns how many metrics rows got a score. Customers without a metrics row
    (none before the first metrics refresh) are left out. The scores go to a temporary table
    first so that each metrics row is written once: a row rewritten twice per night would
    double the table's dead rows on PostgreSQL."""
    table = CustomerMetrics._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The metrics refresh's lock: a refresh deleting and re-inserting the rows meanwhile
            # would otherwise leave the customers it re-inserted without a score.
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [REFRESH_LOCK])
        cursor.execute(
            "CREATE TEMP TABLE churn_scores (customer_id BIGINT PRIMARY KEY, risk DOUBLE PRECISION)"
        )
        ids, values = customer_ids.tolist(), risks.tolist()
        if connection.vendor == "postgresql":
            batch = 50_000
            for start in range(0, len(ids), batch):
                cursor.execute(
                    "INSERT INTO churn_scores "
                    "SELECT * FROM unnest(%s::bigint[], %s::double precision[])",
                    [ids[start : start + batch], values[start : start + batch]],
                )
        else:
            batch = connection.features.max_query_params // 2
            for start in range(0, len(ids), batch):
                pairs = zip(ids[start : start + batch], values[start : start + batch], strict=True)
                flat = [value for pair in pairs for value in pair]
                rows = ", ".join(["(%s, %s)"] * (len(flat) // 2))
                cursor.execute(f"INSERT INTO churn_scores VALUES {rows}", flat)  # noqa: S608
        cursor.execute(
            f"""
            UPDATE {table} SET churn_risk = NULL
            WHERE churn_risk IS NOT NULL AND NOT EXISTS (
                SELECT 1 FROM churn_scores s WHERE s.customer_id = {table}.customer_id
            )
            """  # noqa: S608  (table name from the model)
        )
        cursor.execute(
            f"""
            UPDATE {table} SET churn_risk = s.risk FROM churn_scores s
            WHERE {table}.customer_id = s.customer_id
            """  # noqa: S608
        )
        scored = cursor.rowcount
        cursor.execute("DROP TABLE churn_scores")
        return scored
