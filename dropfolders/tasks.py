from celery import shared_task

from dropfolders import scan
from privacy.audit.recording import audit_context
from privacy.models import AuditChannel


@shared_task(name="dropfolders.tasks.scan_drop_folders")
def scan_drop_folders() -> int:
    """Every minute: every active drop folder scanned (dropfolders/scan.py); returns how many
    files became imports. Safe to run twice at once: a folder is scanned by one run, and a
    file's key is recorded with its job."""
    with audit_context(via=AuditChannel.TASK):
        return scan.scan_all()
