"""Whatever the quantities, prices and discounts, the order totals an import stores add up to
the file's to the cent, through the wizard and through the command (hypothesis)."""

import json
from decimal import ROUND_HALF_UP, Decimal
from itertools import count

import pytest
from django.core.management import call_command
from django.db.models import Sum
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from interactions.models import Transaction
from kernel.models import JobStatus
from tests.customers.importfiles import csv_bytes, run_wizard
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

PROPERTY_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
# Each example imports under a source system of its own: examples share the test's database.
_SOURCES = count()

quantities = st.one_of(
    st.integers(min_value=1, max_value=12).map(Decimal),
    st.decimals(min_value=Decimal("0.001"), max_value=Decimal("999.999"), places=3),
    st.integers(min_value=1_000, max_value=5_000_000).map(Decimal),
)
prices = st.decimals(min_value=Decimal("0"), max_value=Decimal("9999.99"), places=2)
cents = st.decimals(min_value=Decimal("0"), max_value=Decimal("500.00"), places=2)
line = st.tuples(quantities, prices, cents)
orders = st.lists(st.tuples(st.lists(line, min_size=1, max_size=4), cents), min_size=1, max_size=6)


def _cent(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _line_total_file(order_list):
    """A POS dump: each line's total as the till recorded it (the unit price shown rounded to
    the cent, so quantity × price does not give it back), less the order's discount."""
    header = ["Order number", "Phone", "Order date", "Quantity", "Unit price", "Line total"]
    rows, expected = [[*header, "Order discount"]], Decimal(0)
    for number, (lines, order_discount) in enumerate(order_list):
        for position, (quantity, price, _discount) in enumerate(lines):
            recorded = _cent(quantity * price / 3)  # "3 for 29.33": what the till charged
            unit_shown = _cent(recorded / quantity)
            discount_cell = str(order_discount) if position == 0 else ""
            rows.append(
                [
                    f"P-{number}",
                    "13800138000",
                    "2024-05-01",
                    str(quantity),
                    str(unit_shown),
                    str(recorded),
                    discount_cell,
                ]
            )
            expected += recorded
        expected -= order_discount
    return rows, expected


def _shop_export_file(order_list):
    """A shop export: unit price, quantity and discount per line; the order's total (after its
    discount, with shipping) on its first row only."""
    header = ["Name", "Phone", "Created at", "Lineitem quantity", "Lineitem price"]
    header += ["Lineitem discount", "Discount Amount", "Total"]
    rows, expected = [header], Decimal(0)
    for number, (lines, order_discount) in enumerate(order_list):
        goods = sum((_cent(q * p) - d for q, p, d in lines), Decimal(0))
        total = goods - order_discount + Decimal("9.90")
        for position, (quantity, price, discount) in enumerate(lines):
            order_cells = [str(order_discount), str(total)] if position == 0 else ["", ""]
            line_cells = [str(quantity), str(price), str(discount)]
            rows.append([f"#S{number}", "13800138000", "2024-05-01", *line_cells, *order_cells])
        expected += total
    return rows, expected


FILES = {"line totals": _line_total_file, "shop export": _shop_export_file}


def _stored_total(source: str) -> Decimal:
    total = Transaction.objects.filter(source_system=source).aggregate(total=Sum("amount"))
    return total["total"]


@pytest.fixture
def buyer():
    return CustomerFactory(name="王丽娟", phone="13800138000")


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.mark.parametrize("layout", FILES)
def test_wizard_keeps_the_files_order_totals_to_the_cent(client, admin_user_role, buyer, layout):
    client.force_login(admin_user_role)

    @PROPERTY_SETTINGS
    @given(order_list=orders)
    def check(order_list):
        rows, expected = FILES[layout](order_list)
        source = f"wizard-{next(_SOURCES)}"
        job = run_wizard(client, kind="transactions", content=csv_bytes(rows), source_name=source)
        assert (job.status, job.rows_failed) == (JobStatus.DONE, 0)
        assert _stored_total(source) == expected

    check()


@pytest.mark.parametrize("layout", FILES)
def test_command_keeps_the_files_order_totals_to_the_cent(
    tmp_path, capsys, admin_user_role, buyer, layout, settings
):
    settings.IMPORT_BATCH_SIZE = 3  # orders then straddle batches, as big files' do

    @PROPERTY_SETTINGS
    @given(order_list=orders)
    def check(order_list):
        rows, expected = FILES[layout](order_list)
        source = f"command-{next(_SOURCES)}"
        path = tmp_path / f"{source}.csv"
        path.write_bytes(csv_bytes(rows))
        call_command(
            "import_transactions", str(path), "--source", source, "--user", admin_user_role.username
        )
        summary = json.loads(capsys.readouterr().out)
        assert (summary["status"], summary["failed"]) == (JobStatus.DONE, 0)
        assert _stored_total(source) == expected

    check()
