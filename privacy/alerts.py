"""Security alerts raised from the audit log as events are recorded.

`record_event` calls `check_alerts` for every event, inside the event's transaction (on
PostgreSQL under the chain's lock, so two concurrent events cannot both raise the same alert).
Only a few actions are looked at, each with a windowed count on an indexed column:

- a burst of failed logins for one user name or from one IP address;
- a finished export of more rows than ALERT_EXPORT_ROWS;
- many identity-number reveals by one user.

The same alert (kind and subject) is not raised again within its window. Each alert is shown
on the admin index and the home page until acknowledged, and mailed to administrators after
the transaction commits. Alerts carry staff user names, IP addresses and counts, never
customer data.
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from privacy.actions import AlertAction, SignInAction
from privacy.models import AlertKind, AuditEvent, SecurityAlert

logger = logging.getLogger(__name__)

FAILED_LOGIN = SignInAction.LOGIN_FAILED
ID_REVEAL = "customer.reveal_id"
# Finished exports whose `changes["rows"]` is the number of rows handed out: the export job
# ("export.done"), admin's export button ("customer.admin_export"), the audit log's own
# export ("audit.export") and any other "<thing>.export".
_FINISHED_EXPORT = "export.done"
# Who may open the Django admin index's alerts and acknowledge them.
VIEW_PERMISSION = "privacy.view_securityalert"
ACKNOWLEDGE_PERMISSION = "privacy.change_securityalert"
# Who receives the mail, besides settings.ADMINS: people who manage user accounts.
MAIL_PERMISSION = "auth.change_user"


def check_alerts(event: AuditEvent) -> SecurityAlert | None:
    """Raise the alert this event completes, if any (see the module docstring)."""
    if event.action == FAILED_LOGIN:
        return _check_failed_logins(event)
    if event.action == ID_REVEAL and event.actor_id is not None:
        return _check_id_reveals(event)
    if is_finished_export(event.action):
        return _check_export(event)
    return None


def is_finished_export(action: str) -> bool:
    return action == _FINISHED_EXPORT or action.endswith((".export", "_export"))


def _check_failed_logins(event: AuditEvent) -> SecurityAlert | None:
    window = datetime.timedelta(minutes=settings.ALERT_WINDOW_MINUTES)
    since = event.occurred_at - window
    recent = AuditEvent.objects.filter(action=FAILED_LOGIN, occurred_at__gte=since)
    raised = None
    # One user name tried from many places, and many user names tried from one place.
    for by, subject, events in (
        ("user", event.actor_label, recent.filter(actor_label=event.actor_label)),
        ("ip", event.ip_address, recent.filter(ip_address=event.ip_address)),
    ):
        if not subject:
            continue
        count = events.count()
        if count >= settings.ALERT_FAILED_LOGINS:
            raised = (
                raise_alert(
                    kind=AlertKind.FAILED_LOGINS,
                    subject=subject,
                    params={"by": by, "count": count, "minutes": settings.ALERT_WINDOW_MINUTES},
                    dedupe_within=window,
                )
                or raised
            )
    return raised


def _check_id_reveals(event: AuditEvent) -> SecurityAlert | None:
    minutes = settings.ALERT_ID_REVEALS_WINDOW_MINUTES
    window = datetime.timedelta(minutes=minutes)
    count = AuditEvent.objects.filter(
        actor_id=event.actor_id, occurred_at__gte=event.occurred_at - window, action=ID_REVEAL
    ).count()
    if count < settings.ALERT_ID_REVEALS:
        return None
    return raise_alert(
        kind=AlertKind.ID_REVEALS,
        subject=event.actor_label,
        params={"count": count, "minutes": minutes},
        dedupe_within=window,
    )


def _check_export(event: AuditEvent) -> SecurityAlert | None:
    rows = event.changes.get("rows") if isinstance(event.changes, dict) else None
    if not isinstance(rows, int) or rows <= settings.ALERT_EXPORT_ROWS:
        return None
    # Every large export is worth a look: no deduplication.
    return raise_alert(
        kind=AlertKind.LARGE_EXPORT,
        subject=event.actor_label,
        params={
            "rows": rows,
            "threshold": settings.ALERT_EXPORT_ROWS,
            "action": event.action,
            "sequence": event.sequence,
        },
    )


def raise_alert(
    *,
    kind: AlertKind,
    subject: str = "",
    params: dict[str, Any] | None = None,
    dedupe_within: datetime.timedelta | None = None,
) -> SecurityAlert | None:
    """Create an alert and mail it to administrators once the transaction commits; None when
    the same kind of alert about the same subject was raised within `dedupe_within`."""
    now = timezone.now()
    if (
        dedupe_within is not None
        and SecurityAlert.objects.filter(
            kind=kind, subject=subject, occurred_at__gte=now - dedupe_within
        ).exists()
    ):
        return None
    alert = SecurityAlert.objects.create(
        kind=kind, subject=subject[:150], params=params or {}, occurred_at=now
    )
    logger.warning("security alert %s raised (id %s)", kind, alert.pk)
    transaction.on_commit(lambda: _queue_mail(alert.pk))
    return alert


def _queue_mail(alert_id: int) -> None:
    from kombu.exceptions import OperationalError

    from privacy.tasks import mail_security_alert

    try:
        mail_security_alert.delay(alert_id)
    except OperationalError:
        # No broker: the alert matters more than the request's latency.
        logger.warning("broker unreachable, mailing security alert %s directly", alert_id)
        mail_security_alert(alert_id)


def describe_alert(alert: SecurityAlert) -> str:
    """The alert as one translated sentence."""
    p = {**alert.params, "subject": alert.subject}
    if alert.kind == AlertKind.FAILED_LOGINS:
        if p.get("by") == "ip":
            return (
                _("%(count)s failed logins from IP address %(subject)s within %(minutes)s minutes.")
                % p
            )
        return (
            _("%(count)s failed logins for the user name “%(subject)s” within %(minutes)s minutes.")
            % p
        )
    if alert.kind == AlertKind.ID_REVEALS:
        return _("%(subject)s revealed %(count)s identity numbers within %(minutes)s minutes.") % p
    if alert.kind == AlertKind.LARGE_EXPORT:
        return _("%(subject)s exported %(rows)s rows (alert threshold: %(threshold)s).") % p
    if alert.kind == AlertKind.AUDIT_CHAIN:
        from privacy.audit.verification import ChainBreak

        problem = ChainBreak(p.get("break", ""), p.get("sequence", 0), p.get("event_id"))
        return _("The audit log failed verification: %(problem)s.") % {
            "problem": problem.describe()
        }
    if alert.kind == AlertKind.BACKUP:
        return _("The backup failed: %(failure)s") % p
    if alert.kind == AlertKind.RESTORE_DRILL:
        return _("The restore drill of %(backup)s failed: %(failure)s") % p
    return alert.get_kind_display()


def open_alerts(user: Any, *, limit: int = 20) -> list[tuple[SecurityAlert, str]]:
    """The newest unacknowledged alerts with their sentences, for a user allowed to see them
    (empty otherwise)."""
    if not user.has_perm(VIEW_PERMISSION):
        return []
    alerts = SecurityAlert.objects.filter(acknowledged_at__isnull=True).order_by("-occurred_at")
    return [(alert, describe_alert(alert)) for alert in alerts[:limit]]


def acknowledge_alert(*, actor: Any, alert: SecurityAlert) -> SecurityAlert:
    """Mark an alert as seen by `actor` (audited as "alert.acknowledge"); acknowledging it again
    changes nothing. Raises PermissionDenied without the permission."""
    from django.core.exceptions import PermissionDenied

    from privacy.audit.recording import record_event

    if not actor.has_perm(ACKNOWLEDGE_PERMISSION):
        raise PermissionDenied
    with transaction.atomic():
        updated = SecurityAlert.objects.filter(pk=alert.pk, acknowledged_at__isnull=True).update(
            acknowledged_at=timezone.now(), acknowledged_by=actor
        )
        if updated:
            record_event(
                actor=actor,
                action=AlertAction.ACKNOWLEDGE,
                target=alert,
                changes={"kind": alert.kind, "subject": alert.subject},
            )
    alert.refresh_from_db()
    return alert


def alert_recipients() -> list[str]:
    """settings.ADMINS and the active users who manage user accounts, with an e-mail address."""
    addresses = [address for _name, address in settings.ADMINS]
    managers: QuerySet = get_user_model().objects.with_perm(
        MAIL_PERMISSION, backend="django.contrib.auth.backends.ModelBackend"
    )
    addresses += managers.exclude(email="").values_list("email", flat=True)
    return sorted(set(addresses))


def mail_alert(alert: SecurityAlert) -> bool:
    """Mail the alert to `alert_recipients()` unless it was mailed already; True if sent."""
    from django.core.mail import send_mail
    from django.utils import translation

    if alert.mailed_at is not None:
        return False
    recipients = alert_recipients()
    if recipients:
        with translation.override(settings.LANGUAGE_CODE):
            subject = _("Security alert: %(kind)s") % {"kind": alert.get_kind_display()}
            body = "\n\n".join(
                [
                    describe_alert(alert),
                    _("Raised at %(time)s (UTC).")
                    % {"time": f"{alert.occurred_at.astimezone(datetime.UTC):%Y-%m-%d %H:%M}"},
                    _("Acknowledge it on the home page of the admin site."),
                ]
            )
        send_mail(
            f"{settings.EMAIL_SUBJECT_PREFIX}{subject}",
            body,
            settings.SERVER_EMAIL,
            recipients,
        )
    else:
        logger.warning("security alert %s: nobody to mail (set ADMINS)", alert.pk)
    SecurityAlert.objects.filter(pk=alert.pk).update(mailed_at=timezone.now())
    return bool(recipients)
