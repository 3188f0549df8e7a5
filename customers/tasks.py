from celery import shared_task

from customers.dedup.review import run_bulk
from customers.dedup.scan import create_scan, run_scan, running
from customers.imports.jobs import (
    delete_abandoned_imports,
    needs_duplicate_check,
    record_possible_duplicates,
    run_import,
)
from customers.models import BulkMerge, DuplicateScan
from privacy.audit import audit_context
from privacy.models import AuditChannel


@shared_task(name="customers.tasks.run_import_job")
def run_import_job(job_id: int) -> None:
    """Run (or resume) one import job; safe to deliver twice (see customers.imports.jobs).
    A finished customer import is then checked for duplicates as a task of its own."""
    with audit_context(via=AuditChannel.TASK):
        run_import(job_id)
    if needs_duplicate_check(job_id):
        check_import_for_duplicates.delay(job_id)


@shared_task(name="customers.tasks.check_import_for_duplicates")
def check_import_for_duplicates(job_id: int) -> None:
    with audit_context(via=AuditChannel.TASK):
        record_possible_duplicates(job_id)


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
    if running(DuplicateScan):
        return
    with audit_context(via=AuditChannel.TASK):
        run_scan(create_scan(mode=mode))


@shared_task(name="customers.tasks.run_bulk_merge")
def run_bulk_merge(job_id: int) -> None:
    with audit_context(via=AuditChannel.TASK):
        run_bulk(BulkMerge.objects.get(pk=job_id))
