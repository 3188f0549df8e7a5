"""The audit actions the drop folders app records (registered in dropfolders/apps.py; see
privacy/audit/actions.py). The files themselves are audited as the imports they become
(`import.upload`, `import.start`, by the folder's import user). Never rename a code."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class DropFolderAction(models.TextChoices):
    CREATE = "dropfolder.create", _("Drop folder created")
    UPDATE = "dropfolder.update", _("Drop folder changed")
