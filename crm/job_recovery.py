"""Jobs that lost their worker: the heartbeat a job's worker writes while it works, and the
recovery that finds running jobs gone silent and queues them again by themselves.

One mechanism for every kind of BackgroundJob that registers here (from its app's
`AppConfig.ready()`, so that crm imports no domain app): the kind names the Celery task that
runs one job by id and the prefix of its audit actions; the run itself decides how it goes on
(an import after its last committed batch, under a new claim; an export or a scan from the
start). Recovery runs from beat every minute and once whenever a worker starts.

Timing: the worker writes `heartbeat_at` every JOB_HEARTBEAT_SECONDS from a thread of its own,
whatever the job is doing (a batch, a model being trained), so a job silent for
JOB_STALLED_AFTER_SECONDS (several heartbeats) has lost its worker, not a slow step. A job is
queued again at most JOB_MAX_RECOVERIES times; the next loss fails it with a reason, so a job
that kills its worker every time (out of memory) does not loop for ever.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import ngettext

from crm.models import BackgroundJob, JobStatus, job_stalled_after
from privacy.audit import record_event

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecoverableKind:
    model: type[BackgroundJob]
    # The Celery task (by name) that runs one job given its id, and goes on or starts over.
    task: str
    # Audit actions are "<prefix>.resume" (queued again) and "<prefix>.failed" (given up).
    audit_prefix: str
    # Fields set on a job given up, besides status, failure and finished_at.
    given_up: Mapping[str, Any] = field(default_factory=dict)


_KINDS: dict[str, RecoverableKind] = {}


def register_recoverable(
    model: type[BackgroundJob],
    *,
    task: str,
    audit_prefix: str,
    given_up: Mapping[str, Any] | None = None,
) -> None:
    """Make jobs of `model` recover by themselves when their worker dies (call it from the
    app's `AppConfig.ready()`). The model's run must heartbeat (`heartbeat()`) and accept a
    job that is queued again after it started."""
    _KINDS[model._meta.label] = RecoverableKind(model, task, audit_prefix, dict(given_up or {}))


def recoverable_kinds() -> list[RecoverableKind]:
    return list(_KINDS.values())


@contextmanager
def heartbeat(job: BackgroundJob, **still_ours: Any) -> Iterator[None]:
    """Refresh `job.heartbeat_at` every JOB_HEARTBEAT_SECONDS from a thread while the block
    runs, as long as the job is still running under this run's claim (`still_ours`, e.g.
    `run_token=...`): a run another worker took over stops beating. The thread has its own
    database connection, closed when the block ends."""
    rows = type(job).objects.filter(pk=job.pk, status=JobStatus.RUNNING, **still_ours)
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


def stalled_jobs(kind: RecoverableKind):
    """Running jobs of `kind` silent for longer than JOB_STALLED_AFTER_SECONDS."""
    cutoff = timezone.now() - job_stalled_after()
    return kind.model.objects.filter(status=JobStatus.RUNNING).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
    )


@dataclass(frozen=True)
class Recovered:
    requeued: int = 0
    failed: int = 0


def recover_stalled_jobs() -> Recovered:
    """Queue again every registered job whose worker died (it goes on from where its run
    allows), audited as `<prefix>.resume` with the attempt; a job that already lost its worker
    JOB_MAX_RECOVERIES + 1 times is failed instead, with a translated reason, audited as
    `<prefix>.failed`. Each job is judged again under its row lock, so one that reported
    meanwhile (a slow batch that committed) is left alone; safe to run twice at once."""
    requeued = failed = 0
    for kind in recoverable_kinds():
        for pk in stalled_jobs(kind).values_list("pk", flat=True):
            outcome = _recover(kind, pk)
            requeued += outcome == JobStatus.QUEUED
            failed += outcome == JobStatus.FAILED
    return Recovered(requeued=requeued, failed=failed)


@transaction.atomic
def _recover(kind: RecoverableKind, pk: int) -> str | None:
    job = kind.model.objects.select_for_update().filter(pk=pk).first()
    if job is None or not job.is_stalled():
        return None
    if job.recoveries >= settings.JOB_MAX_RECOVERIES:
        _give_up(kind, job)
        return JobStatus.FAILED
    job.status = JobStatus.QUEUED
    job.recoveries += 1
    job.save(update_fields=["status", "recoveries"])
    record_event(
        actor=None,
        action=f"{kind.audit_prefix}.resume",
        target=job,
        changes={"automatic": True, "attempt": job.recoveries},
    )
    transaction.on_commit(lambda: current_app.send_task(kind.task, args=[job.pk]))
    return JobStatus.QUEUED


def _give_up(kind: RecoverableKind, job: BackgroundJob) -> None:
    losses = job.recoveries + 1
    with translation.override(getattr(job, "language", "") or settings.LANGUAGE_CODE):
        job.failure = ngettext(
            "The worker running this job stopped before the job finished (it may need more "
            "memory than the worker has), so it is not restarted again by itself.",
            "The worker running this job stopped %(times)s times before the job finished (it "
            "may need more memory than the worker has), so it is not restarted again by itself.",
            losses,
        ) % {"times": losses}
    job.status = JobStatus.FAILED
    job.finished_at = timezone.now()
    for name, value in kind.given_up.items():
        setattr(job, name, value)
    job.save(update_fields=["status", "failure", "finished_at", *kind.given_up])
    record_event(
        actor=None,
        action=f"{kind.audit_prefix}.failed",
        target=job,
        changes={"reason": "worker_lost", "worker_losses": losses},
    )
