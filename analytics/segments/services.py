"""Changing segments on a user's behalf: save, delete, and fill or empty static lists (which
keep the customers put in them by hand). Each change is audited."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from analytics.audit import SegmentAction
from analytics.models import Segment, SegmentKind, SegmentMember, SegmentSize
from analytics.segments.refresh import insert_members
from analytics.segments.validation import validate
from customers.models import Customer
from kernel.actors import Actor
from kernel.versioning import lock_version, next_version
from privacy.audit.recording import record_event
from privacy.consent import usable_for_list


@transaction.atomic
def save_segment(
    *,
    actor: Actor,
    segment: Segment | None = None,
    expected_version: int | None = None,
    **values: Any,
) -> Segment:
    """Create or change a segment; the rules are validated first. Audited. A change moves the
    segment's version on, and raises kernel.versioning.EditConflictError when someone saved it since
    `expected_version`. (Refreshes and list changes only note its size: not a new version.)"""
    version: dict[str, list[int]] = {}
    if segment is not None and segment.pk:
        lock_version(segment, expected_version=expected_version)
        version = next_version(segment)
    segment = segment or Segment(created_by=actor)
    for key, value in values.items():
        setattr(segment, key, value)
    if segment.kind == SegmentKind.DYNAMIC:
        validate(segment.rules)
    segment.full_clean()
    segment.save()
    record_event(
        actor=actor,
        action=SegmentAction.SAVE,
        target=segment,
        changes={"name": segment.name, "kind": segment.kind, "rules": segment.rules, **version},
    )
    return segment


@transaction.atomic
def delete_segment(*, actor: Actor, segment: Segment) -> None:
    """Delete a segment and its memberships. Ready-made segments stay (the nightly job would
    bring them back); their rules can be changed instead. Audited."""
    if segment.key:
        raise ValidationError(
            _("A ready-made segment cannot be deleted; change its rules or name instead.")
        )
    record_event(
        actor=actor, action=SegmentAction.DELETE, target=segment, changes={"name": segment.name}
    )
    segment.delete()


def _static(segment: Segment) -> None:
    if segment.kind != SegmentKind.STATIC:
        raise ValidationError(
            _("Only static lists are filled by hand; this segment follows its rules.")
        )


def add_members(*, actor: Actor, segment: Segment, customers: QuerySet[Customer]) -> int:
    """Put the customers (active ones, not yet in it, and consenting to the list's marketing
    channel if it has one) into a static list, set-based; returns how many were added.
    Audited with the count only."""
    _static(segment)
    with transaction.atomic():
        segment = Segment.objects.select_for_update().get(pk=segment.pk)
        already = SegmentMember.objects.filter(segment=segment, customer=OuterRef("pk"))
        before = SegmentMember.objects.filter(segment=segment).count()
        insert_members(
            segment,
            usable_for_list(customers, segment.marketing_channel)
            .filter(merged_into__isnull=True, archived_at__isnull=True)
            .exclude(Exists(already))
            .order_by(),
            timezone.now(),
        )
        added = resize_list(segment) - before
        record_event(
            actor=actor, action=SegmentAction.ADD_MEMBERS, target=segment, changes={"added": added}
        )
    return added


def remove_members(*, actor: Actor, segment: Segment, customers: QuerySet[Customer]) -> int:
    """Take the customers out of a static list; returns how many left it. Audited."""
    _static(segment)
    with transaction.atomic():
        segment = Segment.objects.select_for_update().get(pk=segment.pk)
        removed, _by_model = SegmentMember.objects.filter(
            segment=segment, customer__in=customers.values("pk")
        ).delete()
        resize_list(segment)
        record_event(
            actor=actor,
            action=SegmentAction.REMOVE_MEMBERS,
            target=segment,
            changes={"removed": removed},
        )
    return removed


def resize_list(segment: Segment) -> int:
    """Note a static list's size after a change (and keep its history like a refresh)."""
    now = timezone.now()
    segment.size = SegmentMember.objects.filter(segment=segment).count()
    segment.refreshed_at = now
    segment.save(update_fields=["size", "refreshed_at"])
    SegmentSize.objects.create(segment=segment, at=now, size=segment.size)
    return segment.size
