from celery import shared_task
from django.utils import timezone

from kernel.api.idempotency import forget_expired
from kernel.jobs.recovery import recover_stalled_jobs
from kernel.jobs.runner import kind_named
from kernel.models import WorkerHeartbeat
from privacy.audit.recording import audit_context
from privacy.models import AuditChannel


@shared_task(name="kernel.tasks.record_worker_heartbeat", bind=True)
def record_worker_heartbeat(self) -> None:
    """Note that this worker is alive; the health endpoint reads it."""
    WorkerHeartbeat.objects.update_or_create(
        hostname=self.request.hostname or "unknown", defaults={"seen_at": timezone.now()}
    )


@shared_task(name="kernel.tasks.recover_stalled_jobs")
def recover_stalled_jobs_task() -> int:
    """Queue again the jobs whose worker died (kernel/jobs/recovery.py); returns how many."""
    with audit_context(via=AuditChannel.TASK):
        return recover_stalled_jobs().requeued


@shared_task(name="kernel.tasks.run_job")
def run_job(kind: str, job_id: int) -> None:
    """Run one job of a registered kind (kernel/jobs/runner.py); a second delivery of the same
    message, or one for a finished job, does nothing."""
    job_kind = kind_named(kind)
    with audit_context(via=AuditChannel.TASK):
        job = job_kind.run(job_id)
    if job is not None:
        job_kind.then(job)


@shared_task(name="kernel.tasks.forget_idempotency_keys")
def forget_idempotency_keys() -> int:
    """Delete the API's Idempotency-Keys past their time (kernel/api/idempotency.py)."""
    return forget_expired()
