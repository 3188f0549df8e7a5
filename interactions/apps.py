from django.apps import AppConfig
from django.core import checks
from django.utils.translation import gettext_lazy as _


class InteractionsConfig(AppConfig):
    name = "interactions"
    verbose_name = _("Interactions and purchases")

    def ready(self) -> None:
        from customers.custom_fields.models import FieldTarget
        from customers.custom_fields.targets import Target, register_target
        from interactions.archive import ARCHIVE_JOBS
        from interactions.audit import ACTIONS
        from interactions.checks import check_archive_settings
        from interactions.events import register as register_events
        from interactions.panels import register_panels
        from interactions.privacy import register as register_with_privacy
        from interactions.timeline import register_sources as register_timeline_sources
        from kernel.jobs.runner import register
        from privacy.audit.actions import register_actions

        checks.register(check_archive_settings)
        # Purchases, interactions and follow-ups in the copy, erasure and retention.
        register_with_privacy()
        # Its background jobs (kernel/jobs/runner.py).
        register(ARCHIVE_JOBS)
        register_panels()
        # Interactions and purchases in the customer's timeline (other apps add theirs).
        register_timeline_sources()
        # The events other systems may subscribe to (kernel/outbox.py).
        register_events()
        # The actions it records (privacy/audit/actions.py).
        register_actions(*ACTIONS)
        # Custom fields on interactions (customers/custom_fields/), held in Interaction.custom
        # and, once archived, in ArchivedInteraction.custom.
        register_target(
            Target(
                FieldTarget.INTERACTION,
                "interactions.Interaction",
                archive_labels=("interactions.ArchivedInteraction",),
                ordered_by_value=False,
            )
        )
