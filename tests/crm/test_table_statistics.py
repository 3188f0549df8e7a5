"""Planner statistics after bulk writes (crm/table_statistics.py, issue 18)."""

import pytest
from django.db import connection, transaction

from crm.table_statistics import analyze_stale_tables, analyze_tables, stale_tables
from customers.models import Customer, Tag
from tests.factories import CustomerFactory
from tests.planner_statistics import forget_statistics, unanalysed

pytestmark = pytest.mark.django_db


def test_the_helpers_run_inside_and_outside_a_transaction_on_either_engine():
    CustomerFactory.create_batch(3)
    analyze_tables([Customer, Tag])
    with transaction.atomic():
        analyze_tables([Customer])
        analyze_stale_tables([Customer, Tag])
    analyze_tables([])
    assert Customer.objects.count() == 3  # nothing written was lost or locked


@pytest.mark.postgres_only
def test_analysing_gives_a_table_written_in_this_transaction_its_statistics():
    CustomerFactory.create_batch(5)
    forget_statistics(Customer)
    assert unanalysed(Customer) == ["customers_customer"]
    analyze_tables([Customer])
    assert unanalysed(Customer) == []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples FROM pg_class WHERE oid = CAST(%s AS regclass)",
            [Customer._meta.db_table],
        )
        assert cursor.fetchone()[0] == 5  # the rows this transaction wrote are counted


@pytest.mark.postgres_only
def test_tables_never_analysed_are_stale_and_analysed_once_they_are_not():
    CustomerFactory.create_batch(3)
    forget_statistics(Customer, Tag)
    assert stale_tables([Customer, Tag]) == ["customers_customer", "customers_tag"]
    assert analyze_stale_tables([Customer, Tag]) == ["customers_customer", "customers_tag"]
    assert stale_tables([Customer, Tag]) == []
    assert unanalysed(Customer, Tag) == []
