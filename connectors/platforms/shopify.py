"""Shopify: webhooks signed with the base64 HMAC-SHA256 of the raw body under the shop's
webhook secret (X-Shopify-Hmac-Sha256), named by X-Shopify-Topic and X-Shopify-Webhook-Id;
payloads as Shopify's REST Admin API writes them. The backfill reads the JSONL file a GraphQL
bulk operation writes (README "Shops" gives the queries): one object per line, the line items
of an order on lines of their own after it, pointing at it by `__parentId`."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import IO, Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from connectors.changes import (
    MISSING_ID,
    Change,
    CustomerChange,
    OrderChange,
    OrderLine,
    PayloadError,
    RefundChange,
    SubjectRequestChange,
)
from connectors.platforms.base import (
    PlatformAdapter,
    customer_record,
    moment,
    money,
    street,
    text,
)
from privacy.models import RequestKind

_SHOP_DOMAIN = ".myshopify.com"
_NOT_MYSHOPIFY = _("The shop's myshopify.com address, such as example.myshopify.com.")
_PAID = {"paid", "partially_refunded", "partially_paid", "refunded"}
_CANCELLED = {"voided"}


def _gid_number(value: Any) -> str:
    """A GraphQL global id ("gid://shopify/Customer/207119551") as the REST id it names."""
    return text(value).rsplit("/", 1)[-1]


def _tags(value: Any) -> list[str]:
    if isinstance(value, list):
        return [text(tag) for tag in value]
    return [tag.strip() for tag in text(value).split(",")]


def _address(address: Mapping[str, Any] | None) -> dict[str, Any]:
    address = address or {}
    return {
        "street": street(address.get("address1"), address.get("address2")),
        "city": address.get("city"),
        "province": address.get("province"),
        "country": address.get("country_code") or address.get("countryCodeV2"),
        "postcode": address.get("zip"),
        "company": address.get("company"),
        "phone": address.get("phone"),
    }


def _order_status(financial_status: str, cancelled: bool) -> str | None:
    """A TransactionStatus value, or None for an order not paid yet (pending, authorized):
    nothing is recorded until it is."""
    status = financial_status.casefold()
    if cancelled or status in _CANCELLED:
        return "cancelled"
    if status == "refunded":
        return "refunded"
    return "paid" if status in _PAID else None


def _shop_money(value: Any) -> Any:
    """A GraphQL MoneyBag's amount in the shop's currency."""
    return ((value or {}).get("shopMoney") or {}).get("amount")


class Shopify(PlatformAdapter):
    key = "shopify"
    label = "Shopify"
    signature_header = "X-Shopify-Hmac-Sha256"
    topic_header = "X-Shopify-Topic"
    delivery_id_header = "X-Shopify-Webhook-Id"
    kept_headers = (
        "X-Shopify-Topic",
        "X-Shopify-Shop-Domain",
        "X-Shopify-API-Version",
        "X-Shopify-Webhook-Id",
        "X-Shopify-Event-Id",
        "X-Shopify-Triggered-At",
    )
    topics = (
        ("customers/create", _("New customers")),
        ("customers/update", _("Customer changes")),
        ("orders/create", _("New orders")),
        ("orders/updated", _("Order changes: payment, cancellation, refunds")),
        ("refunds/create", _("Refunds")),
        ("customers/redact", _("A customer's erasure request")),
        ("customers/data_request", _("A customer's request for their data")),
    )

    def clean_shop_url(self, value: str) -> str:
        url = super().clean_shop_url(value)
        host = url.split("://", 1)[1].split("/", 1)[0]
        if not host.endswith(_SHOP_DOMAIN) or host == _SHOP_DOMAIN[1:]:
            raise ValidationError(_NOT_MYSHOPIFY)
        return f"https://{host}"

    # --- webhooks ----------------------------------------------------------------------------

    def changes(self, topic: str, payload: Mapping[str, Any]) -> list[Change]:
        if topic in ("customers/create", "customers/update"):
            return [self._customer(payload)]
        if topic in ("orders/create", "orders/updated"):
            return [self._order(payload)]
        if topic == "refunds/create":
            return [self._refund(payload)]
        if topic in ("customers/redact", "customers/data_request"):
            return [self._subject_request(topic, payload)]
        return []

    def subject_ref(self, topic: str, payload: Mapping[str, Any]) -> str:
        if topic.startswith("customers/"):
            customer = payload.get("customer") if "customer" in payload else payload
            return text((customer or {}).get("id"))[:100]
        if topic.startswith("orders/"):
            return text((payload.get("customer") or {}).get("id"))[:100]
        return ""

    def _customer(self, customer: Mapping[str, Any], *, given_at: Any = None) -> CustomerChange:
        external_id = text(customer.get("id"))
        if not external_id:
            raise PayloadError(MISSING_ID)
        email_consent = (customer.get("email_marketing_consent") or {}).get("state")
        if email_consent is None and customer.get("accepts_marketing") is not None:
            email_consent = "yes" if customer["accepts_marketing"] else "no"
        return CustomerChange(
            external_id=external_id,
            updated_at=moment(customer.get("updated_at") or given_at),
            record=customer_record(
                external_id=external_id,
                first_name=customer.get("first_name"),
                last_name=customer.get("last_name"),
                email=customer.get("email"),
                phone=customer.get("phone"),
                address=_address(customer.get("default_address")),
                tags=_tags(customer.get("tags")),
                consent_email=email_consent,
                consent_sms=(customer.get("sms_marketing_consent") or {}).get("state"),
            ),
        )

    def _buyer(self, order: Mapping[str, Any]) -> CustomerChange:
        """The order's customer; a guest checkout's buyer from the order's own contact."""
        if order.get("customer"):
            return self._customer(order["customer"])
        billing = order.get("billing_address") or {}
        return CustomerChange(
            external_id="",
            updated_at=None,
            record=customer_record(
                first_name=billing.get("first_name"),
                last_name=billing.get("last_name"),
                email=order.get("email") or order.get("contact_email"),
                phone=order.get("phone") or billing.get("phone"),
                address=_address(billing),
            ),
        )

    def _order(self, order: Mapping[str, Any]) -> OrderChange:
        external_id = text(order.get("id"))
        if not external_id:
            raise PayloadError(MISSING_ID)
        occurred_at = moment(order.get("processed_at") or order.get("created_at"))
        if occurred_at is None:
            raise PayloadError(_("The order has no date."))
        return OrderChange(
            external_id=external_id,
            updated_at=moment(order.get("updated_at")),
            number=(text(order.get("name")) or text(order.get("order_number"))).lstrip("#"),
            customer=self._buyer(order),
            occurred_at=occurred_at,
            status=_order_status(
                text(order.get("financial_status")), bool(order.get("cancelled_at"))
            ),
            currency=text(order.get("currency")),
            total=money(order.get("total_price")),
            discount=money(order.get("total_discounts")),
            lines=tuple(
                OrderLine(
                    sku=text(line.get("sku")),
                    product_name=text(line.get("name") or line.get("title")),
                    quantity=money(line.get("quantity")),
                    unit_price=money(line.get("price")),
                    discount=money(line.get("total_discount")),
                )
                for line in order.get("line_items") or ()
            ),
            refunds={
                text(refund.get("id")): self._refunded(refund)
                for refund in order.get("refunds") or ()
            },
        )

    def _refunded(self, refund: Mapping[str, Any]) -> Decimal:
        """The money a refund gave back: its successful refund transactions."""
        return sum(
            (
                money(transaction.get("amount"))
                for transaction in refund.get("transactions") or ()
                if transaction.get("kind") == "refund" and transaction.get("status") == "success"
            ),
            Decimal(0),
        )

    def _refund(self, refund: Mapping[str, Any]) -> RefundChange:
        refund_id, order_id = text(refund.get("id")), text(refund.get("order_id"))
        if not refund_id or not order_id:
            raise PayloadError(MISSING_ID)
        return RefundChange(
            order_external_id=order_id, refund_id=refund_id, amount=self._refunded(refund)
        )

    def _subject_request(self, topic: str, payload: Mapping[str, Any]) -> SubjectRequestChange:
        customer = payload.get("customer") or {}
        shop = text(payload.get("shop_domain"))
        if topic == "customers/redact":
            kind = RequestKind.ERASURE
            details = _(
                "Shopify redaction request (customers/redact) from %(shop)s for the shop's "
                "customer %(customer)s; orders to redact: %(orders)s."
            ) % {
                "shop": shop,
                "customer": text(customer.get("id")) or "—",
                "orders": ", ".join(text(o) for o in payload.get("orders_to_redact") or ()) or "—",
            }
        else:
            kind = RequestKind.ACCESS
            details = _(
                "Shopify data request (customers/data_request %(request)s) from %(shop)s for the "
                "shop's customer %(customer)s; orders requested: %(orders)s."
            ) % {
                "request": text((payload.get("data_request") or {}).get("id")) or "—",
                "shop": shop,
                "customer": text(customer.get("id")) or "—",
                "orders": ", ".join(text(o) for o in payload.get("orders_requested") or ()) or "—",
            }
        return SubjectRequestChange(
            kind=kind,
            customer_external_id=text(customer.get("id")),
            email=text(customer.get("email")),
            phone=text(customer.get("phone")),
            details=str(details),
        )

    # --- the bulk operation's JSONL ----------------------------------------------------------

    def read_export(self, stream: IO[bytes]) -> Iterator[tuple[str, list[Change] | PayloadError]]:
        current: dict[str, Any] | None = None
        children: list[dict[str, Any]] = []
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except ValueError:
                yield f"line {number}", PayloadError(_("This line is not JSON."))
                continue
            if not isinstance(item, dict):
                yield f"line {number}", PayloadError(_("This line is not a JSON object."))
            elif item.get("__parentId"):
                children.append(item)
            else:
                if current is not None:
                    yield self._exported(current, children)
                current, children = item, []
        if current is not None:
            yield self._exported(current, children)

    def _exported(
        self, item: dict[str, Any], children: list[dict[str, Any]]
    ) -> tuple[str, list[Change] | PayloadError]:
        gid = text(item.get("id"))
        try:
            if "/Customer/" in gid:
                return gid, [self._exported_customer(item)]
            if "/Order/" in gid:
                return gid, [self._exported_order(item, children)]
            return gid, PayloadError(_("Only customers and orders are read from this file."))
        except PayloadError as error:
            return gid, error

    def _exported_customer(self, node: Mapping[str, Any]) -> CustomerChange:
        external_id = _gid_number(node.get("id"))
        address = node.get("defaultAddress") or {}
        return CustomerChange(
            external_id=external_id,
            updated_at=moment(node.get("updatedAt")),
            record=customer_record(
                external_id=external_id,
                first_name=node.get("firstName"),
                last_name=node.get("lastName"),
                email=node.get("email"),
                phone=node.get("phone"),
                address=_address(address),
                tags=_tags(node.get("tags")),
                consent_email=(node.get("emailMarketingConsent") or {}).get("marketingState"),
                consent_sms=(node.get("smsMarketingConsent") or {}).get("marketingState"),
            ),
        )

    def _exported_order(self, node: Mapping[str, Any], lines: list[dict[str, Any]]) -> OrderChange:
        customer = node.get("customer")
        if customer:
            buyer = self._exported_customer(customer)
        else:
            billing = node.get("billingAddress") or {}
            buyer = CustomerChange(
                external_id="",
                updated_at=None,
                record=customer_record(
                    first_name=billing.get("firstName"),
                    last_name=billing.get("lastName"),
                    email=node.get("email"),
                    phone=node.get("phone") or billing.get("phone"),
                    address=_address(billing),
                ),
            )
        occurred_at = moment(node.get("processedAt") or node.get("createdAt"))
        if occurred_at is None:
            raise PayloadError(_("The order has no date."))
        return OrderChange(
            external_id=_gid_number(node.get("id")),
            updated_at=moment(node.get("updatedAt")),
            number=text(node.get("name")).lstrip("#"),
            customer=buyer,
            occurred_at=occurred_at,
            status=_order_status(
                text(node.get("displayFinancialStatus")), bool(node.get("cancelledAt"))
            ),
            currency=text(node.get("currencyCode")),
            total=money(_shop_money(node.get("totalPriceSet"))),
            discount=money(_shop_money(node.get("totalDiscountsSet"))),
            lines=tuple(
                OrderLine(
                    sku=text(line.get("sku")),
                    product_name=text(line.get("name")),
                    quantity=money(line.get("quantity")),
                    unit_price=money(_shop_money(line.get("originalUnitPriceSet"))),
                    discount=money(_shop_money(line.get("totalDiscountSet"))),
                )
                for line in lines
                if "/LineItem/" in text(line.get("id"))
            ),
            refunds={
                _gid_number(refund.get("id")): money(_shop_money(refund.get("totalRefundedSet")))
                for refund in node.get("refunds") or ()
            },
        )
