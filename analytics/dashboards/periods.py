"""Dashboard periods: presets and custom dates, and calendar-month arithmetic.

- Preset periods end on the day of the last finished metrics refresh ("last 30 days" = the 30
  days up to it), so their cache keys (cache.py) stay the same until the next refresh.
- Months are calendar months in the project's time zone (settings.TIME_ZONE), on both engines.
"""

from __future__ import annotations

import datetime
import zoneinfo
from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext_lazy as _

# Dates outside these years are refused by the period form (and would overflow date sums).
FIRST_YEAR, LAST_YEAR = 1900, 2999


class PeriodPreset:
    LAST_30_DAYS = "30d"
    LAST_90_DAYS = "90d"
    LAST_12_MONTHS = "12m"
    THIS_YEAR = "year"
    ALL_TIME = "all"
    CUSTOM = "custom"

    choices = (
        (LAST_30_DAYS, _("Last 30 days")),
        (LAST_90_DAYS, _("Last 90 days")),
        (LAST_12_MONTHS, _("Last 12 months")),
        (THIS_YEAR, _("This year")),
        (ALL_TIME, _("All time")),
        (CUSTOM, _("Custom dates")),
    )
    # Every preset but custom: what the nightly warm-up computes.
    presets = (LAST_30_DAYS, LAST_90_DAYS, LAST_12_MONTHS, THIS_YEAR, ALL_TIME)
    default = LAST_12_MONTHS


@dataclass(frozen=True)
class Period:
    """Days `start` to `end`, both included, in the project's time zone; no start: from the
    beginning."""

    start: datetime.date | None
    end: datetime.date
    preset: str = PeriodPreset.CUSTOM

    @property
    def key(self) -> str:
        return f"{self.start.isoformat() if self.start else 'start'}..{self.end.isoformat()}"

    def query(self) -> dict[str, str]:
        """The query-string parameters that select this period again."""
        if self.preset != PeriodPreset.CUSTOM:
            return {"period": self.preset}
        return {
            "period": PeriodPreset.CUSTOM,
            "start": self.start.isoformat() if self.start else "",
            "end": self.end.isoformat(),
        }

    def bounds(
        self, as_of: datetime.datetime
    ) -> tuple[datetime.datetime | None, datetime.datetime]:
        """[lower, upper): local midnight of the start day, and the earlier of midnight after
        the end day and `as_of` (nothing later than the refresh counts)."""
        zone = project_zone()
        lower = (
            datetime.datetime.combine(self.start, datetime.time.min, tzinfo=zone)
            if self.start
            else None
        )
        after_end = datetime.datetime.combine(
            self.end + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone
        )
        # Strictly after as_of is excluded: a refresh at 01:00 counts what happened up to 01:00.
        upper = min(after_end, as_of + datetime.timedelta(microseconds=1))
        return lower, upper


def preset_period(preset: str, *, reference: datetime.date) -> Period:
    """The period a preset names, ending on `reference` (the day of the last refresh)."""
    if preset == PeriodPreset.LAST_30_DAYS:
        start = reference - datetime.timedelta(days=29)
    elif preset == PeriodPreset.LAST_90_DAYS:
        start = reference - datetime.timedelta(days=89)
    elif preset == PeriodPreset.LAST_12_MONTHS:
        # Twelve calendar months, the current one included, so monthly charts show 12 bars.
        start = add_months(reference.replace(day=1), -11)
    elif preset == PeriodPreset.THIS_YEAR:
        start = reference.replace(month=1, day=1)
    elif preset == PeriodPreset.ALL_TIME:
        start = None
    else:
        raise ValueError(preset)
    return Period(start=start, end=reference, preset=preset)


def project_zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def add_months(month: datetime.date, count: int) -> datetime.date:
    index = month.year * 12 + month.month - 1 + count
    return datetime.date(index // 12, index % 12 + 1, 1)


def months_between(first: datetime.date, later: datetime.date) -> int:
    return (later.year - first.year) * 12 + later.month - first.month


def month_range(first: datetime.date, last: datetime.date) -> list[datetime.date]:
    return [add_months(first, n) for n in range(months_between(first, last) + 1)]
