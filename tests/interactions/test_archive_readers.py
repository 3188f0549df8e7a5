"""Everything that reads interactions gives the same answers after old ones were archived:
metrics, segments, dashboards, churn features, the duplicate review, merge and undo; and the
privacy duties reach the archive: the data-subject copy, erasure, retention."""

from __future__ import annotations

import datetime
import zipfile

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from analytics.churn import features_as_of
from analytics.dashboards.charts import Scope, complaints_and_satisfaction
from analytics.dashboards.periods import Period
from analytics.metrics import refresh_metrics
from analytics.models import CustomerMetrics
from analytics.segments.compilation import matching_customers
from analytics.segments.validation import validate
from customers import merge as merging
from interactions.archive import archive_interactions
from interactions.models import ArchivedInteraction, Interaction
from privacy.models import RetentionKind, RetentionPolicy
from privacy.retention import apply_retention
from privacy.subjects import copy as subject_copy
from privacy.subjects import services as requests
from privacy.subjects.erasure import anonymise_customers
from privacy.subjects.views import _erasure_reach
from tests.customers.test_duplicate_views import twins  # noqa: F401  (a fixture)
from tests.factories import CustomerFactory, InteractionFactory, TransactionFactory

pytestmark = pytest.mark.django_db

AGE = datetime.timedelta(days=3 * 365)
NOW = timezone.now()
KINDS = ("complaint", "call", "visit", "feedback")


def _ago(days: float) -> datetime.datetime:
    return NOW - datetime.timedelta(days=days)


@pytest.fixture
def history():
    """Customers with complaints, calls and visits over six years, rated and not, with orders."""
    customers = []
    for index in range(6):
        customer = CustomerFactory(name=f"客户{index}")
        for number in range(3 + index):
            days = 60 + (number * 397 + index * 151) % 2100  # from two months to six years ago
            InteractionFactory(
                customer=customer,
                kind=KINDS[(number + index) % len(KINDS)],
                occurred_at=_ago(days),
                subject=f"第{number}次",
                body="电话 13800138000",
                satisfaction=(None, 2, 4, 5)[(number * index) % 4],
                external_ref=f"E-{index}-{number}",
            )
            TransactionFactory(customer=customer, occurred_at=_ago(days + 3))
        customers.append(customer)
    return customers


def _archive() -> None:
    run = archive_interactions(older_than=AGE)
    assert run.rows_done > 0
    assert Interaction.objects.exists()


def _metrics() -> list[tuple]:
    return list(
        CustomerMetrics.objects.order_by("customer_id").values_list(
            "customer_id",
            "interactions",
            "interactions_by_kind",
            "complaints",
            "average_satisfaction",
            "recency_score",
            "frequency_score",
        )
    )


def test_metrics_are_the_same_after_archiving(history):
    refresh_metrics(as_of=NOW)
    before = _metrics()
    _archive()
    refresh_metrics(as_of=NOW)
    assert _metrics() == before
    assert sum(row[1] for row in before) == Interaction.objects.count() + (
        ArchivedInteraction.objects.count()
    )


def test_segments_select_the_same_customers_after_archiving(history):
    rules = [
        {"match": "all", "rules": [{"field": "complaints", "operator": "gte", "value": 2}]},
        *(
            {
                "match": "all",
                "rules": [{"field": "interacted", "operator": operator, "value": {"kind": kind}}],
            }
            for operator in ("yes", "no")
            for kind in KINDS
        ),
        {
            "match": "all",
            "rules": [
                {
                    "field": "interacted",
                    "operator": "yes",
                    "value": {"since": _ago(6 * 365).date().isoformat(), "until": "2023-01-01"},
                }
            ],
        },
    ]

    def members() -> list[set[int]]:
        refresh_metrics(as_of=NOW)
        return [
            set(matching_customers(validate(rule)).values_list("pk", flat=True)) for rule in rules
        ]

    before = members()
    _archive()
    assert members() == before
    assert any(before)
    assert not all(before)


def _service_chart(start: datetime.date | None) -> list[tuple]:
    return complaints_and_satisfaction(
        Scope(period=Period(start=start, end=timezone.localdate()), as_of=NOW)
    )


def test_the_service_chart_is_the_same_and_a_recent_period_reads_the_hot_table_only(history):
    whole, recent = None, timezone.localdate() - datetime.timedelta(days=365)
    before = (_service_chart(whole), _service_chart(recent))
    _archive()
    assert (_service_chart(whole), _service_chart(recent)) == before
    assert any(row[1] for row in before[0])
    with CaptureQueriesContext(connection) as queries:
        _service_chart(recent)
    assert not any(ArchivedInteraction._meta.db_table in q["sql"] for q in queries)


def test_churn_features_are_the_same_after_archiving(history):
    cutoffs = [NOW - datetime.timedelta(days=days) for days in (0, 90, 180)]
    before = [features_as_of(cutoff).features for cutoff in cutoffs]
    _archive()
    for cutoff, expected in zip(cutoffs, before, strict=True):
        np.testing.assert_array_equal(features_as_of(cutoff).features, expected)


def test_the_duplicate_review_counts_archived_interactions(client, twins, admin_user_role):  # noqa: F811
    older, _newer = twins
    InteractionFactory(customer=older, occurred_at=_ago(4 * 365))
    archive_interactions(older_than=AGE)
    client.force_login(admin_user_role)
    page = client.get(reverse("duplicates:group", args=[older.pk]))
    activity = {customer.pk: customer for customer in page.context["activity"]}
    assert activity[older.pk].interaction_count == 2


# --- merge and undo


def test_a_merge_moves_archived_interactions_and_undo_brings_back_ones_archived_meanwhile(
    service_user,
):
    survivor, other = CustomerFactory(name="王丽娟"), CustomerFactory(name="王丽娟")
    archived_before = InteractionFactory(customer=other, occurred_at=_ago(5 * 365))
    archive_interactions(older_than=AGE)
    archived_after = InteractionFactory(customer=other, occurred_at=_ago(4 * 365))
    stays_hot = InteractionFactory(customer=other, occurred_at=_ago(10))
    merge = merging.merge_customers(actor=service_user, survivor=survivor, others=[other])
    assert set(survivor.archived_interactions.values_list("pk", flat=True)) == {archived_before.pk}
    archive_interactions(older_than=AGE)  # between the merge and its undo
    assert set(survivor.archived_interactions.values_list("pk", flat=True)) == {
        archived_before.pk,
        archived_after.pk,
    }
    merging.undo_merge(actor=service_user, merge=merge)
    assert set(other.archived_interactions.values_list("pk", flat=True)) == {
        archived_before.pk,
        archived_after.pk,
    }
    assert list(other.interactions.values_list("pk", flat=True)) == [stays_hot.pk]
    assert not survivor.archived_interactions.exists()
    assert not survivor.interactions.exists()


# --- privacy: copy, erasure, retention


def test_the_subject_copy_holds_archived_interactions(history, privacy_user, tmp_path):
    customer = history[-1]
    _archive()
    archived = customer.archived_interactions.count()
    assert archived
    assert customer.interactions.exists()
    request = requests.log_request(
        actor=privacy_user, customer=customer, kind="access", channel="email"
    )
    counts = subject_copy.write_copy(customer, tmp_path / "copy.zip", request=request)
    assert counts["archived_interactions"] == archived
    assert counts["interactions"] == customer.interactions.count()
    with zipfile.ZipFile(tmp_path / "copy.zip") as copy:
        text = copy.read("json/archived_interactions.json").decode()
        assert "13800138000" in text
        assert '"archived_at"' in text
        assert "archived_interactions" in copy.read("README.txt").decode()


def test_erasure_scrubs_the_text_of_archived_interactions(history, privacy_user):
    customer = history[-1]
    _archive()
    total = customer.interactions.count() + customer.archived_interactions.count()
    assert _erasure_reach(customer)["interactions"] == total
    counts = anonymise_customers([customer.pk], actor=privacy_user, reason="request", evidence="")
    assert counts["interactions"] == total
    for table in (customer.interactions, customer.archived_interactions):
        assert set(table.values_list("subject", "body", "external_ref")) == {("", "", "")}
    kept = customer.archived_interactions.exclude(satisfaction=None)
    assert kept.exists()  # kinds, dates and ratings stay for the figures


def test_retention_of_interaction_text_reaches_the_archive_and_its_dry_run_still_matches(
    history,
):
    RetentionPolicy.objects.exclude(kind=RetentionKind.OLD_INTERACTIONS).update(enabled=False)
    RetentionPolicy.objects.filter(kind=RetentionKind.OLD_INTERACTIONS).update(
        keep_days=4 * 365, enabled=True
    )
    due = Interaction.objects.filter(occurred_at__lt=_ago(4 * 365)).count()
    before = apply_retention(dry_run=True).results[RetentionKind.OLD_INTERACTIONS]["rows"]
    _archive()
    dry = apply_retention(dry_run=True).results[RetentionKind.OLD_INTERACTIONS]["rows"]
    real = apply_retention(dry_run=False).results[RetentionKind.OLD_INTERACTIONS]["rows"]
    assert before == dry == real == due > 0
    scrubbed = ArchivedInteraction.objects.filter(occurred_at__lt=_ago(4 * 365))
    assert scrubbed.count() == due
    assert set(scrubbed.values_list("subject", "body")) == {("", "")}
    assert ArchivedInteraction.objects.exclude(body="").exists()  # younger than the policy
