import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from customers.services import save_contact
from interactions import services
from interactions.models import TransactionLine
from interactions.selectors import preferred_categories
from privacy.models import AuditEvent
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_transaction_total_comes_from_lines_and_moves_last_activity(sales_user):
    customer = CustomerFactory()
    product = services.save_product(
        actor=None, sku="TEA-01", name="龙井茶 250g", price=Decimal("88.00")
    )
    when = timezone.now() - datetime.timedelta(days=2)
    order = services.record_transaction(
        actor=sales_user,
        customer=customer,
        occurred_at=when,
        channel="store",
        external_ref="POS-0001",
        lines=[
            {"product": product, "quantity": 2, "unit_price": Decimal("88.00")},
            {"description": "Gift box", "unit_price": Decimal("12.50")},
        ],
    )
    assert order.amount == Decimal("188.50")
    assert order.currency == "CNY"
    assert TransactionLine.objects.filter(transaction=order).count() == 2
    customer.refresh_from_db()
    assert customer.last_activity_at == when
    event = AuditEvent.objects.get(action="transaction.create")
    assert event.changes["amount"] == "188.50"


def test_transaction_needs_an_amount_or_lines():
    with pytest.raises(ValidationError):
        services.record_transaction(
            actor=None, customer=CustomerFactory(), occurred_at=timezone.now(), channel="store"
        )


def test_refund_does_not_count_as_activity():
    customer = CustomerFactory()
    services.record_transaction(
        actor=None,
        customer=customer,
        occurred_at=timezone.now(),
        channel="online_shop",
        amount=Decimal("50"),
        status="refunded",
    )
    customer.refresh_from_db()
    assert customer.last_activity_at is None


def test_interaction_validates_satisfaction_and_contact_and_keeps_body_out_of_audit(sales_user):
    customer, other = CustomerFactory(kind="company"), CustomerFactory(kind="company")
    contact = save_contact(actor=None, customer=other, name="王芳")
    with pytest.raises(ValidationError):
        services.record_interaction(
            actor=sales_user, customer=customer, kind="complaint", satisfaction=6
        )
    with pytest.raises(ValidationError):
        services.record_interaction(
            actor=sales_user, customer=customer, kind="call", contact=contact
        )
    interaction = services.record_interaction(
        actor=sales_user,
        customer=customer,
        kind="complaint",
        satisfaction=2,
        body="Parcel arrived broken; customer's address is 建国路88号",
    )
    assert interaction.staff == sales_user
    event = AuditEvent.objects.get(action="interaction.create")
    assert "建国路" not in str(event.changes)


def test_follow_up_completion_is_idempotent(sales_user):
    customer = CustomerFactory()
    follow_up = services.schedule_follow_up(
        actor=sales_user,
        customer=customer,
        title="Send the quote",
        due_at=timezone.now() + datetime.timedelta(days=1),
        assignee=sales_user,
    )
    services.complete_follow_up(actor=sales_user, follow_up=follow_up)
    first_done = follow_up.done_at
    services.complete_follow_up(actor=sales_user, follow_up=follow_up)
    assert follow_up.done_at == first_done
    assert AuditEvent.objects.filter(action="follow_up.done").count() == 1


def test_recorded_line_totals_are_kept_and_summed_not_recomputed(sales_user):
    """A till's "3 for 29.33" is 29.33, though 3 × the shown unit price 9.78 is 29.34."""
    customer = CustomerFactory()
    tea = services.save_product(
        actor=None, sku="TEA-02", name="Tea", category="tea", price=Decimal("9.78")
    )
    order = services.record_transaction(
        actor=sales_user,
        customer=customer,
        occurred_at=timezone.now(),
        channel="store",
        lines=[
            {
                "product": tea,
                "quantity": 3,
                "unit_price": Decimal("9.78"),
                "line_total": Decimal("29.33"),
            },
            {"description": "Cup", "unit_price": Decimal("20"), "discount": Decimal("2.50")},
        ],
    )
    assert order.amount == Decimal("46.83")
    assert sorted(order.lines.values_list("line_total", flat=True)) == [
        Decimal("17.50"),
        Decimal("29.33"),
    ]
    assert preferred_categories(customer=customer) == [("tea", Decimal("29.33"))]
