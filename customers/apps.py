from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from customers.audit import ACTIONS
        from customers.custom_fields.conversion import CONVERSIONS
        from customers.custom_fields.models import FieldTarget
        from customers.custom_fields.targets import Target, register_target
        from customers.dedup.review import BULK_MERGE_JOBS
        from customers.dedup.scan import SCAN_JOBS
        from customers.events import register as register_events
        from customers.imports.jobs import IMPORT_JOBS
        from customers.panels import register_own_panels
        from customers.privacy import register as register_with_privacy
        from customers.services import ID_NUMBER_CONTEXT
        from kernel.jobs.runner import register
        from privacy.audit.actions import register_actions
        from privacy.rotation import register_encrypted_column

        register_encrypted_column("customers.Customer", "id_number_encrypted", ID_NUMBER_CONTEXT)
        # The customer is the data subject; its records go into the copy, erasure and retention.
        register_with_privacy()
        # Its background jobs (kernel/jobs/runner.py).
        for kind in (IMPORT_JOBS, SCAN_JOBS, BULK_MERGE_JOBS, CONVERSIONS):
            register(kind)
        register_own_panels()
        # The events other systems may subscribe to (kernel/outbox.py).
        register_events()
        # The actions it records (privacy/audit/actions.py).
        register_actions(*ACTIONS)
        # Custom fields on customers (customers/custom_fields/), held in Customer.custom.
        register_target(
            Target(FieldTarget.CUSTOMER, "customers.Customer", record_url="customers:detail")
        )
