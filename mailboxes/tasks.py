from celery import shared_task

from mailboxes import polling
from privacy.audit.recording import audit_context
from privacy.models import AuditChannel


@shared_task(name="mailboxes.tasks.poll_mailboxes")
def poll_mailboxes() -> int:
    """Every minute: every active mailbox read (mailboxes/polling.py); returns how many
    interactions were logged. Safe to run twice at once: a mailbox is read by one poll, and a
    message is logged once per customer."""
    with audit_context(via=AuditChannel.TASK):
        return polling.poll_all()
