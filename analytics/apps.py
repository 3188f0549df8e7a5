from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = _("Analytics")

    def ready(self) -> None:
        from analytics.models import ExportJob
        from analytics.panels import register_panels
        from analytics.segments import carry_list_memberships, restore_list_memberships
        from crm.job_recovery import register_recoverable
        from customers.models import Customer
        from customers.signals import customers_merged, merge_undone

        # A merge carries static list memberships to the survivor; undo puts them back.
        customers_merged.connect(carry_list_memberships, sender=Customer)
        merge_undone.connect(restore_list_memberships, sender=Customer)
        # An export whose worker dies is written again from the start (the file is only
        # attached when complete).
        register_recoverable(
            ExportJob, task="analytics.tasks.run_export_job", audit_prefix="export"
        )
        register_panels()
