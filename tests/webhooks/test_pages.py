"""The administrators' webhook pages: create (the secret shown once), the list's health, the
delivery log, rotate, pause and resume, replay."""

from __future__ import annotations

import pytest

from customers.services import create_customer
from webhooks.models import Delivery, Subscription
from webhooks.tasks import deliver_webhooks

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, admin_user_role):
    client.force_login(admin_user_role)
    return client


def test_creating_a_subscription_shows_its_secret_once(
    admin_client, admin_user_role, receiver, service_account
):
    account = service_account("Analyst")
    admin_user_role.email = "admin@example.com"
    admin_user_role.save()
    form = admin_client.get("/webhooks/new/").content.decode()
    assert 'value="customer.created"' in form
    assert "Customer created" in form
    response = admin_client.post(
        "/webhooks/new/",
        {
            "name": "Shop",
            "target_url": receiver.url,
            "topics": ["customer.created", "customer.erased"],
            "service_account": account.pk,
            "owner": admin_user_role.pk,
        },
    )
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    secret = response.context["secret"]
    assert secret.startswith("whsec_")
    assert secret in response.content.decode()
    subscription = Subscription.objects.get()
    assert subscription.topics == ["customer.created", "customer.erased"]
    assert secret not in subscription.secret_encrypted
    assert secret not in admin_client.get(f"/webhooks/{subscription.pk}/").content.decode()


def test_a_private_address_is_refused_unless_allowed(
    admin_client, admin_user_role, service_account, settings
):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    admin_user_role.email = "admin@example.com"
    admin_user_role.save()
    response = admin_client.post(
        "/webhooks/new/",
        {
            "name": "Internal",
            "target_url": "http://127.0.0.1:9/hooks",
            "topics": ["customer.created"],
            "service_account": service_account("Analyst").pk,
            "owner": admin_user_role.pk,
        },
    )
    assert "inside a private network" in response.content.decode()
    assert not Subscription.objects.exists()


def test_the_log_shows_deliveries_and_a_replay_sends_again(admin_client, receiver, subscribe):
    receiver.answers = [500, 200]
    subscription = subscribe(receiver.url, ["customer.created"]).subscription
    create_customer(actor=None, name="Logged")
    deliver_webhooks()
    listing = admin_client.get("/webhooks/").content.decode()
    assert "Shop" in listing
    assert "Failing" in listing
    page = admin_client.get(f"/webhooks/{subscription.pk}/?status=pending").content.decode()
    assert "answer 500" in page
    assert "customer.created" in page
    assert (
        "answer 500"
        not in admin_client.get(f"/webhooks/{subscription.pk}/?status=delivered").content.decode()
    )
    delivery = Delivery.objects.get()
    admin_client.post(f"/webhooks/{subscription.pk}/deliveries/{delivery.pk}/replay/")
    deliver_webhooks()
    assert Delivery.objects.filter(replay_of=delivery, status="delivered").exists()


def test_rotate_pause_and_resume_from_the_page(admin_client, receiver, subscribe):
    subscription = subscribe(receiver.url, ["customer.created"]).subscription
    rotated = admin_client.post(f"/webhooks/{subscription.pk}/rotate/")
    assert rotated.context["rotated"]
    assert rotated.context["secret"].startswith("whsec_")
    admin_client.post(f"/webhooks/{subscription.pk}/pause/")
    subscription.refresh_from_db()
    assert not subscription.is_active
    assert "paused-notice" in admin_client.get(f"/webhooks/{subscription.pk}/").content.decode()
    admin_client.post(f"/webhooks/{subscription.pk}/resume/")
    subscription.refresh_from_db()
    assert subscription.is_active


def test_the_webhook_pages_render_in_chinese(admin_client, receiver, subscribe):
    subscription = subscribe(receiver.url, ["customer.created"]).subscription
    admin_client.cookies["django_language"] = "zh-hans"
    page = admin_client.get(f"/webhooks/{subscription.pk}/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert page.status_code == 200
    assert "Deliveries" not in page.content.decode()
