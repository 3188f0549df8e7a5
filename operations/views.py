"""The health endpoint, and the administrators' status page (/operations/): backups and restore
drills, job queues and failures, disk use, open alerts; and its two buttons, a backup and a
restore drill now."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from django.views.generic import TemplateView

from operations import status as operations
from operations.backups.services import backup_age
from operations.connections import connections
from privacy.alerts import open_alerts


class StatusView(PermissionRequiredMixin, TemplateView):
    permission_required = "operations.view_operations"
    template_name = "operations/status.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        backups = operations.backup_summary()
        last_size = backups.last_good.size_bytes if backups.last_good else None
        return super().get_context_data(
            backups=backups,
            backup_runs=operations.recent_backup_runs(),
            backup_files=operations.backup_files(),
            drills=operations.recent_drills(),
            next_backup=operations.next_run("backup-nightly"),
            next_drill=operations.next_run("restore-drill-nightly"),
            keep={
                "daily": settings.BACKUP_KEEP_DAILY,
                "weekly": settings.BACKUP_KEEP_WEEKLY,
                "monthly": settings.BACKUP_KEEP_MONTHLY,
            },
            max_age_hours=settings.BACKUP_MAX_AGE_HOURS,
            workers=operations.workers(),
            broker=operations.broker_status(),
            jobs=operations.recent_jobs(user=user),
            job_days=operations.JOB_DAYS,
            disks=operations.disks(backup_bytes=last_size),
            database=operations.database_size(),
            archive=operations.interaction_archive(),
            security_alerts=open_alerts(user),
            connections=connections(),
            now=timezone.now(),
            **kwargs,
        )


class StartView(PermissionRequiredMixin, View):
    """POST only: queue a backup (`work="backup"`) or a restore drill (`work="drill"`)."""

    permission_required = ("operations.view_operations", "operations.run_backup")
    work = "backup"

    def post(self, request: HttpRequest) -> HttpResponse:
        start = operations.request_backup if self.work == "backup" else operations.request_drill
        try:
            start(actor=request.user)
        except operations.OperationRefusedError as refusal:
            messages.error(request, str(refusal))
        else:
            messages.success(
                request,
                _("Backup started: it appears below when the worker has written it.")
                if self.work == "backup"
                else _("Restore drill started: its result appears below when it is done."),
            )
        return HttpResponseRedirect(reverse("operations:status"))


# The checks whose failure takes this web server out of a load balancer's rotation.
SERVING_CHECKS = ("database", "broker", "worker")


@login_not_required
@never_cache
@require_GET
def health(request: HttpRequest) -> JsonResponse:
    """For load balancers and monitors; carries no personal data (ages and booleans only).

    The HTTP status answers "can this server do its work": 200 when the database and the broker
    answer and a worker reported recently, 503 otherwise. The `backup` check (the last good
    backup finished within BACKUP_MAX_AGE_HOURS) does not change it: a late backup is not
    something another web server would do better, and pulling every server out of rotation
    for it would turn a missed backup into an outage. It turns the body's `status` to
    "degraded" instead (with HTTP 200), for monitors that read the body; the status page and
    the backup alerts say what went wrong."""
    database_ok = operations.database_reachable()
    last_beat = operations.last_worker_beat() if database_ok else None
    age = backup_age() if database_ok else None
    checks = {
        "database": database_ok,
        "broker": operations.broker_reachable(),
        "worker": operations.worker_alive(last_beat),
        "backup": operations.backup_is_fresh(age),
    }
    serving = all(checks[name] for name in SERVING_CHECKS)
    body = {
        "status": "ok" if all(checks.values()) else "degraded",
        "checks": checks,
        "worker_last_seen": last_beat.isoformat() if last_beat else None,
        "last_backup_age_seconds": round(age.total_seconds()) if age is not None else None,
    }
    return JsonResponse(body, status=200 if serving else 503)
