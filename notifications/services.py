"""Every write of notifications."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone

from kernel.actors import Actor
from notifications.models import Notification, NotificationKind


def notify(
    recipient: Actor | None,
    kind: NotificationKind,
    message: str,
    *,
    url: str = "",
    customer_id: int | None = None,
    once_key: str | None = None,
) -> Notification | None:
    """Tell `recipient` something. Nobody, an inactive account or a second call with the same
    `once_key` is told nothing (None). `message` is stored as shown: write it in the
    recipient's language (django.utils.translation.override) and without personal data the
    recipient may not see."""
    if recipient is None or not recipient.is_active:
        return None
    try:
        with transaction.atomic():
            return Notification.objects.create(
                recipient=recipient,
                kind=kind,
                message=message[:300],
                url=url,
                customer_id=customer_id,
                once_key=once_key,
            )
    except IntegrityError:
        if once_key and Notification.objects.filter(once_key=once_key).exists():
            return None
        raise


def mark_read(user: Actor, notification_ids: list[int] | None = None) -> int:
    """Mark the user's notifications read: these, or all of them. Returns how many changed."""
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if notification_ids is not None:
        unread = unread.filter(pk__in=notification_ids)
    return unread.update(read_at=timezone.now())


def notify_many(notifications: list[Notification]) -> int:
    """Store unsaved Notification rows at once (a nightly job's many), skipping those for
    inactive accounts and those whose `once_key` was used already (a rerun tells no one twice).
    Returns how many were offered to the database (ignored duplicates included: backends do not
    all say which rows they skipped)."""
    recipient_ids = {row.recipient_id for row in notifications}
    active = set(
        get_user_model()
        .objects.filter(pk__in=recipient_ids, is_active=True)
        .values_list("pk", flat=True)
    )
    rows = [row for row in notifications if row.recipient_id in active]
    for row in rows:
        row.message = row.message[:300]
    Notification.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)
