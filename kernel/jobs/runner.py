"""One way to run a background job, in the manner of NetBox's JobRunner: each kind of job states
its work and its limits; the runner does everything else, the same way for every kind.

The life of a job row (a BackgroundJob subclass):

- **enqueue** once the transaction that queued it commits: one Celery message naming the kind
  and the row (`kernel.tasks.run_job`), on the kind's queue.
- **claim**: under the row's lock, a queued job becomes RUNNING with a fresh `run_token`. A
  message for a job that is finished, or held by a worker that still beats, does nothing, so a
  redelivered or duplicate message never runs a job twice; nor does one for a running job of a
  kind that does not resume after losing its worker (recovery fails it).
- **beat and check**: a thread refreshes `heartbeat_at` while the work runs
  (`heartbeat()` below); `JobRun.progress()` records progress with a heartbeat in one
  conditional UPDATE and stops the work when the user asked to cancel (JobCancelledError) or
  another run took the job over (JobSupersededError). Work that commits in batches takes
  `JobRun.lock()` in each batch's transaction, so only the run holding the job writes.
- **finish** as done, cancelled or failed, with a translated, personal-data-free reason in the
  job's language, audited as `<prefix>.<status>`, and only while this run still holds the job.
  Each registered kind's audit actions are an enum of their own (`job_actions`), labelled by
  rule from the job's name and the step, and registered with privacy/audit/actions.py.
- **a dead worker**: kernel/jobs/recovery.py finds jobs silent for longer than their kind's
  limit and queues them again (the work goes on or starts over), or fails them with a reason.
"""

from __future__ import annotations

import datetime
import logging
import threading
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, connection, transaction
from django.db.models import Q, QuerySet, TextChoices
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.text import capfirst, format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from kernel.actors import Actor
from kernel.models import BackgroundJob, JobCancelledError, JobStatus
from privacy.audit.actions import register_actions
from privacy.audit.recording import record_event

logger = logging.getLogger(__name__)

Job = TypeVar("Job", bound=BackgroundJob)


class JobStep(TextChoices):
    """The steps of a job that are audited, as `<the kind's audit_prefix>.<step>`."""

    DONE = JobStatus.DONE.value, pgettext_lazy("job step", "finished")
    FAILED = JobStatus.FAILED.value, pgettext_lazy("job step", "failed")
    CANCELLED = JobStatus.CANCELLED.value, pgettext_lazy("job step", "cancelled")
    CANCEL = "cancel", pgettext_lazy("job step", "stop asked for")
    RESUME = "resume", pgettext_lazy("job step", "resumed")


class JobSupersededError(Exception):
    """This run no longer holds its job: another run took it over, or recovery gave it up."""


class JobFailedError(Exception):
    """The work stopping for a reason its user should read (translated, without personal
    data). A `resumable` job keeps what it committed and can be resumed."""

    def __init__(self, reason: str | Promise, *, resumable: bool = False) -> None:
        super().__init__(str(reason))
        self.reason = reason
        self.resumable = resumable


@contextmanager
def heartbeat(job: BackgroundJob, **still_ours: Any) -> Iterator[None]:
    """Refresh `job.heartbeat_at` every JOB_HEARTBEAT_SECONDS from a thread while the block
    runs, as long as the job is still running under this run's claim (`still_ours`, e.g.
    `run_token=...`): a run another worker took over stops beating. The thread has its own
    database connection, closed when the block ends."""
    rows = type(job)._default_manager.filter(pk=job.pk, status=JobStatus.RUNNING, **still_ours)
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(settings.JOB_HEARTBEAT_SECONDS):
                try:
                    rows.update(heartbeat_at=timezone.now())
                except DatabaseError as error:
                    # A database busy past its timeout only delays this beat; the job's own
                    # writes go on and the next beat tries again.
                    logger.warning(
                        "heartbeat of %s %s not written: %s",
                        job._meta.label,
                        job.pk,
                        error.__class__.__name__,
                    )
        finally:
            connection.close()

    thread = threading.Thread(target=beat, name=f"heartbeat-{job._meta.label}-{job.pk}")
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


@dataclass
class JobRun(Generic[Job]):
    """What a kind's work is handed: the claimed job, and the means to report on it."""

    kind: JobKind[Job]
    job: Job
    token: str

    def progress(self, done: int, total: int | None = None, **counters: Any) -> None:
        """Record `done` of `total` rows, and the kind's own counters, with a heartbeat;
        raises JobCancelledError once the user asked to stop, JobSupersededError once this run
        lost the job."""
        values: dict[str, Any] = {"rows_done": done, "heartbeat_at": timezone.now(), **counters}
        if total is not None:
            values["rows_total"] = total
        held = self.kind.model._default_manager.filter(
            pk=self.job.pk, status=JobStatus.RUNNING, run_token=self.token, cancel_requested=False
        )
        if not held.update(**values):
            self.check()
        for name, value in values.items():
            setattr(self.job, name, value)

    def check(self) -> None:
        """Raise JobSupersededError or JobCancelledError when the work must stop."""
        self._judge(self.kind.model._default_manager.filter(pk=self.job.pk).first())

    def lock(self) -> Job:
        """The job's row, locked for the current transaction, after the checks of check()."""
        return self._judge(
            self.kind.model._default_manager.select_for_update().filter(pk=self.job.pk).first()
        )

    def _judge(self, row: Job | None) -> Job:
        if row is None or row.status != JobStatus.RUNNING or row.run_token != self.token:
            raise JobSupersededError
        if row.cancel_requested:
            raise JobCancelledError
        return row


class JobKind(Generic[Job]):
    """One kind of background job: its model, its audit prefix, its work and its limits.
    Instances are registered (`register()`) from the owning app's `AppConfig.ready()`."""

    # Set by each kind as a class attribute; not a ClassVar, which could not name the job type.
    model: type[Job]
    # Audit actions: "<prefix>.done" / ".failed" / ".cancelled", ".cancel", ".resume".
    audit_prefix: ClassVar[str]
    # An active job (queued or running) silent this long is given up as failed, so that it no
    # longer blocks the next one: say, queued again after losing its worker but never taken up
    # (None: never given up for silence alone).
    time_limit: ClassVar[datetime.timedelta | None] = None
    given_up_reason: ClassVar[str | Promise] = _(
        "The worker stopped before finishing; the next run starts afresh."
    )
    # A job whose worker died is queued again (its work goes on, or starts over), at most
    # JOB_MAX_RECOVERIES times; False fails it at once.
    resumes_after_worker_loss: ClassVar[bool] = True
    # Fields set on a job given up after its worker died, besides status and failure.
    given_up: ClassVar[Mapping[str, Any]] = {}
    # What the user reads when the work raised something unforeseen.
    unexpected_failure: ClassVar[str | Promise] = _("The job stopped because of an internal error.")
    # Whether such a job can be resumed (work that commits as it goes).
    resumable_after_error: ClassVar[bool] = False
    # The Celery queue its messages go to (None: the default queue).
    queue: ClassVar[str | None] = None
    # The permissions with which a user sees every job of this kind in job lists (None: one's
    # own, or every job with the model's view permission), and the page where they are
    # followed (a URL name without arguments; None: no page).
    seen_with: ClassVar[tuple[str, ...] | None] = None
    followed_at: ClassVar[str | None] = None

    # --- what a kind states ----------------------------------------------------------------

    def work(self, run: JobRun[Job]) -> None:
        """Do the job; report with run.progress(), stop by raising JobFailedError."""
        raise NotImplementedError

    def audit_changes(self, job: Job) -> dict[str, Any]:
        """What the audit event of a finished job records (no personal data)."""
        return {}

    def finishing(self, job: Job, status: str) -> None:
        """Called in the finishing transaction, before the job is saved (files, counters)."""

    def visible_to(self, user: Actor) -> QuerySet[Job]:
        """The jobs of this kind `user` may see in job lists (see `seen_with`)."""
        jobs = self.model._default_manager.all()
        if self.seen_with is not None:
            return jobs if user.has_perms(self.seen_with) else jobs.none()
        if user.has_perm(f"{self.model._meta.app_label}.view_{self.model._meta.model_name}"):
            return jobs
        return jobs.filter(created_by=user)

    def page_url(self, job: Job, user: Actor) -> str | None:
        """Where `user` follows a job they may see (None: no page)."""
        return reverse(self.followed_at) if self.followed_at else None

    def then(self, job: Job) -> None:
        """What a worker queues after running the job (a follow-up task); commands that run a
        job themselves do the follow-up their own way."""

    # --- the lifecycle, the same for every kind ---------------------------------------------

    @classmethod
    def label(cls) -> str:
        return cls.model._meta.label

    def audit_action(self, step: JobStep) -> TextChoices:
        """The audit action of `step` for this kind (registered with the kind)."""
        return _ACTIONS[self.label()][step.name]

    def limit(self) -> datetime.timedelta:
        """How long a running job may be silent before it counts as having lost its worker."""
        return datetime.timedelta(seconds=settings.JOB_STALLED_AFTER_SECONDS)

    def language(self, job: Job) -> str:
        return getattr(job, "language", "") or settings.LANGUAGE_CODE

    def enqueue(self, job: Job) -> None:
        """Send the job to a worker once the current transaction commits."""
        from kernel.tasks import run_job

        label, pk = self.label(), job.pk
        options = {"queue": self.queue} if self.queue else {}
        transaction.on_commit(lambda: run_job.apply_async(args=[label, pk], **options))

    def run(self, job_id: int) -> Job | None:
        """The worker's whole side: claim, work, finish. Returns the job as this run left it,
        or None when there was nothing to do (finished already, held by a live worker, taken
        over meanwhile)."""
        claimed = self._claim(job_id)
        if claimed is None:
            return None
        run = JobRun(self, *claimed)
        with translation.override(self.language(run.job)), heartbeat(run.job, run_token=run.token):
            try:
                self.work(run)
            except JobSupersededError:
                return None
            except JobCancelledError:
                return self._finish(run, JobStatus.CANCELLED)
            except JobFailedError as error:
                return self._finish(
                    run, JobStatus.FAILED, failure=str(error.reason), resumable=error.resumable
                )
            except Exception:
                logger.exception("%s %s stopped", self.label(), run.job.pk)
                return self._finish(
                    run,
                    JobStatus.FAILED,
                    failure=str(self.unexpected_failure),
                    resumable=self.resumable_after_error,
                )
            return self._finish(run, JobStatus.DONE)

    def run_here(self, job: Job) -> Job:
        """Run `job` in this process (commands, seed data, benchmarks) and return it as it
        stands afterwards: finished, or as the run that held it left it."""
        return self.run(job.pk) or self.model._default_manager.get(pk=job.pk)

    @transaction.atomic
    def _claim(self, job_id: int) -> tuple[Job, str] | None:
        job = self.model._default_manager.select_for_update().filter(pk=job_id).first()
        if job is None or job.status not in BackgroundJob.ACTIVE:
            return None
        if job.is_held_by_live_worker(stalled_after=self.limit()):
            return None
        if job.status == JobStatus.RUNNING and not self.resumes_after_worker_loss:
            # Its message delivered again after its worker died (acks_late): a kind that does
            # not resume leaves the job to recovery, which fails it.
            return None
        if job.cancel_requested:
            self.end(job, JobStatus.CANCELLED)
            return None
        token = uuid.uuid4().hex
        job.run_token = token
        job.status = JobStatus.RUNNING
        job.started_at = job.started_at or timezone.now()
        job.heartbeat_at = timezone.now()
        job.save(update_fields=["run_token", "status", "started_at", "heartbeat_at"])
        return job, token

    def _finish(
        self, run: JobRun[Job], status: str, *, failure: str = "", resumable: bool = False
    ) -> Job | None:
        with transaction.atomic():
            locked = self.model._default_manager.select_for_update().filter(pk=run.job.pk).first()
            if (
                locked is None
                or locked.status != JobStatus.RUNNING
                or locked.run_token != run.token
            ):
                return None
            job = run.job
            # What others may have written meanwhile is taken from the row; the rest is the
            # work's own.
            for name in ("cancel_requested", "recoveries", "heartbeat_at"):
                setattr(job, name, getattr(locked, name))
            if hasattr(job, "resumable"):
                job.resumable = resumable
            self.end(job, status, failure=failure)
        return job

    def end(self, job: Job, status: str, *, failure: str = "") -> None:
        """Finish `job`, locked by the caller: status, reason, the kind's hook, the audit event
        (none for a job cancelled before it started: its cancel event says it all)."""
        job.status = status
        job.failure = failure
        job.finished_at = timezone.now()
        self.finishing(job, status)
        job.save()
        if status != JobStatus.CANCELLED or job.started_at:
            record_event(
                actor=job.created_by,
                action=self.audit_action(JobStep(status)),
                target=job,
                changes=self.audit_changes(job),
            )

    @transaction.atomic
    def cancel(self, *, actor: Actor, job: Job) -> Job:
        """Stop a job: one never started, or stopped and waiting to be resumed, ends at once;
        a running one stops at its next report. Audited as `<prefix>.cancel`."""
        job = self.model._default_manager.select_for_update().get(pk=job.pk)
        never_started = job.status == JobStatus.DRAFT or (
            job.status == JobStatus.QUEUED and not job.started_at
        )
        if never_started or getattr(job, "resumable", False):
            if hasattr(job, "resumable"):
                job.resumable = False
            job.cancel_requested = not never_started
            self.end(job, JobStatus.CANCELLED)
        elif job.is_active:
            job.cancel_requested = True
            job.save(update_fields=["cancel_requested"])
        record_event(actor=actor, action=self.audit_action(JobStep.CANCEL), target=job)
        return job

    @transaction.atomic
    def resume(self, *, actor: Actor, job: Job) -> Job:
        """Queue again a job that stopped resumable, or whose worker died; it goes on from what
        it committed. A person's resume starts the count of automatic ones afresh."""
        job = self.model._default_manager.select_for_update().get(pk=job.pk)
        if not (getattr(job, "resumable", False) or job.is_stalled(after=self.limit())):
            raise ValidationError(_("This job cannot be resumed."))
        job.status = JobStatus.QUEUED
        if hasattr(job, "resumable"):
            job.resumable = False
        job.failure = ""
        job.finished_at = None
        job.recoveries = 0
        job.save()
        record_event(actor=actor, action=self.audit_action(JobStep.RESUME), target=job)
        self.enqueue(job)
        return job

    def stalled(self) -> QuerySet[Job]:
        """Running jobs of this kind silent for longer than limit()."""
        cutoff = timezone.now() - self.limit()
        return self.model._default_manager.filter(status=JobStatus.RUNNING).filter(
            Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
        )

    def give_up_silent(self) -> int:
        """Fail the active jobs of this kind silent for longer than its time limit, with
        `given_up_reason`; returns how many."""
        if self.time_limit is None:
            return 0
        cutoff = timezone.now() - self.time_limit
        silent = self.model._default_manager.filter(status__in=BackgroundJob.ACTIVE).filter(
            Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, created_at__lt=cutoff)
        )
        given_up = 0
        for pk in silent.values_list("pk", flat=True):
            with transaction.atomic():
                job = silent.select_for_update().filter(pk=pk).first()
                if job is not None:
                    with translation.override(self.language(job)):
                        self.end(job, JobStatus.FAILED, failure=str(self.given_up_reason))
                    given_up += 1
        return given_up

    def active(self) -> Job | None:
        """The job of this kind in progress, if any (silent ones given up first): for kinds
        that run one at a time."""
        self.give_up_silent()
        return self.model._default_manager.filter(status__in=BackgroundJob.ACTIVE).first()


_KINDS: dict[str, JobKind] = {}
_ACTIONS: dict[str, type[TextChoices]] = {}


def register(kind: JobKind) -> JobKind:
    """Make a kind runnable by `kernel.tasks.run_job` and watched by recovery, and its audit
    actions known (call it from the owning app's `AppConfig.ready()`)."""
    _KINDS[kind.label()] = kind
    if kind.label() not in _ACTIONS:
        _ACTIONS[kind.label()] = job_actions(kind)
        register_actions(_ACTIONS[kind.label()])
    return kind


def job_actions(kind: JobKind) -> type[TextChoices]:
    """The audit actions of a kind, one per step: `<audit_prefix>.<step>`, labelled "<the job
    model's name>: <step>" ("Backup: finished"). The enum belongs to the kind's module, so that
    the audit filter lists it under the kind's app."""
    name = kind.model._meta.verbose_name
    # Enum's functional API, which Django's type stubs do not describe.
    actions: type[TextChoices] = TextChoices(  # type: ignore[call-overload]
        f"{kind.model.__name__}Action",
        [
            (
                step.name,
                (
                    f"{kind.audit_prefix}.{step.value}",
                    capfirst(format_lazy(_("{job}: {step}"), job=name, step=step.label)),
                ),
            )
            for step in JobStep
        ],
        module=type(kind).__module__,
    )
    return actions


def registered_kinds() -> list[JobKind]:
    return list(_KINDS.values())


def kind_named(label: str) -> JobKind:
    return _KINDS[label]


def kind_of(job: BackgroundJob) -> JobKind:
    return _KINDS[job._meta.label]
