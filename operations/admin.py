from django.contrib import admin

from operations import status
from operations.models import BackupRun, RestoreDrill
from privacy.admin import ReadOnlyAdmin


@admin.register(BackupRun)
class BackupRunAdmin(ReadOnlyAdmin):
    """Backups are made by the worker (nightly, or "Back up now" on the status page)."""

    list_display = (
        "started_at",
        "status",
        "file_name",
        "size_bytes",
        "seconds",
        "tables",
        "rows",
        "deleted_at",
    )
    list_filter = ("status",)
    date_hierarchy = "started_at"


@admin.register(RestoreDrill)
class RestoreDrillAdmin(ReadOnlyAdmin):
    """Drills are run by the worker (nightly, or "Run restore drill now" on the status page)."""

    list_display = (
        "started_at",
        "backup_file",
        "status",
        "restore_seconds",
        "tables_compared",
        "rows_compared",
        "migrations_ok",
    )
    list_filter = ("status",)
    date_hierarchy = "started_at"


_admin_index = admin.site.index


def _index_with_backups(request, extra_context=None):
    """The admin index, with whether the last backup was restored and verified and a link to
    the status page (templates/admin/index.html), for those allowed to see it."""
    if request.user.has_perm("operations.view_operations"):
        extra_context = {"backups": status.backup_summary(), **(extra_context or {})}
    return _admin_index(request, extra_context=extra_context)


admin.site.index = _index_with_backups
