from celery import shared_task

from operations.backups.services import BACKUP_JOBS, DRILL_JOBS, queued_backup, queued_drill


@shared_task(name="operations.backups.nightly_backup")
def nightly_backup_task() -> None:
    """Queue the nightly backup (run by kernel.tasks.run_job like every job)."""
    BACKUP_JOBS.enqueue(queued_backup())


@shared_task(name="operations.backups.nightly_drill")
def nightly_drill_task() -> None:
    """Queue the nightly restore drill of the newest backup."""
    DRILL_JOBS.enqueue(queued_drill())
