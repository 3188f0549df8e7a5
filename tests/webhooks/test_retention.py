"""The nightly retention of the delivery log and the outbox (webhooks/retention.py): old
finished deliveries go, each subscription's latest and anything still pending stay; outbox
events go once no delivery refers to them."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings
from django.utils import timezone

from crm.settings import CELERY_BEAT_SCHEDULE
from customers.services import create_customer
from kernel.models import OutboxEvent
from webhooks import services
from webhooks.models import Delivery, DeliveryStatus
from webhooks.retention import forget_old_deliveries
from webhooks.tasks import deliver_webhooks
from webhooks.tasks import forget_old_deliveries as nightly_task

pytestmark = pytest.mark.django_db


def _age(deliveries, *, days: int) -> None:
    Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(
        created_at=timezone.now() - datetime.timedelta(days=days)
    )


def _delivered(count: int) -> list[Delivery]:
    for number in range(count):
        create_customer(actor=None, name=f"Retention {number}")
    deliver_webhooks()
    return list(Delivery.objects.order_by("pk"))


def test_old_finished_deliveries_go_but_each_subscription_keeps_its_latest(receiver, subscribe):
    subscribe(receiver.url, ["customer.created"])
    old = _delivered(3)
    recent = _delivered(1)[-1]
    _age(old, days=settings.WEBHOOKS_LOG_DAYS + 1)
    forgotten = forget_old_deliveries()
    assert forgotten.deliveries == 3
    assert list(Delivery.objects.all()) == [recent]
    # Only the recent delivery's event is still needed (to replay it).
    assert forgotten.events == 3
    assert list(OutboxEvent.objects.values_list("pk", flat=True)) == [recent.event_id]


def test_a_quiet_subscription_keeps_its_last_delivery_however_old(receiver, subscribe):
    subscribe(receiver.url, ["customer.created"])
    deliveries = _delivered(2)
    _age(deliveries, days=settings.WEBHOOKS_LOG_DAYS + 100)
    forget_old_deliveries()
    assert list(Delivery.objects.all()) == [deliveries[-1]]
    assert OutboxEvent.objects.get().pk == deliveries[-1].event_id


def test_pending_deliveries_of_a_paused_subscription_are_kept_whatever_their_age(
    receiver, subscribe
):
    new = subscribe(receiver.url, ["customer.created"])
    services.pause_subscription(actor=None, subscription=new.subscription)
    for number in range(3):
        create_customer(actor=None, name=f"Waiting {number}")
    deliver_webhooks()
    waiting = list(Delivery.objects.order_by("pk"))
    assert {d.status for d in waiting} == {DeliveryStatus.PENDING}
    _age(waiting, days=settings.WEBHOOKS_LOG_DAYS + 1)
    assert forget_old_deliveries().deliveries == 0
    assert Delivery.objects.count() == 3
    assert OutboxEvent.objects.count() == 3


def test_events_waiting_to_be_relayed_are_kept(receiver, subscribe):
    subscribe(receiver.url, ["customer.created"])
    create_customer(actor=None, name="Not yet relayed")
    assert forget_old_deliveries().events == 0
    assert OutboxEvent.objects.filter(relayed_at=None).count() == 1


def test_given_up_deliveries_and_replays_go_in_batches(receiver, subscribe):
    receiver.answers = [503]
    subscribe(receiver.url, ["customer.created"])
    failed = _delivered(4)
    Delivery.objects.update(status=DeliveryStatus.FAILED, next_attempt_at=None)
    services.replay_delivery(actor=None, delivery=failed[0])
    receiver.answers = [200]
    deliver_webhooks()
    everything = list(Delivery.objects.order_by("pk"))
    _age(everything, days=settings.WEBHOOKS_LOG_DAYS + 1)
    forgotten = forget_old_deliveries(batch=2)
    assert forgotten.deliveries == 4  # the replay is the subscription's latest
    replay = Delivery.objects.get()
    assert replay.replay_of is None
    assert forgotten.events == 3
    assert OutboxEvent.objects.get().pk == replay.event_id


def test_the_retention_runs_nightly_and_reports_what_it_deleted(receiver, subscribe):
    entry = next(
        entry
        for entry in CELERY_BEAT_SCHEDULE.values()
        if entry["task"] == "webhooks.tasks.forget_old_deliveries"
    )
    assert entry["schedule"].hour == {settings.RETENTION_HOUR}
    subscribe(receiver.url, ["customer.created"])
    _age(_delivered(2), days=settings.WEBHOOKS_LOG_DAYS + 1)
    assert nightly_task() == {"deliveries": 1, "events": 1}
