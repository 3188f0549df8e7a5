"""The churn model on a generated history where churn is predictable: its features and labels
against a plain Python computation, its held-out AUC against a plain Python AUC of its own
predictions, too little data, the command, the nightly task, the portrait and the dashboard
card; on both engines."""

from __future__ import annotations

import datetime
import json
import random
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.template.loader import render_to_string
from django.utils import formats, timezone

from analytics import churn
from analytics.metrics import refresh_metrics
from analytics.models import ChurnModel, ChurnOutcome, CustomerMetrics, MetricsRun, Segment
from analytics.tasks import scheduled_metrics_refresh
from customers.models import Customer, CustomerKind, SourceChannel
from interactions.models import Interaction, InteractionKind, Transaction, TransactionStatus
from kernel.models import JobStatus
from tests.factories import CustomerFactory, TransactionFactory

pytestmark = pytest.mark.django_db

AS_OF = timezone.make_aware(datetime.datetime(2026, 6, 30, 12, 0))
HORIZON = datetime.timedelta(days=90)
TRAINING_CUTOFF, HELD_OUT_CUTOFF = AS_OF - 2 * HORIZON, AS_OF - HORIZON


@pytest.fixture(autouse=True)
def _churn_settings(settings):
    settings.CHURN_HORIZON_DAYS = 90
    settings.CHURN_MIN_CUSTOMERS = 100


def _days(value: float) -> datetime.timedelta:
    return datetime.timedelta(days=value)


def _history(customers: int = 400, seed: int = 5) -> dict[str, Customer]:
    """Customers who buy every few weeks; half of them stop at some point, after a complaint.
    Written with bulk_create (the services would take a minute for this many rows). Returns a
    few customers the tests look at."""
    rng = random.Random(seed)
    made = Customer.objects.bulk_create(
        Customer(
            name=f"Buyer {index}",
            kind=rng.choice((CustomerKind.PERSON, CustomerKind.PERSON, CustomerKind.COMPANY)),
            source_channel=rng.choice(("", SourceChannel.STORE, SourceChannel.WECHAT)),
        )
        for index in range(customers)
    )
    transactions, interactions = [], []
    for customer in made:
        first = AS_OF - _days(rng.uniform(120, 720))
        gap = rng.choice((10, 20, 40))
        stop = first + (AS_OF - first) * rng.random() if rng.random() < 0.5 else None
        at = first
        while at < (stop or AS_OF):
            status = TransactionStatus.PAID if rng.random() < 0.9 else TransactionStatus.REFUNDED
            transactions.append(
                Transaction(
                    customer=customer,
                    occurred_at=at,
                    channel="store",
                    amount=Decimal(rng.randint(1_000, 50_000)) / 100,
                    status=status,
                )
            )
            at += _days(rng.expovariate(1 / gap))
        if stop is not None:
            interactions.append(
                Interaction(
                    customer=customer,
                    kind=InteractionKind.COMPLAINT,
                    occurred_at=stop - _days(rng.uniform(0, 20)),
                    satisfaction=1,
                )
            )
            # Orders after leaving that were cancelled or refunded are no purchase.
            transactions.append(
                Transaction(
                    customer=customer,
                    occurred_at=stop + _days(rng.uniform(1, 60)),
                    channel="store",
                    amount=Decimal("10.00"),
                    status=rng.choice((TransactionStatus.REFUNDED, TransactionStatus.CANCELLED)),
                )
            )
        for _ in range(rng.randint(0, 3)):
            interactions.append(
                Interaction(
                    customer=customer,
                    kind=InteractionKind.CALL,
                    occurred_at=first + (AS_OF - first) * rng.random(),
                    satisfaction=rng.choice((None, 3, 4, 5)),
                )
            )
    Transaction.objects.bulk_create(transactions)
    Interaction.objects.bulk_create(interactions)
    lead = CustomerFactory(name="Never bought")
    archived, merged = made[0], made[1]
    Customer.objects.filter(pk=archived.pk).update(archived_at=AS_OF)
    Customer.objects.filter(pk=merged.pk).update(merged_into=made[2])
    return {"lead": lead, "archived": archived, "merged": merged, "buyer": made[3]}


def _plain_features(cutoff, label_until=None) -> dict[int, dict]:
    """FEATURES (and the label) per customer, straight from the rows in Python."""
    paid_by_customer: dict[int, list[Transaction]] = {}
    for t in Transaction.objects.filter(status=TransactionStatus.PAID):
        paid_by_customer.setdefault(t.customer_id, []).append(t)
    interactions_by_customer: dict[int, list[Interaction]] = {}
    for i in Interaction.objects.all():
        interactions_by_customer.setdefault(i.customer_id, []).append(i)
    expected = {}
    for customer in Customer.objects.filter(merged_into__isnull=True, archived_at__isnull=True):
        paid_ever = paid_by_customer.get(customer.pk, [])
        paid = [t for t in paid_ever if t.occurred_at < cutoff]
        if not paid:
            continue
        before = [
            i for i in interactions_by_customer.get(customer.pk, []) if i.occurred_at < cutoff
        ]
        recent = [i for i in before if i.occurred_at >= cutoff - HORIZON]
        rated = [i.satisfaction for i in before if i.satisfaction is not None]
        revenue = float(sum(t.amount for t in paid))
        values = {
            "recency_days": (cutoff - max(t.occurred_at for t in paid)).total_seconds() / 86400,
            "orders": len(paid),
            "revenue": revenue,
            "average_order_value": revenue / len(paid),
            "tenure_days": (cutoff - min(t.occurred_at for t in paid)).total_seconds() / 86400,
            "recent_orders": sum(t.occurred_at >= cutoff - HORIZON for t in paid),
            "recent_interactions": len(recent),
            "recent_complaints": sum(i.kind == InteractionKind.COMPLAINT for i in recent),
            "average_satisfaction": sum(rated) / len(rated) if rated else None,
            "source_channel": list(SourceChannel.values).index(customer.source_channel)
            if customer.source_channel
            else None,
            "company": int(customer.kind == CustomerKind.COMPANY),
        }
        if label_until is not None:
            values["churned"] = not any(cutoff <= t.occurred_at < label_until for t in paid_ever)
        expected[customer.pk] = values
    return expected


def _plain_auc(churned, risks) -> float:
    """The share of (churner, stayer) pairs in which the churner has the higher risk, a tie
    counting half: what the area under the ROC curve means."""
    positive = [risk for label, risk in zip(churned, risks, strict=True) if label]
    negative = [risk for label, risk in zip(churned, risks, strict=True) if not label]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p in positive for n in negative)
    return wins / (len(positive) * len(negative))


def test_features_and_labels_equal_a_plain_python_computation():
    people = _history(customers=120)
    sample = churn.features_as_of(HELD_OUT_CUTOFF, label_until=AS_OF)
    expected = _plain_features(HELD_OUT_CUTOFF, label_until=AS_OF)
    assert list(sample.customer_ids) == sorted(expected)
    assert people["archived"].pk not in expected
    assert people["merged"].pk not in expected
    assert people["lead"].pk not in expected
    for row, pk in enumerate(sample.customer_ids):
        for column, name in enumerate(churn.FEATURES):
            value = expected[pk][name]
            actual = sample.features[row, column]
            if value is None:
                assert actual != actual, (pk, name)  # NaN: missing
            else:
                assert actual == pytest.approx(value, abs=1e-4), (pk, name)
        assert bool(sample.churned[row]) == expected[pk]["churned"], pk
    # Features as of now carry no label.
    assert churn.features_as_of(AS_OF).churned is None


def test_predictable_churn_is_learnt_measured_on_a_later_period_and_every_buyer_scored():
    people = _history()
    refresh_metrics(as_of=AS_OF)
    model = churn.train_churn_model(as_of=AS_OF)

    assert (model.status, model.outcome) == (JobStatus.DONE, ChurnOutcome.SCORED)
    assert model.auc > 0.75
    assert model.reason_text == ""
    training = _plain_features(TRAINING_CUTOFF, label_until=HELD_OUT_CUTOFF)
    held_out = _plain_features(HELD_OUT_CUTOFF, label_until=AS_OF)
    assert model.training_customers == len(training)
    assert model.held_out_customers == len(held_out)
    assert model.training_churn_rate == pytest.approx(
        sum(v["churned"] for v in training.values()) / len(training)
    )
    assert model.held_out_churn_rate == pytest.approx(
        sum(v["churned"] for v in held_out.values()) / len(held_out)
    )
    # The stored AUCs are those of the model's own held-out predictions and of recency alone.
    training_sample = churn.features_as_of(TRAINING_CUTOFF, label_until=HELD_OUT_CUTOFF)
    held_out_sample = churn.features_as_of(HELD_OUT_CUTOFF, label_until=AS_OF)
    predictions = (
        churn.new_classifier()
        .fit(training_sample.features, training_sample.churned)
        .predict_proba(held_out_sample.features)[:, 1]
    )
    labels = [held_out[pk]["churned"] for pk in held_out_sample.customer_ids]
    assert model.auc == pytest.approx(_plain_auc(labels, list(predictions)))
    recency = [held_out[pk]["recency_days"] for pk in held_out_sample.customer_ids]
    assert model.recency_auc == pytest.approx(_plain_auc(labels, recency))

    risks = dict(CustomerMetrics.objects.values_list("customer_id", "churn_risk"))
    buyers = set(_plain_features(AS_OF))
    assert model.scored_customers == len(buyers)
    assert {pk for pk, risk in risks.items() if risk is not None} == buyers
    assert all(0 <= risks[pk] <= 1 for pk in buyers)
    assert risks[people["lead"].pk] is None
    assert people["archived"].pk not in risks  # no metrics row: not active
    assert churn.latest_model() == model


def test_too_little_data_clears_old_scores_and_says_why_here_and_on_the_portrait(
    client, service_user, settings
):
    settings.CHURN_MIN_CUSTOMERS = 500
    customer = CustomerFactory(name="Early buyer")
    TransactionFactory(customer=customer, occurred_at=AS_OF - _days(400))
    TransactionFactory(customer=CustomerFactory(), occurred_at=AS_OF - _days(100))
    refresh_metrics(as_of=AS_OF)
    CustomerMetrics.objects.update(churn_risk=0.4)  # an earlier model's scores

    model = churn.train_churn_model(as_of=AS_OF)

    assert model.outcome == ChurnOutcome.TOO_LITTLE_DATA
    assert (model.training_customers, model.held_out_customers) == (1, 2)
    assert model.auc is None
    assert not CustomerMetrics.objects.filter(churn_risk__isnull=False).exists()
    date = formats.date_format(timezone.localdate(TRAINING_CUTOFF), "SHORT_DATE_FORMAT")
    assert model.reason_text == (
        f"Only 1 customer had bought before {date}; the model needs at least 500."
    )
    card = render_to_string("analytics/_churn_model.html", {"churn_model": model})
    assert model.reason_text in card
    client.force_login(service_user)
    page = client.get(f"/customers/{customer.pk}/").content.decode()
    assert "none: the churn model had too little history to learn from" in page


def test_a_history_without_churners_is_too_little_data_and_says_how_many_of_each(settings):
    settings.CHURN_MIN_CUSTOMERS = 5
    regulars = Customer.objects.bulk_create(Customer(name=f"Regular {n}") for n in range(30))
    Transaction.objects.bulk_create(
        Transaction(customer=c, occurred_at=AS_OF - _days(days), channel="store", amount=20)
        for c in regulars
        for days in range(1, 400, 7)
    )
    model = churn.train_churn_model(as_of=AS_OF)
    assert model.outcome == ChurnOutcome.TOO_LITTLE_DATA
    assert model.training_churn_rate == 0
    date = formats.date_format(timezone.localdate(TRAINING_CUTOFF), "SHORT_DATE_FORMAT")
    assert model.reason_text == (
        f"Of the 30 customers who had bought before {date}, 0 bought nothing in the 90 days "
        "after and 30 bought again; the model needs at least 25 of each."
    )


def test_the_command_trains_and_prints_a_summary(capsys):
    call_command("train_churn_model")
    summary = json.loads(capsys.readouterr().out)
    assert summary["outcome"] == ChurnOutcome.TOO_LITTLE_DATA
    assert summary["reason"].startswith("Only 0 customers had bought before")
    assert ChurnModel.objects.get(pk=summary["model"]).finished_at is not None


def test_the_nightly_task_trains_the_model_after_the_metrics_and_before_the_segments():
    TransactionFactory(customer=CustomerFactory(), occurred_at=timezone.now() - _days(3))
    scheduled_metrics_refresh()
    run, model = MetricsRun.objects.get(), ChurnModel.objects.get()
    assert run.computed_at <= model.started_at
    assert model.finished_at <= run.finished_at
    assert model.outcome == ChurnOutcome.TOO_LITTLE_DATA
    assert all(segment.refreshed_at >= model.finished_at for segment in Segment.objects.all())
    assert Segment.objects.exists()


def test_the_portrait_shows_the_risk_as_a_percentage_with_its_level_and_the_card_its_auc(
    client, service_user
):
    people = _history()
    refresh_metrics(as_of=AS_OF)
    model = churn.train_churn_model(as_of=AS_OF)
    client.force_login(service_user)
    buyer = people["buyer"]
    CustomerMetrics.objects.filter(customer=buyer).update(churn_risk=0.724)
    page = client.get(f"/customers/{buyer.pk}/")
    html = page.content.decode()
    assert "72% likely to buy nothing in the next 90 days" in html
    assert '<span class="badge text-bg-danger">high</span>' in html
    lead = client.get(f"/customers/{people['lead'].pk}/").content.decode()
    assert "none: no purchase yet" in lead

    card = render_to_string("analytics/_churn_model.html", {"churn_model": model})
    assert f"AUC on a held-out period: {model.auc:.2f}" in card
    assert f"{round(model.auc * 100)}% of the time" in card
    assert f"{model.held_out_customers} customers who had bought before" in card
    assert f"{model.scored_customers} customers" in card
    empty = render_to_string("analytics/_churn_model.html", {"churn_model": None})
    assert "has not been trained yet" in empty
