"""The `any` lookup (kernel/lookups.py): what `in` finds, with one array parameter on
PostgreSQL."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers.models import Customer
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "wanted",
    [
        ["+8613800138000", "+8613900139000", None, "+8613800138000"],
        [None],
        [],
        {"+8613800138001"},
    ],
)
def test_any_finds_what_in_finds(wanted):
    CustomerFactory(phone="+8613800138000")
    CustomerFactory(phone="+8613800138001")
    CustomerFactory(phone="")
    by_in = sorted(Customer.objects.filter(phone__in=wanted).values_list("pk", flat=True))
    by_any = sorted(Customer.objects.filter(phone__any=wanted).values_list("pk", flat=True))
    assert by_any == by_in
    excluded = sorted(Customer.objects.exclude(phone__any=wanted).values_list("pk", flat=True))
    assert excluded == sorted(
        Customer.objects.exclude(phone__in=wanted).values_list("pk", flat=True)
    )


def test_any_takes_keys_and_dates_as_in_does():
    customers = CustomerFactory.create_batch(3)
    born = {customer.birth_date for customer in customers if customer.birth_date}
    wanted = [customers[0].pk, customers[2].pk, 0]
    assert sorted(Customer.objects.filter(pk__any=wanted).values_list("pk", flat=True)) == [
        customers[0].pk,
        customers[2].pk,
    ]
    assert set(Customer.objects.filter(birth_date__any=born).values_list("pk", flat=True)) == set(
        Customer.objects.filter(birth_date__in=born).values_list("pk", flat=True)
    )


@pytest.mark.postgres_only
def test_on_postgresql_the_values_are_one_array_parameter():
    CustomerFactory(phone="+8613800138000")
    wanted = [f"+86199{number:08d}" for number in range(2000)] + ["+8613800138000"]
    with CaptureQueriesContext(connection) as queries:
        found = list(Customer.objects.filter(phone__any=wanted).values_list("phone", flat=True))
    assert found == ["+8613800138000"]
    sql = queries[-1]["sql"]
    assert '"customers_customer"."phone" = ANY(' in sql
    assert " IN (" not in sql
