"""The audit actions operations records besides its jobs' (registered in operations/apps.py;
see privacy/audit/actions.py). The codes are those stored since the first events: never
rename one."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class BackupAction(models.TextChoices):
    RESTORE = "backup.restore", _("Database restored from a backup")
