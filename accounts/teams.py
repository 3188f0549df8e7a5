"""Who works on whose records: a person works on their own, and a team's manager on those of
the team's members too. The domain apps' scopes (customers/selectors.py and those built on it)
ask here instead of comparing an owner with the user."""

from __future__ import annotations

from django.db.models import Q

from accounts.models import TeamMembership
from kernel.actors import Actor

# Where the ids of the members a user manages are kept on the user object, for the rest of the
# request: a list page masks each row through `works_on_behalf_of`, which must not cost a
# query per row (Django keeps its permission cache on the user the same way).
_MEMBER_IDS_CACHE = "_managed_member_ids_cache"


def managed_member_ids(user: Actor) -> frozenset[int]:
    """The ids of the members of the teams `user` manages: one query per user object."""
    member_ids = getattr(user, _MEMBER_IDS_CACHE, None)
    if member_ids is None:
        member_ids = frozenset(
            TeamMembership.objects.filter(team__manager_id=user.pk).values_list(
                "user_id", flat=True
            )
        )
        setattr(user, _MEMBER_IDS_CACHE, member_ids)
    return member_ids


def manages_anyone(user: Actor) -> bool:
    return bool(managed_member_ids(user))


def owned_by_user_or_team(user: Actor, field: str = "owner") -> Q:
    """The condition on `field` (a foreign key to a user) picking what `user` owns and, for a
    manager, what the members of their teams own. A list of ids, read once per user object:
    `owner = me OR owner IN (subquery)` would make PostgreSQL scan a million customers instead
    of reading the owner index."""
    return Q(**{f"{field}_id__in": sorted({user.pk, *managed_member_ids(user)})})


def works_on_behalf_of(user: Actor, owner_id: int | None) -> bool:
    """Whether `user` works on what `owner_id` owns: their own, or a member of a team they
    manage (one query per user object, only when it is someone else's)."""
    if owner_id is None:
        return False
    if owner_id == user.pk:
        return True
    return owner_id in managed_member_ids(user)
