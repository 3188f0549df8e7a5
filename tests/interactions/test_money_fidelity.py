"""Money from a real public file comes in exactly as the source recorded it: the CDNOW purchase
log (a US music shop's, shipped by the `lifetimes` package) gives each purchase's total for a
number of CDs; the stored order totals add up to the file's, per customer and overall."""

import csv
import importlib.resources
import json
from collections import defaultdict
from decimal import Decimal

import pytest
from django.core.management import call_command

from analytics.metrics import refresh_metrics
from analytics.models import CustomerMetrics
from interactions.models import Transaction

pytestmark = pytest.mark.django_db

CDNOW_ROWS = 3000


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _cdnow_purchases(limit: int) -> list[tuple[str, str, str, str]]:
    """(customer id, date YYYYMMDD, number of CDs, dollar value) of the log's first rows."""
    log = importlib.resources.files("lifetimes.datasets") / "CDNOW_master.txt"
    with log.open() as lines:
        next(lines)  # the header
        return [tuple(line.split()) for line, _ in zip(lines, range(limit), strict=False)]


def _write_csv(path, rows) -> None:
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)


def _run(command, path, capsys, user):
    call_command(command, str(path), "--source", "cdnow", "--user", user.username)
    return json.loads(capsys.readouterr().out)


def test_cdnow_purchase_totals_are_kept_to_the_cent(tmp_path, capsys, admin_user_role):
    purchases = _cdnow_purchases(CDNOW_ROWS)
    customers = sorted({customer for customer, *_rest in purchases})
    _write_csv(
        tmp_path / "customers.csv",
        [["Customer id", "Name"], *[[c, f"CDNOW {c}"] for c in customers]],
    )
    _write_csv(
        tmp_path / "orders.csv",
        [
            ["Order number", "Customer id", "Order date", "Quantity", "Line total"],
            *[
                [f"{customer}-{number}", customer, date, cds, dollars]
                for number, (customer, date, cds, dollars) in enumerate(purchases)
            ],
        ],
    )
    customer_summary = _run("import_customers", tmp_path / "customers.csv", capsys, admin_user_role)
    assert customer_summary["created"] == len(customers)
    order_summary = _run("import_transactions", tmp_path / "orders.csv", capsys, admin_user_role)
    assert (order_summary["created"], order_summary["failed"]) == (len(purchases), 0)

    expected: dict[str, Decimal] = defaultdict(Decimal)
    for customer, _date, _cds, dollars in purchases:
        expected[customer] += Decimal(dollars)
    # Summed here from the stored Decimals: SQLite's SUM would add them as floats.
    stored: dict[str, Decimal] = defaultdict(Decimal)
    for customer, amount in Transaction.objects.filter(source_system="cdnow").values_list(
        "customer__external_ids__external_id", "amount"
    ):
        stored[customer] += amount
    assert stored == expected
    assert sum(stored.values(), Decimal(0)) == sum(expected.values(), Decimal(0))
    # The lifetime values the metrics refresh derives from them, too.
    refresh_metrics()
    lifetime_values = dict(
        CustomerMetrics.objects.filter(orders__gt=0).values_list(
            "customer__external_ids__external_id", "revenue"
        )
    )
    assert lifetime_values == expected
