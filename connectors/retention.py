"""What keeps the raw deliveries, which hold personal data, from being kept longer than needed
(nightly, connectors/tasks.py):

- the bodies of deliveries applied or skipped more than CONNECTORS_RAW_DAYS ago are cleared
  (what they said is in the CRM now), and those of failed ones after CONNECTORS_FAILED_RAW_DAYS
  (time enough to find the cause and retry);
- deliveries received more than CONNECTORS_LOG_DAYS ago are deleted from the log, except the
  ones still waiting.

An erasure clears the person's bodies at once (connectors/privacy.py)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from connectors.models import DeliveryStatus, InboundDelivery

BATCH = 5000


@dataclass(frozen=True)
class Forgotten:
    cleared: int
    deleted: int


def clear_bodies(deliveries) -> int:
    """Empty the bodies of `deliveries` (a queryset), noting when; returns how many."""
    return deliveries.exclude(body="").update(body="", body_cleared_at=timezone.now())


def forget_old_deliveries(*, now: datetime.datetime | None = None) -> Forgotten:
    now = now or timezone.now()
    days = datetime.timedelta(days=1)
    cleared = clear_bodies(
        InboundDelivery.objects.filter(
            status__in=[DeliveryStatus.APPLIED, DeliveryStatus.SKIPPED],
            received_at__lt=now - settings.CONNECTORS_RAW_DAYS * days,
        )
    )
    cleared += clear_bodies(
        InboundDelivery.objects.filter(
            status=DeliveryStatus.FAILED,
            received_at__lt=now - settings.CONNECTORS_FAILED_RAW_DAYS * days,
        )
    )
    old = InboundDelivery.objects.filter(
        received_at__lt=now - settings.CONNECTORS_LOG_DAYS * days
    ).exclude(status=DeliveryStatus.RECEIVED)
    deleted = 0
    while ids := list(old.order_by("pk").values_list("pk", flat=True)[:BATCH]):
        with transaction.atomic():
            removed, _by_model = InboundDelivery.objects.filter(pk__in=ids).delete()
        deleted += removed
    return Forgotten(cleared=cleared, deleted=deleted)
