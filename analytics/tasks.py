from celery import shared_task

from analytics.exports.jobs import delete_expired_exports
from analytics.nightly import ANALYTICS_REFRESH, refresh_analytics
from privacy.audit.recording import audit_context
from privacy.models import AuditChannel


@shared_task(name="analytics.tasks.delete_expired_exports")
def delete_expired_exports_task() -> int:
    return delete_expired_exports()


@shared_task(name="analytics.tasks.scheduled_metrics_refresh")
def scheduled_metrics_refresh() -> None:
    """The beat's nightly run (analytics.nightly), skipped while one is in progress."""
    if ANALYTICS_REFRESH.active() is not None:
        return
    with audit_context(via=AuditChannel.TASK):
        refresh_analytics()
