"""Backups and restore drills as jobs of the runner (operations/backups/services.py
BackupJobKind, RestoreDrillKind): a second delivery does nothing; an unforeseen error fails the
job with a translated reason, an alert and its audit event; a job whose worker died is failed,
never started again; one silent past BACKUP_TIMEOUT_MINUTES no longer holds up the next; the
nightly beat entries queue through the kinds; rows recorded before the runner keep their
meaning (operations/migrations/0002). Real backups and drills on the suite's database are in
tests/operations/test_backups.py."""

import datetime

import pytest
from django.conf import settings
from django.utils import timezone, translation

from kernel.jobs.recovery import recover_stalled_jobs
from kernel.jobs.runner import JobKind
from kernel.models import JobStatus
from kernel.tasks import run_job
from operations import status as operations
from operations.backups import services
from operations.backups.services import BACKUP_JOBS, DRILL_JOBS, list_backups
from operations.backups.tasks import nightly_backup_task, nightly_drill_task
from operations.models import BackupRun, RestoreDrill
from privacy.models import AlertKind, AuditEvent, SecurityAlert

pytestmark = pytest.mark.django_db(transaction=True)


def queued_backup_run() -> BackupRun:
    """A backup as the schedule queues it, waiting for a worker."""
    return services.queued_backup()


def queued_restore_drill() -> RestoreDrill:
    """A restore drill as the schedule queues it, waiting for a worker."""
    return services.queued_drill()


KINDS = [
    pytest.param(BACKUP_JOBS, queued_backup_run, AlertKind.BACKUP, id="backup"),
    pytest.param(DRILL_JOBS, queued_restore_drill, AlertKind.RESTORE_DRILL, id="drill"),
]


def _ago(**delta) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(**delta)


def test_a_backup_runs_once_however_often_its_message_comes_and_is_audited():
    job = queued_backup_run()
    done = BACKUP_JOBS.run(job.pk)
    assert done.status == JobStatus.DONE, done.failure
    assert BACKUP_JOBS.run(job.pk) is None  # a second delivery does nothing
    assert [backup.name for backup in list_backups()] == [done.file_name]
    event = AuditEvent.objects.get(action="backup.done", target_id=str(job.pk))
    assert event.changes == {"file": done.file_name, "bytes": done.size_bytes, "rows": done.rows}
    assert event.actor_id is None


def test_a_drill_runs_once_however_often_its_message_comes_and_is_audited():
    job = queued_restore_drill()
    drill = DRILL_JOBS.run(job.pk)
    assert (drill.status, drill.failure) == (JobStatus.FAILED, "There is no backup to restore.")
    assert DRILL_JOBS.run(job.pk) is None
    assert SecurityAlert.objects.filter(kind=AlertKind.RESTORE_DRILL).count() == 1
    assert AuditEvent.objects.filter(action="backup.drill.failed", target_id=str(job.pk)).count()


@pytest.mark.parametrize(("kind", "queued", "alert"), KINDS)
def test_an_unforeseen_error_fails_the_job_with_a_translated_reason_an_alert_and_its_event(
    kind: JobKind, queued, alert, monkeypatch, settings
):
    settings.LANGUAGE_CODE = "zh-hans"  # scheduled jobs speak the site's language

    def breaks(*args, **kwargs):
        raise RuntimeError("unforeseen")

    monkeypatch.setattr(services, "_write_backup", breaks)
    monkeypatch.setattr(services, "list_backups", breaks)
    job = kind.run(queued().pk)
    with translation.override("zh-hans"):
        reason = str(kind.unexpected_failure)
    assert (job.status, job.failure) == (JobStatus.FAILED, reason)
    assert reason != "The job stopped because of an internal error."
    assert SecurityAlert.objects.get(kind=alert).params["failure"] == reason
    assert AuditEvent.objects.filter(
        action=f"{kind.audit_prefix}.failed", target_id=str(job.pk)
    ).exists()


@pytest.mark.parametrize(("kind", "queued", "alert"), KINDS)
def test_a_job_whose_worker_died_is_failed_by_recovery_and_never_started_again(
    kind: JobKind, queued, alert
):
    job = queued()
    kind.model.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, started_at=_ago(minutes=6), heartbeat_at=_ago(minutes=5)
    )
    # Its message delivered again (acks_late) leaves it alone...
    assert kind.run(job.pk) is None
    # ... and recovery fails it, audited.
    assert recover_stalled_jobs().failed == 1
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert "stopped before the job finished" in job.failure
    event = AuditEvent.objects.get(action=f"{kind.audit_prefix}.failed", target_id=str(job.pk))
    assert event.changes == {"reason": "worker_lost", "worker_losses": 1}
    assert kind.run(job.pk) is None
    assert job.recoveries == 0


@pytest.mark.parametrize(("kind", "queued", "alert"), KINDS)
def test_a_job_silent_past_the_backup_timeout_no_longer_holds_up_the_next(
    kind: JobKind, queued, alert, admin_user_role, monkeypatch
):
    monkeypatch.setattr(run_job, "apply_async", lambda *args, **kwargs: None)
    never_taken = queued()
    kind.model.objects.filter(pk=never_taken.pk).update(
        created_at=_ago(minutes=settings.BACKUP_TIMEOUT_MINUTES + 1)
    )
    operations.request_backup(actor=admin_user_role)
    never_taken.refresh_from_db()
    assert never_taken.status == JobStatus.FAILED
    assert never_taken.failure == "Interrupted: its worker stopped before it finished."
    assert SecurityAlert.objects.filter(kind=alert).exists()
    assert BackupRun.objects.filter(status=JobStatus.QUEUED, created_by=admin_user_role).exists()
    # That one is waiting: the next request is refused.
    with pytest.raises(operations.OperationRefusedError):
        operations.request_backup(actor=admin_user_role)


def test_the_nightly_entries_queue_through_the_kinds(monkeypatch):
    sent = []
    monkeypatch.setattr(run_job, "apply_async", lambda args, **kwargs: sent.append(args))
    tasks = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {nightly_backup_task.name, nightly_drill_task.name} <= tasks
    nightly_backup_task()
    nightly_drill_task()
    backup, drill = BackupRun.objects.get(), RestoreDrill.objects.get()
    assert backup.status == drill.status == JobStatus.QUEUED
    assert backup.created_by is drill.created_by is None
    assert sent == [["operations.BackupRun", backup.pk], ["operations.RestoreDrill", drill.pk]]


def test_runs_recorded_before_the_runner_keep_their_meaning(make_user, migrate_to):
    admin = make_user()
    old = migrate_to([("operations", "0001_initial")])
    runs = old.get_model("operations", "BackupRun").objects
    started = _ago(days=1)
    runs.create(
        started_at=started,
        finished_at=started + datetime.timedelta(minutes=2),
        status="done",
        engine="postgresql",
        file_name="crm-20261125T163000Z.backup",
        started_by_id=admin.pk,
    )
    runs.create(started_at=_ago(hours=30), status="failed", failure="Disk full", engine="sqlite")
    # Killed before this version: the old code left it running for ever.
    runs.create(started_at=_ago(hours=10), status="running", engine="postgresql")
    old.get_model("operations", "RestoreDrill").objects.create(
        started_at=_ago(hours=20), status="done", backup_file="crm-20261125T163000Z.backup"
    )
    migrate_to([("operations", "0002_backups_and_drills_as_jobs")])

    done = BackupRun.objects.get(file_name="crm-20261125T163000Z.backup")
    failed = BackupRun.objects.get(failure="Disk full")
    running = BackupRun.objects.get(engine="postgresql", file_name="")
    assert (done.status, done.created_by, done.created_at) == (JobStatus.DONE, admin, started)
    assert (failed.status, failed.failure) == (JobStatus.FAILED, "Disk full")
    assert running.status == JobStatus.RUNNING
    drill = RestoreDrill.objects.get()
    assert (drill.status, drill.created_at) == (JobStatus.DONE, drill.started_at)
    assert operations.backup_summary().headline.startswith("The last backup (started")
    # The one still running lost its worker long ago: recovery fails it, audited.
    assert recover_stalled_jobs().failed == 1
    running.refresh_from_db()
    assert running.status == JobStatus.FAILED
    assert AuditEvent.objects.filter(action="backup.failed", target_id=str(running.pk)).exists()
