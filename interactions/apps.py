from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


class InteractionsConfig(AppConfig):
    name = "interactions"
    verbose_name = _("Interactions and purchases")

    def ready(self) -> None:
        from interactions.checks import check_archive_settings
        from interactions.panels import register_panels

        checks.register(check_archive_settings)
        register_panels()
