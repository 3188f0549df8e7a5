"""The reads of the web form pages and of the operations page's connected sources."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Max, Min, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from webforms.models import (
    FormRejection,
    FormSubmission,
    RejectionReason,
    SubmissionOutcome,
    WebForm,
)

SUBMISSION_PAGE = 50
# The list and a form's page sum up this many recent days.
RECENT_DAYS = 30


def _recent(now: datetime.datetime | None = None) -> datetime.datetime:
    return (now or timezone.now()) - datetime.timedelta(days=RECENT_DAYS)


def forms_overview() -> QuerySet[WebForm]:
    """Every form, by name, with its submissions and rejections of the last RECENT_DAYS days
    (`recent_submissions`, `recent_rejections`) and its last submission (`last_received_at`)."""
    since = _recent()
    # Subqueries, not joins: two joined relations would multiply each other's rows.
    rejected = (
        FormRejection.objects.filter(form=OuterRef("pk"), day__gte=timezone.localdate(since))
        .order_by()
        .values("form")
        .annotate(total=Sum("count"))
        .values("total")
    )
    return WebForm.objects.annotate(
        recent_submissions=Count("submissions", filter=Q(submissions__received_at__gte=since)),
        last_received_at=Max("submissions__received_at"),
        recent_rejections=Coalesce(Subquery(rejected), 0),
    ).order_by("name", "pk")


def rejections_by_reason(form: WebForm) -> list[tuple[Any, int]]:
    """The form's refused submissions of the last RECENT_DAYS days per reason (label, count),
    the most frequent first."""
    rows = (
        FormRejection.objects.filter(form=form, day__gte=timezone.localdate(_recent()))
        .values("reason")
        .annotate(total=Sum("count"))
        .order_by("-total", "reason")
    )
    return [(RejectionReason(row["reason"]).label, row["total"]) for row in rows]


def outcome_counts(form: WebForm) -> dict[str, int]:
    """The form's submissions of the last RECENT_DAYS days per outcome."""
    counts = dict.fromkeys(SubmissionOutcome.values, 0)
    for row in (
        FormSubmission.objects.filter(form=form, received_at__gte=_recent())
        .values("outcome")
        .annotate(n=Count("pk"))
    ):
        counts[row["outcome"]] = row["n"]
    return counts


def submission_log(
    form: WebForm, *, outcome: str = "", before: int | None = None
) -> list[FormSubmission]:
    """A page of the form's submissions, newest first (keyset: older than `before`),
    optionally of one outcome, with their customers."""
    submissions = FormSubmission.objects.filter(form=form).select_related("customer", "policy")
    if outcome:
        submissions = submissions.filter(outcome=outcome)
    if before is not None:
        submissions = submissions.filter(pk__lt=before)
    return list(submissions.order_by("-pk")[:SUBMISSION_PAGE])


@dataclass(frozen=True)
class FormHealth:
    form: WebForm
    last_received_at: datetime.datetime | None
    failed_last_day: int
    # Marketing consents waiting for the person's click (links not expired), and since when
    # the oldest confirmation mail the worker has not sent yet waits.
    unconfirmed: int
    oldest_unmailed_at: datetime.datetime | None


def active_forms_health(now: datetime.datetime | None = None) -> list[FormHealth]:
    """Each active form's intake, for the operations page: last submission, failed ones of
    the last day, opt-ins waiting for their confirmation, the oldest mail not sent."""
    now = now or timezone.now()
    waiting = Q(submissions__confirmed_at__isnull=True) & ~Q(submissions__pending_purposes=[])
    forms = WebForm.objects.filter(is_active=True).annotate(
        last=Max("submissions__received_at"),
        failed=Count(
            "submissions",
            filter=Q(
                submissions__outcome=SubmissionOutcome.FAILED,
                submissions__received_at__gte=now - datetime.timedelta(days=1),
            ),
        ),
        unconfirmed=Count(
            "submissions",
            filter=waiting
            & (
                Q(submissions__confirmation_expires_at__isnull=True)
                | Q(submissions__confirmation_expires_at__gte=now)
            ),
        ),
        oldest_unmailed=Min(
            "submissions__received_at",
            filter=waiting & Q(submissions__mailed_at__isnull=True),
        ),
    )
    return [
        FormHealth(form, form.last, form.failed, form.unconfirmed, form.oldest_unmailed)
        for form in forms.order_by("name", "pk")
    ]
