"""Which backups rotation keeps: the newest of each of the last N days, weeks and months.

Like restic's and borg's `--keep-daily/--keep-weekly/--keep-monthly`: walking from the newest
backup back, the first backup seen in a day (week, month) is that day's (week's, month's), and
the first N distinct days (weeks, months) that have a backup are kept. A backup kept under any
rule stays. Days, weeks and months are counted in the configured time zone, so "the backup of
Monday" means Monday where the business is. The newest backup is always kept.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Hashable, Sequence
from zoneinfo import ZoneInfo


def _day(moment: datetime.datetime) -> Hashable:
    return moment.date()


def _week(moment: datetime.datetime) -> Hashable:
    return moment.isocalendar()[:2]


def _month(moment: datetime.datetime) -> Hashable:
    return (moment.year, moment.month)


def backups_to_keep(
    taken_at: Sequence[datetime.datetime],
    *,
    daily: int,
    weekly: int,
    monthly: int,
    time_zone: str,
) -> set[datetime.datetime]:
    """The moments (aware datetimes, one per backup) whose backups rotation keeps."""
    zone = ZoneInfo(time_zone)
    newest_first = sorted(taken_at, reverse=True)
    kept: set[datetime.datetime] = set(newest_first[:1])
    rules: list[tuple[int, Callable[[datetime.datetime], Hashable]]] = [
        (daily, _day),
        (weekly, _week),
        (monthly, _month),
    ]
    for count, period in rules:
        seen: set[Hashable] = set()
        for moment in newest_first:
            if len(seen) >= count:
                break
            key = period(moment.astimezone(zone))
            if key not in seen:
                seen.add(key)
                kept.add(moment)
    return kept
