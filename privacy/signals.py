"""Auditing of what Django itself changes: logins, and users, groups and permissions (changed
in Django admin, `createsuperuser`, the shell). Django reports these only through signals, and
accounts have no service layer of their own, so signals are the hook here. The acting user
comes from the request's audit context (privacy.middleware)."""

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import models
from django.db.models.signals import m2m_changed, post_delete, post_save, pre_save
from django.dispatch import receiver

from privacy.actions import SignInAction, UserAction
from privacy.audit.recording import context_user, record_event

User = get_user_model()

# Flags of an account whose changes are permission changes.
USER_FLAGS = ("is_active", "is_staff", "is_superuser")


@receiver(user_logged_in, dispatch_uid="audit_login")
def audit_login(sender, request, user, **kwargs) -> None:
    record_event(actor=user, action=SignInAction.LOGIN)


@receiver(user_logged_out, dispatch_uid="audit_logout")
def audit_logout(sender, request, user, **kwargs) -> None:
    if user is not None:
        record_event(actor=user, action=SignInAction.LOGOUT)


@receiver(user_login_failed, dispatch_uid="audit_login_failed")
def audit_login_failed(sender, credentials, request=None, **kwargs) -> None:
    # The attempted user name is kept (it identifies staff accounts under attack, and alerts
    # count failures per user name); the password never reaches this signal's credentials
    # (Django scrubs it).
    username = str(credentials.get("username", ""))[:150]
    record_event(
        actor=None,
        action=SignInAction.LOGIN_FAILED,
        actor_label=username,
        changes={"username": username},
    )


# --- Users, groups and permissions -----------------------------------------------------------

_quiet: ContextVar[bool] = ContextVar("quiet_permission_audit", default=False)


@contextlib.contextmanager
def permissions_unaudited() -> Iterator[None]:
    """For setting up a role group that did not exist before (privacy.roles.ensure_roles after
    `migrate` on a new database): creating it is not a change of anyone's permissions."""
    token = _quiet.set(True)
    try:
        yield
    finally:
        _quiet.reset(token)


@receiver(pre_save, sender=User, dispatch_uid="audit_user_flags_before")
def remember_user_flags(sender, instance, raw=False, update_fields=None, **kwargs) -> None:
    # One indexed read, skipped for saves that cannot touch the flags (last_login on login).
    if raw or instance.pk is None or (update_fields and not set(update_fields) & set(USER_FLAGS)):
        return
    instance._audit_flags_before = sender.objects.filter(pk=instance.pk).values(*USER_FLAGS).first()


@receiver(post_save, sender=User, dispatch_uid="audit_user_saved")
def audit_user_saved(sender, instance, created, raw=False, **kwargs) -> None:
    if raw:
        return
    if created:
        record_event(
            actor=context_user(),
            action=UserAction.CREATE,
            target=instance,
            changes={"username": instance.get_username(), **_flags(instance)},
        )
        return
    before = instance.__dict__.pop("_audit_flags_before", None)
    if before is None:
        return
    after = _flags(instance)
    changes = {
        flag: [before[flag], after[flag]] for flag in USER_FLAGS if before[flag] != after[flag]
    }
    if changes:
        record_event(
            actor=context_user(), action=UserAction.UPDATE, target=instance, changes=changes
        )


@receiver(post_delete, sender=User, dispatch_uid="audit_user_deleted")
def audit_user_deleted(sender, instance, **kwargs) -> None:
    record_event(
        actor=context_user(),
        action=UserAction.DELETE,
        target=instance,
        changes={"username": instance.get_username()},
    )


def _flags(user: Any) -> dict[str, bool]:
    return {flag: bool(getattr(user, flag)) for flag in USER_FLAGS}


# through model -> (owner model, owner column, related column, event action)
_RELATIONS: dict[type[models.Model], tuple[type[models.Model], str, str, UserAction]] = {
    User.groups.through: (User, "user_id", "group_id", UserAction.GROUPS),
    User.user_permissions.through: (User, "user_id", "permission_id", UserAction.PERMISSIONS),
    Group.permissions.through: (Group, "group_id", "permission_id", UserAction.GROUP_PERMISSIONS),
}


def audit_relation_changed(
    sender, instance, action, reverse, model, pk_set, using, **kwargs
) -> None:
    """A user's groups or permissions, or a group's permissions, changed: one event per
    user or group whose set changed, naming the groups or permissions added or removed.
    Changes made from the other side (`group.user_set.add(user)`) are recorded the same way."""
    if _quiet.get() or action not in ("pre_clear", "post_add", "post_remove", "post_clear"):
        return
    owner_model, owner_column, related_column, event_action = _RELATIONS[sender]
    # Forward: `instance` owns the set and pk_set holds related objects; reverse: the opposite.
    mine, theirs = (related_column, owner_column) if reverse else (owner_column, related_column)
    if action == "pre_clear":
        instance._audit_cleared = set(
            sender.objects.using(using).filter(**{mine: instance.pk}).values_list(theirs, flat=True)
        )
        return
    if action == "post_clear":
        pk_set = instance.__dict__.pop("_audit_cleared", set())
    if not pk_set:
        return
    key = "added" if action == "post_add" else "removed"
    if reverse:
        label = _label(instance)
        for owner in owner_model._default_manager.using(using).filter(pk__in=pk_set):
            record_event(
                actor=context_user(), action=event_action, target=owner, changes={key: [label]}
            )
    else:
        related = model._default_manager.using(using).filter(pk__in=pk_set)
        if model is Permission:
            related = related.select_related("content_type")
        labels = sorted(_label(obj) for obj in related)
        record_event(
            actor=context_user(), action=event_action, target=instance, changes={key: labels}
        )


def _label(obj: models.Model) -> str:
    if isinstance(obj, Permission):
        return f"{obj.content_type.app_label}.{obj.codename}"
    if isinstance(obj, Group):
        return obj.name
    return obj.get_username() if hasattr(obj, "get_username") else str(obj.pk)


for _through in _RELATIONS:
    m2m_changed.connect(
        audit_relation_changed, sender=_through, dispatch_uid=f"audit_{_through._meta.db_table}"
    )
