"""System checks for the archive settings (`manage.py check`, and every start)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import checks

from interactions.archive import MIN_AGE_DAYS


def check_archive_settings(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """interactions.E001  INTERACTION_ARCHIVE_AFTER_DAYS is not a whole number of days ≥ 0
    interactions.E002  INTERACTION_ARCHIVE_AFTER_DAYS is shorter than archive.MIN_AGE_DAYS: the
                       home page's recent interactions read the hot table only
    interactions.E003  INTERACTION_ARCHIVE_HOUR is not an hour of the day (0–23)"""
    errors: list[checks.CheckMessage] = []
    days = settings.INTERACTION_ARCHIVE_AFTER_DAYS
    if not isinstance(days, int) or days < 0:
        errors.append(
            checks.Error(
                "INTERACTION_ARCHIVE_AFTER_DAYS must be a whole number of days, 0 or more.",
                hint="0 switches archiving off.",
                id="interactions.E001",
            )
        )
    elif 0 < days < MIN_AGE_DAYS:
        errors.append(
            checks.Error(
                f"INTERACTION_ARCHIVE_AFTER_DAYS is {days}: interactions younger than "
                f"{MIN_AGE_DAYS} days are still read from the hot table only (the home page's "
                "recent interactions) and may still be worked on.",
                hint=f"Set it to 0 (never archive) or to {MIN_AGE_DAYS} or more.",
                id="interactions.E002",
            )
        )
    hour = settings.INTERACTION_ARCHIVE_HOUR
    if not isinstance(hour, int) or not 0 <= hour <= 23:
        errors.append(
            checks.Error(
                "INTERACTION_ARCHIVE_HOUR must be an hour of the day, 0 to 23.",
                id="interactions.E003",
            )
        )
    return errors
