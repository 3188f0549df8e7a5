"""Reads for "My work" and the calendar: the open follow-ups of a person or of the team they
manage, on the customers the asking user may see."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.teams import managed_member_ids, owned_by_user_or_team
from customers.selectors import customers_visible_to
from interactions.models import FollowUp
from kernel.actors import Actor

ME, TEAM = "me", "team"
# Longer lists are cut: whoever has more to do than this works from the calendar.
GROUP_LIMIT = 100


@dataclass(frozen=True)
class WorkScope:
    """Whose follow-ups a page shows: `choice` is "me", "team" or a member's id (as text),
    `owner_ids` the assignees it stands for, `members` the people the user manages (the
    switch offers them; empty for everyone else)."""

    choice: str
    owner_ids: list[int]
    members: list[Any] = field(default_factory=list)


def team_members_of(user: Actor) -> list[Any]:
    """The active members of the teams `user` manages, by name (one query)."""
    return list(
        get_user_model()
        .objects.filter(pk__in=managed_member_ids(user), is_active=True)
        .exclude(pk=user.pk)
        .order_by("last_name", "first_name", "username")
    )


def work_scope(user: Actor, choice: str = ME) -> WorkScope:
    """The scope the switch's `choice` names. A member id the user does not manage answers
    Http404 (whether that person exists is none of their business); anything else is "me"."""
    members = team_members_of(user)
    if choice == TEAM and members:
        return WorkScope(TEAM, [user.pk, *(m.pk for m in members)], members)
    if choice.isdigit() and int(choice) != user.pk:
        if int(choice) not in {m.pk for m in members}:
            raise Http404
        return WorkScope(choice, [int(choice)], members)
    return WorkScope(ME, [user.pk], members)


def open_follow_ups_in_scope(*, user: Actor, owner_ids: list[int]) -> QuerySet[FollowUp]:
    """Open follow-ups assigned to `owner_ids` (limited to the user and the members of the
    teams they manage, whatever is asked) on the customers `user` may see, soonest first."""
    return (
        FollowUp.objects.filter(
            owned_by_user_or_team(user, "assignee"),
            done_at__isnull=True,
            assignee_id__in=owner_ids,
            customer__in=customers_visible_to(user),
        )
        .select_related("customer", "assignee")
        .order_by("due_at", "pk")
    )


@dataclass
class WorkGroups:
    overdue: list[FollowUp]
    today: list[FollowUp]
    upcoming: list[FollowUp]


def start_of_day(moment: datetime.datetime) -> datetime.datetime:
    """Midnight of `moment`'s day in the current time zone."""
    return timezone.localtime(moment).replace(hour=0, minute=0, second=0, microsecond=0)


def grouped_follow_ups(
    *, user: Actor, owner_ids: list[int], now: datetime.datetime | None = None
) -> WorkGroups:
    """The scope's open follow-ups: overdue (due time passed), today (later today, in the
    current time zone) and upcoming; each group at most GROUP_LIMIT long. Two queries."""
    now = now or timezone.now()
    tomorrow = start_of_day(now) + datetime.timedelta(days=1)
    follow_ups = open_follow_ups_in_scope(user=user, owner_ids=owner_ids)
    due_by_tomorrow = list(follow_ups.filter(due_at__lt=tomorrow)[: GROUP_LIMIT * 2])
    return WorkGroups(
        overdue=[f for f in due_by_tomorrow if f.due_at < now][:GROUP_LIMIT],
        today=[f for f in due_by_tomorrow if f.due_at >= now][:GROUP_LIMIT],
        upcoming=list(follow_ups.filter(due_at__gte=tomorrow)[:GROUP_LIMIT]),
    )


def follow_up_in_scope(*, user: Actor, pk: int) -> FollowUp:
    """An open follow-up the user may act on from My work (theirs or their team's, on a
    customer they see); Http404 otherwise."""
    owner_ids = work_scope(user, TEAM).owner_ids
    follow_up = open_follow_ups_in_scope(user=user, owner_ids=owner_ids).filter(pk=pk).first()
    if follow_up is None:
        raise Http404
    return follow_up
