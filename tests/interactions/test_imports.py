"""Orders and interactions from files: linked to customers, idempotent, reported."""

import datetime
from decimal import Decimal

import pytest

from customers import services
from customers.imports import jobs
from interactions.imports import interaction_rows, transaction_rows
from interactions.imports.customer_link import NO_CUSTOMER
from interactions.models import Interaction, Product, Transaction, TransactionLine
from kernel.models import JobStatus
from tests.customers.importfiles import csv_bytes, upload
from tests.factories import CustomerFactory
from tests.planner_statistics import forget_statistics, unanalysed

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _import(actor, kind, rows, **options):
    job = jobs.create_import(actor=actor, kind=kind, upload=upload("f.csv", csv_bytes(rows)))
    options.setdefault("source_name", "pos")
    jobs.configure_import(actor=actor, job=job, mapping=job.mapping, **options)
    jobs.start_import(actor=actor, job=job, queue=False)
    jobs.IMPORT_JOBS.run(job.pk)
    job.refresh_from_db()
    return job


def _counts(job):
    return (job.rows_created, job.rows_updated, job.rows_unchanged, job.rows_failed)


ORDER_ROWS = [
    ["订单号", "手机号码", "下单时间", "商品编码", "商品名称", "数量", "单价", "订单状态"],
    ["A-1", "138 0013 8000", "2024/5/1 10:30", "TEA-1", "龙井 250g", "2", "¥88.00", "交易成功"],
    ["A-1", "138 0013 8000", "2024/5/1 10:30", "CUP-2", "茶杯", "1", "35", "交易成功"],
    ["A-2", "+86 138-0013-8000", "2024-06-02", "TEA-1", "龙井 250g", "1", "88", "已退款"],
    ["A-3", "13999999999", "2024-06-03", "TEA-1", "龙井 250g", "1", "88", ""],
    ["A-4", "13800138000", "2024-02-30", "TEA-1", "龙井 250g", "1", "88", ""],
    ["A-5", "13800138000", "2024-06-05", "", "", "0", "88", ""],
]


def test_orders_are_linked_grouped_into_lines_and_reported(admin_user_role):
    wang = CustomerFactory(name="王丽娟", phone="13800138000", email="wang@example.com")
    job = _import(admin_user_role, "transactions", ORDER_ROWS)
    assert job.status == JobStatus.DONE
    # Rows 2-3 are one order; 4 another; 5 names nobody; 6 has no such date; 7 no quantity.
    assert _counts(job) == (3, 0, 0, 3)
    first = Transaction.objects.get(external_ref="A-1")
    assert (first.customer, first.source_system, first.amount, first.status) == (
        wang,
        "pos",
        Decimal("211.00"),
        "paid",
    )
    assert first.occurred_at == datetime.datetime(2024, 5, 1, 2, 30, tzinfo=datetime.UTC)
    assert sorted(first.lines.values_list("product__sku", "quantity")) == [
        ("CUP-2", Decimal("1.000")),
        ("TEA-1", Decimal("2.000")),
    ]
    assert Transaction.objects.get(external_ref="A-2").status == "refunded"
    assert set(Product.objects.values_list("sku", "name")) == {
        ("TEA-1", "龙井 250g"),
        ("CUP-2", "茶杯"),
    }
    wang.refresh_from_db()
    assert wang.last_activity_at == first.occurred_at  # the refunded order is not activity
    messages = [line[4] for line in jobs.report_rows(job)]
    assert messages[0].startswith("No customer you may change matches")
    assert "not a real calendar date" in messages[1]
    assert "more than zero" in messages[2]


def test_importing_orders_again_adds_nothing_but_takes_a_later_refund(admin_user_role):
    CustomerFactory(name="王丽娟", phone="13800138000", email="wang@example.com")
    _import(admin_user_role, "transactions", ORDER_ROWS[:4])
    again = [*ORDER_ROWS[:3], [*ORDER_ROWS[3][:7], "已退款"]]
    again[1] = [*ORDER_ROWS[1][:7], "已退款"]
    job = _import(admin_user_role, "transactions", again)
    assert (Transaction.objects.count(), TransactionLine.objects.count()) == (2, 3)
    assert _counts(job) == (0, 2, 1, 0)  # A-1's two rows carry the refund; A-2 unchanged
    assert Transaction.objects.get(external_ref="A-1").status == "refunded"


def test_an_order_split_across_batches_gets_all_its_lines(admin_user_role, settings):
    settings.IMPORT_BATCH_SIZE = 2
    CustomerFactory(name="王", phone="13800138000")
    rows = [ORDER_ROWS[0]] + [
        ["B-1", "13800138000", "2024-05-01", f"SKU-{i}", "", "1", "10", ""] for i in range(5)
    ]
    job = _import(admin_user_role, "transactions", rows)
    order = Transaction.objects.get()
    assert (order.lines.count(), order.amount, job.rows_created) == (5, Decimal("50.00"), 5)


def test_sales_cannot_import_orders_for_other_owners_customers(sales_user, other_sales_user):
    """The row is refused in the words used for a customer who is not there at all, so an
    import does not confirm that a colleague's (or anyone's) customer has this phone."""
    CustomerFactory(name="王", phone="13800138000", owner=other_sales_user)
    job = _import(sales_user, "transactions", ORDER_ROWS[:2])
    assert _counts(job) == (0, 0, 0, 1)
    assert job.issues.get().message == NO_CUSTOMER
    assert not Transaction.objects.exists()


def test_sales_orders_find_unassigned_customers_by_their_id_not_their_masked_phone(
    sales_user, settings
):
    """Sales may record purchases of unassigned customers, whose phone they are shown masked:
    the source system's customer id finds them, the phone does not."""
    unassigned = CustomerFactory(name="王", phone="13800138000")
    services.add_external_id(actor=None, customer=unassigned, system="shop", external_id="C-0001")
    by_phone = _import(sales_user, "transactions", ORDER_ROWS[:2])
    assert by_phone.issues.get().message == NO_CUSTOMER
    rows = [
        ["订单号", "客户编号", "下单时间", "SKU", "商品", "数量", "单价", "状态"],
        ["A-1", "C-0001", "2024-05-01 10:30", "TEA-1", "龙井 250g", "2", "100", ""],
    ]
    by_id = _import(sales_user, "transactions", rows, source_name="shop")
    assert _counts(by_id) == (1, 0, 0, 0)
    assert Transaction.objects.get().customer == unassigned


INTERACTION_ROWS = [
    ["工单号", "手机", "类型", "时间", "渠道", "标题", "内容", "满意度"],
    ["T1", "13800138000", "投诉", "2024-06-01 09:00", "电话", "配送慢", "三天未到", "2"],
    ["T2", "13800138000", "咨询", "2024-06-02 10:00", "微信", "", "问保质期", "★★★★★"],
    ["T3", "13800138000", "跳舞", "2024-06-03", "", "", "", ""],
    ["T4", "13800138000", "来电", "2024-06-04", "飞鸽", "", "", "9"],
]


def test_interactions_are_imported_once_and_bad_optional_values_can_be_dropped(admin_user_role):
    wang = CustomerFactory(name="王丽娟", phone="13800138000")
    job = _import(admin_user_role, "interactions", INTERACTION_ROWS, invalid_values="drop")
    assert _counts(job) == (3, 0, 0, 1)  # 跳舞 is no kind of interaction
    complaint = Interaction.objects.get(external_ref="T1")
    assert (complaint.kind, complaint.channel, complaint.satisfaction, complaint.customer) == (
        "complaint",
        "phone",
        2,
        wang,
    )
    assert Interaction.objects.get(external_ref="T2").satisfaction == 5
    call = Interaction.objects.get(external_ref="T4")
    assert (call.kind, call.channel, call.satisfaction) == ("call", "", None)
    assert job.warnings == 2
    again = _import(admin_user_role, "interactions", INTERACTION_ROWS, invalid_values="drop")
    assert _counts(again) == (0, 0, 3, 1)
    assert Interaction.objects.count() == 3


def test_interaction_rows_with_unreadable_or_over_long_text_fail_alone(admin_user_role):
    CustomerFactory(name="王丽娟", phone="13800138000")
    rows = [
        ["工单号", "手机号码", "类型", "时间", "主题", "内容"],
        ["T1", "13800138000", "投诉", "2024-05-01 10:00", "包裹破损", "箱子压坏了"],
        ["T2", "13800138000", "来电", "2024-05-02 10:00", "问\x1b价格", ""],
        ["T3", "13800138000", "来电", "2024-05-03 10:00", "长", "话" * 10_001],
        ["T4", "13800138000", "来电", "2024-05-04 10:00", "主" * 201, ""],
        ["T5", "13800138000", "到店", "2024-05-05 10:00", "试穿", ""],
    ]
    job = _import(admin_user_role, "interactions", rows)
    assert _counts(job) == (2, 0, 0, 3)
    assert set(Interaction.objects.values_list("external_ref", flat=True)) == {"T1", "T5"}
    report = [line[:4] for line in jobs.report_rows(job)]
    assert report == [
        ["3", "主题", "问\ufffd价格", "Error"],
        ["4", "内容", "话" * 200, "Error"],
        ["5", "主题", "主" * 200, "Error"],
    ]
    # With invalid optional values dropped, the over-long text goes and its row comes in.
    dropped = _import(admin_user_role, "interactions", rows, invalid_values="drop")
    assert _counts(dropped) == (2, 0, 2, 1)
    assert Interaction.objects.get(external_ref="T3").body == ""


def test_interactions_without_ids_match_on_their_content(admin_user_role):
    CustomerFactory(name="王丽娟", email="wang@example.com")
    rows = [
        ["邮箱", "类型", "时间", "内容"],
        ["wang@example.com", "备注", "2024-06-01", "喜欢绿茶"],
        ["wang@example.com", "备注", "2024-06-01", "喜欢绿茶"],
    ]
    first = _import(admin_user_role, "interactions", rows)
    again = _import(admin_user_role, "interactions", rows)
    assert (_counts(first), _counts(again)) == ((1, 0, 1, 0), (0, 0, 2, 0))
    assert Interaction.objects.count() == 1


def test_order_and_interaction_mappings_need_their_columns(admin_user_role):
    from django.core.exceptions import ValidationError

    job = jobs.create_import(
        actor=admin_user_role,
        kind="transactions",
        upload=upload("o.csv", csv_bytes([["订单号", "金额"], ["1", "2"]])),
    )
    with pytest.raises(ValidationError, match="names the customer"):
        jobs.configure_import(actor=admin_user_role, job=job, mapping=job.mapping)


def test_the_order_and_interaction_commands_print_a_summary(tmp_path, admin_user_role, capsys):
    import json

    from django.core.management import call_command

    CustomerFactory(name="王丽娟", phone="13800138000")
    orders, interactions = tmp_path / "orders.csv", tmp_path / "events.csv"
    orders.write_bytes(csv_bytes(ORDER_ROWS[:3]))
    interactions.write_bytes(csv_bytes(INTERACTION_ROWS[:2]))
    call_command(
        "import_transactions", str(orders), "--source", "pos", "--user", admin_user_role.username
    )
    assert json.loads(capsys.readouterr().out)["created"] == 2
    call_command(
        "import_interactions",
        str(interactions),
        "--source",
        "desk",
        "--user",
        admin_user_role.username,
    )
    assert json.loads(capsys.readouterr().out)["created"] == 1
    assert Transaction.objects.count() == 1
    assert Interaction.objects.count() == 1


def test_absurd_amounts_fail_their_row_not_the_import(admin_user_role):
    CustomerFactory(name="王", phone="13800138000")
    rows = [
        ORDER_ROWS[0],
        ["X-1", "13800138000", "2024-05-01", "", "", "1", "1e30", ""],
        ["X-2", "13800138000", "2024-05-01", "", "", "1", "2000000000000", ""],
        ["X-3", "13800138000", "2024-05-01", "", "", "1", "88", ""],
        # Stored to three places it would be 0, which the line's constraint refuses.
        ["X-4", "13800138000", "2024-05-01", "", "", "0.0001", "88", ""],
    ]
    job = _import(admin_user_role, "transactions", rows)
    assert job.status == JobStatus.DONE
    assert _counts(job) == (1, 0, 0, 3)
    assert "too large" in job.issues.first().message


def test_an_order_number_of_another_customers_order_is_left_alone(admin_user_role):
    wang = CustomerFactory(name="王", phone="13800138000")
    CustomerFactory(name="李", phone="13900139000")
    _import(admin_user_role, "transactions", ORDER_ROWS[:2])
    hijack = [
        ORDER_ROWS[0],
        ["A-1", "13900139000", "2024/5/1 10:30", "TEA-1", "", "2", "88", "已退款"],
    ]
    job = _import(admin_user_role, "transactions", hijack)
    assert _counts(job) == (0, 0, 0, 1)
    order = Transaction.objects.get(external_ref="A-1")
    assert (order.customer, order.status) == (wang, "paid")


def test_an_order_without_its_total_in_a_file_of_order_totals_fails_and_says_so(admin_user_role):
    CustomerFactory(name="王", phone="13800138000")
    rows = [
        ["Name", "Phone", "Created at", "Lineitem quantity", "Lineitem price", "Total"],
        ["#1001", "13800138000", "2024-05-01", "3", "9.78", "39.23"],
        ["#1001", "13800138000", "2024-05-01", "1", "5.00", ""],
        ["#1002", "13800138000", "2024-05-02", "1", "5.00", ""],
    ]
    job = _import(admin_user_role, "transactions", rows)
    assert _counts(job) == (2, 0, 0, 1)
    order = Transaction.objects.get()
    assert (order.external_ref, order.amount) == ("1001", Decimal("39.23"))
    assert sorted(order.lines.values_list("line_total", flat=True)) == [
        Decimal("5.00"),
        Decimal("29.34"),
    ]
    assert "gives no total" in job.issues.get().message


@pytest.mark.parametrize(
    ("kind", "rows", "module"),
    [
        ("transactions", ORDER_ROWS, transaction_rows),
        ("interactions", INTERACTION_ROWS, interaction_rows),
    ],
)
def test_order_and_interaction_imports_leave_the_tables_they_wrote_analysed(
    admin_user_role, kind, rows, module
):
    # Issue 18: the nightly metrics read these at once; never analysed, they were planned
    # as if nearly empty and the refresh took minutes.
    CustomerFactory(name="王丽娟", phone="13800138000")
    forget_statistics(*module.TABLES_WRITTEN)
    job = _import(admin_user_role, kind, rows, invalid_values="drop")
    assert job.status == JobStatus.DONE
    assert job.rows_created
    assert unanalysed(*module.TABLES_WRITTEN) == []


def test_an_order_finds_its_customer_by_any_phone_the_shop_export_carries(admin_user_role):
    # Shopify admin → Orders → Export: the buyer's Phone is often empty, the number is on the
    # billing or shipping address. (Shopify's own columns, in its order; the rest left out.)
    headers = [
        "Name",
        "Email",
        "Financial Status",
        "Paid at",
        "Currency",
        "Created at",
        "Lineitem quantity",
        "Lineitem name",
        "Lineitem price",
        "Lineitem sku",
        "Billing Name",
        "Billing Phone",
        "Shipping Name",
        "Shipping Phone",
        "Phone",
    ]
    line = ["paid", "2024-05-01 10:30:00 +0800", "CNY", "2024-05-01 10:30:00 +0800", "1"]
    line += ["龙井 250g", "88.00", "TEA-1"]
    wang = CustomerFactory(name="王丽娟", phone="13800138000")
    zhao = CustomerFactory(name="赵敏", phone="13700137000")
    rows = [
        headers,
        ["#1001", "", *line, "王丽娟", "+86 138 0013 8000", "王丽娟", "", ""],
        # The billing number is unknown here: the shipping one finds the customer.
        ["#1002", "", *line, "赵敏", "13911112222", "赵敏", "137-0013-7000", ""],
        # An unreadable buyer Phone does not hide the billing one.
        ["#1003", "", *line, "王丽娟", "13800138000", "王丽娟", "", "n/a"],
    ]
    job = _import(admin_user_role, "transactions", rows, source_name="shopify")
    assert job.rows_failed == 0
    assert dict(Transaction.objects.values_list("external_ref", "customer")) == {
        "1001": wang.pk,
        "1002": zhao.pk,
        "1003": wang.pk,
    }
