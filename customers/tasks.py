from celery import shared_task

from customers.imports.jobs import delete_abandoned_imports, run_import
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
