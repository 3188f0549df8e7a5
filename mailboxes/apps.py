from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MailboxesConfig(AppConfig):
    name = "mailboxes"
    verbose_name = _("Mailboxes")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from mailboxes.audit import MailboxAction
        from mailboxes.polling import PASSWORD_CONTEXT
        from mailboxes.selectors import mailbox_health
        from operations import connections
        from privacy.audit.actions import register_actions
        from privacy.rotation import register_encrypted_column

        register_actions(MailboxAction)
        register_encrypted_column("mailboxes.Mailbox", "password_encrypted", PASSWORD_CONTEXT)
        connections.register(mailbox_health)
