"""Login auditing. Django reports logins only through these signals, so they are the hook."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver

from privacy.audit import record_event


@receiver(user_logged_in, dispatch_uid="audit_login")
def audit_login(sender, request, user, **kwargs) -> None:
    record_event(actor=user, action="auth.login")


@receiver(user_logged_out, dispatch_uid="audit_logout")
def audit_logout(sender, request, user, **kwargs) -> None:
    if user is not None:
        record_event(actor=user, action="auth.logout")


@receiver(user_login_failed, dispatch_uid="audit_login_failed")
def audit_login_failed(sender, credentials, request=None, **kwargs) -> None:
    # The attempted user name is kept (it identifies staff accounts under attack); the
    # password never reaches this signal's credentials (Django scrubs it).
    record_event(
        actor=None,
        action="auth.login_failed",
        changes={"username": str(credentials.get("username", ""))[:150]},
    )
