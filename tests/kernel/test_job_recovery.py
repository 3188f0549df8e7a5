"""Jobs that lost their worker (kernel/jobs/recovery.py): detection from the missing heartbeat,
the heartbeat written while a job works, automatic requeueing (audited) and its bound. The
real worker killed mid-import is in tests/customers/test_import_views.py."""

import datetime
import time

import pytest
from django.utils import timezone, translation

from analytics.exports.jobs import EXPORT_JOBS
from analytics.exports.services import start_export
from analytics.models import ExportJob
from crm.celery import app as celery_app
from customers.dedup.scan import create_scan
from customers.imports import jobs
from customers.models import Customer, DuplicateScan, ImportJob
from kernel.jobs.recovery import recover_stalled_jobs
from kernel.jobs.runner import heartbeat, registered_kinds
from kernel.models import JobStatus
from privacy.models import AuditEvent
from tests.customers.importfiles import csv_bytes, upload
from tests.worker_process import start_worker, stop_workers, wait_for, worker_env

ROWS = [["姓名", "手机"]] + [[f"顾客{i}", f"138{i:08d}"] for i in range(10)]


@pytest.fixture(autouse=True)
def _quick_jobs(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.JOB_STALLED_AFTER_SECONDS = 60
    settings.JOB_MAX_RECOVERIES = 2
    settings.IMPORT_BATCH_SIZE = 4


def _ago(seconds: float) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(seconds=seconds)


class _WorkerKilled(BaseException):
    """What a SIGKILL looks like from inside: nothing of the run's error handling runs."""


def _running_import(actor, *, silent_for: float, language: str = "en") -> ImportJob:
    """An import whose worker committed its first batch (4 rows), died in the second and has
    been silent for `silent_for` seconds."""
    with translation.override(language):
        job = jobs.create_import(
            actor=actor, kind="customers", upload=upload("c.csv", csv_bytes(ROWS))
        )
    jobs.configure_import(actor=actor, job=job, mapping=job.mapping)
    jobs.start_import(actor=actor, job=job, queue=False)
    module = jobs.rows_module(job.kind)
    write_batch, calls = module.write_batch, []

    def dies_in_the_second_batch(rows, options):
        calls.append(len(rows))
        if len(calls) == 2:
            raise _WorkerKilled
        return write_batch(rows, options)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(module, "write_batch", dies_in_the_second_batch)
        with pytest.raises(_WorkerKilled):
            jobs.IMPORT_JOBS.run(job.pk)
    ImportJob.objects.filter(pk=job.pk).update(
        started_at=_ago(silent_for + 30), heartbeat_at=_ago(silent_for)
    )
    job.refresh_from_db()
    assert (job.status, job.rows_done, job.checkpoint_row) == (JobStatus.RUNNING, 4, 5)
    return job


@pytest.mark.django_db
def test_a_running_job_is_stalled_once_silent_past_the_threshold_and_not_before(
    admin_user_role, settings
):
    job = _running_import(admin_user_role, silent_for=59)
    assert not job.is_stalled()
    assert job.is_held_by_live_worker()
    assert job.seconds_left is not None
    job.heartbeat_at = _ago(61)
    assert job.is_stalled()
    assert job.lost_worker
    assert not job.is_held_by_live_worker()
    # Whatever its last rate, a job without a worker has no time left to announce.
    assert job.seconds_left is None
    settings.JOB_STALLED_AFTER_SECONDS = 120
    assert not job.is_stalled()


@pytest.mark.django_db
def test_the_progress_panel_says_interrupted_instead_of_time_left_when_the_worker_is_gone(
    client, admin_user_role
):
    job = _running_import(admin_user_role, silent_for=5)
    client.force_login(admin_user_role)
    panel = client.get(f"/imports/{job.pk}/progress/").content.decode()
    assert "s left" in panel
    assert "Interrupted" not in panel
    ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=_ago(61))
    panel = client.get(f"/imports/{job.pk}/progress/").content.decode()
    assert "Interrupted" in panel
    assert "s left" not in panel
    assert "rows per second" not in panel
    assert 'hx-trigger="every 1s"' in panel  # still polled: the page follows the resume


@pytest.mark.django_db
def test_a_stalled_import_is_queued_again_audited_and_finishes_without_duplicates(
    admin_user_role, django_capture_on_commit_callbacks
):
    job = _running_import(admin_user_role, silent_for=61)
    with django_capture_on_commit_callbacks() as queued:
        assert recover_stalled_jobs().requeued == 1
    assert len(queued) == 1  # the message to the worker, sent once committed
    job.refresh_from_db()
    assert (job.status, job.recoveries) == (JobStatus.QUEUED, 1)
    event = AuditEvent.objects.get(action="import.resume", target_id=str(job.pk))
    assert event.changes == {"automatic": True, "attempt": 1}
    assert event.actor_id is None
    jobs.IMPORT_JOBS.run(job.pk)  # what the queued message does
    job.refresh_from_db()
    assert job.status == JobStatus.DONE
    assert (job.rows_created, job.rows_done) == (10, 10)
    assert Customer.objects.count() == Customer.objects.values("phone").distinct().count() == 10


@pytest.mark.django_db
def test_a_running_job_still_reporting_and_a_finished_one_are_left_alone(admin_user_role):
    live = _running_import(admin_user_role, silent_for=5)
    done = _running_import(admin_user_role, silent_for=600)
    ImportJob.objects.filter(pk=done.pk).update(status=JobStatus.DONE)
    assert recover_stalled_jobs().requeued == 0
    live.refresh_from_db()
    assert (live.status, live.recoveries) == (JobStatus.RUNNING, 0)
    assert not AuditEvent.objects.filter(action="import.resume").exists()


@pytest.mark.django_db
def test_a_job_that_loses_its_worker_every_time_fails_after_the_bound_with_a_translated_reason(
    admin_user_role, django_capture_on_commit_callbacks
):
    job = _running_import(admin_user_role, silent_for=61, language="zh-hans")
    for attempt in (1, 2):  # JOB_MAX_RECOVERIES
        with django_capture_on_commit_callbacks():
            assert recover_stalled_jobs().requeued == 1
        # The next worker claims it and dies as well.
        ImportJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, heartbeat_at=_ago(61))
        assert ImportJob.objects.get(pk=job.pk).recoveries == attempt
    with django_capture_on_commit_callbacks() as queued:
        assert recover_stalled_jobs() == type(recover_stalled_jobs())(requeued=0, failed=1)
    assert not queued
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED
    assert job.finished_at is not None
    # In the language the import was started in.
    assert "3" in job.failure
    assert "内存" in job.failure
    # Given up, an import keeps its file and its Resume button, for a person to decide.
    assert job.resumable
    assert job.file
    event = AuditEvent.objects.get(action="import.failed", target_id=str(job.pk))
    assert event.changes == {"reason": "worker_lost", "worker_losses": 3}
    assert recover_stalled_jobs().requeued == 0  # nothing loops
    with django_capture_on_commit_callbacks():
        jobs.resume_import(actor=admin_user_role, job=job)
    job.refresh_from_db()
    assert (job.status, job.recoveries, job.failure) == (JobStatus.QUEUED, 0, "")


@pytest.mark.django_db
def test_a_stalled_export_and_scan_are_queued_again_through_the_same_mechanism(
    admin_user_role, django_capture_on_commit_callbacks
):
    export = start_export(
        actor=admin_user_role, params={}, columns=["name"], format="csv", queue=False
    )
    scan = create_scan(mode="full")
    for model, pk in ((ExportJob, export.pk), (DuplicateScan, scan.pk)):
        model.objects.filter(pk=pk).update(
            status=JobStatus.RUNNING, started_at=_ago(120), heartbeat_at=_ago(90)
        )
    with django_capture_on_commit_callbacks() as queued:
        assert recover_stalled_jobs().requeued == 2
    assert len(queued) == 2
    assert ExportJob.objects.get(pk=export.pk).status == JobStatus.QUEUED
    assert DuplicateScan.objects.get(pk=scan.pk).status == JobStatus.QUEUED
    assert set(AuditEvent.objects.values_list("action", flat=True)) >= {
        "export.resume",
        "duplicates.scan.resume",
    }
    EXPORT_JOBS.run(export.pk)
    assert ExportJob.objects.get(pk=export.pk).status == JobStatus.DONE


def test_every_kind_of_job_is_registered_and_run_by_a_task_the_worker_knows():
    assert {kind.label() for kind in registered_kinds()} >= {
        "customers.ImportJob",
        "customers.DuplicateScan",
        "customers.BulkMerge",
        "analytics.ExportJob",
    }
    celery_app.loader.import_default_modules()
    for task in ["kernel.tasks.run_job", "kernel.tasks.recover_stalled_jobs"]:
        assert task in celery_app.tasks


@pytest.mark.django_db(transaction=True)
def test_the_worker_beats_while_a_job_works_and_stops_when_the_job_is_no_longer_its_own(
    admin_user_role, settings
):
    settings.JOB_HEARTBEAT_SECONDS = 0.1
    job = _running_import(admin_user_role, silent_for=300)
    with heartbeat(job, run_token=job.run_token):
        time.sleep(0.5)  # one long step, no batch committed
    job.refresh_from_db()
    assert timezone.now() - job.heartbeat_at < datetime.timedelta(seconds=1)
    assert not job.is_stalled()
    ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=_ago(300))
    with heartbeat(job, run_token="another-run"):  # taken over: this run must not keep it alive
        time.sleep(0.5)
    job.refresh_from_db()
    assert job.is_stalled()


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_starting_takes_up_at_once_the_job_a_dead_worker_left(admin_user_role):
    job = _running_import(admin_user_role, silent_for=61)
    worker = start_worker(worker_env(IMPORT_BATCH_SIZE="4"))
    try:  # no beat: the worker's own start (worker_ready) runs the recovery
        wait_for(lambda: ImportJob.objects.get(pk=job.pk).status == JobStatus.DONE, seconds=60)
    finally:
        stop_workers([worker])
    job.refresh_from_db()
    assert (job.status, job.recoveries, job.rows_created) == (JobStatus.DONE, 1, 10)
    assert Customer.objects.count() == Customer.objects.values("phone").distinct().count() == 10
