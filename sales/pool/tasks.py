from celery import shared_task

from privacy.audit.recording import audit_context
from privacy.models import AuditChannel
from sales.pool.services import release_idle_customers as release_idle


@shared_task(name="sales.pool.tasks.release_idle_customers", acks_late=True)
def release_idle_customers() -> dict[str, int]:
    """The beat's nightly pool run (sales/pool/services.py): warnings, then releases."""
    with audit_context(via=AuditChannel.TASK):
        result = release_idle()
    return {"warned": result.warned, "released": result.released}
