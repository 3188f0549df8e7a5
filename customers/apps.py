from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from crm.job_recovery import register_recoverable
        from customers.models import BulkMerge, DuplicateScan, ImportJob
        from customers.panels import register_own_panels
        from customers.services import ID_NUMBER_CONTEXT
        from privacy.rotation import register_encrypted_column

        register_encrypted_column("customers.Customer", "id_number_encrypted", ID_NUMBER_CONTEXT)
        # Jobs whose worker dies are queued again: an import goes on after its last committed
        # batch (and, given up, keeps its file and its Resume button); a scan or a bulk merge
        # starts over (groups already merged are no longer open).
        register_recoverable(
            ImportJob,
            task="customers.tasks.run_import_job",
            audit_prefix="import",
            given_up={"resumable": True},
        )
        register_recoverable(
            DuplicateScan, task="customers.tasks.run_duplicate_scan", audit_prefix="duplicates.scan"
        )
        register_recoverable(
            BulkMerge, task="customers.tasks.run_bulk_merge", audit_prefix="duplicates.bulk_merge"
        )
        register_own_panels()
