"""What an erasure does to webhooks (privacy/registry.py, registered by webhooks/apps.py): the
person's payloads in the outbox and in every delivery — waiting, given up or sent, since a
replay would send them again — are replaced by their id. The customer.erased event itself
carries ids only (customers/events.py)."""

from __future__ import annotations

from typing import Any

from kernel import outbox
from kernel.models import OutboxEvent
from privacy.registry import Erasure, Scrubber
from webhooks.models import Delivery
from webhooks.relay import body_of


def _ids_only(subject_id: int) -> dict[str, Any]:
    return {"id": subject_id, "erased": True}


def scrub_payloads(erasure: Erasure) -> int:
    """Replace the erased people's payloads by their ids; returns the deliveries changed."""
    outbox.scrub_payloads(erasure.ids, _ids_only)
    scrubbed = 0
    events = OutboxEvent.objects.filter(subject_id__in=erasure.ids).only(
        "pk", "topic", "occurred_at", "subject_id"
    )
    for event in events.iterator():
        assert event.subject_id is not None  # filtered on it
        scrubbed += Delivery.objects.filter(event=event).update(
            body=body_of(event, _ids_only(event.subject_id))
        )
    return scrubbed


# After the profile (1000): the customer.erased event written by its scrubber is scrubbed too
# (it holds the id only either way).
SCRUBBER = Scrubber("webhook_deliveries", 1100, scrub_payloads)
