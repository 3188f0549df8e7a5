from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConnectorsConfig(AppConfig):
    name = "connectors"
    verbose_name = _("Shop connectors")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from connectors.audit import ConnectorAction
        from connectors.backfill import BACKFILLS
        from connectors.health import connection_health
        from connectors.privacy import SCRUBBER
        from connectors.secrets import SECRET_CONTEXT
        from kernel.jobs.runner import register
        from operations import connections
        from privacy.audit.actions import register_actions
        from privacy.registry import register_scrubber
        from privacy.rotation import register_encrypted_column

        register_actions(ConnectorAction)
        register(BACKFILLS)
        # The operations page's "Connected sources": each shop's last delivery and backlog.
        connections.register(connection_health)
        # An erasure clears the person's raw deliveries.
        register_scrubber(SCRUBBER)
        register_encrypted_column("connectors.Connector", "secret_encrypted", SECRET_CONTEXT)
