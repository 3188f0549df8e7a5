from celery import shared_task
from django.conf import settings

from crm.models import JobStatus
from customers.dedup.review import run_bulk
from customers.dedup.scan import run_scan
from customers.imports.jobs import delete_abandoned_imports, run_import
from customers.models import BulkMerge, DuplicateScan
from privacy.audit import audit_context
from privacy.models import AuditChannel


@shared_task(name="customers.tasks.run_import_job")
def run_import_job(job_id: int) -> None:
    """Run (or resume) one import job; safe to deliver twice (see customers.imports.jobs)."""
    with audit_context(via=AuditChannel.TASK):
        run_import(job_id)


@shared_task(name="customers.tasks.delete_abandoned_imports")
def delete_abandoned_imports_task() -> int:
    with audit_context(via=AuditChannel.TASK):
        return delete_abandoned_imports()


@shared_task(name="customers.tasks.run_duplicate_scan")
def run_duplicate_scan(scan_id: int) -> None:
    """Run one queued duplicate scan; a second delivery finds it no longer queued."""
    with audit_context(via=AuditChannel.TASK):
        run_scan(DuplicateScan.objects.get(pk=scan_id))


@shared_task(name="customers.tasks.scheduled_duplicate_scan")
def scheduled_duplicate_scan(mode: str) -> None:
    """The beat's nightly full scan and hourly incremental one (skipped while one runs)."""
    if DuplicateScan.objects.filter(status__in=DuplicateScan.ACTIVE).exists():
        return
    with audit_context(via=AuditChannel.TASK):
        scan = DuplicateScan.objects.create(
            mode=mode, min_probability=settings.DEDUP_MIN_PROBABILITY, status=JobStatus.QUEUED
        )
        run_scan(scan)


@shared_task(name="customers.tasks.run_bulk_merge")
def run_bulk_merge(job_id: int) -> None:
    with audit_context(via=AuditChannel.TASK):
        run_bulk(BulkMerge.objects.get(pk=job_id))
