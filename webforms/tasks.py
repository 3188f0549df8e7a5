import logging
import smtplib

from celery import shared_task

from privacy.audit.recording import audit_context
from privacy.models import AuditChannel
from webforms import intake, retention

logger = logging.getLogger(__name__)


@shared_task(
    name="webforms.tasks.mail_confirmation",
    autoretry_for=(smtplib.SMTPException, OSError),
    retry_backoff=30,
    retry_backoff_max=3600,
    max_retries=8,
)
def mail_confirmation(submission_id: int) -> bool:
    """Mail a submission's confirmation link (webforms/intake.py); a mail server that does not
    answer is tried again, later and later, for about a day."""
    return intake.mail_confirmation(submission_id)


@shared_task(name="webforms.tasks.forget_old_submissions")
def forget_old_submissions() -> int:
    """Nightly: delete the submissions older than WEBFORMS_SUBMISSION_DAYS and the rejection
    counts as old (webforms/retention.py); returns how many submissions."""
    with audit_context(via=AuditChannel.TASK):
        forgotten = retention.forget_old_submissions()
    logger.info("web form retention: %s submissions deleted", forgotten)
    return forgotten
