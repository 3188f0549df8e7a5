import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class WorkerHeartbeat(models.Model):
    """The last time each Celery worker ran its heartbeat task: proof that jobs get done."""

    hostname = models.CharField(_("worker"), max_length=200, unique=True)
    seen_at = models.DateTimeField(_("last seen"))

    class Meta:
        verbose_name = _("worker heartbeat")
        verbose_name_plural = _("worker heartbeats")

    def __str__(self) -> str:
        return self.hostname


class JobStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class JobCancelledError(Exception):
    """Raised inside a job's run when its user asked it to stop."""


class BackgroundJob(models.Model):
    """What imports and exports share: who asked, status and progress that a page polls.

    Progress is written by the worker in the same transaction as the work it describes, so a
    killed worker leaves a job whose counters match what was really committed."""

    ACTIVE = (JobStatus.QUEUED, JobStatus.RUNNING)
    FINISHED = (JobStatus.DONE, JobStatus.FAILED, JobStatus.CANCELLED)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    status = models.CharField(
        _("status"), max_length=10, choices=JobStatus.choices, default=JobStatus.DRAFT
    )
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    # Refreshed with every committed batch: a running job whose heartbeat is old lost its worker.
    heartbeat_at = models.DateTimeField(null=True, blank=True, editable=False)
    rows_total = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    rows_done = models.PositiveIntegerField(_("rows done"), default=0)
    cancel_requested = models.BooleanField(default=False, editable=False)
    # A translated, personal-data-free explanation of why the job failed.
    failure = models.TextField(_("failure"), blank=True)

    class Meta:
        abstract = True
        ordering = ["-created_at", "-pk"]

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def percent_done(self) -> int:
        if self.status == JobStatus.DONE:
            return 100
        if not self.rows_total:
            return 0
        return min(100, self.rows_done * 100 // self.rows_total)

    @property
    def rows_per_second(self) -> float | None:
        if not self.started_at or not self.rows_done:
            return None
        end = self.finished_at or self.heartbeat_at or timezone.now()
        seconds = (end - self.started_at).total_seconds()
        return self.rows_done / seconds if seconds > 0 else None

    @property
    def seconds_left(self) -> int | None:
        rate = self.rows_per_second
        if not rate or not self.rows_total or not self.is_active:
            return None
        return int((self.rows_total - self.rows_done) / rate)

    def is_held_by_live_worker(self, *, stalled_after: datetime.timedelta) -> bool:
        """Running and still reporting: a redelivered message must leave it alone."""
        return self.status == JobStatus.RUNNING and not self.is_stalled(after=stalled_after)

    def is_stalled(self, *, after: datetime.timedelta) -> bool:
        """Running, but no batch committed for `after`: its worker died or was killed."""
        last_sign = self.heartbeat_at or self.started_at
        return (
            self.status == JobStatus.RUNNING
            and last_sign is not None
            and timezone.now() - last_sign > after
        )


class SystemJob(BackgroundJob):
    """A job the scheduler may start as well as a person (nightly runs): no one may have
    started it."""

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta(BackgroundJob.Meta):
        abstract = True
