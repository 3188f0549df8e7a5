"""The order import's rows: one row per order line (POS and shop dumps) or per order; rows with
the same order number are one order. Orders are matched by (source system, order number), so a
file imported again adds nothing; a status that changed since (a refund) is updated."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from crm.bulk import insert_new
from customers.imports.fields import (
    SHOP_CHANNEL_SYNONYMS,
    BatchOptions,
    PreparedRow,
    choice_value,
    datetime_value,
    decimal_value,
    fitting_text,
    report_invalid,
)
from customers.imports.mapping import ImportField
from customers.models import Customer, InvalidValues
from customers.normalize import NormalizationError, fold_width
from interactions.imports.customer_link import (
    CUSTOMER_FIELDS,
    customers_for,
    link_errors,
    prepare_customer_keys,
    record_latest_activity,
)
from interactions.models import (
    Product,
    SalesChannel,
    Transaction,
    TransactionLine,
    TransactionStatus,
)

FIELDS: tuple[ImportField, ...] = (
    ImportField(
        "external_ref",
        _("Order number"),
        (
            "order id",
            "order number",
            "order no",
            "order",
            "name",
            "订单号",
            "订单编号",
            "单号",
            "交易号",
            "流水号",
            "小票号",
            "订单id",
        ),
    ),
    *CUSTOMER_FIELDS,
    ImportField(
        "occurred_at",
        _("Order date"),
        (
            "date",
            "order date",
            "created at",
            "paid at",
            "下单时间",
            "订单日期",
            "日期",
            "交易时间",
            "付款时间",
            "创建时间",
            "成交时间",
        ),
    ),
    ImportField(
        "sku", _("SKU"), ("sku", "lineitem sku", "商品编码", "货号", "商品编号", "条码", "商家编码")
    ),
    ImportField(
        "product_name",
        _("Product"),
        (
            "product",
            "item",
            "product name",
            "lineitem name",
            "商品",
            "商品名称",
            "品名",
            "宝贝名称",
        ),
    ),
    ImportField(
        "quantity", _("Quantity"), ("quantity", "qty", "lineitem quantity", "数量", "件数")
    ),
    ImportField("unit_price", _("Unit price"), ("price", "unit price", "lineitem price", "单价")),
    ImportField(
        "amount",
        _("Line amount"),
        ("amount", "total", "line total", "金额", "实付金额", "小计", "总价", "应付金额", "实付款"),
    ),
    ImportField("currency", _("Currency"), ("currency", "币种", "货币")),
    ImportField("channel", _("Sales channel"), ("channel", "sales channel", "渠道", "销售渠道")),
    ImportField(
        "status",
        _("Status"),
        ("status", "order status", "financial status", "状态", "订单状态", "交易状态"),
    ),
)
_REQUIRED_FIELDS = {"external_ref", "occurred_at"}
_CHANNEL_SYNONYMS = (
    *SHOP_CHANNEL_SYNONYMS,
    ("批发", "wholesale"),
    ("web", "online_shop"),
)
_STATUS_SYNONYMS = (
    ("已付款", "paid"),
    ("已支付", "paid"),
    ("交易成功", "paid"),
    ("已完成", "paid"),
    ("已发货", "paid"),
    ("completed", "paid"),
    ("fulfilled", "paid"),
    ("已退款", "refunded"),
    ("退款成功", "refunded"),
    ("refund", "refunded"),
    ("已取消", "cancelled"),
    ("交易关闭", "cancelled"),
    ("canceled", "cancelled"),
    ("voided", "cancelled"),
)
_CURRENCY_SYNONYMS = {
    "人民币": "CNY",
    "rmb": "CNY",
    "元": "CNY",
    "¥": "CNY",
    "￥": "CNY",
    "$": "USD",
    "美元": "USD",
    "€": "EUR",
    "欧元": "EUR",
}
_CENT = Decimal("0.01")
_MAX_AMOUNT = Decimal("999999999999.99")
_MAX_UNIT_PRICE = Decimal("1e10")
_MAX_QUANTITY = Decimal("1e9")

_ORDER_NUMBER_MISSING = _("An order needs its order number.")
_DATE_MISSING = _("An order needs its date.")
_PRICE_MISSING = _("Give the line's unit price or amount.")
_QUANTITY_INVALID = _("The quantity must be more than zero.")
_AMOUNT_TOO_LARGE = _("This amount is too large.")
_CURRENCY_INVALID = _("Enter a three-letter currency code such as CNY.")
_MIXED_CUSTOMERS = _("The rows of this order name different customers.")
_ORDER_OF_ANOTHER_CUSTOMER = _("This order number is already used by another customer's order.")
_ORDER_TOO_LARGE = _("This order's total is too large.")


# What write_batch writes in bulk (customers.imports.jobs analyses them); customers too,
# whose last activity moves.
TABLES_WRITTEN = (Transaction, TransactionLine, Product, Customer)


def mapping_errors(fields: set[str], *, source_name: str) -> list[Any]:
    errors = link_errors(fields, source_name=source_name)
    if not fields >= _REQUIRED_FIELDS:
        errors.append(_("Choose the columns with the order number and the order date."))
    if not fields & {"unit_price", "amount"}:
        errors.append(_("Choose the column with the unit price or the line amount."))
    return errors


def prepare(row: PreparedRow, *, invalid_values: str) -> PreparedRow:
    drop = invalid_values == InvalidValues.DROP_VALUE
    raw, values = row.raw, row.values
    prepare_customer_keys(row)
    order_number = raw.get("external_ref", "").lstrip("#")
    if not order_number:
        row.add_issue("external_ref", _ORDER_NUMBER_MISSING)
    values["external_ref"] = fitting_text(
        row, "external_ref", order_number, Transaction._meta.get_field("external_ref")
    )
    try:
        values["occurred_at"] = (
            datetime_value(raw["occurred_at"]) if raw.get("occurred_at") else None
        )
    except NormalizationError as error:
        row.add_issue("occurred_at", error.message)
    else:
        if values["occurred_at"] is None:
            row.add_issue("occurred_at", _DATE_MISSING)
    _prepare_money(row)
    for key, choices, synonyms, default in (
        ("channel", SalesChannel, _CHANNEL_SYNONYMS, None),
        ("status", TransactionStatus, _STATUS_SYNONYMS, TransactionStatus.PAID),
    ):
        if raw.get(key):
            try:
                values[key] = choice_value(choices, raw[key], synonyms)
            except NormalizationError as error:
                report_invalid(row, key, error.message, drop=drop)
        if default is not None:
            values.setdefault(key, default)
    currency = fold_width(raw.get("currency", "")).strip()
    currency = _CURRENCY_SYNONYMS.get(currency.casefold(), currency.upper())
    if currency and not (len(currency) == 3 and currency.isalpha()):
        report_invalid(row, "currency", _CURRENCY_INVALID, drop=drop)
        currency = ""
    values["currency"] = currency or settings.DEFAULT_CURRENCY
    values["sku"] = fitting_text(
        row, "sku", raw.get("sku", ""), Product._meta.get_field("sku"), drop=drop
    )
    values["product_name"] = fitting_text(
        row,
        "product_name",
        raw.get("product_name", ""),
        TransactionLine._meta.get_field("description"),
        drop=drop,
    )
    return row


def _prepare_money(row: PreparedRow) -> None:
    raw, values = row.raw, row.values
    numbers = {}
    for key in ("quantity", "unit_price", "amount"):
        if raw.get(key):
            try:
                numbers[key] = decimal_value(raw[key])
            except NormalizationError as error:
                row.add_issue(key, error.message)
    quantity = numbers.get("quantity", Decimal(1))
    if quantity <= 0:
        row.add_issue("quantity", _QUANTITY_INVALID)
        return
    if "unit_price" in numbers:
        unit_price = numbers["unit_price"]
    elif "amount" in numbers:
        unit_price = numbers["amount"] / quantity
    else:
        if not row.failed:
            row.add_issue("unit_price", _PRICE_MISSING)
        return
    # Within what the columns hold (line prices 10 digits before the point, quantities 9;
    # order totals 12), checked before rounding: "1e30" would not even round.
    if abs(unit_price) >= _MAX_UNIT_PRICE or quantity >= _MAX_QUANTITY:
        row.add_issue("unit_price" if "unit_price" in numbers else "amount", _AMOUNT_TOO_LARGE)
        return
    unit_price = unit_price.quantize(_CENT, rounding=ROUND_HALF_UP)
    if abs(unit_price * quantity) > _MAX_AMOUNT:
        row.add_issue("amount", _AMOUNT_TOO_LARGE)
        return
    values["quantity"] = quantity.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)
    values["unit_price"] = unit_price


def _default_channel(options: BatchOptions) -> str:
    return options.source_channel if options.source_channel in SalesChannel.values else "other"


def write_batch(rows: Sequence[PreparedRow], options: BatchOptions) -> dict[int, str]:
    """Create the batch's new orders with their lines (or add lines to an order this job began
    in an earlier batch); returns each row's outcome."""
    good = [row for row in rows if not row.failed]
    customers = customers_for(good, options)
    by_order: dict[str, list[PreparedRow]] = defaultdict(list)
    for row in good:
        if row.number in customers:
            by_order[row.values["external_ref"]].append(row)
    existing = {
        order.external_ref: order
        for order in Transaction.objects.filter(
            source_system=options.source_name, external_ref__in=list(by_order)
        )
        # "<> ''" matches the partial unique index, which PostgreSQL then uses for the IN list.
        .exclude(external_ref="")
        .only("pk", "external_ref", "status", "customer_id", "import_job_id")
    }
    outcomes: dict[int, str] = {}
    new_orders: list[tuple[Transaction, list[PreparedRow]]] = []
    continued: list[tuple[Transaction, list[PreparedRow]]] = []
    status_changes: list[Transaction] = []
    for ref, order_rows in by_order.items():
        customer = customers[order_rows[0].number]
        mixed = [row for row in order_rows if customers[row.number].pk != customer.pk]
        for row in mixed:
            row.add_issue("", _MIXED_CUSTOMERS)
            order_rows.remove(row)
        order = existing.get(ref)
        if order is None:
            first = order_rows[0].values
            order = Transaction(
                customer=customer,
                source_system=options.source_name,
                external_ref=ref,
                occurred_at=first["occurred_at"],
                channel=first.get("channel") or _default_channel(options),
                status=first["status"],
                currency=first["currency"],
                amount=Decimal(0),
                recorded_by=options.actor,
                import_job=options.job,
            )
            new_orders.append((order, order_rows))
            outcomes.update(dict.fromkeys((row.number for row in order_rows), "created"))
        elif options.job is not None and order.import_job_id == options.job.pk:
            continued.append((order, order_rows))  # its first lines came in an earlier batch
            outcomes.update(dict.fromkeys((row.number for row in order_rows), "created"))
        elif order.customer_id != customer.pk:
            # The order number belongs to another customer's order: never touch it.
            for row in order_rows:
                row.add_issue("external_ref", _ORDER_OF_ANOTHER_CUSTOMER)
            continue
        else:
            # Order-level values come from the order's first row, as shops export them.
            status = order_rows[0].values["status"]
            changed = status != order.status
            if changed:
                order.status = status
                status_changes.append(order)
            outcomes.update(
                dict.fromkeys(
                    (row.number for row in order_rows), "updated" if changed else "unchanged"
                )
            )
    products = _products(good)
    for order, order_rows in list(new_orders):
        order.amount = sum((_line_total(row) for row in order_rows), Decimal(0))
        if abs(order.amount) > _MAX_AMOUNT:
            for row in order_rows:
                row.add_issue("amount", _ORDER_TOO_LARGE)
            new_orders.remove((order, order_rows))
    insert_new(Transaction, [order for order, _rows in new_orders])
    for order, order_rows in continued:
        Transaction.objects.filter(pk=order.pk).update(
            amount=F("amount") + sum((_line_total(row) for row in order_rows), Decimal(0))
        )
    insert_new(
        TransactionLine,
        [
            TransactionLine(
                transaction=order,
                product=products.get(row.values["sku"]),
                description=row.values["product_name"],
                quantity=row.values["quantity"],
                unit_price=row.values["unit_price"],
            )
            for order, order_rows in [*new_orders, *continued]
            for row in order_rows
        ],
    )
    Transaction.objects.bulk_update(status_changes, ["status"])
    record_latest_activity(
        (order.customer_id, order.occurred_at)
        for order, _rows in new_orders
        if order.status == TransactionStatus.PAID
    )
    for row in rows:
        if row.failed:
            outcomes[row.number] = "failed"
    return outcomes


def _line_total(row: PreparedRow) -> Decimal:
    return (row.values["quantity"] * row.values["unit_price"]).quantize(_CENT)


def _products(rows: Sequence[PreparedRow]) -> dict[str, Product]:
    """The batch's products by SKU; SKUs not yet known are added to the catalogue."""
    named: dict[str, PreparedRow] = {}
    for row in rows:
        if row.values["sku"]:
            named.setdefault(row.values["sku"], row)
    if not named:
        return {}
    Product.objects.bulk_create(
        [
            Product(
                sku=sku,
                name=row.values["product_name"] or sku,
                price=row.values["unit_price"],
                currency=row.values["currency"],
            )
            for sku, row in named.items()
        ],
        ignore_conflicts=True,
    )
    return Product.objects.in_bulk(list(named), field_name="sku")
