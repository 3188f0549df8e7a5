"""Every write of notifications and of how people want to be told."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone, translation

from kernel.actors import Actor
from notifications.audit import NotificationAction
from notifications.models import Notification, NotificationKind, NotificationPreference
from privacy.audit.recording import record_event


@contextmanager
def in_language_of(recipient: Actor) -> Iterator[None]:
    """Write a notification's text in the recipient's language: the one stored for them, if
    any, else the product's (settings.LANGUAGE_CODE), never the language of whoever caused
    it."""
    with translation.override(getattr(recipient, "language", "") or settings.LANGUAGE_CODE):
        yield


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
    recipient's language (`in_language_of`) and without personal data the recipient may not
    see."""
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


@transaction.atomic
def set_daily_digest(*, actor: Actor, enabled: bool) -> NotificationPreference:
    """Turn the actor's own daily digest mail on or off. Audited when it changes."""
    preference, _created = NotificationPreference.objects.select_for_update().get_or_create(
        user_id=actor.pk
    )
    if preference.daily_digest != enabled:
        preference.daily_digest = enabled
        preference.save(update_fields=["daily_digest"])
        record_event(
            actor=actor,
            action=NotificationAction.PREFERENCE,
            changes={"daily_digest": enabled},
        )
    return preference
