"""What keeps the delivery log and the outbox from growing forever (nightly, webhooks/tasks.py):

- deliveries delivered or given up more than WEBHOOKS_LOG_DAYS ago are deleted, except each
  subscription's latest, so its page still shows how it last went; pending ones (a paused
  subscription's, waiting for the resume) are kept whatever their age;
- outbox events that were relayed and that no delivery refers to any more are deleted: every
  subscription has had them, and nothing replays them.

Rows go in batches of RETENTION_BATCH, each batch its own short transaction, walking up the
primary key, so that no lock is held long and no batch rescans what the previous one kept."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Max, OuterRef, QuerySet
from django.utils import timezone

from kernel.models import OutboxEvent
from webhooks.models import Delivery, DeliveryStatus, Subscription

RETENTION_BATCH = 5000


@dataclass(frozen=True)
class Forgotten:
    deliveries: int
    events: int


def _delete_in_batches(candidates: QuerySet, *, batch: int) -> int:
    """Delete the rows of `candidates` a batch at a time, in primary-key order."""
    deleted, after = 0, 0
    while True:
        ids = list(
            candidates.filter(pk__gt=after).order_by("pk").values_list("pk", flat=True)[:batch]
        )
        if not ids:
            return deleted
        with transaction.atomic():
            removed, _by_model = candidates.filter(pk__in=ids).only("pk").delete()
        deleted += removed
        after = ids[-1]


def forget_old_deliveries(
    *, now: datetime.datetime | None = None, batch: int = RETENTION_BATCH
) -> Forgotten:
    """Delete the finished deliveries older than WEBHOOKS_LOG_DAYS (but each subscription's
    latest), then the relayed outbox events no delivery refers to; returns how many of each
    (replays whose original went are counted with the deliveries, their link cleared)."""
    cutoff = (now or timezone.now()) - datetime.timedelta(days=settings.WEBHOOKS_LOG_DAYS)
    latest = [
        pk
        for pk in Subscription.objects.annotate(latest=Max("deliveries__pk")).values_list(
            "latest", flat=True
        )
        if pk is not None
    ]
    old = (
        Delivery.objects.filter(created_at__lt=cutoff)
        .exclude(status=DeliveryStatus.PENDING)
        .exclude(pk__in=latest)
    )
    deliveries = _delete_in_batches(old, batch=batch)
    unreferenced = OutboxEvent.objects.filter(relayed_at__isnull=False).exclude(
        Exists(Delivery.objects.filter(event=OuterRef("pk")))
    )
    events = _delete_in_batches(unreferenced, batch=batch)
    return Forgotten(deliveries=deliveries, events=events)
