from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DemoConfig(AppConfig):
    name = "demo"
    verbose_name = _("Demo data")

    def ready(self) -> None:
        from demo.audit import DemoAction
        from privacy.audit.actions import register_actions

        # The action seed_demo records (privacy/audit/actions.py).
        register_actions(DemoAction)
