"""The administrators' pages: connecting a shop (the secret never shown again), its intake
address and topics, the delivery log without the payloads, retry, pause and resume, a new
secret, loading an export; the operations page's health row. Every write audited."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from connectors.backfill import BACKFILLS
from connectors.deliveries import apply_delivery
from connectors.intake import receive
from connectors.models import Backfill, Connector, DeliveryStatus, InboundDelivery
from kernel.models import JobStatus
from privacy import roles
from privacy.models import AuditEvent
from tests.connectors.conftest import SHOPIFY_SECRET, fixture, signature

pytestmark = pytest.mark.django_db


def _deliver(connector, topic, body, *, secret=SHOPIFY_SECRET, webhook_id="wh-1"):
    headers = {
        "X-Shopify-Topic": topic,
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-Hmac-Sha256": signature(secret, body),
    }
    return receive(connector=connector, headers=headers, body=body)


def test_an_administrator_connects_a_shop_and_sees_how_to_set_it_up(client, admin_user_role):
    client.force_login(admin_user_role)
    assert "Shops" in client.get("/").content.decode()  # the System menu
    response = client.post(
        "/connectors/new/",
        {
            "platform": "shopify",
            "name": "茶语 Shopify",
            "shop_url": "https://Cha-Yu.myshopify.com/admin",
            "secret": SHOPIFY_SECRET,
        },
    )
    connector = Connector.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/connectors/{connector.pk}/"
    assert (connector.shop_url, connector.system_name) == (
        "https://cha-yu.myshopify.com",
        "shopify:cha-yu.myshopify.com",
    )
    assert SHOPIFY_SECRET not in connector.secret_encrypted
    assert connector.service_account.groups.get().name == roles.SHOP_CONNECTOR
    assert not connector.service_account.has_usable_password()
    page = client.get(f"/connectors/{connector.pk}/").content.decode()
    assert f"http://127.0.0.1:8000/inbound/{connector.public_key}/" in page
    assert "customers/redact" in page
    assert SHOPIFY_SECRET not in page
    created = AuditEvent.objects.get(action="connector.create")
    assert SHOPIFY_SECRET not in str(created.changes)
    assert created.changes["shop_url"] == "https://cha-yu.myshopify.com"


def test_an_address_the_platform_does_not_use_and_a_second_connector_are_refused(
    client, admin_user_role, shopify
):
    client.force_login(admin_user_role)
    post = {"platform": "shopify", "name": "x", "secret": "s"}
    wrong = client.post("/connectors/new/", {**post, "shop_url": "https://shop.example.com"})
    assert wrong.status_code == 200
    assert "myshopify.com address" in wrong.content.decode()
    again = client.post(
        "/connectors/new/",
        {**post, "shop_url": "cha-yu.myshopify.com"},
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert "该网店已有连接。" in again.content.decode()
    assert Connector.objects.count() == 1


def test_the_log_shows_how_each_delivery_went_not_what_it_carried(client, admin_user_role, shopify):
    _deliver(shopify, "customers/create", fixture("shopify/customers_create.json"))
    apply_delivery(InboundDelivery.objects.get().pk)
    client.force_login(admin_user_role)
    page = client.get(f"/connectors/{shopify.pk}/").content.decode()
    assert "customers/create" in page
    assert "Applied" in page
    for personal in ("王丽娟", "丽娟", "wang.lijuan", "13800138000", "建国路"):
        assert personal not in page
    failed_only = client.get(f"/connectors/{shopify.pk}/?status=failed").content.decode()
    assert 'id="deliveries"' not in failed_only


def test_a_failed_delivery_is_retried_from_its_page(client, admin_user_role, shopify):
    _deliver(shopify, "orders/create", b"{not json")
    delivery = InboundDelivery.objects.get()
    assert apply_delivery(delivery.pk) == DeliveryStatus.FAILED
    client.force_login(admin_user_role)
    response = client.post(f"/connectors/{shopify.pk}/deliveries/{delivery.pk}/retry/")
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.note) == (DeliveryStatus.RECEIVED, 0, "")
    assert AuditEvent.objects.get(action="connector.retry").changes["delivery"] == delivery.pk
    # Retrying what did not fail is refused, with the reason.
    again = client.post(f"/connectors/{shopify.pk}/deliveries/{delivery.pk}/retry/", follow=True)
    assert "Only a failed delivery can be retried." in again.content.decode()


def test_a_paused_shop_still_acknowledges_and_keeps_deliveries_and_applies_them_on_resume(
    client, admin_user_role, shopify, django_capture_on_commit_callbacks
):
    client.force_login(admin_user_role)
    client.post(f"/connectors/{shopify.pk}/pause/")
    shopify.refresh_from_db()
    assert shopify.is_paused
    with django_capture_on_commit_callbacks() as queued:
        _deliver(shopify, "customers/create", fixture("shopify/customers_create.json"))
    assert queued == []  # nothing sent to the worker while paused
    delivery = InboundDelivery.objects.get()
    assert apply_delivery(delivery.pk) is None
    with django_capture_on_commit_callbacks() as queued:
        client.post(f"/connectors/{shopify.pk}/resume/")
    assert len(queued) == 1
    assert apply_delivery(delivery.pk) == DeliveryStatus.APPLIED
    events = AuditEvent.objects.filter(action__startswith="connector.").order_by("sequence")
    assert [event.action for event in events] == [
        "connector.create",
        "connector.pause",
        "connector.resume",
    ]


def test_a_new_secret_replaces_the_old_one_at_once(client, admin_user_role, shopify):
    client.force_login(admin_user_role)
    assert client.post(f"/connectors/{shopify.pk}/secret/", {"secret": " "}).status_code == 400
    response = client.post(f"/connectors/{shopify.pk}/secret/", {"secret": "shpss_new"})
    assert response.status_code == 302
    shopify.refresh_from_db()
    body = fixture("shopify/customers_create.json")
    assert _deliver(shopify, "customers/create", body).value == "refused"
    assert _deliver(shopify, "customers/create", body, secret="shpss_new").value == "stored"
    assert AuditEvent.objects.filter(action="connector.secret").count() == 1
    page = client.get(f"/connectors/{shopify.pk}/").content.decode()
    assert "1 delivery was refused because its signature did not match" in page


def test_an_export_is_loaded_from_the_page_and_its_progress_shown(
    client, admin_user_role, shopify, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    client.force_login(admin_user_role)
    upload = SimpleUploadedFile("customers.jsonl", fixture("shopify/bulk_customers.jsonl"))
    response = client.post(f"/connectors/{shopify.pk}/backfill/", {"file": upload})
    assert response.status_code == 302
    job = Backfill.objects.get()
    assert job.status == JobStatus.QUEUED
    waiting = client.get(f"/connectors/{shopify.pk}/backfills/").content.decode()
    assert 'hx-trigger="every 2s"' in waiting  # the page follows it while it runs
    BACKFILLS.run(job.pk)
    assert "hx-trigger" not in client.get(f"/connectors/{shopify.pk}/backfills/").content.decode()
    page = client.get(f"/connectors/{shopify.pk}/").content.decode()
    assert "customers.jsonl" in page
    assert "Done" in page
    again = client.post(
        f"/connectors/{shopify.pk}/backfill/",
        {"file": SimpleUploadedFile("again.jsonl", fixture("shopify/bulk_customers.jsonl"))},
    )
    assert again.status_code == 400
    assert "This file was loaded for this shop already." in again.content.decode()


def test_the_operations_page_shows_each_shop_s_last_delivery_failures_and_backlog(
    client, admin_user_role, shopify
):
    _deliver(shopify, "customers/create", fixture("shopify/customers_create.json"))
    _deliver(shopify, "orders/create", b"[]", webhook_id="wh-2")
    apply_delivery(InboundDelivery.objects.get(delivery_id="wh-2").pk)
    client.force_login(admin_user_role)
    page = client.get("/operations/").content.decode()
    section = page[page.index('id="connections"') :]
    assert "茶语 Shopify" in section
    assert "Shopify" in section
    from connectors.health import connection_health

    (health,) = connection_health()
    assert (health.errors_last_day, health.backlog) == (1, 1)
    assert health.oldest_waiting_at is not None


def test_pages_are_for_whoever_manages_connectors(client, make_user, shopify):
    client.force_login(make_user(roles.SERVICE))
    for path in (
        "/connectors/",
        "/connectors/new/",
        f"/connectors/{shopify.pk}/",
    ):
        assert client.get(path).status_code == 403
    assert client.post(f"/connectors/{shopify.pk}/pause/").status_code == 403
    shopify.refresh_from_db()
    assert not shopify.is_paused
