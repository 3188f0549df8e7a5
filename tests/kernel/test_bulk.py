"""kernel.bulk: COPY on PostgreSQL, bulk_create elsewhere; the same result on both."""

import pytest
from django.utils import timezone

from customers.models import Customer, ExternalId
from kernel.bulk import insert_new, insert_values

pytestmark = pytest.mark.django_db


def test_new_objects_get_their_primary_keys_and_timestamps():
    before = timezone.now()
    customers = [
        Customer(name=f"王{index}", phone=f"+86138001380{index:02d}") for index in range(3)
    ]
    insert_new(Customer, customers)
    assert all(customer.pk for customer in customers)
    stored = Customer.objects.get(pk=customers[1].pk)
    assert (stored.name, stored.phone) == ("王1", "+8613800138001")
    assert stored.updated_at >= before  # auto_now is filled in, as save() would
    assert not customers[0]._state.adding


def test_rows_as_tuples_are_inserted():
    customer = Customer.objects.create(name="王")
    insert_values(
        ExternalId,
        ("customer_id", "system", "external_id", "created_at"),
        [(customer.pk, "pos", "A1", timezone.now()), (customer.pk, "pos", "A2", timezone.now())],
    )
    assert sorted(customer.external_ids.values_list("external_id", flat=True)) == ["A1", "A2"]
