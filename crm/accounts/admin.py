"""Django admin for lockouts and authenticators: what administrators need to help a locked-out
or phone-less colleague, audited, and nothing that would let them act as that colleague."""

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth import get_user_model
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice

from crm.accounts import two_factor
from privacy.audit import record_event

# Axes' access log is switched off (the audit log records logins) and its failure log unused.
for model in (AccessLog, AccessFailureLog):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
admin.site.unregister(AccessAttempt)
admin.site.unregister(TOTPDevice)


@admin.register(AccessAttempt)
class LockoutAdmin(AccessAttemptAdmin):
    """Failed logins per user name and address; deleting a row lifts its lockout at once
    (it lifts by itself after AXES_COOLOFF_MINUTES). Audited as `auth.unlock`."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def delete_model(self, request, obj) -> None:
        self.delete_queryset(request, AccessAttempt.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset) -> None:
        attempts = list(queryset)
        users = {
            user.get_username(): user
            for user in get_user_model().objects.filter(
                username__in=[attempt.username for attempt in attempts if attempt.username]
            )
        }
        queryset.delete()
        for attempt in attempts:
            # A name that is no account's may be anything someone typed (a phone number):
            # only accounts are named, as the target.
            record_event(
                actor=request.user,
                action="auth.unlock",
                target=users.get(attempt.username or ""),
                changes={"failures": attempt.failures_since_start},
            )


@admin.register(TOTPDevice)
class AuthenticatorAdmin(TOTPDeviceAdmin):
    """Authenticators, for recovery: an administrator removes a lost one (the user's sessions
    end, and they enrol again at their next login if their role needs it). No adding or
    editing: whoever creates an authenticator knows its secret."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def delete_model(self, request, obj) -> None:
        two_factor.remove_authenticators(actor=request.user, devices=[obj])

    def delete_queryset(self, request, queryset) -> None:
        two_factor.remove_authenticators(
            actor=request.user, devices=list(queryset.select_related("user"))
        )
