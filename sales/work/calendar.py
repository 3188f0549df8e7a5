"""The calendar's entries, from a list of sources: each source is a function
`(user, start, end, owner_ids) -> list[CalendarEntry]` giving what falls in [start, end) for
the assignees or owners `owner_ids`, scoped to what `user` may see: follow-ups falling due and
open deals' expected close dates."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from dataclasses import dataclass

from django.urls import reverse
from django.utils import timezone

from kernel.actors import Actor
from sales.deals.selectors import open_deals_closing_between
from sales.work.selectors import open_follow_ups_in_scope


@dataclass(frozen=True)
class CalendarEntry:
    when: datetime.datetime | datetime.date
    title: str
    url: str
    kind: str
    overdue: bool = False

    @property
    def day(self) -> datetime.date:
        if isinstance(self.when, datetime.datetime):
            return timezone.localtime(self.when).date()
        return self.when

    @property
    def time(self) -> str:
        """ "HH:MM" in the current time zone; "" for an entry that is a whole day (a date)."""
        if isinstance(self.when, datetime.datetime):
            return timezone.localtime(self.when).strftime("%H:%M")
        return ""


CalendarSource = Callable[
    [Actor, datetime.datetime, datetime.datetime, list[int]], list[CalendarEntry]
]


def follow_up_entries(
    user: Actor, start: datetime.datetime, end: datetime.datetime, owner_ids: list[int]
) -> list[CalendarEntry]:
    """Open follow-ups due in [start, end) (one query)."""
    now = timezone.now()
    return [
        CalendarEntry(
            when=follow_up.due_at,
            title=f"{follow_up.title} · {follow_up.customer}",
            url=reverse("customers:detail", args=[follow_up.customer_id]),
            kind="follow_up",
            overdue=follow_up.due_at < now,
        )
        for follow_up in open_follow_ups_in_scope(user=user, owner_ids=owner_ids).filter(
            due_at__gte=start, due_at__lt=end
        )
    ]


def deal_close_entries(
    user: Actor, start: datetime.datetime, end: datetime.datetime, owner_ids: list[int]
) -> list[CalendarEntry]:
    """Open deals expected to close on a day of [start, end), as whole-day entries (one query);
    a close date already past is overdue."""
    today = timezone.localdate()
    deals = open_deals_closing_between(
        user=user,
        start=timezone.localtime(start).date(),
        end=timezone.localtime(end - datetime.timedelta(microseconds=1)).date(),
        owner_ids=owner_ids,
    )
    return [
        CalendarEntry(
            when=deal.expected_close_date,
            title=f"{deal.title} · {deal.customer}",
            url=reverse("deals:detail", args=[deal.pk]),
            kind="deal",
            overdue=deal.expected_close_date < today,
        )
        for deal in deals
        if deal.expected_close_date is not None
    ]


SOURCES: list[CalendarSource] = [follow_up_entries, deal_close_entries]


def calendar_entries(
    *, user: Actor, start: datetime.datetime, end: datetime.datetime, owner_ids: list[int]
) -> dict[datetime.date, list[CalendarEntry]]:
    """Every source's entries in [start, end), by local day, in time order within a day."""
    by_day: dict[datetime.date, list[CalendarEntry]] = {}
    entries = [entry for source in SOURCES for entry in source(user, start, end, owner_ids)]
    for entry in sorted(entries, key=_sort_key):
        by_day.setdefault(entry.day, []).append(entry)
    return by_day


def _sort_key(entry: CalendarEntry) -> tuple[datetime.date, str]:
    return entry.day, entry.time
