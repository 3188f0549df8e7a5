"""Refreshing dynamic segments: their membership is recomputed set-based (one INSERT ... SELECT
of the compiled query), by the nightly job and the refresh_segments command in their own run,
or by the worker after a segment was saved or someone asked for it: a `SegmentRefresh` job on
the job runner (kernel/jobs/runner.py), which the segment's page shows while it waits or runs,
and when it failed."""

from __future__ import annotations

import logging
import time
from typing import Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet, ValidationError
from django.db import DatabaseError, connection, transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from analytics.models import Segment, SegmentKind, SegmentMember, SegmentRefresh, SegmentSize
from analytics.segments import events
from analytics.segments.compilation import matching_customers
from analytics.segments.validation import validate
from customers.models import Customer
from kernel.jobs.runner import JobFailedError, JobKind, JobRun
from kernel.models import JobStatus
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
        before = events.members_before_refresh(segment)
        SegmentMember.objects.filter(segment=segment).delete()
        members = usable_for_list(matching_customers(rules), segment.marketing_channel)
        insert_members(segment, members, now)
        segment.size = SegmentMember.objects.filter(segment=segment).count()
        segment.refreshed_at = now
        segment.refresh_seconds = round(time.monotonic() - began, 3)
        segment.save(update_fields=["size", "refreshed_at", "refresh_seconds"])
        SegmentSize.objects.create(segment=segment, at=now, size=segment.size)
        events.announce_membership(segment, before)
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


class SegmentRefreshKind(JobKind[SegmentRefresh]):
    """One segment's members, recomputed on the worker. Only one refresh of a segment runs at
    a time (refresh_segment locks the segment); one whose worker died starts over."""

    model = SegmentRefresh
    audit_prefix = "segment.refresh"
    seen_with = ("analytics.view_segment",)
    unexpected_failure = _(
        "The refresh stopped because of an internal error; the members are those of the last "
        "refresh."
    )

    def work(self, run: JobRun[SegmentRefresh]) -> None:
        job = run.job
        job.size_before = job.segment.size
        try:
            job.size_after = refresh_segment(job.segment).size
        except ValidationError as error:
            raise JobFailedError(
                _("The segment's rules are no longer valid; edit them to refresh its members.")
            ) from error

    def audit_changes(self, job: SegmentRefresh) -> dict[str, Any]:
        return {
            "segment": job.segment_id,
            "size_before": job.size_before,
            "size_after": job.size_after,
        }

    def page_url(self, job: SegmentRefresh, user: Any) -> str:
        return reverse("segments:detail", args=[job.segment_id])


SEGMENT_REFRESH = SegmentRefreshKind()


def start_refresh(segment: Segment, *, actor: Any) -> SegmentRefresh | None:
    """Queue a refresh of a dynamic segment for the worker, once the caller's transaction
    commits (a static list has nothing to refresh: None)."""
    if segment.kind != SegmentKind.DYNAMIC:
        return None
    job = SegmentRefresh.objects.create(
        segment=segment,
        created_by=actor,
        language=translation.get_language() or settings.LANGUAGE_CODE,
        status=JobStatus.QUEUED,
    )
    SEGMENT_REFRESH.enqueue(job)
    return job


def refresh_to_show(segment: Segment) -> SegmentRefresh | None:
    """The segment's refresh its page tells about: the last one, while it waits or runs, or
    when it failed after the members were last computed (then its reason)."""
    last = segment.refreshes.first()
    if last is None or last.is_active:
        return last
    if last.status == JobStatus.FAILED and (
        segment.refreshed_at is None or segment.refreshed_at < last.finished_at
    ):
        return last
    return None
