"""Django admin for accounts, groups, lockouts and authenticators: what administrators need to
manage colleagues and help a locked-out or phone-less one, audited, and nothing that would let
them act as a colleague or reach beyond their own permissions (accounts/privileges.py)."""

from collections.abc import Callable
from typing import Any

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _
from django_otp.plugins.otp_totp.admin import TOTPDeviceAdmin
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import privileges, two_factor
from accounts.audit import AccountAction
from privacy.audit.recording import record_event

# Axes' access log is switched off (the audit log records logins) and its failure log unused.
for model in (AccessLog, AccessFailureLog):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
admin.site.unregister(AccessAttempt)
admin.site.unregister(TOTPDevice)
admin.site.unregister(get_user_model())
admin.site.unregister(Group)


class WithinReach:
    """For a model admin: changing or deleting an object also needs `within_reach(editor,
    obj)`. Django asks has_delete_permission for every row a bulk deletion selects, so the
    action is bounded too; an object out of reach is still shown, read-only."""

    within_reach: Callable[[Any, Any], bool]

    def has_change_permission(self, request, obj=None) -> bool:
        return super().has_change_permission(request, obj) and (
            obj is None or self.within_reach(request.user, obj)
        )

    def has_delete_permission(self, request, obj=None) -> bool:
        return super().has_delete_permission(request, obj) and (
            obj is None or self.within_reach(request.user, obj)
        )


@admin.register(get_user_model())
class AccountAdmin(WithinReach, UserAdmin):
    """Django's user admin, bounded for editors who are not superusers: `is_superuser` and a
    user's own permissions are read-only to them, they give only groups made of permissions
    they hold, and accounts holding more than they do (superusers first) are read-only, their
    password page and deletion included. A read-only field is not part of the form, so a
    POSTed value for it is ignored; a group outside the choices fails validation."""

    within_reach = staticmethod(privileges.may_change_account)

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        if request.user.is_superuser:
            return fields
        return (*fields, "is_superuser", "user_permissions")

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "groups" and not request.user.is_superuser:
            kwargs["queryset"] = privileges.grantable_groups(request.user)
            kwargs["help_text"] = _(
                "Only the groups whose every permission you hold yourself are listed; "
                "a superuser gives the others."
            )
        return super().formfield_for_manytomany(db_field, request, **kwargs)


@admin.register(Group)
class RoleGroupAdmin(WithinReach, GroupAdmin):
    """Groups, for those allowed to change them (the role groups are kept by
    privacy/roles.py): a non-superuser gives a group only permissions they hold, and a group
    holding one they lack is read-only to them, so nobody joins a group they filled themselves
    with rights they never had."""

    within_reach = staticmethod(privileges.may_change_group)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        if db_field.name == "permissions":
            kwargs["queryset"] = privileges.grantable_permissions(request.user)
        return super().formfield_for_manytomany(db_field, request, **kwargs)


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
                action=AccountAction.UNLOCK,
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

    def has_delete_permission(self, request, obj=None) -> bool:
        # Asked for every row of a bulk deletion too.
        return super().has_delete_permission(request, obj) and (
            obj is None or privileges.may_remove_authenticator(request.user, obj.user)
        )

    def delete_model(self, request, obj) -> None:
        two_factor.remove_authenticators(actor=request.user, devices=[obj])

    def delete_queryset(self, request, queryset) -> None:
        two_factor.remove_authenticators(
            actor=request.user, devices=list(queryset.select_related("user"))
        )
