"""The home page and the health endpoint."""

import datetime

from django.conf import settings
from django.contrib.auth.decorators import login_not_required, permission_required
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from kombu.exceptions import OperationalError as BrokerError

from crm.celery import app as celery_app
from crm.estimates import estimated_row_count
from crm.models import WorkerHeartbeat
from customers.models import Customer
from customers.selectors import customers_visible_to
from interactions.models import FollowUp, Interaction, Transaction
from interactions.selectors import follow_ups_for, recent_interactions_for
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
    return render(request, "home.html", context)


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
    """What administrators see on their home page: table sizes and whether jobs run."""
    last_beat = WorkerHeartbeat.objects.order_by("-seen_at").first()
    stale_after = datetime.timedelta(seconds=settings.WORKER_HEARTBEAT_SECONDS * 3)
    return {
        "customers": estimated_row_count(Customer),
        "transactions": estimated_row_count(Transaction),
        "interactions": estimated_row_count(Interaction),
        "overdue_follow_ups": FollowUp.objects.filter(
            done_at__isnull=True, due_at__lt=timezone.now()
        ).count(),
        "worker": last_beat,
        "worker_ok": last_beat is not None and timezone.now() - last_beat.seen_at < stale_after,
    }


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except DatabaseError:
        return False


def _broker_ok() -> bool:
    try:
        with celery_app.connection_for_write() as broker:
            broker.ensure_connection(max_retries=1, timeout=2)
        return True
    except (BrokerError, OSError):
        return False


@login_not_required
@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """For load balancers and monitors: 200 when the database and broker answer and a worker
    reported recently, 503 otherwise. Carries no personal data."""
    database_ok = _database_ok()
    last_beat = (
        WorkerHeartbeat.objects.order_by("-seen_at").values_list("seen_at", flat=True).first()
        if database_ok
        else None
    )
    stale_after = datetime.timedelta(seconds=settings.WORKER_HEARTBEAT_SECONDS * 3)
    checks = {
        "database": database_ok,
        "broker": _broker_ok(),
        "worker": last_beat is not None and timezone.now() - last_beat < stale_after,
    }
    body = {
        "status": "ok" if all(checks.values()) else "degraded",
        "checks": checks,
        "worker_last_seen": last_beat.isoformat() if last_beat else None,
    }
    return JsonResponse(body, status=200 if all(checks.values()) else 503)
