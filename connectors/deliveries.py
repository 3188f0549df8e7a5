"""The worker's side of a delivery: apply it once, whatever happens to the worker.

Taking a delivery counts an attempt in a transaction of its own; applying it is one more
transaction, under the connector's lock, that marks it applied (or skipped) together with
everything it wrote. A worker that dies in between leaves it waiting, as it was: the beat's
sweep (`apply_waiting`) takes it up again after CONNECTORS_REQUEUE_AFTER_SECONDS, and a second
run finds it applied and does nothing. A delivery that took its worker down
CONNECTORS_MAX_ATTEMPTS times fails, for an administrator to retry."""

from __future__ import annotations

import datetime
import logging

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from connectors.apply import UnitOutcome, apply_units
from connectors.changes import PayloadError
from connectors.models import Connector, DeliveryStatus, InboundDelivery
from connectors.platforms import adapter_of
from connectors.selectors import waiting_deliveries

logger = logging.getLogger(__name__)

# How many waiting deliveries one sweep applies; the next takes the rest.
SWEEP_LIMIT = 500


class _RefusedError(Exception):
    def __init__(self, outcome: UnitOutcome) -> None:
        super().__init__(outcome.text)
        self.note = outcome.text


def _take(delivery_id: int) -> bool:
    """Count an attempt on a waiting delivery of an active connector; False when there is
    nothing to do (applied meanwhile, paused) or when it has had its attempts."""
    with transaction.atomic():
        # The delivery's row only: the connector's is the apply's lock, which a delivery
        # being taken must not wait for.
        delivery = (
            InboundDelivery.objects.select_for_update(of=("self",))
            .select_related("connector")
            .filter(pk=delivery_id)
            .first()
        )
        if (
            delivery is None
            or delivery.status != DeliveryStatus.RECEIVED
            or delivery.connector.is_paused
        ):
            return False
        if delivery.attempts >= settings.CONNECTORS_MAX_ATTEMPTS:
            _end(
                delivery,
                DeliveryStatus.FAILED,
                note=_(
                    "The worker stopped while applying it %(count)d times. Retry it once the "
                    "cause is found."
                )
                % {"count": delivery.attempts},
            )
            return False
        delivery.attempts += 1
        delivery.save(update_fields=["attempts"])
        return True


def _end(
    delivery: InboundDelivery, status: str, *, note: str = "", customer_id: int | None = None
) -> None:
    delivery.status = status
    delivery.note = note
    delivery.applied_at = timezone.now() if status != DeliveryStatus.FAILED else None
    delivery.customer_id = customer_id
    delivery.save(update_fields=["status", "note", "applied_at", "customer_id"])


def _apply(delivery_id: int) -> str | None:
    with transaction.atomic():
        # One delivery of a shop applied at a time: its customers and orders are compared
        # with what is held and written in one go.
        locked = InboundDelivery.objects.filter(pk=delivery_id).values_list("connector", flat=True)
        connector = (
            Connector.objects.select_for_update()
            .select_related("service_account")
            .get(pk=locked.get())
        )
        delivery = InboundDelivery.objects.select_for_update().get(pk=delivery_id)
        if delivery.status != DeliveryStatus.RECEIVED:
            return None
        adapter = adapter_of(connector)
        changes = adapter.changes(delivery.topic, adapter.payload(delivery.body))
        if changes:
            outcome = apply_units(connector, [changes])[0]
        else:
            outcome = UnitOutcome(notes=[_("Nothing in it for the CRM.")])
        if outcome.failed:
            raise _RefusedError(outcome)  # undoes whatever the delivery's other changes wrote
        status = DeliveryStatus.APPLIED if outcome.applied else DeliveryStatus.SKIPPED
        _end(delivery, status, note=outcome.text, customer_id=outcome.customer_id)
        return status


def _fail(delivery_id: int, note: str) -> str:
    with transaction.atomic():
        delivery = InboundDelivery.objects.select_for_update().get(pk=delivery_id)
        if delivery.status == DeliveryStatus.RECEIVED:
            _end(delivery, DeliveryStatus.FAILED, note=note)
    return DeliveryStatus.FAILED


def apply_delivery(delivery_id: int) -> str | None:
    """Apply one waiting delivery; returns the status it ended with, or None when there was
    nothing to do (already applied, paused, or left waiting after a database error)."""
    with translation.override(settings.LANGUAGE_CODE):
        if not _take(delivery_id):
            return None
        try:
            return _apply(delivery_id)
        except PayloadError as error:
            return _fail(delivery_id, str(error.message))
        except _RefusedError as refused:
            return _fail(delivery_id, refused.note)
        except DatabaseError as error:
            # A busy or unreachable database: the delivery waits for the next sweep.
            logger.warning("delivery %s left waiting: %s", delivery_id, error.__class__.__name__)
            return None
        except Exception as error:
            # The class only: an exception's text may quote the payload's personal data.
            logger.error("delivery %s failed: %s", delivery_id, error.__class__.__name__)
            return _fail(delivery_id, _("An internal error stopped it. Retry it later."))


def apply_waiting() -> int:
    """Apply the deliveries still waiting CONNECTORS_REQUEUE_AFTER_SECONDS after they came
    (their worker died, or the message to it was lost); returns how many were applied."""
    older_than = datetime.timedelta(seconds=settings.CONNECTORS_REQUEUE_AFTER_SECONDS)
    ids = list(waiting_deliveries(older_than=older_than).values_list("pk", flat=True)[:SWEEP_LIMIT])
    return sum(1 for delivery_id in ids if apply_delivery(delivery_id) is not None)
