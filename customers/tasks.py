from celery import shared_task

from customers.custom_fields.indexes import build_missing_order_indexes
from customers.dedup.scan import SCAN_JOBS, create_scan
from customers.imports.jobs import delete_abandoned_imports, record_possible_duplicates
from privacy.audit.recording import audit_context
from privacy.models import AuditChannel


@shared_task(name="customers.tasks.check_import_for_duplicates")
def check_import_for_duplicates(job_id: int) -> None:
    """The duplicate check of a finished customer import (customers/imports/jobs.py)."""
    with audit_context(via=AuditChannel.TASK):
        record_possible_duplicates(job_id)


@shared_task(name="customers.tasks.delete_abandoned_imports")
def delete_abandoned_imports_task() -> int:
    with audit_context(via=AuditChannel.TASK):
        return delete_abandoned_imports()


@shared_task(name="customers.tasks.scheduled_duplicate_scan")
def scheduled_duplicate_scan(mode: str) -> None:
    """The beat's nightly full scan and hourly incremental one (skipped while one runs)."""
    if SCAN_JOBS.active() is not None:
        return
    with audit_context(via=AuditChannel.TASK):
        SCAN_JOBS.run(create_scan(mode=mode).pk)


@shared_task(name="customers.tasks.build_custom_field_indexes")
def build_custom_field_indexes() -> int:
    """The custom fields' order indexes that are missing (customers/custom_fields/indexes.py)."""
    return build_missing_order_indexes()
