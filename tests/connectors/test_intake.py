"""The intake over real HTTP: what is refused (and nothing of it kept), what is stored once,
and what is acknowledged without being applied."""

import pytest
import requests

from connectors.models import DeliveryStatus, InboundDelivery
from customers.models import Customer, ExternalId
from privacy.models import AuditEvent
from tests.connectors.conftest import (
    apply_received,
    fixture,
    intake_url,
    post_shopify,
    post_woo,
)

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_wrong_signature_is_refused_counted_and_nothing_is_stored(base_url, shopify):
    response = post_shopify(
        base_url,
        shopify,
        "customers/create",
        fixture("shopify/customers_create.json"),
        secret="another-shops-secret",
    )
    assert response.status_code == 401
    assert not InboundDelivery.objects.exists()
    shopify.refresh_from_db()
    assert shopify.refused_signatures == 1
    assert shopify.last_refused_at is not None


def test_a_body_changed_after_signing_is_refused(base_url, shopify):
    body = fixture("shopify/customers_create.json")
    signed = post_shopify(base_url, shopify, "customers/create", body)
    assert signed.status_code == 200
    tampered = body.replace(b"wang.lijuan@example.cn", b"thief@example.com")
    response = requests.post(
        intake_url(base_url, shopify),
        data=tampered,
        headers={
            "X-Shopify-Topic": "customers/create",
            "X-Shopify-Webhook-Id": "tampered-1",
            "X-Shopify-Hmac-Sha256": signed.request.headers["X-Shopify-Hmac-Sha256"],
        },
        timeout=30,
    )
    assert response.status_code == 401
    assert InboundDelivery.objects.count() == 1


def test_a_delivery_sent_again_is_stored_once_and_applied_once(base_url, shopify):
    body = fixture("shopify/customers_create.json")
    first = post_shopify(base_url, shopify, "customers/create", body, webhook_id="wh-1")
    again = post_shopify(base_url, shopify, "customers/create", body, webhook_id="wh-1")
    assert (first.status_code, first.json()) == (200, {"status": "stored"})
    assert (again.status_code, again.json()) == (200, {"status": "repeated"})
    delivery = InboundDelivery.objects.get()
    assert delivery.headers["X-Shopify-Webhook-Id"] == "wh-1"
    assert delivery.subject_ref == "7039851250000"

    assert apply_received(shopify) == [DeliveryStatus.APPLIED]
    assert apply_received(shopify) == []  # the message delivered twice: nothing left
    from connectors.deliveries import apply_delivery

    assert apply_delivery(delivery.pk) is None
    assert Customer.objects.count() == 1
    assert ExternalId.objects.get().system == "shopify:cha-yu.myshopify.com"
    assert AuditEvent.objects.filter(action="import.bulk_upsert").count() == 1


def test_the_same_content_under_a_new_delivery_id_changes_nothing(base_url, shopify):
    body = fixture("shopify/customers_create.json")
    post_shopify(base_url, shopify, "customers/create", body)
    post_shopify(base_url, shopify, "customers/create", body)
    assert apply_received(shopify) == [DeliveryStatus.APPLIED, DeliveryStatus.SKIPPED]
    assert Customer.objects.count() == 1
    skipped = InboundDelivery.objects.order_by("pk").last()
    assert "older than what the CRM holds" in skipped.note


def test_a_topic_the_crm_does_not_apply_is_acknowledged_and_kept_as_skipped(base_url, shopify):
    response = post_shopify(base_url, shopify, "shop/redact", fixture("shopify/shop_redact.json"))
    assert response.status_code == 200
    delivery = InboundDelivery.objects.get()
    assert (delivery.topic, delivery.status) == ("shop/redact", DeliveryStatus.SKIPPED)
    assert delivery.note == "The CRM does not apply this topic."


def test_woocommerce_s_ping_when_a_webhook_is_saved_is_answered_and_not_kept(base_url, woo):
    response = requests.post(
        intake_url(base_url, woo),
        data="webhook_id=12",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=30,
    )
    assert response.status_code == 200
    assert not InboundDelivery.objects.exists()


def test_a_woocommerce_delivery_is_verified_with_its_own_header(base_url, woo):
    body = fixture("woocommerce/customer_created.json")
    assert post_woo(base_url, woo, "customer.created", body, secret="wrong").status_code == 401
    assert post_woo(base_url, woo, "customer.created", body).status_code == 200
    assert apply_received(woo) == [DeliveryStatus.APPLIED]
    customer = Customer.objects.get()
    assert (customer.name, customer.phone) == ("刘晓明", "+8613512345678")


def test_unknown_address_oversized_body_and_other_methods_are_refused(base_url, shopify, settings):
    url = intake_url(base_url, shopify)
    assert (
        requests.post(url.replace(shopify.public_key, "nope"), data=b"{}", timeout=30).status_code
        == 404
    )
    assert requests.get(url, timeout=30).status_code == 405
    settings.CONNECTORS_MAX_BODY_BYTES = 100
    big = post_shopify(
        base_url, shopify, "customers/create", fixture("shopify/customers_create.json")
    )
    assert big.status_code == 413
    assert not InboundDelivery.objects.exists()
