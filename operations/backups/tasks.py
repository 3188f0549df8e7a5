import logging

from celery import shared_task
from django.contrib.auth import get_user_model

from operations.backups.engines import BackupError
from operations.backups.services import create_backup, run_drill
from privacy.audit import audit_context
from privacy.models import AuditChannel

logger = logging.getLogger(__name__)


def _actor(user_id: int | None):
    return get_user_model().objects.filter(pk=user_id).first() if user_id else None


# Not redelivered after a killed worker (acks_late is the project's default): a backup or
# drill restarted hours later would run into the day's work; the next night's run takes over,
# and the status page shows the interrupted one.
@shared_task(name="operations.backups.create_backup", acks_late=False)
def create_backup_task(user_id: int | None = None) -> int | None:
    """The nightly backup, or one an administrator started from the status page."""
    with audit_context(via=AuditChannel.TASK):
        try:
            return create_backup(actor=_actor(user_id)).pk
        except BackupError:
            # Recorded on its BackupRun and raised as an alert already.
            return None


@shared_task(name="operations.backups.run_drill", acks_late=False)
def run_drill_task(user_id: int | None = None) -> int:
    """The nightly restore drill of the newest backup, or one started from the status page."""
    with audit_context(via=AuditChannel.TASK):
        return run_drill(actor=_actor(user_id)).pk
