"""The audit actions the mailboxes app records (registered in mailboxes/apps.py; see
privacy/audit/actions.py). The interactions it logs are audited as every interaction is
(`interaction.create`, by the system). Never rename a code."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class MailboxAction(models.TextChoices):
    CREATE = "mailbox.create", _("Mailbox created")
    UPDATE = "mailbox.update", _("Mailbox changed")
