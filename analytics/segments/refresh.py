"""Refreshing dynamic segments: their membership is recomputed set-based (one INSERT ... SELECT
of the compiled query), by the nightly job, the refresh_segments command or the worker."""

from __future__ import annotations

import logging
import time

from django.core.exceptions import EmptyResultSet, ValidationError
from django.db import DatabaseError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from analytics.models import Segment, SegmentKind, SegmentMember, SegmentSize
from analytics.segments.compilation import matching_customers
from analytics.segments.validation import validate
from customers.models import Customer
from privacy.consent import usable_for_list

logger = logging.getLogger(__name__)


def refresh_segment(segment: Segment) -> Segment:
    """Recompute a dynamic segment's members in one set-based statement and note its size.
    Raises ValidationError when its stored rules are not valid (any more)."""
    if segment.kind != SegmentKind.DYNAMIC:
        return segment
    began = time.monotonic()
    now = timezone.now()
    with transaction.atomic():
        # One refresh of a segment at a time: a second waits, then starts from this result.
        segment = Segment.objects.select_for_update().get(pk=segment.pk)
        rules = validate(segment.rules)
        SegmentMember.objects.filter(segment=segment).delete()
        members = usable_for_list(matching_customers(rules), segment.marketing_channel)
        insert_members(segment, members, now)
        segment.size = SegmentMember.objects.filter(segment=segment).count()
        segment.refreshed_at = now
        segment.refresh_seconds = round(time.monotonic() - began, 3)
        segment.save(update_fields=["size", "refreshed_at", "refresh_seconds"])
        SegmentSize.objects.create(segment=segment, at=now, size=segment.size)
    return segment


def insert_members(segment: Segment, customers: QuerySet[Customer], now) -> None:
    """Add the customers to the segment in one INSERT ... SELECT (none leave Python)."""
    try:
        sql, params = customers.values("pk").query.sql_with_params()
    except EmptyResultSet:
        return  # the query can match nobody (Django proved it while compiling)
    table = SegmentMember._meta.db_table
    with connection.cursor() as cursor:
        # The SELECT is Django's own compilation of a queryset (validated rules, or filters).
        cursor.execute(
            f"INSERT INTO {table} (segment_id, customer_id, added_at) "  # noqa: S608
            f"SELECT %s, members.*, %s FROM ({sql}) AS members",
            [segment.pk, connection.ops.adapt_datetimefield_value(now), *params],
        )


def refresh_segments(names: list[str] | None = None) -> list[Segment]:
    """Refresh every dynamic segment (or those named); one that fails is logged and skipped,
    so it never holds the others back. Returns the refreshed ones."""
    segments = Segment.objects.filter(kind=SegmentKind.DYNAMIC)
    if names:
        segments = segments.filter(name__in=names)
    refreshed = []
    for segment in segments.order_by("name"):
        try:
            refreshed.append(refresh_segment(segment))
        except (ValidationError, DatabaseError):
            logger.exception("Segment %s could not be refreshed", segment.pk)
    return refreshed


def start_refresh(segment: Segment) -> None:
    """Queue a refresh of a dynamic segment for the worker, once the caller's transaction
    commits (a static list has nothing to refresh)."""
    if segment.kind == SegmentKind.DYNAMIC:
        from analytics.tasks import refresh_segment_task

        transaction.on_commit(lambda: refresh_segment_task.delay(segment.pk))
