"""Shops as they call the CRM: payloads recorded in the formats Shopify and WooCommerce document
(tests/connectors/fixtures/), signed the way each platform signs them, posted over real HTTP to
the live server; connectors made through the service, as an administrator would."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
from pathlib import Path
from typing import Any

import pytest
import requests

from connectors import services
from connectors.deliveries import apply_delivery
from connectors.models import Connector, InboundDelivery, Platform

FIXTURES = Path(__file__).parent / "fixtures"
SHOPIFY_SECRET = "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"
WOO_SECRET = "wc-secret-春天-2024"
_ids = itertools.count(1)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def payload(name: str) -> dict[str, Any]:
    return json.loads(fixture(name))


def body_of(data: dict[str, Any] | bytes) -> bytes:
    return data if isinstance(data, bytes) else json.dumps(data, ensure_ascii=False).encode()


def signature(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def intake_url(base_url: str, connector: Connector) -> str:
    return f"{base_url}/inbound/{connector.public_key}/"


def post_shopify(
    base_url: str,
    connector: Connector,
    topic: str,
    data: dict[str, Any] | bytes,
    *,
    webhook_id: str | None = None,
    secret: str = SHOPIFY_SECRET,
) -> requests.Response:
    """POST as Shopify does: JSON body, X-Shopify-* headers, the body's HMAC."""
    body = body_of(data)
    return requests.post(
        intake_url(base_url, connector),
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": signature(secret, body),
            "X-Shopify-Shop-Domain": "cha-yu.myshopify.com",
            "X-Shopify-API-Version": "2024-04",
            "X-Shopify-Webhook-Id": webhook_id or f"b54557e4-8a5f-4bf7-9d70-bcd04{next(_ids):07d}",
            "X-Shopify-Triggered-At": "2024-04-02T02:02:12.123456Z",
        },
        timeout=30,
    )


def post_woo(
    base_url: str,
    connector: Connector,
    topic: str,
    data: dict[str, Any] | bytes,
    *,
    delivery_id: str | None = None,
    secret: str = WOO_SECRET,
) -> requests.Response:
    """POST as WooCommerce does: JSON body, X-WC-Webhook-* headers, the body's HMAC."""
    body = body_of(data)
    resource, event = topic.split(".")
    return requests.post(
        intake_url(base_url, connector),
        data=body,
        headers={
            "Content-Type": "application/json",
            "User-Agent": "WooCommerce/8.8.3 Hookshot (WordPress/6.5.3)",
            "X-WC-Webhook-Source": "https://shop.example.cn/",
            "X-WC-Webhook-Topic": topic,
            "X-WC-Webhook-Resource": resource,
            "X-WC-Webhook-Event": event,
            "X-WC-Webhook-Signature": signature(secret, body),
            "X-WC-Webhook-ID": "12",
            "X-WC-Webhook-Delivery-ID": delivery_id
            or hashlib.md5(body).hexdigest()  # noqa: S324
            + str(next(_ids)),
        },
        timeout=30,
    )


def apply_received(connector: Connector) -> list[str | None]:
    """What the worker does with the messages queued after each delivery's commit."""
    ids = connector.deliveries.filter(status="received").order_by("pk").values_list("pk", flat=True)
    return [apply_delivery(delivery_id) for delivery_id in list(ids)]


def last_delivery(connector: Connector) -> InboundDelivery:
    return connector.deliveries.order_by("-pk").first()


@pytest.fixture
def shopify(admin_user_role) -> Connector:
    return services.create_connector(
        actor=admin_user_role,
        platform=Platform.SHOPIFY,
        name="茶语 Shopify",
        shop_url="cha-yu.myshopify.com",
        secret=SHOPIFY_SECRET,
    )


@pytest.fixture
def woo(admin_user_role) -> Connector:
    return services.create_connector(
        actor=admin_user_role,
        platform=Platform.WOOCOMMERCE,
        name="茶语官网",
        shop_url="https://shop.example.cn",
        secret=WOO_SECRET,
    )


@pytest.fixture
def base_url(live_server) -> str:
    return live_server.url
