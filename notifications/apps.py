from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "notifications"
    label = "notifications"
    verbose_name = _("Notifications")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from notifications.audit import ACTIONS
        from notifications.privacy import register as register_with_privacy
        from privacy.audit.actions import register_actions

        register_actions(*ACTIONS)
        # An erased customer's notifications go with them.
        register_with_privacy()
