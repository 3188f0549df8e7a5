from django.contrib import admin

from privacy.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """The audit log, read-only: nobody edits or deletes history, not even administrators."""

    list_display = (
        "occurred_at",
        "actor_label",
        "action",
        "target_type",
        "target_id",
        "via",
        "ip_address",
    )
    list_filter = ("action", "via", "target_type")
    search_fields = ("=actor_label", "=target_id", "action")
    date_hierarchy = "occurred_at"
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
