"""Planner statistics after bulk writes (kernel/table_statistics.py, issue 18)."""

import pytest
from django.db import connection, transaction

from customers.models import Customer, Tag
from kernel.table_statistics import analyze_stale_tables, analyze_tables, stale_tables
from tests.factories import CustomerFactory
from tests.planner_statistics import forget_statistics, unanalysed

pytestmark = pytest.mark.django_db


def test_analysing_inside_a_transaction_gives_the_rows_it_wrote_statistics():
    CustomerFactory.create_batch(5)
    forget_statistics(Customer)
    assert unanalysed(Customer) == ["customers_customer"]
    with transaction.atomic():
        analyze_tables([Customer])
    assert unanalysed(Customer) == []
    assert Customer.objects.count() == 5  # nothing written was lost


def test_tables_never_analysed_that_hold_rows_are_stale_and_then_analysed():
    CustomerFactory.create_batch(3)
    forget_statistics(Customer, Tag)
    # Tag holds no rows; whether its file still has pages other tests left decides whether
    # PostgreSQL calls it stale, so only the table with rows is certain.
    assert "customers_customer" in stale_tables([Customer, Tag])
    assert "customers_customer" in analyze_stale_tables([Customer, Tag])
    assert stale_tables([Customer, Tag]) == []


@pytest.mark.postgres_only
def test_postgresql_counts_the_rows_of_the_analysing_transaction():
    CustomerFactory.create_batch(5)
    forget_statistics(Customer)
    analyze_tables([Customer])
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reltuples FROM pg_class WHERE oid = CAST(%s AS regclass)",
            [Customer._meta.db_table],
        )
        assert cursor.fetchone()[0] == 5
