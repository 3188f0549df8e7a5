from django.apps import AppConfig
from django.core import checks
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _ensure_roles_after_migrate(sender, **kwargs) -> None:
    from privacy.retention import ensure_policies
    from privacy.roles import ensure_roles

    ensure_roles()
    ensure_policies()


class PrivacyConfig(AppConfig):
    name = "privacy"
    verbose_name = _("Privacy and audit")

    def ready(self) -> None:
        from kernel.jobs.runner import register
        from privacy import signals  # noqa: F401  (login auditing)
        from privacy.actions import ACTIONS
        from privacy.audit.actions import register_actions
        from privacy.crypto import check_crypto_settings
        from privacy.registry import register_copy_section, register_scrubber
        from privacy.retention import RETENTION_RUNS
        from privacy.subjects.copy import LEDGER_SECTIONS
        from privacy.subjects.erasure import LEDGER_SCRUBBERS
        from privacy.subjects.services import SUBJECT_COPIES

        checks.register(check_crypto_settings, checks.Tags.security)
        # The actions it records itself (privacy/audit/actions.py).
        register_actions(*ACTIONS)
        # The consent ledger, the requests and the audit trail are in the copy and the erasure
        # beside the domain apps' records (privacy/registry.py).
        for section in LEDGER_SECTIONS:
            register_copy_section(section)
        for scrubber in LEDGER_SCRUBBERS:
            register_scrubber(scrubber)
        # Its background jobs (kernel/jobs/runner.py).
        register(RETENTION_RUNS)
        register(SUBJECT_COPIES)
        # Permissions are created by post_migrate too, so the roles follow the last app's hook.
        post_migrate.connect(_ensure_roles_after_migrate, sender=self)
