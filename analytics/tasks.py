from celery import shared_task

from analytics.exports import delete_expired_exports, run_export
from analytics.metrics import refresh_metrics
from analytics.segments import ensure_ready_made_segments, refresh_segments
from privacy.audit import audit_context
from privacy.models import AuditChannel


@shared_task(name="analytics.tasks.run_export_job")
def run_export_job(job_id: int) -> None:
    """Write one export's file; a second delivery leaves a live run alone (see run_export)."""
    with audit_context(via=AuditChannel.TASK):
        run_export(job_id)


@shared_task(name="analytics.tasks.delete_expired_exports")
def delete_expired_exports_task() -> int:
    return delete_expired_exports()


@shared_task(name="analytics.tasks.scheduled_metrics_refresh")
def scheduled_metrics_refresh() -> None:
    """The beat's nightly refresh: metrics and stages, then the segments built on them."""
    with audit_context(via=AuditChannel.TASK):
        refresh_metrics()
        ensure_ready_made_segments()
        refresh_segments()
