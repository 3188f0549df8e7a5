from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = _("Webhooks")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from kernel import outbox
        from privacy.audit.actions import register_actions
        from privacy.registry import register_scrubber
        from privacy.rotation import register_encrypted_column
        from webhooks.audit import WebhookAction
        from webhooks.privacy import SCRUBBER
        from webhooks.relay import subscribed_topics
        from webhooks.signing import SECRET_CONTEXT
        from webhooks.tasks import kick_delivery

        # The relay of the outbox: which topics are listened to, and the worker's task after
        # each commit that wrote events.
        outbox.connect_relay(outbox.Relay(subscribed=subscribed_topics, kick=kick_delivery))
        # An erasure scrubs the person's payloads waiting to be sent (or replayed).
        register_scrubber(SCRUBBER)
        register_encrypted_column("webhooks.Subscription", "secret_encrypted", SECRET_CONTEXT)
        register_encrypted_column(
            "webhooks.Subscription", "previous_secret_encrypted", SECRET_CONTEXT
        )
        register_actions(WebhookAction)
