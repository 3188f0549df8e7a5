import logging

from celery import shared_task
from kombu.exceptions import OperationalError

from connectors import deliveries, retention
from privacy.audit.recording import audit_context
from privacy.models import AuditChannel

logger = logging.getLogger(__name__)


@shared_task(name="connectors.tasks.apply_delivery")
def apply_delivery(delivery_id: int) -> str | None:
    """Apply one stored delivery (connectors/deliveries.py); a second run does nothing."""
    with audit_context(via=AuditChannel.TASK):
        return deliveries.apply_delivery(delivery_id)


@shared_task(name="connectors.tasks.apply_waiting_deliveries")
def apply_waiting_deliveries() -> int:
    """Every minute: the deliveries a worker died on, or whose message was lost."""
    with audit_context(via=AuditChannel.TASK):
        return deliveries.apply_waiting()


@shared_task(name="connectors.tasks.forget_old_deliveries")
def forget_old_deliveries() -> dict[str, int]:
    """Nightly: clear the raw bodies past CONNECTORS_RAW_DAYS and delete the log past
    CONNECTORS_LOG_DAYS (connectors/retention.py)."""
    forgotten = retention.forget_old_deliveries()
    logger.info(
        "connector retention: %s bodies cleared, %s deliveries deleted",
        forgotten.cleared,
        forgotten.deleted,
    )
    return {"cleared": forgotten.cleared, "deleted": forgotten.deleted}


def kick_delivery(delivery_id: int) -> None:
    """Queue a stored delivery's application (after its commit); without a broker the beat's
    sweep applies it."""
    try:
        apply_delivery.delay(delivery_id)
    except OperationalError:
        logger.warning("broker unreachable: delivery %s waits for the next sweep", delivery_id)
