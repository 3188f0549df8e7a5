"""/api/v1/webhook-subscriptions/: the subscription pages' work through the API, with their
permission, their services and their audit (channel `api`); a secret shown in one answer only."""

from __future__ import annotations

import pytest

from customers.services import create_customer
from privacy import roles
from privacy.models import AuditEvent
from tests.api.conftest import admin_api, api_client_for, sales_api  # noqa: F401 (fixtures)
from tests.factories import UserFactory
from webhooks.models import Delivery, DeliveryStatus, Subscription
from webhooks.tasks import deliver_webhooks

pytestmark = pytest.mark.django_db

URL = "/api/v1/webhook-subscriptions/"


def _detail(pk: int, tail: str = "") -> str:
    return f"{URL}{pk}/{tail}"


@pytest.fixture
def fields(receiver, service_account):
    owner = UserFactory(role=roles.ADMINISTRATOR, email="owner@example.com")
    return {
        "name": "Shop",
        "target_url": receiver.url,
        "topics": ["customer.created"],
        "service_account": service_account(roles.ADMINISTRATOR).pk,
        "owner": owner.pk,
    }


def test_create_answers_the_secret_once_and_audits_on_the_api_channel(admin_api, fields):  # noqa: F811
    created = admin_api.post(URL, fields, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["secret"].startswith("whsec_")
    assert created["Cache-Control"] == "no-store"
    assert created["Location"].endswith(_detail(body["id"]))
    subscription = Subscription.objects.get()
    assert body["secret"] not in subscription.secret_encrypted
    read = admin_api.get(_detail(body["id"]))
    assert read.status_code == 200
    assert "secret" not in read.json()
    assert body["secret"] not in read.content.decode()
    assert [item["id"] for item in admin_api.get(URL).json()["results"]] == [body["id"]]
    event = AuditEvent.objects.get(action="webhook.create")
    assert event.via == "api"
    assert body["secret"] not in str(event.changes)


def test_a_retried_create_makes_nothing_new_and_does_not_keep_the_secret(admin_api, fields):  # noqa: F811
    first = admin_api.post(URL, fields, format="json", HTTP_IDEMPOTENCY_KEY="sub-1")
    again = admin_api.post(URL, fields, format="json", HTTP_IDEMPOTENCY_KEY="sub-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert "secret" not in again.json()
    assert Subscription.objects.count() == 1


def test_a_private_address_and_an_unknown_event_are_refused_per_field(
    admin_api,  # noqa: F811
    fields,
    settings,
):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    refused = admin_api.post(
        URL,
        {**fields, "topics": ["customer.teleported"]},
        format="json",
        HTTP_ACCEPT_LANGUAGE="zh-hans",
    )
    assert refused.status_code == 400
    assert set(refused.json()["errors"]) == {"topics.0"}
    private = admin_api.post(URL, fields, format="json", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert private.status_code == 400
    message = private.json()["errors"]["target_url"][0]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in message)
    assert not Subscription.objects.exists()


def test_patch_changes_the_events_and_is_audited(admin_api, fields):  # noqa: F811
    pk = admin_api.post(URL, fields, format="json").json()["id"]
    changed = admin_api.patch(
        _detail(pk), {"topics": ["customer.updated", "customer.created"]}, format="json"
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["topics"] == ["customer.created", "customer.updated"]
    assert changed.json()["name"] == "Shop"
    event = AuditEvent.objects.get(action="webhook.update")
    assert (event.via, set(event.changes)) == ("api", {"topics"})


def test_rotate_pause_resume_and_delete(admin_api, fields):  # noqa: F811
    created = admin_api.post(URL, fields, format="json").json()
    rotated = admin_api.post(_detail(created["id"], "rotate/"))
    assert rotated.status_code == 200
    assert rotated.json()["secret"].startswith("whsec_")
    assert rotated.json()["secret"] != created["secret"]
    paused = admin_api.post(_detail(created["id"], "pause/"))
    assert (paused.json()["is_active"], paused.json()["paused_reason"]) == (False, "by_hand")
    resumed = admin_api.post(_detail(created["id"], "resume/"))
    assert (resumed.json()["is_active"], resumed.json()["paused_reason"]) == (True, "")
    assert admin_api.delete(_detail(created["id"])).status_code == 204
    assert admin_api.get(_detail(created["id"])).status_code == 404
    assert list(
        AuditEvent.objects.filter(action__startswith="webhook.")
        .order_by("pk")
        .values_list("action", flat=True)
    ) == [
        "webhook.create",
        "webhook.rotate",
        "webhook.pause",
        "webhook.resume",
        "webhook.delete",
    ]


def test_the_delivery_log_pages_by_cursor_and_a_replay_sends_again(
    admin_api,  # noqa: F811
    fields,
    receiver,
    subscribe,
):
    pk = admin_api.post(URL, fields, format="json").json()["id"]
    for number in range(3):
        create_customer(actor=None, name=f"Logged {number}")
    deliver_webhooks()
    first = admin_api.get(_detail(pk, "deliveries/"), {"limit": 2}).json()
    assert [d["status"] for d in first["results"]] == ["delivered", "delivered"]
    assert "body" not in first["results"][0]
    rest = admin_api.get(first["next"]).json()
    assert len(rest["results"]) == 1
    assert rest["next"] is None
    oldest = rest["results"][0]
    assert admin_api.get(_detail(pk, "deliveries/"), {"status": "failed"}).json()["results"] == []
    replayed = admin_api.post(_detail(pk, f"deliveries/{oldest['id']}/replay/"))
    assert replayed.status_code == 201
    assert (replayed.json()["replay_of"], replayed.json()["status"]) == (oldest["id"], "pending")
    deliver_webhooks()
    assert Delivery.objects.get(pk=replayed.json()["id"]).status == DeliveryStatus.DELIVERED
    assert receiver.requests[-1].headers["webhook-id"] == oldest["message_id"]
    # A delivery of another subscription is not found under this one.
    other = subscribe(receiver.url, ["customer.created"], name="Other").subscription
    create_customer(actor=None, name="Elsewhere")
    deliver_webhooks()
    elsewhere = Delivery.objects.filter(subscription=other).get()
    assert admin_api.post(_detail(pk, f"deliveries/{elsewhere.pk}/replay/")).status_code == 404


def test_only_who_manages_webhooks_may_call_it(
    admin_api,  # noqa: F811
    api_client_for,  # noqa: F811
    fields,
):
    pk = admin_api.post(URL, fields, format="json").json()["id"]
    for role in (roles.SALES, roles.SERVICE, roles.ANALYST, roles.PRIVACY_OFFICER):
        client = api_client_for(role)
        assert client.get(URL).status_code == 403
        assert client.get(_detail(pk)).status_code == 403
        assert client.post(_detail(pk, "rotate/")).status_code == 403
    assert AuditEvent.objects.filter(action="webhook.rotate").count() == 0
