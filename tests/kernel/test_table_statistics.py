"""Planner statistics after bulk writes (kernel/table_statistics.py, issue 18)."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from customers.imports.customer_rows import existing_matches
from customers.models import Customer, Tag
from kernel.table_statistics import (
    analyze_stale_tables,
    analyze_tables,
    planned_as_index_lookups,
    stale_tables,
)
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


def _plan(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}")
        return "\n".join(line for (line,) in cursor.fetchall())


@pytest.mark.postgres_only
def test_an_import_looks_customers_up_through_their_btree_indexes_on_a_table_planned_blind(
    admin_user_role,
):
    """A table filled by an import, its statistics taken when it was small (bench/imports.py
    into a fresh database): planned as is, the import's lists of phones and emails read the
    trigram indexes, whose every posting list holds nearly every row (there they did), or the
    whole table; planned as index lookups, each column's btree index."""

    def fill(numbers):
        Customer.objects.bulk_create(
            (
                Customer(
                    name=f"顾客{number}",
                    phone=f"+86199{number:08d}",
                    email=f"u{number}@example.com",
                )
                for number in numbers
            ),
            batch_size=5000,
        )

    fill(range(100))
    analyze_tables([Customer])  # its statistics as the import's first batch left them
    fill(range(100, 10000))
    keyed = [
        {"phone": f"+86199{number:08d}", "email": f"u{number}@example.com"}
        for number in range(9000, 11000)
    ]
    with CaptureQueriesContext(connection) as queries:
        found = existing_matches(keyed, "", actor=admin_user_role)
    assert len(found["phone"]) == len(found["email"]) == 1000
    lookups = [
        query["sql"]
        for query in queries
        if query["sql"].startswith("SELECT")
        and (
            '"customers_customer"."phone" = ANY' in query["sql"]
            or '"customers_customer"."email" = ANY' in query["sql"]
        )
    ]
    assert len(lookups) == 2
    with transaction.atomic():
        with planned_as_index_lookups():
            plans = [_plan(sql) for sql in lookups]
        with connection.cursor() as cursor:
            cursor.execute("SHOW enable_bitmapscan")
            assert cursor.fetchone()[0] == "on"  # only the block's queries were steered
    assert "customer_phone_idx" in plans[0]
    assert "customer_email_idx" in plans[1]
    for plan in plans:
        assert "trgm" not in plan
        assert "Seq Scan" not in plan
        assert "customers_customer_pkey" not in plan


def test_an_error_in_index_lookups_is_raised_as_it_is():
    with pytest.raises(ZeroDivisionError), planned_as_index_lookups():
        raise ZeroDivisionError


def test_index_lookups_find_the_same_rows_on_either_engine():
    CustomerFactory(phone="+8613800138000")
    with planned_as_index_lookups():
        found = list(Customer.objects.filter(phone__in=["+8613800138000", "+8613900139000"]))
    assert [customer.phone for customer in found] == ["+8613800138000"]
