"""Teams: made, renamed and deleted, their manager set, members placed and removed, on the
teams page (/accounts/teams/). Audited. A person is in one team at most: placing them in
another moves them, and says from where. Who works on whose records follows from these
rows (accounts/teams.py)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, QuerySet
from django.utils.translation import gettext as _

from accounts.audit import AccountAction
from accounts.models import Team, TeamMembership
from kernel.actors import Actor
from privacy.audit.recording import record_event


def teams_with_members() -> QuerySet[Team]:
    """Every team with its manager, its members and their number: three queries."""
    return (
        Team.objects.select_related("manager")
        .prefetch_related("memberships__user")
        .annotate(member_count=Count("memberships"))
        .order_by("name")
    )


def _check_name_free(name: str, *, team: Team | None = None) -> None:
    taken = Team.objects.filter(name__iexact=name)
    if team is not None:
        taken = taken.exclude(pk=team.pk)
    if taken.exists():
        raise ValidationError({"name": _("A team with this name exists already.")})


@transaction.atomic
def create_team(*, actor: Actor, name: str, manager: Any) -> Team:
    name = name.strip()
    _check_name_free(name)
    team = Team(name=name, manager=manager)
    team.full_clean()
    team.save()
    record_event(
        actor=actor,
        action=AccountAction.TEAM_CREATED,
        target=team,
        changes={"name": name, "manager": manager.pk},
    )
    return team


@transaction.atomic
def change_team(*, actor: Actor, team: Team, name: str, manager: Any) -> Team:
    """Rename `team` and/or give it another manager; nothing changed records nothing."""
    name = name.strip()
    changes: dict[str, Any] = {}
    if name != team.name:
        _check_name_free(name, team=team)
        changes["name"] = [team.name, name]
        team.name = name
    if manager.pk != team.manager_id:
        changes["manager"] = [team.manager_id, manager.pk]
        team.manager = manager
    if changes:
        team.full_clean()
        team.save()
        record_event(actor=actor, action=AccountAction.TEAM_CHANGED, target=team, changes=changes)
    return team


@transaction.atomic
def delete_team(*, actor: Actor, team: Team) -> None:
    """The team goes, its memberships with it: the members keep their own customers, the
    manager loses sight of theirs."""
    record_event(
        actor=actor,
        action=AccountAction.TEAM_DELETED,
        target=team,
        changes={"name": team.name, "members": team.memberships.count()},
    )
    team.delete()


@transaction.atomic
def place_in_team(*, actor: Actor, team: Team, member: Any) -> Team | None:
    """Make `member` a member of `team`, leaving the team they were in. Returns that previous
    team (None if they were in none, or in this one already: then nothing is recorded)."""
    membership = TeamMembership.objects.select_for_update().filter(user=member).first()
    previous = membership.team if membership else None
    if previous == team:
        return None
    if membership is None:
        TeamMembership.objects.create(team=team, user=member)
    else:
        membership.team = team
        membership.save(update_fields=["team"])
    record_event(
        actor=actor,
        action=AccountAction.TEAM_MEMBER_ADDED,
        target=team,
        changes={"member": member.pk, "from_team": previous.name if previous else None},
    )
    return previous


@transaction.atomic
def remove_member(*, actor: Actor, team: Team | None, member: Any) -> bool:
    """Take `member` out of `team`; False when they were not in it."""
    deleted, _rows = TeamMembership.objects.filter(team=team, user=member).delete()
    if deleted:
        record_event(
            actor=actor,
            action=AccountAction.TEAM_MEMBER_REMOVED,
            target=team,
            changes={"member": member.pk},
        )
    return bool(deleted)
