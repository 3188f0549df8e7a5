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
        from privacy.audit.actions import register_actions
        from sales.deals.audit import DealAction

        register_actions(DealAction)
        # A new installation (and a flushed test database) starts with a default pipeline.
        post_migrate.connect(_ensure_default_pipeline, sender=self)
