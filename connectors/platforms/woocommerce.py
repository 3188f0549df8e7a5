"""WooCommerce: webhooks signed with the base64 HMAC-SHA256 of the raw body under the secret
entered with the webhook (X-WC-Webhook-Signature), named by X-WC-Webhook-Topic and
X-WC-Webhook-Delivery-ID; payloads as its REST API (wc/v3) answers. The backfill reads the JSON
arrays that API answers for customers and orders (GET /wp-json/wc/v3/customers, /orders)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import IO, Any

from django.utils.translation import gettext_lazy as _

from connectors.changes import (
    MISSING_ID,
    Change,
    CustomerChange,
    OrderChange,
    OrderLine,
    PayloadError,
)
from connectors.platforms.base import (
    PlatformAdapter,
    customer_record,
    moment,
    money,
    street,
    text,
)

# What WooCommerce sends when a webhook is saved: a form body naming the webhook, unsigned.
_PING = re.compile(rb"^webhook_id=\d+$")
_STATUSES = {
    "processing": "paid",
    "completed": "paid",
    "refunded": "refunded",
    "cancelled": "cancelled",
    "failed": "cancelled",
}


def _address(address: Mapping[str, Any] | None) -> dict[str, Any]:
    address = address or {}
    return {
        "street": street(address.get("address_1"), address.get("address_2")),
        "city": address.get("city"),
        "province": address.get("state"),
        "country": address.get("country"),
        "postcode": address.get("postcode"),
        "company": address.get("company"),
        "phone": address.get("phone"),
    }


class WooCommerce(PlatformAdapter):
    key = "woocommerce"
    label = "WooCommerce"
    signature_header = "X-WC-Webhook-Signature"
    topic_header = "X-WC-Webhook-Topic"
    delivery_id_header = "X-WC-Webhook-Delivery-ID"
    kept_headers = (
        "X-WC-Webhook-Topic",
        "X-WC-Webhook-Source",
        "X-WC-Webhook-ID",
        "X-WC-Webhook-Delivery-ID",
    )
    topics = (
        ("customer.created", _("New customers")),
        ("customer.updated", _("Customer changes")),
        ("order.created", _("New orders")),
        ("order.updated", _("Order changes: payment, cancellation, refunds")),
    )

    def is_ping(self, headers: Mapping[str, str], body: bytes) -> bool:
        return self.signature_header not in headers and bool(_PING.match(body.strip()))

    def changes(self, topic: str, payload: Mapping[str, Any]) -> list[Change]:
        if topic in ("customer.created", "customer.updated"):
            return [self._customer(payload)]
        if topic in ("order.created", "order.updated"):
            return [self._order(payload)]
        return []

    def subject_ref(self, topic: str, payload: Mapping[str, Any]) -> str:
        if topic.startswith("customer."):
            return text(payload.get("id"))[:100]
        if topic.startswith("order."):
            customer_id = text(payload.get("customer_id"))
            return "" if customer_id in ("", "0") else customer_id[:100]
        return ""

    def _customer(self, customer: Mapping[str, Any]) -> CustomerChange:
        external_id = text(customer.get("id"))
        if not external_id:
            raise PayloadError(MISSING_ID)
        billing = customer.get("billing") or {}
        return CustomerChange(
            external_id=external_id,
            updated_at=moment(
                customer.get("date_modified_gmt") or customer.get("date_created_gmt"),
                assume_utc=True,
            ),
            record=customer_record(
                external_id=external_id,
                first_name=customer.get("first_name") or billing.get("first_name"),
                last_name=customer.get("last_name") or billing.get("last_name"),
                email=customer.get("email") or billing.get("email"),
                phone=billing.get("phone"),
                address=_address(billing),
            ),
        )

    def _order(self, order: Mapping[str, Any]) -> OrderChange:
        external_id = text(order.get("id"))
        if not external_id:
            raise PayloadError(MISSING_ID)
        billing = order.get("billing") or {}
        customer_id = text(order.get("customer_id"))
        registered = customer_id not in ("", "0")
        occurred_at = moment(
            order.get("date_paid_gmt") or order.get("date_created_gmt"), assume_utc=True
        )
        if occurred_at is None:
            raise PayloadError(_("The order has no date."))
        return OrderChange(
            external_id=external_id,
            updated_at=moment(order.get("date_modified_gmt"), assume_utc=True),
            number=text(order.get("number")) or external_id,
            # The order carries its buyer's billing details, not the customer's own record:
            # they found a customer not known yet, and never overwrite one (no updated time).
            customer=CustomerChange(
                external_id=customer_id if registered else "",
                updated_at=None,
                record=customer_record(
                    external_id=customer_id if registered else "",
                    first_name=billing.get("first_name"),
                    last_name=billing.get("last_name"),
                    email=billing.get("email"),
                    phone=billing.get("phone"),
                    address=_address(billing),
                ),
            ),
            occurred_at=occurred_at,
            status=_STATUSES.get(text(order.get("status"))),
            currency=text(order.get("currency")),
            total=money(order.get("total")),
            discount=money(order.get("discount_total")),
            lines=tuple(self._line(line) for line in order.get("line_items") or ()),
            # WooCommerce writes a refund's total as a negative amount.
            refunds={
                text(refund.get("id")): abs(money(refund.get("total")))
                for refund in order.get("refunds") or ()
            },
        )

    def _line(self, line: Mapping[str, Any]) -> OrderLine:
        quantity = money(line.get("quantity"))
        subtotal, total = money(line.get("subtotal")), money(line.get("total"))
        return OrderLine(
            sku=text(line.get("sku")),
            product_name=text(line.get("name")),
            quantity=quantity,
            unit_price=subtotal / quantity if quantity else money(line.get("price")),
            discount=max(subtotal - total, Decimal(0)),
        )

    def read_export(self, stream: IO[bytes]) -> Iterator[tuple[str, list[Change] | PayloadError]]:
        try:
            items = json.load(stream)
        except ValueError as error:
            raise PayloadError(_("The file is not JSON.")) from error
        if not isinstance(items, list):
            raise PayloadError(
                _("The file should hold the JSON array WooCommerce's REST API answers.")
            )
        for number, item in enumerate(items, start=1):
            if not isinstance(item, dict):
                yield f"#{number}", PayloadError(_("This entry is not a JSON object."))
                continue
            try:
                change = self._order(item) if "line_items" in item else self._customer(item)
            except PayloadError as error:
                yield text(item.get("id")) or f"#{number}", error
            else:
                yield text(item.get("id")), [change]
