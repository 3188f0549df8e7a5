from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OperationsConfig(AppConfig):
    name = "operations"
    verbose_name = _("Operations")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from kernel.jobs.runner import register
        from operations.audit import BackupAction
        from operations.backups.services import BACKUP_JOBS, DRILL_JOBS
        from privacy.audit.actions import register_actions

        # Its background jobs (kernel/jobs/runner.py).
        for kind in (BACKUP_JOBS, DRILL_JOBS):
            register(kind)
        # The actions it records besides its jobs' (privacy/audit/actions.py).
        register_actions(BackupAction)
