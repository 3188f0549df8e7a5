from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = _("Analytics")

    def ready(self) -> None:
        from analytics.audit import ACTIONS
        from analytics.churn import CHURN_TRAINING
        from analytics.exports.jobs import EXPORT_JOBS
        from analytics.nightly import ANALYTICS_REFRESH
        from analytics.panels import register_panels
        from analytics.privacy import register as register_with_privacy
        from analytics.segments.events import register as register_segment_events
        from analytics.segments.merges import carry_list_memberships, restore_list_memberships
        from analytics.segments.refresh import SEGMENT_REFRESH
        from customers.models import Customer
        from customers.signals import customers_merged, merge_undone
        from kernel.jobs.runner import register
        from privacy.audit.actions import register_actions

        # A merge carries static list memberships to the survivor; undo puts them back.
        customers_merged.connect(carry_list_memberships, sender=Customer)
        merge_undone.connect(restore_list_memberships, sender=Customer)
        # Its background jobs (kernel/jobs/runner.py).
        register(EXPORT_JOBS)
        register(ANALYTICS_REFRESH)
        register(CHURN_TRAINING)
        register(SEGMENT_REFRESH)
        # Segment memberships and the computed figures are in the data-subject copy.
        register_with_privacy()
        register_panels()
        # The events other systems may subscribe to (kernel/outbox.py).
        register_segment_events()
        # The actions it records (privacy/audit/actions.py).
        register_actions(*ACTIONS)
