import logging

from celery import shared_task
from kombu.exceptions import OperationalError

from privacy.audit.recording import audit_context
from privacy.models import AuditChannel
from webhooks import alerts, relay, retention
from webhooks.models import Subscription

logger = logging.getLogger(__name__)


@shared_task(name="webhooks.tasks.deliver_webhooks")
def deliver_webhooks() -> int:
    """Relay the outbox's new events into deliveries, then send what is due, batch after batch
    until nothing is left (the beat runs it every minute too, for anything a kick missed).
    Returns how many attempts were made. Safe to run twice at once: events and deliveries are
    claimed."""
    attempted = 0
    with audit_context(via=AuditChannel.TASK):
        while relay.relay_events():
            pass
        while sent := relay.deliver_due():
            attempted += sent
    return attempted


@shared_task(name="webhooks.tasks.forget_old_deliveries")
def forget_old_deliveries() -> dict[str, int]:
    """Nightly: delete the delivery log older than WEBHOOKS_LOG_DAYS and the outbox events
    nothing refers to any more (webhooks/retention.py); returns how many of each."""
    forgotten = retention.forget_old_deliveries()
    logger.info(
        "webhook retention: %s deliveries and %s outbox events deleted",
        forgotten.deliveries,
        forgotten.events,
    )
    return {"deliveries": forgotten.deliveries, "events": forgotten.events}


def kick_delivery() -> None:
    """Start deliver_webhooks now (after a commit that wrote events); without a broker the
    beat's next run picks the events up."""
    try:
        deliver_webhooks.delay()
    except OperationalError:
        # The events are committed: the beat's sweep sends them once the broker is back.
        logger.warning("broker unreachable: webhook deliveries wait for the next sweep")


@shared_task(name="webhooks.tasks.mail_pause_notice")
def mail_pause_notice(subscription_id: int) -> bool:
    """Mail the owner of a paused subscription (webhooks/alerts.py)."""
    subscription = Subscription.objects.select_related("owner").filter(pk=subscription_id).first()
    if subscription is None or subscription.is_active:
        return False
    return alerts.mail_pause_notice(subscription)
