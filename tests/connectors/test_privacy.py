"""Raw deliveries hold personal data: an erasure clears the person's at once, applied or
still waiting, and the nightly retention clears the others once they are no longer needed."""

import datetime

import pytest
from django.utils import timezone

from connectors.deliveries import apply_delivery
from connectors.intake import receive
from connectors.models import DeliveryStatus, InboundDelivery, SourceRecord
from connectors.retention import forget_old_deliveries
from customers.models import Customer
from privacy.subjects.erasure import anonymise_customers
from tests.connectors.conftest import SHOPIFY_SECRET, fixture, signature

pytestmark = pytest.mark.django_db


def _deliver(connector, topic, body, webhook_id):
    receive(
        connector=connector,
        headers={
            "X-Shopify-Topic": topic,
            "X-Shopify-Webhook-Id": webhook_id,
            "X-Shopify-Hmac-Sha256": signature(SHOPIFY_SECRET, body),
        },
        body=body,
    )
    return InboundDelivery.objects.get(delivery_id=webhook_id)


def test_an_erasure_clears_the_person_s_deliveries_applied_or_waiting(shopify, privacy_user):
    created = _deliver(shopify, "customers/create", fixture("shopify/customers_create.json"), "a")
    apply_delivery(created.pk)
    waiting = _deliver(shopify, "customers/update", fixture("shopify/customers_update.json"), "b")
    someone_else = _deliver(shopify, "orders/create", fixture("shopify/orders_create.json"), "c")
    customer = Customer.objects.get(name="王丽娟")

    counts = anonymise_customers([customer.pk], actor=privacy_user, reason="request", evidence="")

    assert counts["shop_deliveries"] == 2
    for delivery in (created, waiting):
        delivery.refresh_from_db()
        assert delivery.body == ""
        assert delivery.body_cleared_at is not None
    someone_else.refresh_from_db()
    assert "li.na@example.cn" in someone_else.body
    assert not SourceRecord.objects.filter(kind="customer", local_id=customer.pk).exists()


def test_retention_clears_bodies_no_longer_needed_and_forgets_the_old_log(shopify, settings):
    settings.CONNECTORS_RAW_DAYS, settings.CONNECTORS_FAILED_RAW_DAYS = 7, 30
    settings.CONNECTORS_LOG_DAYS = 90
    applied = _deliver(shopify, "customers/create", fixture("shopify/customers_create.json"), "a")
    apply_delivery(applied.pk)
    failed = _deliver(shopify, "orders/create", b"{broken", "b")
    apply_delivery(failed.pk)
    waiting = _deliver(shopify, "orders/create", fixture("shopify/orders_create.json"), "c")
    ancient = _deliver(shopify, "shop/redact", fixture("shopify/shop_redact.json"), "d")
    now = timezone.now()
    InboundDelivery.objects.update(received_at=now - datetime.timedelta(days=8))
    InboundDelivery.objects.filter(pk=ancient.pk).update(
        received_at=now - datetime.timedelta(days=91)
    )

    forgotten = forget_old_deliveries(now=now)

    assert (forgotten.cleared, forgotten.deleted) == (2, 1)  # "d" cleared, then deleted
    statuses = dict(InboundDelivery.objects.values_list("delivery_id", "status"))
    assert statuses == {
        "a": DeliveryStatus.APPLIED,
        "b": DeliveryStatus.FAILED,
        "c": DeliveryStatus.RECEIVED,
    }
    bodies = dict(InboundDelivery.objects.values_list("delivery_id", "body"))
    assert bodies["a"] == ""
    assert bodies["b"] == "{broken"  # kept to be retried, for CONNECTORS_FAILED_RAW_DAYS
    assert bodies["c"] == waiting.body
    assert forget_old_deliveries(now=now + datetime.timedelta(days=23)).cleared == 1
