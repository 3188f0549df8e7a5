"""The segment event other systems may subscribe to (kernel/outbox.py), registered by
analytics/apps.py: who joined and who left a dynamic segment when it was refreshed
(analytics/segments/refresh.py), as customer ids."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django.utils.translation import gettext_lazy as _

from analytics.models import Segment, SegmentMember
from customers.selectors import customers_visible_to
from kernel import outbox

MEMBERSHIP_CHANGED = "segment.membership_changed"


def mask_membership(viewer: Any, data: dict[str, Any]) -> dict[str, Any] | None:
    """Viewers who may see segments get the change; the ids of customers outside their scope
    are left out (a Sales key learns only of its own and unassigned customers)."""
    if not viewer.has_perm("analytics.view_segment"):
        return None
    if viewer.has_perm("customers.view_all_customers"):
        return data
    visible = set(
        customers_visible_to(viewer)
        .filter(pk__in=[*data["joined"], *data["left"]])
        .values_list("pk", flat=True)
    )
    return {
        **data,
        "joined": [pk for pk in data["joined"] if pk in visible],
        "left": [pk for pk in data["left"] if pk in visible],
    }


TOPICS = [outbox.Topic(MEMBERSHIP_CHANGED, _("Segment membership changed"), mask_membership)]


def members_before_refresh(segment: Segment) -> set[int] | None:
    """The segment's members, read only when someone listens to membership changes (None
    otherwise: a refresh of a million members reads nothing back)."""
    if not outbox.is_subscribed(MEMBERSHIP_CHANGED):
        return None
    return set(SegmentMember.objects.filter(segment=segment).values_list("customer_id", flat=True))


def announce_membership(segment: Segment, before: Collection[int] | None) -> None:
    """segment.membership_changed when the refresh changed who is in the segment; `before` is
    what `members_before_refresh` read (None: nobody listened then, nothing to announce)."""
    if before is None:
        return
    after = set(SegmentMember.objects.filter(segment=segment).values_list("customer_id", flat=True))
    joined, left = sorted(after - set(before)), sorted(set(before) - after)
    if not joined and not left:
        return
    outbox.emit(
        MEMBERSHIP_CHANGED,
        target=segment,
        data=lambda: {
            "segment": segment.pk,
            "name": segment.name,
            "joined": joined,
            "left": left,
            "size": len(after),
            "refreshed_at": segment.refreshed_at.isoformat() if segment.refreshed_at else None,
        },
        subject_id=None,
    )


def register() -> None:
    for topic in TOPICS:
        outbox.register_topic(topic)
