"""Reads of notifications: a person only ever reads their own."""

from __future__ import annotations

from django.db.models import QuerySet

from kernel.actors import Actor
from notifications.models import Notification, NotificationPreference


def notifications_for(user: Actor) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient_id=user.pk)


def unread_count(user: Actor) -> int:
    """From the inbox index (recipient, read_at): cheap enough for the bell on every page."""
    return notifications_for(user).filter(read_at__isnull=True).count()


def wants_daily_digest(user: Actor) -> bool:
    return NotificationPreference.objects.filter(user_id=user.pk, daily_digest=True).exists()
