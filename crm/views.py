"""The home page, and the list of every job a user may see."""

import datetime

from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_GET

from analytics.home import home_figures
from customers.models import CandidateStatus, Customer, DuplicateCandidate
from customers.selectors import customers_visible_to
from interactions.models import FollowUp, Interaction, InteractionKind, Transaction
from interactions.selectors import (
    follow_ups_for,
    interactions_visible_to,
    recent_interactions_for,
)
from kernel.estimates import estimated_row_count
from kernel.jobs.selectors import job_rows
from kernel.models import WorkerHeartbeat
from operations import status as operations
from privacy.alerts import open_alerts
from privacy.models import DataSubjectRequest

HOME_LIST_LENGTH = 10


@require_GET
@permission_required("customers.view_customer", raise_exception=True)
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    follow_ups = follow_ups_for(user=user)
    today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
    tomorrow = today + datetime.timedelta(days=1)
    context = {
        "my_customers": customers_visible_to(user)
        .filter(owner=user, archived_at__isnull=True)
        .order_by("-last_activity_at")[:HOME_LIST_LENGTH],
        "overdue": follow_ups.filter(due_at__lt=today)[:HOME_LIST_LENGTH],
        "overdue_count": follow_ups.filter(due_at__lt=today).count(),
        "due_today": follow_ups.filter(due_at__gte=today, due_at__lt=tomorrow)[:HOME_LIST_LENGTH],
        "recent_interactions": recent_interactions_for(user=user)[:HOME_LIST_LENGTH],
    }
    if user.has_perm("auth.view_user"):
        context["operations"] = _operations_summary()
    context["security_alerts"] = open_alerts(user)
    if user.has_perm("privacy.change_datasubjectrequest"):
        context["requests"] = _requests_due()
    context["figures"] = home_figures(user=user)
    if user.has_perm("customers.merge_customers"):
        context["service"] = _service_summary(user)
    return render(request, "home.html", context)


# The duplicate queue's size is counted up to this many; beyond, the page says "1,000+".
DUPLICATE_QUEUE_COUNT_CAP = 1000


def _service_summary(user) -> dict:
    """What reviewers of duplicates (service) see: the open queue's size, capped so that a
    large queue costs no full count, and the newest complaints on customers they may see."""
    open_pairs = DuplicateCandidate.objects.filter(status=CandidateStatus.OPEN)
    counted = len(open_pairs.values_list("pk", flat=True)[: DUPLICATE_QUEUE_COUNT_CAP + 1])
    return {
        "duplicates": min(counted, DUPLICATE_QUEUE_COUNT_CAP),
        "duplicates_capped": counted > DUPLICATE_QUEUE_COUNT_CAP,
        "complaints": interactions_visible_to(user)
        .filter(kind=InteractionKind.COMPLAINT)
        .select_related("customer")
        .order_by("-occurred_at", "-pk")[:HOME_LIST_LENGTH],
    }


# Open data-subject requests due within this many days are shown on the officer's home page.
REQUESTS_DUE_SOON_DAYS = 3


def _requests_due() -> dict:
    today = timezone.localdate()
    open_requests = DataSubjectRequest.objects.filter(status__in=DataSubjectRequest.OPEN)
    return {
        "open": open_requests.count(),
        "overdue": open_requests.filter(due_on__lt=today).count(),
        "due_soon": open_requests.filter(
            due_on__gte=today, due_on__lte=today + datetime.timedelta(days=REQUESTS_DUE_SOON_DAYS)
        ).count(),
    }


def _operations_summary() -> dict:
    """What administrators see on their home page: table sizes, whether jobs run, and whether
    the last backup is recent and was restored by a drill."""
    last_beat = WorkerHeartbeat.objects.order_by("-seen_at").first()
    return {
        "customers": estimated_row_count(Customer),
        "transactions": estimated_row_count(Transaction),
        "interactions": estimated_row_count(Interaction),
        "overdue_follow_ups": FollowUp.objects.filter(
            done_at__isnull=True, due_at__lt=timezone.now()
        ).count(),
        "worker": last_beat,
        "worker_ok": operations.worker_alive(last_beat.seen_at if last_beat else None),
        "backups": operations.backup_summary(),
    }


JOBS_PER_PAGE = 50


@require_GET
@permission_required("customers.view_customer", raise_exception=True)
def jobs(request: HttpRequest) -> HttpResponse:
    """Every background job the user may see, of every kind, newest first (kernel/jobs/):
    kind, who started it, state, progress and age, with a link where they follow it. Older
    pages continue before the last row shown; the page polls itself while a job is active."""
    before = parse_datetime(request.GET.get("before", "")) if request.GET.get("before") else None
    rows = job_rows(user=request.user, before=before, limit=JOBS_PER_PAGE + 1)
    older = rows[JOBS_PER_PAGE - 1].job.created_at if len(rows) > JOBS_PER_PAGE else None
    rows = rows[:JOBS_PER_PAGE]
    context = {
        "rows": rows,
        "older": older,
        "polling": any(row.job.is_active for row in rows),
    }
    template = "jobs/_rows.html" if request.headers.get("HX-Request") else "jobs/list.html"
    return render(request, template, context)
