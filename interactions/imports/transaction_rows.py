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

from customers.imports.fields import (
    NO_BATCH,
    SHOP_CHANNEL_SYNONYMS,
    BatchOptions,
    BatchValues,
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
from interactions.events import announce_transactions
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
from kernel.bulk import Blueprint, insert_new

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
        ("amount", "line total", "金额", "实付金额", "小计", "总价", "应付金额", "实付款"),
    ),
    ImportField(
        "discount",
        _("Line discount"),
        ("discount", "line discount", "lineitem discount", "优惠", "优惠金额", "折扣金额"),
    ),
    # Order-level money, as shop exports give it on an order's first row (Shopify: "Discount
    # Amount", "Total" with shipping and taxes).
    ImportField(
        "order_discount",
        _("Order discount"),
        ("order discount", "discount amount", "订单优惠", "订单折扣", "订单优惠金额"),
    ),
    ImportField(
        "order_total", _("Order total"), ("total", "order total", "订单总额", "订单总金额")
    ),
    ImportField("currency", _("Currency"), ("currency", "币种", "货币")),
    ImportField("channel", _("Sales channel"), ("channel", "sales channel", "渠道", "销售渠道")),
    ImportField(
        "status",
        _("Status"),
        ("status", "order status", "financial status", "状态", "订单状态", "交易状态"),
    ),
)


def fields() -> tuple[ImportField, ...]:
    """The fields this kind of import takes (customers/imports/jobs.py)."""
    return FIELDS


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
_PRICE_PLACES = Decimal("0.0001")
_MAX_AMOUNT = Decimal("999999999999.99")
_MAX_UNIT_PRICE = Decimal("1e12")
_MAX_QUANTITY = Decimal("1e9")
# Less would be stored as 0.000 (three places), which the line's check constraint refuses.
_LEAST_QUANTITY = Decimal("0.0005")
_MAX_CATALOGUE_PRICE = Decimal("1e10")

_ORDER_NUMBER_MISSING = _("An order needs its order number.")
_DATE_MISSING = _("An order needs its date.")
_PRICE_MISSING = _("Give the line's unit price or amount.")
_QUANTITY_INVALID = _("The quantity must be more than zero.")
_AMOUNT_TOO_LARGE = _("This amount is too large.")
_CURRENCY_INVALID = _("Enter a three-letter currency code such as CNY.")
_MIXED_CUSTOMERS = _("The rows of this order name different customers.")
_ORDER_OF_ANOTHER_CUSTOMER = _("This order number is already used by another customer's order.")
_ORDER_TOO_LARGE = _("This order's total is too large.")
_ORDER_TOTAL_MISSING = _(
    "This file has an order total column, but this order gives no total on any of its rows."
)


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


def prepare(
    row: PreparedRow, *, invalid_values: str, date_order: str, batch: BatchValues = NO_BATCH
) -> PreparedRow:
    drop = invalid_values == InvalidValues.DROP_VALUE
    raw, values = row.raw, row.values
    prepare_customer_keys(row, batch)
    order_number = raw.get("external_ref", "").lstrip("#")
    if not order_number:
        row.add_issue("external_ref", _ORDER_NUMBER_MISSING)
    values["external_ref"] = fitting_text(
        row, "external_ref", order_number, Transaction._meta.get_field("external_ref")
    )
    try:
        values["occurred_at"] = (
            datetime_value(raw["occurred_at"], date_order=date_order)
            if raw.get("occurred_at")
            else None
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
    """The line's money as the file gives it: its total (the line amount, else quantity × unit
    price less its discount, to the cent), a unit price to four places for reference, and the
    order's discount and total where this row carries them."""
    raw, values = row.raw, row.values
    numbers = {}
    for key in ("quantity", "unit_price", "amount", "discount", "order_discount", "order_total"):
        if raw.get(key):
            try:
                numbers[key] = decimal_value(raw[key])
            except NormalizationError as error:
                row.add_issue(key, error.message)
    quantity = numbers.get("quantity", Decimal(1))
    if quantity < _LEAST_QUANTITY:
        row.add_issue("quantity", _QUANTITY_INVALID)
        return
    # Within what the columns hold (unit prices 12 digits before the point, quantities 9,
    # amounts 12), checked before any arithmetic: "1e30" would not even round.
    too_large = [
        key
        for key, limit in (
            ("unit_price", _MAX_UNIT_PRICE),
            ("amount", _MAX_AMOUNT),
            ("discount", _MAX_AMOUNT),
            ("order_discount", _MAX_AMOUNT),
            ("order_total", _MAX_AMOUNT),
        )
        if abs(numbers.get(key, 0)) > limit
    ]
    if quantity >= _MAX_QUANTITY:
        too_large.append("quantity")
    for key in too_large:
        row.add_issue(key, _AMOUNT_TOO_LARGE)
    if too_large or row.failed:
        return
    discount = numbers.get("discount", Decimal(0))
    if "amount" in numbers:
        line_total = numbers["amount"].quantize(_CENT, rounding=ROUND_HALF_UP)
        unit_price = numbers.get("unit_price", (line_total + discount) / quantity)
    elif "unit_price" in numbers:
        unit_price = numbers["unit_price"]
        line_total = (quantity * unit_price - discount).quantize(_CENT, rounding=ROUND_HALF_UP)
    else:
        row.add_issue("unit_price", _PRICE_MISSING)
        return
    if abs(line_total) > _MAX_AMOUNT:
        row.add_issue("amount" if "amount" in numbers else "unit_price", _AMOUNT_TOO_LARGE)
        return
    values["quantity"] = quantity.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)
    values["unit_price"] = unit_price.quantize(_PRICE_PLACES, rounding=ROUND_HALF_UP)
    values["discount"] = discount.quantize(_CENT, rounding=ROUND_HALF_UP)
    values["line_total"] = line_total
    for key in ("order_discount", "order_total"):
        if key in numbers:
            values[key] = numbers[key].quantize(_CENT, rounding=ROUND_HALF_UP)


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
            source_system=options.source_name, external_ref__any=list(by_order)
        )
        # "<> ''" matches the partial unique index, which PostgreSQL then uses for the IN list.
        .exclude(external_ref="")
        .only("pk", "external_ref", "status", "customer_id", "import_job_id")
    }
    outcomes: dict[int, str] = {}
    new_orders: list[tuple[Transaction, list[PreparedRow]]] = []
    continued: list[tuple[Transaction, list[PreparedRow]]] = []
    status_changes: list[Transaction] = []
    sent_again: list[tuple[Transaction, list[PreparedRow]]] = []
    new_order = Blueprint(Transaction)
    for ref, order_rows in by_order.items():
        customer = customers[order_rows[0].number]
        mixed = [row for row in order_rows if customers[row.number].pk != customer.pk]
        for row in mixed:
            row.add_issue("", _MIXED_CUSTOMERS)
            order_rows.remove(row)
        order = existing.get(ref)
        if order is None:
            first = order_rows[0].values
            order = new_order(
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
            sent_again.append((order, order_rows))
    products = _products(good)
    totals_given = "order_total" in options.mapped_fields
    for order, order_rows in list(new_orders):
        problem = _set_order_money(order, order_rows, totals_given=totals_given)
        if problem:
            for row in order_rows:
                row.add_issue(problem[0], problem[1])
            new_orders.remove((order, order_rows))
    insert_new(Transaction, [order for order, _rows in new_orders])
    for order, order_rows in continued:
        # The order's total, when the file gives them, came with its first row; otherwise
        # these lines add to what the earlier batch summed.
        total = _first_given(order_rows, "order_total")
        if total is not None:
            Transaction.objects.filter(pk=order.pk).update(amount=total)
        elif not totals_given:
            Transaction.objects.filter(pk=order.pk).update(
                amount=F("amount") + _lines_total(order_rows)
            )
    new_line = Blueprint(TransactionLine)
    insert_new(
        TransactionLine,
        [
            new_line(
                transaction=order,
                product=products.get(row.values["sku"]),
                description=row.values["product_name"],
                quantity=row.values["quantity"],
                unit_price=row.values["unit_price"],
                discount=row.values["discount"],
                line_total=row.values["line_total"],
            )
            for order, order_rows in [*new_orders, *continued]
            for row in order_rows
        ],
    )
    Transaction.objects.bulk_update(status_changes, ["status"])
    announce_transactions([order for order, _rows in new_orders])
    record_latest_activity(
        (order.customer_id, order.occurred_at)
        for order, _rows in new_orders
        if order.status == TransactionStatus.PAID
    )
    for order, order_rows in [*new_orders, *continued, *sent_again]:
        for row in order_rows:
            row.stored_id = order.pk
    for row in rows:
        if row.failed:
            outcomes[row.number] = "failed"
            row.stored_id = None
    return outcomes


def _first_given(rows: Sequence[PreparedRow], key: str) -> Decimal | None:
    """An order-level value from the first of the order's rows that carries it."""
    return next((row.values[key] for row in rows if key in row.values), None)


def _lines_total(rows: Sequence[PreparedRow]) -> Decimal:
    return sum((row.values["line_total"] for row in rows), Decimal(0))


def _set_order_money(
    order: Transaction, rows: Sequence[PreparedRow], *, totals_given: bool
) -> tuple[str, Any] | None:
    """Set a new order's amount and discount as the file records them: its order total, else
    its lines' totals less its order discount. Returns the (field, message) that fails the
    order's rows instead."""
    order.discount = _first_given(rows, "order_discount") or Decimal(0)
    total = _first_given(rows, "order_total")
    if total is None and totals_given:
        return "order_total", _ORDER_TOTAL_MISSING
    order.amount = _lines_total(rows) - order.discount if total is None else total
    if abs(order.amount) > _MAX_AMOUNT:
        return "amount", _ORDER_TOO_LARGE
    return None


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
                # The catalogue keeps a price to the cent; a larger one is left for staff to set.
                price=_catalogue_price(row.values["unit_price"]),
                currency=row.values["currency"],
            )
            for sku, row in named.items()
        ],
        ignore_conflicts=True,
    )
    return Product.objects.in_bulk(list(named), field_name="sku")


def _catalogue_price(unit_price: Decimal) -> Decimal:
    price = unit_price.quantize(_CENT, rounding=ROUND_HALF_UP)
    return price if abs(price) < _MAX_CATALOGUE_PRICE else Decimal(0)
