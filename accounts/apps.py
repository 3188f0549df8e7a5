from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    label = "accounts"
    verbose_name = _("Staff accounts")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts import receivers  # noqa: F401  (logins, user changes, lockouts)
        from accounts.audit import AccountAction
        from privacy.audit.actions import register_actions

        # The actions it records (privacy/audit/actions.py).
        register_actions(AccountAction)
