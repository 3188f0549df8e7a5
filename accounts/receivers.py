"""Where account security hooks into Django and django-axes.

Signals, against the habit of calling services: logins, lockouts and saves of Django's own user
model have no service of ours to call — admin, password reset, `changepassword` and the shell
all save users directly — so these receivers are the one place that sees every such change.
(A queryset `.update(is_active=False)` bypasses them; Django still refuses an inactive user's
session on its next request, and the beat's session cleanup removes it later.)
"""

from __future__ import annotations

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from accounts import sessions, two_factor
from accounts.audit import AccountAction
from privacy.audit.recording import record_event


@receiver(user_logged_in, dispatch_uid="accounts_session_started")
def session_started(sender, request, user, **kwargs) -> None:
    if request is None or not hasattr(request, "session"):
        return
    sessions.start_session(session=request.session, user=user)
    request.session[two_factor.HAS_AUTHENTICATOR] = two_factor.authenticator_for(user) is not None


@receiver(user_logged_out, dispatch_uid="accounts_session_ended")
def session_ended(sender, request, user, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        sessions.forget_session(request.session.get(sessions.TRACKED_KEY))


@receiver(pre_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="accounts_note_deactivation")
def note_deactivation(sender, instance, update_fields=None, **kwargs) -> None:
    # One query, and only when a saved user is inactive: was it active until now?
    instance._accounts_deactivated = (
        instance.pk is not None
        and not instance.is_active
        and (update_fields is None or "is_active" in update_fields)
        and sender.objects.filter(pk=instance.pk, is_active=True).exists()
    )


@receiver(post_save, sender=settings.AUTH_USER_MODEL, dispatch_uid="accounts_end_sessions")
def end_sessions_of_changed_user(sender, instance, created, **kwargs) -> None:
    if created:
        return
    if getattr(instance, "_accounts_deactivated", False):
        instance._accounts_deactivated = False
        sessions.end_sessions(user=instance, reason="deactivated")
    # set_password() leaves the new raw password in _password until save() has finished; a
    # hash upgraded at login does not (Django clears it there), so this is a real change.
    elif getattr(instance, "_password", None) is not None:
        sessions.end_sessions(
            user=instance,
            reason="password_changed",
            keep_session_key=sessions.current_session_key(of=instance),
        )


@receiver(user_locked_out, dispatch_uid="accounts_audit_lockout")
def audit_lockout(sender, request, username, ip_address, **kwargs) -> None:
    # Axes signals every refused try while locked; the audit records the lockout once, when
    # the failures reach the limit (the refused tries are audited as failed logins anyway).
    failures = getattr(request, "axes_failures_since_start", None)
    if failures is not None and failures != settings.AXES_FAILURE_LIMIT:
        return
    record_event(
        actor=None,
        actor_label=str(username or "")[:150],
        action=AccountAction.LOCKOUT,
        changes={
            "failures": settings.AXES_FAILURE_LIMIT,
            "cool_off_minutes": _cool_off_minutes(),
        },
    )


def _cool_off_minutes() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
