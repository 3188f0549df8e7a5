"""Jobs that lost their worker: recovery finds running jobs gone silent and queues them again
by themselves, or gives them up.

One mechanism for every kind registered with the runner (kernel/jobs/runner.py): a kind that
resumes is queued again and its work goes on from what it committed (an import after its last
batch) or starts over (an export, a scan); one that does not is failed at once. Recovery runs
from beat every minute and once whenever a worker starts.

Timing: the worker writes `heartbeat_at` every JOB_HEARTBEAT_SECONDS from a thread of its own,
whatever the job is doing (a batch, a model being trained), so a job silent for its kind's
time limit (JOB_STALLED_AFTER_SECONDS unless the kind says otherwise; several heartbeats) has
lost its worker, not a slow step. A job is queued again at most JOB_MAX_RECOVERIES times; the
next loss fails it with a reason, so a job that kills its worker every time (out of memory)
does not loop for ever.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import ngettext

from kernel.jobs.runner import JobKind, JobStep, registered_kinds
from kernel.models import BackgroundJob, JobStatus
from privacy.audit.recording import record_event


@dataclass(frozen=True)
class Recovered:
    requeued: int = 0
    failed: int = 0


def recover_stalled_jobs() -> Recovered:
    """Queue again every registered job whose worker died, audited as `<prefix>.resume` with
    the attempt; a job of a kind that does not resume, or that already lost its worker
    JOB_MAX_RECOVERIES + 1 times, is failed instead with a translated reason, audited as
    `<prefix>.failed`, as is an active job silent past its kind's time limit. Each job is
    judged again under its row lock, so one that reported meanwhile (a slow batch that
    committed) is left alone; safe to run twice at once."""
    requeued = failed = 0
    for kind in registered_kinds():
        # First the jobs silent past their kind's time limit (say, queued again but never
        # taken up): they no longer block the next one, and their page says why.
        failed += kind.give_up_silent()
        for pk in kind.stalled().values_list("pk", flat=True):
            outcome = _recover(kind, pk)
            requeued += outcome == JobStatus.QUEUED
            failed += outcome == JobStatus.FAILED
    return Recovered(requeued=requeued, failed=failed)


@transaction.atomic
def _recover(kind: JobKind, pk: int) -> str | None:
    job = kind.model._default_manager.select_for_update().filter(pk=pk).first()
    if job is None or not job.is_stalled(after=kind.limit()):
        return None
    if not kind.resumes_after_worker_loss or job.recoveries >= settings.JOB_MAX_RECOVERIES:
        _give_up(kind, job)
        return JobStatus.FAILED
    job.status = JobStatus.QUEUED
    job.recoveries += 1
    job.save(update_fields=["status", "recoveries"])
    record_event(
        actor=None,
        action=kind.audit_action(JobStep.RESUME),
        target=job,
        changes={"automatic": True, "attempt": job.recoveries},
    )
    kind.enqueue(job)
    return JobStatus.QUEUED


def _give_up(kind: JobKind, job: BackgroundJob) -> None:
    losses = job.recoveries + 1
    with translation.override(kind.language(job)):
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
        action=kind.audit_action(JobStep.FAILED),
        target=job,
        changes={"reason": "worker_lost", "worker_losses": losses},
    )
