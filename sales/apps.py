from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _ensure_default_pipeline(**kwargs) -> None:
    from sales.deals.defaults import ensure_default_pipeline

    ensure_default_pipeline()


class SalesConfig(AppConfig):
    """Deals and their pipelines, and the shared pool of customers without an owner (公海)."""

    name = "sales"
    label = "sales"
    verbose_name = _("Sales")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from customers.custom_fields.models import FieldTarget
        from customers.custom_fields.targets import Target, register_target
        from privacy.audit.actions import register_actions
        from sales.audit import ACTIONS
        from sales.deals.audit import DealAction
        from sales.deals.panels import register_panels as register_deal_panels
        from sales.deals.privacy import register as register_with_privacy
        from sales.deals.timeline import register as register_deal_timeline
        from sales.pool import tasks  # noqa: F401  (the beat's nightly pool run)
        from sales.pool.panels import register_panels as register_pool_panels
        from sales.pool.privacy import register as register_pool_with_privacy
        from sales.pool.timeline import register as register_pool_timeline

        # The actions it records (privacy/audit/actions.py).
        register_actions(DealAction, *ACTIONS)
        # The customer page's deals panel, claim / release buttons and ownership history.
        register_deal_panels()
        register_pool_panels()
        # Deals' stage changes and owner changes in the customer's timeline.
        register_deal_timeline()
        register_pool_timeline()
        # Deals and the ownership history in the subject's copy and erasure.
        register_with_privacy()
        register_pool_with_privacy()
        # Custom fields on deals (customers/custom_fields/), held in Deal.custom.
        register_target(Target(FieldTarget.DEAL, "sales.Deal", record_url="deals:detail"))
        # A new installation (and a flushed test database) starts with a default pipeline.
        post_migrate.connect(_ensure_default_pipeline, sender=self)
