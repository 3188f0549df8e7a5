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


def started_by_field() -> models.ForeignKey:
    """Who started a run the scheduler may also start (None: the schedule)."""
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("started by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )


class Versioned(models.Model):
    """A row people edit through forms: `version` starts at 1 and moves on with every write
    made through the row's service, so a save from an older form is refused instead of
    undoing a colleague's change (kernel/versioning.py)."""

    version = models.PositiveIntegerField(_("version"), default=1, editable=False)
    # The field holding the row's version: a model whose own data is called "version" (a
    # privacy policy's label) keeps it under another name.
    version_field = "version"

    class Meta:
        abstract = True

    @property
    def row_version(self) -> int:
        return getattr(self, self.version_field)

    @row_version.setter
    def row_version(self, value: int) -> None:
        setattr(self, self.version_field, value)


class JobStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


def job_stalled_after() -> datetime.timedelta:
    """How long a running job may go without a heartbeat before it counts as having lost its
    worker: a few of the heartbeats its worker writes while it works (JOB_HEARTBEAT_SECONDS)."""
    return datetime.timedelta(seconds=settings.JOB_STALLED_AFTER_SECONDS)


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
    # Refreshed every JOB_HEARTBEAT_SECONDS while the worker works (kernel/jobs/recovery.py), and
    # with every committed batch: a running job whose heartbeat is old lost its worker.
    heartbeat_at = models.DateTimeField(null=True, blank=True, editable=False)
    # How many times the job was queued again by itself after losing its worker; bounded by
    # JOB_MAX_RECOVERIES, so a job that kills its worker every time ends as failed.
    recoveries = models.PositiveSmallIntegerField(default=0, editable=False)
    rows_total = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    rows_done = models.PositiveIntegerField(_("rows done"), default=0)
    cancel_requested = models.BooleanField(default=False, editable=False)
    # Which run holds the job (kernel/jobs/runner.py): a run that lost it stops instead of
    # writing beside the run that took over.
    run_token = models.CharField(max_length=32, blank=True, editable=False)
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
        # A job that lost its worker is not "about 5 s" from the end, whatever its last rate.
        if not rate or not self.rows_total or not self.is_active or self.lost_worker:
            return None
        return int((self.rows_total - self.rows_done) / rate)

    @property
    def lost_worker(self) -> bool:
        """Running, but silent for longer than JOB_STALLED_AFTER_SECONDS (for templates)."""
        return self.is_stalled()

    def is_held_by_live_worker(self, *, stalled_after: datetime.timedelta | None = None) -> bool:
        """Running and still reporting: a redelivered message must leave it alone."""
        return self.status == JobStatus.RUNNING and not self.is_stalled(after=stalled_after)

    def is_stalled(self, *, after: datetime.timedelta | None = None) -> bool:
        """Running, but no heartbeat for `after` (by default job_stalled_after()): its worker
        died or was killed."""
        after = job_stalled_after() if after is None else after
        last_sign = self.heartbeat_at or self.started_at
        return (
            self.status == JobStatus.RUNNING
            and last_sign is not None
            and timezone.now() - last_sign > after
        )


class SystemJob(BackgroundJob):
    """A job the scheduler may start as well as a person (nightly runs): no one may have
    started it."""

    created_by = started_by_field()

    class Meta(BackgroundJob.Meta):
        abstract = True


class IdempotentRequest(models.Model):
    """A POST made with an Idempotency-Key, and the answer it got: a retry with the same key
    gets this answer again and writes nothing (kernel/api/idempotency.py). Kept for
    IDEMPOTENCY_KEY_HOURS."""

    caller = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("caller"),
        on_delete=models.CASCADE,
        related_name="+",
    )
    key = models.CharField(_("idempotency key"), max_length=255)
    # Method, path and a digest of the body: the same key sent with another request is refused.
    fingerprint = models.CharField(_("request fingerprint"), max_length=64)
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True)
    response_body = models.JSONField(_("response body"), null=True)
    response_headers = models.JSONField(_("response headers"), default=dict)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("idempotent request")
        verbose_name_plural = _("idempotent requests")
        constraints = [
            models.UniqueConstraint(fields=["caller", "key"], name="idempotent_request_per_caller")
        ]

    def __str__(self) -> str:
        return f"{self.caller_id}: {self.key}"


class OutboxEvent(models.Model):
    """A change other systems may subscribe to (kernel/outbox.py), written in the change's own
    transaction: a rolled-back change leaves none, a committed one is never lost, whatever
    happens to the process after the commit. The webhooks app turns each into deliveries."""

    topic = models.CharField(_("event"), max_length=60)
    # The record the event is about ("customers.customer", 42).
    target_type = models.CharField(_("record type"), max_length=60)
    target_id = models.BigIntegerField(_("record"))
    # The person whose data `data` holds (the data subject's id), so an erasure finds and
    # scrubs every payload about them; None when the payload holds nobody's personal data.
    subject_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    # The record as the API shows it, unmasked, at the moment of the change: each subscriber
    # gets it masked with its own permissions when the event is relayed.
    data = models.JSONField(_("data"))
    occurred_at = models.DateTimeField(_("occurred"), default=timezone.now)
    relayed_at = models.DateTimeField(_("relayed"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbox event")
        verbose_name_plural = _("outbox events")
        indexes = [
            # The relay's work list stays small however long the outbox grows.
            models.Index(
                fields=["id"], condition=models.Q(relayed_at=None), name="outbox_event_unrelayed"
            )
        ]

    def __str__(self) -> str:
        return f"{self.topic} #{self.pk}"


class OutboxWatermark(models.Model):
    """How far a periodic announcement got (kernel/outbox.py `announcement_window`): the
    follow-ups that fell due up to `reached_at` were announced, each once."""

    name = models.CharField(max_length=60, unique=True)
    reached_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.name
