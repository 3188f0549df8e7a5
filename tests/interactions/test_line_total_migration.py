"""Lines recorded before line totals existed get the total their order's amount was summed
from, in one set-based UPDATE (interactions/migrations/0007_line_totals_and_discounts.py)."""

import datetime
from decimal import Decimal

import pytest

from tests.factories import CustomerFactory

BEFORE = [("interactions", "0006_job_recoveries")]
AFTER = [("interactions", "0008_line_total_required")]


@pytest.mark.django_db(transaction=True)
def test_existing_lines_get_their_totals_from_quantity_and_unit_price(migrate_to):
    old = migrate_to(BEFORE)
    customer = CustomerFactory()  # the customers app is left at its latest migration
    order = old.get_model("interactions", "Transaction").objects.create(
        customer_id=customer.pk,
        occurred_at=datetime.datetime(2024, 5, 1, tzinfo=datetime.UTC),
        channel="store",
        amount=Decimal("29.34"),
    )
    lines = old.get_model("interactions", "TransactionLine").objects
    lines.create(transaction=order, quantity=Decimal("3"), unit_price=Decimal("9.78"))
    lines.create(transaction=order, quantity=Decimal("0.125"), unit_price=Decimal("10.00"))
    new = migrate_to(AFTER)
    totals = new.get_model("interactions", "TransactionLine").objects.order_by("pk")
    assert [line.line_total for line in totals] == [Decimal("29.34"), Decimal("1.25")]
