from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebformsConfig(AppConfig):
    name = "webforms"
    verbose_name = _("Web forms")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from operations.connections import register as register_connections
        from privacy.audit.actions import register_actions
        from webforms.audit import WebFormAction
        from webforms.connections import form_connections
        from webforms.privacy import register as register_with_privacy

        register_actions(WebFormAction)
        # A person's submissions in their copy; an erasure forgets their addresses and links.
        register_with_privacy()
        register_connections(form_connections)
