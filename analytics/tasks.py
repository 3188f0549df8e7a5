from celery import shared_task

from analytics.exports import delete_expired_exports
from analytics.models import Segment
from analytics.nightly import refresh_analytics
from analytics.segments.refresh import refresh_segment
from privacy.audit import audit_context
from privacy.models import AuditChannel


@shared_task(name="analytics.tasks.delete_expired_exports")
def delete_expired_exports_task() -> int:
    return delete_expired_exports()


@shared_task(name="analytics.tasks.scheduled_metrics_refresh")
def scheduled_metrics_refresh(run_id: int | None = None) -> None:
    """The beat's nightly run, or (with `run_id`) the one someone asked for: analytics.nightly."""
    with audit_context(via=AuditChannel.TASK):
        refresh_analytics(queued_run_id=run_id)


@shared_task(name="analytics.tasks.refresh_segment")
def refresh_segment_task(segment_id: int) -> None:
    """One segment's members, after it was saved or on demand (gone meanwhile: nothing to do)."""
    segment = Segment.objects.filter(pk=segment_id).first()
    if segment is not None:
        refresh_segment(segment)
