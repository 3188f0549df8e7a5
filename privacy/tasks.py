import logging

from celery import shared_task

from privacy.alerts import mail_alert, raise_alert
from privacy.audit.recording import audit_context
from privacy.audit.verification import verify_chain
from privacy.models import AlertKind, AuditChannel, SecurityAlert
from privacy.retention import apply_retention

logger = logging.getLogger(__name__)


@shared_task(name="privacy.tasks.mail_security_alert")
def mail_security_alert(alert_id: int) -> None:
    """Mail one alert to administrators; a second delivery sends nothing."""
    alert = SecurityAlert.objects.filter(pk=alert_id).first()
    if alert is not None:
        mail_alert(alert)


@shared_task(name="privacy.tasks.verify_audit_chain")
def verify_audit_chain() -> bool:
    """The nightly check of the audit log's hash chain; a broken chain raises an alert."""
    report = verify_chain()
    if report.ok:
        logger.info(
            "audit chain verified: %s events, head %s %s",
            report.checked,
            report.head_sequence,
            report.head_hash,
        )
        return True
    broken = report.first_break
    logger.error("audit chain broken at sequence %s (%s)", broken.sequence, broken.kind)
    raise_alert(
        kind=AlertKind.AUDIT_CHAIN,
        params={"sequence": broken.sequence, "event_id": broken.event_id, "break": broken.kind},
    )
    return False


@shared_task(name="privacy.apply_retention")
def apply_retention_task() -> int:
    """The nightly retention run (the page's runs are queued through privacy.retention)."""
    with audit_context(via=AuditChannel.TASK):
        return apply_retention(dry_run=False).pk
