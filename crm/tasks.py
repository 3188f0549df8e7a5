from celery import shared_task
from django.utils import timezone

from crm.job_recovery import recover_stalled_jobs
from crm.models import WorkerHeartbeat
from privacy.audit import audit_context
from privacy.models import AuditChannel


@shared_task(name="crm.tasks.record_worker_heartbeat", bind=True)
def record_worker_heartbeat(self) -> None:
    """Note that this worker is alive; the health endpoint reads it."""
    WorkerHeartbeat.objects.update_or_create(
        hostname=self.request.hostname or "unknown", defaults={"seen_at": timezone.now()}
    )


@shared_task(name="crm.tasks.recover_stalled_jobs")
def recover_stalled_jobs_task() -> int:
    """Queue again the jobs whose worker died (crm/job_recovery.py); returns how many."""
    with audit_context(via=AuditChannel.TASK):
        return recover_stalled_jobs().requeued
