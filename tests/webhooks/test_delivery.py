"""Deliveries from the outbox to a real HTTP receiver: signed per the Standard Webhooks
specification, retried, given up, paused, replayed, signed with both secrets after a rotation.
The first test goes through a real Celery worker, kicked by the commit; the others run the
worker's task in the test's process against the same receiver."""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from crm.celery import app as celery_app
from customers.services import create_customer
from kernel.models import OutboxEvent
from webhooks import services
from webhooks.models import Delivery, DeliveryStatus, PauseReason
from webhooks.tasks import deliver_webhooks

pytestmark = pytest.mark.django_db


def verify(secret: str, headers: dict[str, str], body: str) -> bool:
    """A receiver's check, written from the specification (standardwebhooks.com): HMAC-SHA256
    of "{webhook-id}.{webhook-timestamp}.{body}" under the base64-decoded secret (after its
    "whsec_" prefix), compared with each space-separated "v1,<base64>" signature."""
    key = base64.b64decode(secret.split("_", 1)[1])
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.{body}".encode()
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    return any(
        version == "v1" and hmac.compare_digest(value, expected)
        for version, _, value in (
            candidate.partition(",") for candidate in headers["webhook-signature"].split(" ")
        )
    )


def _wait_for(condition, *, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_committed_change_reaches_the_receiver_through_the_worker_signed_per_the_spec(
    receiver, subscribe
):
    new = subscribe(receiver.url, ["customer.created"])
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        customer = create_customer(actor=None, name="王伟", phone="13800138000")
        _wait_for(lambda: receiver.requests)
    request = receiver.requests[0]
    assert verify(new.secret, request.headers, request.body)
    assert request.headers["webhook-id"] == f"msg_{OutboxEvent.objects.get().pk}"
    assert abs(int(request.headers["webhook-timestamp"]) - time.time()) < 3600
    payload = json.loads(request.body)
    assert payload["type"] == "customer.created"
    assert payload["data"]["id"] == customer.pk
    assert payload["data"]["phone"] == "+8613800138000"  # an administrator's account sees it
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == (
        DeliveryStatus.DELIVERED,
        1,
        200,
    )
    assert delivery.subscription.last_success_at is not None


def test_a_signature_with_another_secret_does_not_verify(receiver, subscribe):
    subscribe(receiver.url, ["customer.created"])
    create_customer(actor=None, name="李娜")
    deliver_webhooks()
    request = receiver.requests[0]
    other = subscribe(receiver.url, ["customer.updated"], name="Other")
    assert not verify(other.secret, request.headers, request.body)
    tampered = request.body.replace("李娜", "李四")
    assert not verify(other.secret, request.headers, tampered)


def test_receiver_answering_500_then_200_gets_a_retry(receiver, subscribe):
    receiver.answers = [500, 200]
    subscribe(receiver.url, ["customer.created"])
    create_customer(actor=None, name="Retry")
    deliver_webhooks()
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 500)
    assert delivery.last_response == "answer 500"
    assert delivery.next_attempt_at > timezone.now()  # backed off, not due yet
    assert delivery.subscription.failing_since is not None
    assert deliver_webhooks() == 0
    Delivery.objects.update(next_attempt_at=timezone.now())
    deliver_webhooks()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 2, 200)
    assert delivery.subscription.failing_since is None
    assert [r.headers["webhook-id"] for r in receiver.requests] == [delivery.message_id] * 2


def test_a_delivery_failing_for_24_hours_is_given_up(receiver, subscribe):
    receiver.answers = [503]
    subscribe(receiver.url, ["customer.created"])
    create_customer(actor=None, name="Give up")
    deliver_webhooks()
    Delivery.objects.update(
        created_at=timezone.now() - datetime.timedelta(hours=24, minutes=1),
        next_attempt_at=timezone.now(),
    )
    deliver_webhooks()
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 2, None)


def test_a_subscription_failing_for_a_day_is_paused_and_its_owner_told(
    receiver, subscribe, django_capture_on_commit_callbacks, mailoutbox, monkeypatch
):
    # The owner's mail is a task queued after the pause commits: run here, as a worker would.
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)
    receiver.answers = [500]
    subscription = subscribe(receiver.url, ["customer.created"]).subscription
    create_customer(actor=None, name="First")
    deliver_webhooks()
    subscription.refresh_from_db()
    subscription.failing_since -= datetime.timedelta(hours=24)
    subscription.save()
    create_customer(actor=None, name="Second")
    with django_capture_on_commit_callbacks(execute=True):
        deliver_webhooks()
    subscription.refresh_from_db()
    assert not subscription.is_active
    assert subscription.paused_reason == PauseReason.FAILING
    assert [message.to for message in mailoutbox] == [["owner@example.com"]]
    assert subscription.name in mailoutbox[0].subject
    # Paused: nothing more is sent, events wait.
    sent = len(receiver.requests)
    create_customer(actor=None, name="Third")
    Delivery.objects.update(next_attempt_at=timezone.now())
    deliver_webhooks()
    assert len(receiver.requests) == sent
    assert Delivery.objects.filter(status="pending").count() == 3
    # Resumed: everything that waited goes out.
    receiver.answers = [200]
    services.resume_subscription(actor=None, subscription=subscription)
    deliver_webhooks()
    assert Delivery.objects.filter(status="delivered").count() == 3


def test_a_receiver_answering_410_gone_is_paused_at_once(receiver, subscribe):
    receiver.answers = [410]
    subscription = subscribe(receiver.url, ["customer.created"]).subscription
    create_customer(actor=None, name="Gone")
    deliver_webhooks()
    subscription.refresh_from_db()
    assert (subscription.is_active, subscription.paused_reason) == (False, PauseReason.GONE)


def test_replay_sends_the_same_body_and_id_again(receiver, subscribe):
    subscribe(receiver.url, ["customer.created"])
    create_customer(actor=None, name="Replay")
    deliver_webhooks()
    first = Delivery.objects.get()
    replay = services.replay_delivery(actor=None, delivery=first)
    deliver_webhooks()
    replay.refresh_from_db()
    assert replay.status == DeliveryStatus.DELIVERED
    assert replay.replay_of == first
    assert [r.body for r in receiver.requests] == [first.body] * 2
    assert {r.headers["webhook-id"] for r in receiver.requests} == {first.message_id}


def test_after_a_rotation_deliveries_are_signed_with_both_secrets_for_a_day(receiver, subscribe):
    old = subscribe(receiver.url, ["customer.created"])
    new = services.rotate_secret(actor=None, subscription=old.subscription)
    assert new.secret != old.secret
    assert new.secret.startswith("whsec_")
    create_customer(actor=None, name="Rotated")
    deliver_webhooks()
    request = receiver.requests[-1]
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert verify(old.secret, request.headers, request.body)
    assert verify(new.secret, request.headers, request.body)
    # A day later only the new secret signs.
    new.subscription.refresh_from_db()
    new.subscription.previous_secret_expires_at = timezone.now() - datetime.timedelta(seconds=1)
    new.subscription.save()
    create_customer(actor=None, name="Later")
    deliver_webhooks()
    request = receiver.requests[-1]
    assert len(request.headers["webhook-signature"].split(" ")) == 1
    assert verify(new.secret, request.headers, request.body)
    assert not verify(old.secret, request.headers, request.body)


def test_rolled_back_change_emits_nothing(receiver, subscribe):
    subscribe(receiver.url, ["customer.created"])

    def change_then_fail():
        with transaction.atomic():
            create_customer(actor=None, name="Never")
            assert OutboxEvent.objects.count() == 1
            raise RuntimeError

    with pytest.raises(RuntimeError):
        change_then_fail()
    assert OutboxEvent.objects.count() == 0
    deliver_webhooks()
    assert receiver.requests == []


def test_the_readme_verification_snippet_accepts_a_real_delivery(receiver, subscribe):
    readme = (settings.BASE_DIR / "README.md").read_text()
    snippet = readme.split("Verifying in Python:\n\n```python\n", 1)[1].split("```", 1)[0]
    namespace: dict = {}
    exec(snippet, namespace)  # noqa: S102 (the README's own example, run as documented)
    new = subscribe(receiver.url, ["customer.created"])
    create_customer(actor=None, name="Documented")
    deliver_webhooks()
    request = receiver.requests[0]
    assert namespace["verify"](new.secret, request.headers, request.body.encode())
    assert not namespace["verify"](new.secret, request.headers, b"{}")
