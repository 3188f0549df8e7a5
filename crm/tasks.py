from celery import shared_task
from django.utils import timezone

from crm.models import WorkerHeartbeat


@shared_task(name="crm.tasks.record_worker_heartbeat", bind=True)
def record_worker_heartbeat(self) -> None:
    """Note that this worker is alive; the health endpoint reads it."""
    WorkerHeartbeat.objects.update_or_create(
        hostname=self.request.hostname or "unknown", defaults={"seen_at": timezone.now()}
    )
