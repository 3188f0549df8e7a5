"""/api/v1/customers/{id}/summary/: the 360° summary with the nightly metrics, scoped, masked
and audited as the customer page, in a bounded number of queries."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from analytics.metrics import refresh_metrics
from analytics.models import SegmentKind
from analytics.segments.services import add_members, save_segment
from customers.models import Customer
from customers.services import save_contact
from interactions.models import Product
from interactions.services import schedule_follow_up
from privacy.models import AuditEvent
from tests.factories import CustomerFactory, InteractionFactory, TransactionFactory

pytestmark = pytest.mark.django_db


def summary(pk: int) -> str:
    return f"/api/v1/customers/{pk}/summary/"


def regular_customer(*, orders: int, interactions: int, assignee, **fields):
    """A customer with a history of the given length, its metrics refreshed."""
    customer = CustomerFactory(kind="company", **fields)
    save_contact(actor=None, customer=customer, name="王磊")
    tea = Product.objects.get_or_create(sku="TEA-1", defaults={"name": "Tea", "category": "Tea"})[0]
    for day in range(orders):
        TransactionFactory(
            customer=customer,
            occurred_at=timezone.now() - datetime.timedelta(days=day + 1),
            amount=None,  # the sum of its line
            lines=[{"product": tea, "quantity": 1, "unit_price": Decimal("100.00")}],
        )
    for day in range(interactions):
        InteractionFactory(
            customer=customer, occurred_at=timezone.now() - datetime.timedelta(days=day + 1)
        )
    schedule_follow_up(
        actor=None,
        customer=customer,
        title="Call back",
        due_at=timezone.now() + datetime.timedelta(days=1),
        assignee=assignee,
    )
    return customer


def test_the_summary_holds_what_the_customer_page_shows(admin_api, sales_user, analyst_user):
    customer = regular_customer(
        orders=3, interactions=2, assignee=sales_user, name="Acme Ltd", phone="13800138000"
    )
    segment = save_segment(actor=analyst_user, name="Tea buyers", kind=SegmentKind.STATIC)
    add_members(
        actor=analyst_user, segment=segment, customers=Customer.objects.filter(pk=customer.pk)
    )
    refresh_metrics()

    response = admin_api.get(summary(customer.pk))
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["customer"]["phone"] == "+8613800138000"
    assert response["ETag"] == f'"{body["customer"]["version"]}"'
    assert body["lifecycle_stage"] == body["customer"]["lifecycle_stage"]
    metrics = body["metrics"]
    assert metrics["orders"] == 3
    assert metrics["revenue"] == "300.00"
    assert metrics["rfm"] == "".join(
        str(metrics[score]) for score in ("recency_score", "frequency_score", "monetary_score")
    )
    assert "churn_risk" in metrics
    assert body["purchase_totals"]["orders"] == 3
    assert body["buys_most"] == [{"category": "Tea", "spend": "300.00"}]
    assert body["counts"] == {"contacts": 1, "interactions": 2, "open_follow_ups": 1}
    assert len(body["latest_purchases"]) == 3
    assert body["latest_purchases"][0]["lines"][0]["line_total"] == "100.00"
    assert len(body["latest_interactions"]) == 2
    assert [f["title"] for f in body["open_follow_ups"]] == ["Call back"]
    assert [s["name"] for s in body["segments"]] == ["Tea buyers"]
    assert AuditEvent.objects.filter(action="customer.view_personal", via="api").count() == 1


def test_the_summary_before_the_first_refresh_has_no_metrics(admin_api):
    customer = CustomerFactory()
    body = admin_api.get(summary(customer.pk)).json()
    assert body["metrics"] is None
    assert body["counts"] == {"contacts": 0, "interactions": 0, "open_follow_ups": 0}


def test_the_summary_is_masked_for_an_analyst_key_and_not_audited(analyst_api):
    customer = CustomerFactory(phone="13800138000", email="a@example.com", street="建国路88号")
    body = analyst_api.get(summary(customer.pk)).json()
    assert "*" in body["customer"]["phone"]
    assert body["customer"]["email"] != "a@example.com"
    assert body["customer"]["street"] != "建国路88号"
    assert not AuditEvent.objects.filter(action="customer.view_personal").exists()


def test_another_salespersons_customer_has_no_summary_for_a_sales_key(sales_api, other_sales_user):
    others = CustomerFactory(owner=other_sales_user)
    assert sales_api.get(summary(others.pk)).status_code == 404
    assert sales_api.get(summary(CustomerFactory(owner=sales_api.account).pk)).status_code == 200


@pytest.mark.parametrize(("orders", "interactions"), [(1, 1), (12, 15)])
def test_the_summary_reads_a_bounded_number_of_queries_whatever_the_history(
    admin_api, sales_user, django_assert_max_num_queries, orders, interactions
):
    customer = regular_customer(orders=orders, interactions=interactions, assignee=sales_user)
    refresh_metrics()
    admin_api.get(summary(customer.pk))  # the first call also notes the key's first use
    with django_assert_max_num_queries(24):
        response = admin_api.get(summary(customer.pk))
    assert len(response.json()["latest_purchases"]) == min(orders, 5)
