from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


class InteractionsConfig(AppConfig):
    name = "interactions"
    verbose_name = _("Interactions and purchases")

    def ready(self) -> None:
        from interactions.checks import check_archive_settings
        from interactions.privacy import register as register_with_privacy

        checks.register(check_archive_settings)
        # Purchases, interactions and follow-ups in the copy, erasure and retention.
        register_with_privacy()
