from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SalesConfig(AppConfig):
    """Deals and their pipelines, and the shared pool of customers without an owner (公海)."""

    name = "sales"
    label = "sales"
    verbose_name = _("Sales")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from privacy.audit.actions import register_actions
        from sales.audit import ACTIONS
        from sales.pool import tasks  # noqa: F401  (the beat's nightly pool run)
        from sales.pool.panels import register_panels

        # The customer page's claim / release buttons and ownership history.
        register_panels()
        # The actions it records (privacy/audit/actions.py).
        register_actions(*ACTIONS)
