from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from privacy.alerts import describe_alert, open_alerts
from privacy.models import AuditEvent, ConsentRecord, PrivacyPolicy, SecurityAlert


class ReadOnlyAdmin(admin.ModelAdmin):
    """For records that are history: shown, never added, edited or deleted in admin."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """The audit log, read-only: nobody edits or deletes history, not even administrators."""

    list_display = (
        "occurred_at",
        "actor_label",
        "action_in_words",
        "target_type",
        "target_id",
        "via",
        "ip_address",
    )
    list_filter = ("action", "via", "target_type")
    search_fields = ("=actor_label", "=target_id", "action")
    date_hierarchy = "occurred_at"
    show_full_result_count = False
    readonly_fields = ("sequence", "previous_hash", "event_hash")

    @admin.display(description=_("action"), ordering="action")
    def action_in_words(self, event: AuditEvent) -> str:
        return event.action_label


@admin.register(SecurityAlert)
class SecurityAlertAdmin(ReadOnlyAdmin):
    """Alerts are raised by the audit log and acknowledged on the admin index (audited)."""

    list_display = ("occurred_at", "kind", "subject", "message", "acknowledged_at")
    list_filter = ("kind", ("acknowledged_at", admin.EmptyFieldListFilter))
    date_hierarchy = "occurred_at"
    show_full_result_count = False

    @admin.display(description=_("message"))
    def message(self, alert: SecurityAlert) -> str:
        return describe_alert(alert)


_admin_index = admin.site.index


def _index_with_alerts(request, extra_context=None):
    """The admin index, with the unacknowledged security alerts on top
    (templates/admin/index.html) for those allowed to see them."""
    return _admin_index(
        request,
        extra_context={"security_alerts": open_alerts(request.user), **(extra_context or {})},
    )


admin.site.index = _index_with_alerts


@admin.register(PrivacyPolicy)
class PrivacyPolicyAdmin(ReadOnlyAdmin):
    """Policy versions, read-only: the privacy officer publishes and corrects them on the
    product's pages (/privacy/policies/), where the rules for versions in force are kept."""

    list_display = ("version", "effective_from", "created_at")
    search_fields = ("version",)


@admin.register(ConsentRecord)
class ConsentRecordAdmin(ReadOnlyAdmin):
    """The consent ledger, read-only: entries are added through the product, never edited."""

    list_display = ("recorded_at", "customer_id", "purpose", "granted", "source", "policy")
    list_filter = ("purpose", "granted", "source")
    search_fields = ("=customer__id",)
    date_hierarchy = "recorded_at"
    show_full_result_count = False
    raw_id_fields = ("customer",)
