"""Reading segments for a user: counts and members scoped to what the user may see, and a
segment's name in the reader's language."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, Exists, OuterRef, QuerySet
from django.utils import translation

from analytics.models import Segment, SegmentMember
from analytics.segments.compilation import matching_customers
from analytics.segments.ready_made import READY_MADE
from analytics.segments.validation import validate
from customers.models import Customer
from customers.selectors import customers_visible_to
from kernel.actors import Actor
from privacy.consent import usable_for_list


def count_matching(rules: Any, *, user: Actor, marketing_channel: str = "") -> int:
    """How many customers the user may see match the rules, and consented to the marketing
    channel if there is one (the builder's live count). Raises ValidationError for rules that
    are not valid."""
    matching = matching_customers(validate(rules)) & customers_visible_to(user)
    return usable_for_list(matching, marketing_channel).count()


def members_visible_to(segment: Segment, user: Actor) -> QuerySet[Customer]:
    """The segment's active members that the user may see (for a marketing segment, those
    who still consent: a withdrawal counts before the next refresh)."""
    members = customers_visible_to(user).filter(
        Exists(SegmentMember.objects.filter(segment=segment, customer=OuterRef("pk"))),
        archived_at__isnull=True,
    )
    return usable_for_list(members, segment.marketing_channel)


def segments_of(customer: Customer) -> list[Segment]:
    """The segments and static lists the customer is a member of (as of their last refresh or
    filling), by name: one query."""
    return list(Segment.objects.filter(memberships__customer=customer).order_by("name", "pk"))


def sizes_visible_to(user: Actor) -> dict[int, int] | None:
    """Each segment's count of members the user may see, in one grouped query; None when the
    user sees every customer, so the stored sizes (and their history) are theirs to read."""
    if user.has_perm("customers.view_all_customers"):
        return None
    visible = customers_visible_to(user).filter(archived_at__isnull=True)
    counts = (
        SegmentMember.objects.filter(customer__in=visible)
        .values("segment")
        .annotate(members=Count("pk"))
        .values_list("segment", "members")
    )
    return dict(counts)


def shown_name(segment: Segment) -> str:
    """A segment's name for the reader: a ready-made one under its own name in the reader's
    language, unless someone renamed it."""
    if segment.key in READY_MADE:
        label = READY_MADE[segment.key][0]
        with translation.override("en"):
            english = str(label)
        if segment.name in (english, f"{english} ({segment.key})"):
            return str(label)
    return segment.name
