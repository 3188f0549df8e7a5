from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DropFoldersConfig(AppConfig):
    name = "dropfolders"
    verbose_name = _("Drop folders")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from dropfolders.audit import DropFolderAction
        from dropfolders.selectors import folder_health
        from operations import connections
        from privacy.audit.actions import register_actions

        register_actions(DropFolderAction)
        connections.register(folder_health)
