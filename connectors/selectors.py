"""The reads of the connector pages, the operations page and the worker."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Max, Min, Q, QuerySet
from django.utils import timezone

from connectors.models import Backfill, Connector, DeliveryStatus, InboundDelivery
from customers.models import Customer, ExternalId
from customers.normalize import NormalizationError, normalize_email, normalize_phone

DELIVERY_PAGE = 50
BACKFILLS_SHOWN = 5


def connectors() -> QuerySet[Connector]:
    return Connector.objects.select_related("service_account").order_by("name", "pk")


@dataclass(frozen=True)
class Health:
    """A connector's deliveries as the operations page and the list show them."""

    last_received_at: datetime.datetime | None
    failed_last_day: int
    backlog: int
    oldest_waiting_at: datetime.datetime | None


def with_health(connectors: QuerySet[Connector]) -> list[tuple[Connector, Health]]:
    """Each connector with its last delivery, failures of the last day and backlog, in one
    query."""
    since = timezone.now() - datetime.timedelta(days=1)
    waiting = Q(deliveries__status=DeliveryStatus.RECEIVED)
    annotated = connectors.annotate(
        last=Max("deliveries__received_at"),
        failed=Count(
            "deliveries",
            filter=Q(deliveries__status=DeliveryStatus.FAILED, deliveries__received_at__gte=since),
        ),
        backlog=Count("deliveries", filter=waiting),
        oldest=Min("deliveries__received_at", filter=waiting),
    )
    return [
        (connector, Health(connector.last, connector.failed, connector.backlog, connector.oldest))
        for connector in annotated
    ]


def delivery_log(
    connector: Connector, *, status: str = "", before: int | None = None
) -> list[InboundDelivery]:
    """A page of the connector's deliveries, newest first (keyset: older than `before`),
    optionally of one status, without their bodies (the log says how each went, not what it
    carried)."""
    deliveries = InboundDelivery.objects.filter(connector=connector)
    if status:
        deliveries = deliveries.filter(status=status)
    if before is not None:
        deliveries = deliveries.filter(pk__lt=before)
    return list(deliveries.defer("body").order_by("-pk")[:DELIVERY_PAGE])


def backfills_of(connector: Connector) -> list[Backfill]:
    return list(connector.backfills.select_related("created_by").order_by("-pk")[:BACKFILLS_SHOWN])


def waiting_deliveries(*, older_than: datetime.timedelta) -> QuerySet[InboundDelivery]:
    """Deliveries of active connectors still waiting to be applied after `older_than`: those
    whose worker died or whose message was lost."""
    return InboundDelivery.objects.filter(
        status=DeliveryStatus.RECEIVED,
        received_at__lt=timezone.now() - older_than,
        connector__paused_at__isnull=True,
    ).order_by("received_at", "pk")


def customer_named_by(*, system: str, external_id: str, email: str, phone: str) -> Customer | None:
    """The live customer a shop's privacy request is about: by the shop's id for it, else by
    email, else by phone (the oldest customer holding it); None when nobody matches."""
    live = Customer.objects.filter(merged_into__isnull=True)
    if external_id:
        held = (
            ExternalId.objects.filter(system=system, external_id=external_id)
            .values_list("customer_id", flat=True)
            .first()
        )
        if held is not None:
            customer = Customer.objects.filter(pk=held).first()
            while customer is not None and customer.merged_into_id is not None:
                customer = customer.merged_into
            if customer is not None:
                return customer
    for column, value, normalise in (
        ("email", email, normalize_email),
        ("phone", phone, lambda raw: normalize_phone(raw, region=settings.DEFAULT_PHONE_REGION)),
    ):
        try:
            clean = normalise(value) if value else ""
        except NormalizationError:
            clean = ""
        if clean:
            customer = live.filter(**{column: clean}).order_by("pk").first()
            if customer is not None:
                return customer
    return None
