"""The administrators' status page (/operations/): backups and restore drills, job queues and
failures, disk use, open alerts; and its two buttons, a backup and a restore drill now."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import TemplateView

from crm import operations
from privacy.alerts import open_alerts


class StatusView(PermissionRequiredMixin, TemplateView):
    permission_required = "crm.view_operations"
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
            **kwargs,
        )


class StartView(PermissionRequiredMixin, View):
    """POST only: queue a backup (`work="backup"`) or a restore drill (`work="drill"`)."""

    permission_required = ("crm.view_operations", "crm.run_backup")
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
