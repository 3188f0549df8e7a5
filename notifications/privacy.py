"""What notifications contribute to the privacy workflows (privacy/registry.py), registered by
notifications/apps.py: they are staff's reminders, not the person's data, so they are left out
of the data-subject copy; erasing a person deletes every notification about them (their name is
in its text)."""

from __future__ import annotations

from notifications.models import Notification
from privacy.registry import Erasure, Scrubber, register_not_copied, register_scrubber


def delete_notifications(erasure: Erasure) -> int:
    """Delete the notifications about the erased people."""
    deleted, _by_model = Notification.objects.filter(customer__in=erasure.ids).delete()
    return deleted


SCRUBBER = Scrubber(
    "notifications",
    96,
    delete_notifications,
    reach=lambda ids: Notification.objects.filter(customer__in=ids).count(),
)


def register() -> None:
    register_not_copied(
        "notifications.Notification", "Staff reminders about the person, not their data."
    )
    register_scrubber(SCRUBBER)
