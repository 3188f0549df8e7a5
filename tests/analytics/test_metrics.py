"""Every metric of the set-based refresh against a plain Python computation over the same
generated history, on both engines; lifecycle rules and their recorded changes."""

from __future__ import annotations

import datetime
import json
import random
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from analytics.metrics import TABLES_READ, refresh_metrics, stage_rule
from analytics.models import CustomerMetrics, SegmentMember
from analytics.nightly import TABLES_READ_AFTER_METRICS, refresh_analytics
from customers import services
from customers.merge import merge_customers
from customers.models import Customer, LifecycleStage, LifecycleStageChange
from interactions.models import Interaction, InteractionKind, Transaction, TransactionStatus
from kernel.table_statistics import stale_tables
from privacy.models import AuditEvent
from tests.factories import CustomerFactory, InteractionFactory, TransactionFactory
from tests.planner_statistics import forget_statistics, unanalysed

pytestmark = pytest.mark.django_db

CENT = Decimal("0.01")
AS_OF = timezone.make_aware(datetime.datetime(2026, 6, 30, 12, 0))


def _history(customers: int = 40, seed: int = 11) -> list[Customer]:
    rng = random.Random(seed)
    made = []
    for index in range(customers):
        customer = CustomerFactory(name=f"Customer {index}")
        for _ in range(rng.choice((0, 0, 1, 1, 2, 3, 5))):
            TransactionFactory(
                customer=customer,
                occurred_at=AS_OF - datetime.timedelta(days=rng.randint(0, 800), hours=3),
                amount=Decimal(rng.randint(1, 90_000)) / 100,
                status=rng.choice(
                    [TransactionStatus.PAID] * 4
                    + [TransactionStatus.REFUNDED, TransactionStatus.CANCELLED]
                ),
            )
        for _ in range(rng.randint(0, 6)):
            InteractionFactory(
                customer=customer,
                kind=rng.choice(
                    [InteractionKind.CALL, InteractionKind.COMPLAINT, InteractionKind.FEEDBACK]
                ),
                occurred_at=AS_OF - datetime.timedelta(days=rng.randint(0, 400)),
                satisfaction=rng.choice((None, 1, 2, 3, 4, 5)),
            )
        made.append(customer)
    # Later than the refresh's "as of": must not count.
    TransactionFactory(customer=made[0], occurred_at=AS_OF + datetime.timedelta(days=1))
    return made


def _quintiles(values: dict[int, object]) -> dict[int, int]:
    """Quintiles from the bottom: 1 + 5 * (number of lower values) // n."""
    n = len(values)
    return {
        key: 1 + 5 * sum(other < value for other in values.values()) // n
        for key, value in values.items()
    }


def test_one_order_buyers_share_the_lowest_frequency_score():
    """Most buyers order once: they are not 'frequent' because they are many."""
    for index in range(8):
        customer = CustomerFactory(name=f"Once {index}")
        TransactionFactory(customer=customer, occurred_at=AS_OF - datetime.timedelta(days=9))
    loyal = CustomerFactory(name="Often")
    for days in (1, 2, 3):
        TransactionFactory(customer=loyal, occurred_at=AS_OF - datetime.timedelta(days=days))
    refresh_metrics(as_of=AS_OF)
    scores = dict(CustomerMetrics.objects.values_list("customer__name", "frequency_score"))
    assert scores.pop("Often") == 5
    assert set(scores.values()) == {1}


def _expected(customers: list[Customer]) -> dict[int, dict]:
    expected = {}
    for customer in customers:
        paid = [
            t
            for t in Transaction.objects.filter(customer=customer, status=TransactionStatus.PAID)
            if t.occurred_at <= AS_OF
        ]
        interactions = [
            i for i in Interaction.objects.filter(customer=customer) if i.occurred_at <= AS_OF
        ]
        revenue = sum((t.amount for t in paid), Decimal("0"))
        last = max((t.occurred_at for t in paid), default=None)
        rated = [i.satisfaction for i in interactions if i.satisfaction is not None]
        kinds: dict[str, int] = {}
        for interaction in interactions:
            kinds[interaction.kind] = kinds.get(interaction.kind, 0) + 1
        expected[customer.pk] = {
            "orders": len(paid),
            "revenue": revenue,
            # Rounded as the database rounds numeric: half away from zero.
            "average_order_value": (revenue / len(paid)).quantize(CENT, ROUND_HALF_UP)
            if paid
            else None,
            "first_purchase_at": min((t.occurred_at for t in paid), default=None),
            "last_purchase_at": last,
            "recency_days": (AS_OF - last).days if last else None,
            "repeat_buyer": len(paid) >= 2,
            "interactions": len(interactions),
            "interactions_by_kind": kinds,
            "complaints": kinds.get(InteractionKind.COMPLAINT, 0),
            "average_satisfaction": sum(rated) / len(rated) if rated else None,
        }
    buyers = {pk: values for pk, values in expected.items() if values["orders"]}
    for score, field in (
        ("recency_score", "last_purchase_at"),
        ("frequency_score", "orders"),
        ("monetary_score", "revenue"),
    ):
        scores = _quintiles({pk: values[field] for pk, values in buyers.items()})
        for pk, values in expected.items():
            values[score] = scores.get(pk)
    return expected


def test_every_metric_equals_a_plain_python_computation():
    customers = _history()
    run = refresh_metrics(as_of=AS_OF)
    assert run.customers == len(customers)
    expected = _expected(customers)
    stored = {m.customer_id: m for m in CustomerMetrics.objects.all()}
    assert set(stored) == set(expected)
    for pk, values in expected.items():
        metrics = stored[pk]
        for field, value in values.items():
            actual = getattr(metrics, field)
            if isinstance(value, float):
                assert actual == pytest.approx(value), (pk, field)
            elif isinstance(value, Decimal):
                assert Decimal(actual).quantize(CENT, ROUND_HALF_UP) == value, (pk, field)
            else:
                assert actual == value, (pk, field)
    assert any(m.rfm for m in stored.values())
    assert {len(m.rfm) for m in stored.values()} <= {0, 3}


def test_stages_move_by_the_rules_and_the_moves_are_recorded():
    now = AS_OF
    lead = CustomerFactory(name="Lead")
    first = CustomerFactory(name="First purchase")
    TransactionFactory(customer=first, occurred_at=now - datetime.timedelta(days=3))
    again = CustomerFactory(name="Bought again")
    for days in (10, 40):
        TransactionFactory(customer=again, occurred_at=now - datetime.timedelta(days=days))
    quiet = CustomerFactory(name="Quiet", lifecycle_stage=LifecycleStage.REPEAT)
    TransactionFactory(customer=quiet, occurred_at=now - datetime.timedelta(days=200))
    gone = CustomerFactory(name="Gone", lifecycle_stage=LifecycleStage.REPEAT)
    TransactionFactory(customer=gone, occurred_at=now - datetime.timedelta(days=400))
    archived = CustomerFactory(name="Archived", lifecycle_stage=LifecycleStage.REPEAT)
    TransactionFactory(customer=archived, occurred_at=now - datetime.timedelta(days=400))
    services.archive_customer(actor=None, customer=archived)
    refunded = CustomerFactory(name="Refunded", lifecycle_stage=LifecycleStage.CUSTOMER)
    TransactionFactory(
        customer=refunded,
        occurred_at=now - datetime.timedelta(days=400),
        status=TransactionStatus.REFUNDED,
    )
    edited_at = dict(Customer.objects.values_list("name", "updated_at"))
    run = refresh_metrics(as_of=now)
    stages = dict(Customer.objects.values_list("name", "lifecycle_stage"))
    assert stages == {
        "Lead": LifecycleStage.LEAD,
        "First purchase": LifecycleStage.CUSTOMER,
        "Bought again": LifecycleStage.REPEAT,
        "Quiet": LifecycleStage.AT_RISK,
        "Gone": LifecycleStage.CHURNED,
        # Archived customers have no metrics; without a paid order the rules say nothing.
        "Archived": LifecycleStage.REPEAT,
        "Refunded": LifecycleStage.CUSTOMER,
    }
    assert not CustomerMetrics.objects.filter(customer__name="Archived").exists()
    # A move by the rules is not an edit: merges and duplicate scans go by real edits.
    assert dict(Customer.objects.values_list("name", "updated_at")) == edited_at
    assert run.stage_changes == 4
    change = LifecycleStageChange.objects.get(customer=quiet, to_stage=LifecycleStage.AT_RISK)
    assert (change.from_stage, change.to_stage, change.changed_by) == ("repeat", "at_risk", None)
    assert AuditEvent.objects.filter(action="metrics.refresh").exists()
    # A second refresh with nothing new moves nobody.
    assert refresh_metrics(as_of=now).stage_changes == 0
    assert lead.stage_changes.count() == 1  # only its creation


@override_settings(LIFECYCLE_AT_RISK_DAYS=30, LIFECYCLE_CHURNED_DAYS=60)
def test_the_stage_thresholds_are_configurable():
    customer = CustomerFactory(name="Configurable")
    TransactionFactory(customer=customer, occurred_at=AS_OF - datetime.timedelta(days=45))
    refresh_metrics(as_of=AS_OF)
    customer.refresh_from_db()
    assert customer.lifecycle_stage == LifecycleStage.AT_RISK
    assert stage_rule(orders=1, recency_days=61) == LifecycleStage.CHURNED


def test_merged_customers_have_no_metrics_and_the_command_prints_a_summary(service_user, capsys):
    survivor = CustomerFactory(name="Survivor")
    merged = CustomerFactory(name="Merged")
    TransactionFactory(customer=merged, occurred_at=AS_OF - datetime.timedelta(days=1))
    merge_customers(actor=service_user, survivor=survivor, others=[merged])
    call_command("refresh_metrics")
    assert json.loads(capsys.readouterr().out)["customers"] == 1
    [metrics] = CustomerMetrics.objects.all()
    assert metrics.customer_id == survivor.pk
    assert metrics.orders == 1  # the merged customer's order moved to the survivor


def test_the_customer_page_shows_the_portrait(client, service_user):
    from interactions.models import Product

    tea = Product.objects.create(sku="TEA-1", name="Longjing", category="Tea", price=100)
    cup = Product.objects.create(sku="CUP-1", name="Cup", category="Tableware", price=20)
    customer = CustomerFactory(name="Portrait")
    TransactionFactory(
        customer=customer,
        occurred_at=AS_OF - datetime.timedelta(days=5),
        amount=None,
        lines=[
            {"product": tea, "quantity": 2, "unit_price": Decimal("100")},
            {"product": cup, "quantity": 1, "unit_price": Decimal("20")},
        ],
    )
    InteractionFactory(
        customer=customer,
        kind=InteractionKind.COMPLAINT,
        satisfaction=2,
        occurred_at=AS_OF - datetime.timedelta(days=4),
    )
    # After the refresh's "as of": not counted.
    InteractionFactory(customer=customer, kind=InteractionKind.COMPLAINT)
    occasional = CustomerFactory(name="Occasional")
    TransactionFactory(
        customer=occasional, occurred_at=AS_OF - datetime.timedelta(days=90), amount=10
    )
    client.force_login(service_user)
    url = f"/customers/{customer.pk}/"
    before = client.get(url)
    assert "RFM" not in before.content.decode()  # not refreshed yet: no figures shown
    assert [category for category, _ in before.context["categories"]] == ["Tea", "Tableware"]
    refresh_metrics(as_of=AS_OF)
    page = client.get(url)
    html = page.content.decode()
    # Two buyers: more recent and higher spend rank second of two (3); one order each ties
    # at the lowest score (1).
    assert ">313</span> R 3 · F 1 · M 3" in html
    assert CustomerMetrics.objects.get(customer=occasional).rfm == "111"
    assert "Tea · Tableware" in html
    assert "1 complaint" in html
    assert "satisfaction 2.0/5" in html


def test_a_refresh_keeps_the_churn_scores_of_buyers_until_the_model_scores_again():
    customers = _history()
    refresh_metrics(as_of=AS_OF)
    buyers = list(CustomerMetrics.objects.filter(orders__gt=0).values_list("pk", flat=True))
    CustomerMetrics.objects.filter(pk__in=buyers).update(churn_risk=0.25)
    gone = customers[1]
    services.archive_customer(actor=None, customer=gone)
    refresh_metrics(as_of=AS_OF)
    kept = dict(CustomerMetrics.objects.values_list("pk", "churn_risk"))
    assert gone.pk not in kept
    assert {pk for pk, risk in kept.items() if risk == 0.25} == set(buyers) - {gone.pk}
    assert all(risk is None for pk, risk in kept.items() if pk not in buyers)


def test_the_refresh_analyses_never_analysed_tables_first_and_its_metrics_after():
    # Issue 18: right after a bulk load that left them unanalysed (autovacuum not yet run),
    # the refresh was planned as if the tables were nearly empty and took minutes.
    _history(customers=5)
    forget_statistics(*TABLES_READ)
    stale = stale_tables(TABLES_READ)
    assert {Customer._meta.db_table, Transaction._meta.db_table} <= set(stale)
    refresh_metrics(as_of=AS_OF)
    assert stale_tables(TABLES_READ) == []
    assert unanalysed(*TABLES_READ) == []


def test_the_nightly_run_analyses_what_segments_and_dashboards_read():
    _history(customers=5)
    forget_statistics(*TABLES_READ, *TABLES_READ_AFTER_METRICS, SegmentMember)
    refresh_analytics()
    assert unanalysed(*TABLES_READ, *TABLES_READ_AFTER_METRICS, SegmentMember) == []
