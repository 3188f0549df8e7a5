"""The shops' side of a connector: a delivery is checked (size, signature), stored as it came
and acknowledged at once; the worker applies it after the commit (connectors/deliveries.py).

A wrong signature is refused and counted, and nothing of it is kept. A delivery the platform
sends again (the same delivery id) is acknowledged and stored once. A topic no adapter applies
is acknowledged and stored as skipped, so the shop does not retry it and staff can see it."""

from __future__ import annotations

import enum
from collections.abc import Mapping

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from connectors.changes import PayloadError
from connectors.models import Connector, DeliveryStatus, InboundDelivery
from connectors.platforms import adapter_of
from connectors.secrets import signing_secret


class Answer(enum.Enum):
    PING = "ping"
    REFUSED = "refused"
    STORED = "stored"
    REPEATED = "repeated"


def receive(*, connector: Connector, headers: Mapping[str, str], body: bytes) -> Answer:
    """Check and store one delivery for `connector`; its application is queued once the
    delivery is committed (unless the connector is paused: it waits for the resume)."""
    from connectors.tasks import kick_delivery

    adapter = adapter_of(connector)
    if adapter.is_ping(headers, body):
        return Answer.PING
    if not adapter.verify(secret=signing_secret(connector), body=body, headers=headers):
        Connector.objects.filter(pk=connector.pk).update(
            refused_signatures=F("refused_signatures") + 1, last_refused_at=timezone.now()
        )
        return Answer.REFUSED
    topic = adapter.topic_of(headers)
    # Undecodable bytes become U+FFFD, which the import refuses field by field.
    text = body.decode("utf-8", errors="replace")
    handled = topic in adapter.handled_topics
    try:
        subject_ref = adapter.subject_ref(topic, adapter.payload(text))
    except PayloadError:
        subject_ref = ""  # applying it will say what is wrong
    with transaction.atomic():
        delivery, created = InboundDelivery.objects.get_or_create(
            connector=connector,
            delivery_id=adapter.delivery_id_of(headers, body),
            defaults={
                "topic": topic,
                "body": text,
                "headers": adapter.headers_kept(headers),
                "status": DeliveryStatus.RECEIVED if handled else DeliveryStatus.SKIPPED,
                "note": "" if handled else _("The CRM does not apply this topic."),
                "subject_ref": subject_ref,
            },
        )
        if created and handled and not connector.is_paused:
            transaction.on_commit(lambda: kick_delivery(delivery.pk))
    return Answer.STORED if created else Answer.REPEATED
