"""Every kind of job registered with the runner (kernel/jobs/runner.py), driven the same way by a
real Celery worker in a process of its own, on both engines: the claim, a message delivered
again, cancel, the worker SIGKILLed in the middle of a run, and the resume that finishes it.

The worker is caught mid-run by holding what its run must take before it can finish: the audit
chain's lock (PostgreSQL: an advisory lock; SQLite: the database's write lock), which every
kind's end takes to record `<prefix>.done`. The claim takes no audit lock, so on PostgreSQL the
job is seen RUNNING while its worker waits; on SQLite the claim needs the write lock too, so the
test watches for the claim and takes the lock right after it, trying again with a new job when
the run was quicker."""

from __future__ import annotations

import datetime
import itertools
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.utils import timezone

from analytics.exports.services import start_export
from connectors import services as connector_services
from connectors.backfill import start_backfill
from connectors.models import Platform
from crm.celery import app as celery_app
from customers.custom_fields import services as field_services
from customers.custom_fields.conversion import active_conversion
from customers.custom_fields.models import FieldType
from customers.dedup.scan import create_scan
from customers.imports import jobs as imports
from customers.models import BulkMerge, Customer
from interactions.models import ArchiveRun
from kernel.jobs.recovery import recover_stalled_jobs
from kernel.jobs.runner import JobKind, registered_kinds
from kernel.models import BackgroundJob, JobStatus
from operations.backups import services as backups
from privacy import roles
from privacy.models import CHAIN_LOCK_KEY, AuditEvent, RequestKind, SubjectCopy
from privacy.subjects import services as subject_requests
from tests.analytics.test_analytics_jobs import (
    queued_churn_model,
    queued_metrics_run,
    queued_segment_refresh,
)
from tests.connectors.conftest import fixture
from tests.customers.importfiles import csv_bytes, upload
from tests.customers.test_custom_fields import change_settings
from tests.factories import CustomerFactory, UserFactory
from tests.privacy.test_retention import queued_retention_run
from tests.worker_process import (
    log_tail,
    start_worker,
    stop_workers,
    wait_for,
    waiting_messages,
    worker_env,
)

pytestmark = [pytest.mark.celery_worker, pytest.mark.django_db(transaction=True)]

_numbers = itertools.count(1)


def _import(actor) -> BackgroundJob:
    rows = [["姓名", "手机"]] + [[f"顾客{i}", f"139{next(_numbers):08d}"] for i in range(20)]
    job = imports.create_import(
        actor=actor, kind="customers", upload=upload("c.csv", csv_bytes(rows))
    )
    imports.configure_import(actor=actor, job=job, mapping=job.mapping)
    imports.start_import(actor=actor, job=job, queue=False)
    return job


def _export(actor) -> BackgroundJob:
    return start_export(actor=actor, params={}, columns=["name"], format="csv", queue=False)


def _subject_copy(actor) -> BackgroundJob:
    officer = UserFactory(role=roles.PRIVACY_OFFICER)
    request = subject_requests.log_request(
        actor=officer, customer=CustomerFactory(), kind=RequestKind.ACCESS, channel="email"
    )
    subject_requests.verify_identity(
        actor=officer, request=request, method="email_code", note="code confirmed"
    )
    return SubjectCopy.objects.create(request=request, created_by=officer, status=JobStatus.QUEUED)


def _backfill(actor) -> BackgroundJob:
    connector = connector_services.create_connector(
        actor=actor,
        platform=Platform.SHOPIFY,
        name="shop",
        shop_url=f"shop-{next(_numbers)}.myshopify.com",
        secret="shpss_secret",
    )
    return start_backfill(
        actor=actor,
        connector=connector,
        upload=SimpleUploadedFile("customers.jsonl", fixture("shopify/bulk_customers.jsonl")),
        queue=False,
    )


def _conversion(actor) -> BackgroundJob:
    """A text field's values, held by every customer, made numbers."""
    field = field_services.save_field(
        actor=actor, target="customer", label_en=f"Size {next(_numbers)}", type=FieldType.TEXT
    )
    Customer.objects.update(custom={field.key: "42"})
    return active_conversion(
        change_settings(actor, field, type=FieldType.NUMBER, decimals=1, queue=False)
    )


def _restore_drill(actor) -> BackgroundJob:
    assert backups.create_backup().status == JobStatus.DONE  # what the drill restores
    return backups.queued_drill()


# A queued job of each kind, with what its work needs, as its service or the schedule makes it.
QUEUED: dict[str, Callable[..., BackgroundJob]] = {
    "customers.ImportJob": _import,
    "analytics.ExportJob": _export,
    "customers.DuplicateScan": lambda actor: create_scan(actor=actor, mode="full"),
    "customers.BulkMerge": lambda actor: BulkMerge.objects.create(
        created_by=actor, min_probability=0.9, status=JobStatus.QUEUED
    ),
    "interactions.ArchiveRun": lambda actor: ArchiveRun.objects.create(
        status=JobStatus.QUEUED, cutoff=timezone.now() - datetime.timedelta(days=400)
    ),
    "analytics.MetricsRun": lambda actor: queued_metrics_run(),
    "analytics.ChurnModel": lambda actor: queued_churn_model(),
    "analytics.SegmentRefresh": lambda actor: queued_segment_refresh(),
    "privacy.RetentionRun": lambda actor: queued_retention_run(dry_run=False),
    "privacy.SubjectCopy": _subject_copy,
    "operations.BackupRun": lambda actor: backups.queued_backup(),
    "operations.RestoreDrill": _restore_drill,
    "connectors.Backfill": _backfill,
    "customers.FieldConversion": _conversion,
}


def test_every_registered_kind_is_driven_here():
    assert {kind.label() for kind in registered_kinds()} == set(QUEUED)


@contextmanager
def _audit_writes_held() -> Iterator[None]:
    """Hold what recording an audit event waits for, until the block ends."""
    with transaction.atomic():  # SQLite: BEGIN IMMEDIATE takes the write lock
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])
        yield


def _status(kind: JobKind, job: BackgroundJob) -> str:
    return kind.model.objects.values_list("status", flat=True).get(pk=job.pk)


def _killed_mid_run(kind: JobKind, job: BackgroundJob, env: dict[str, str]) -> bool:
    """Send the job to a fresh worker and SIGKILL the worker once it has claimed the job and
    before the job could end; False when the job ended before it was caught (SQLite only)."""
    worker = start_worker(env)
    try:
        kind.enqueue(job)
        if connection.vendor == "sqlite":
            # The claim needs the write lock, so the test waits for it without holding the lock
            # (WAL lets it read meanwhile) and takes the lock the moment the job leaves the
            # queue. Taking the lock in short turns instead starved the worker on a busy machine:
            # SQLite's busy handler sleeps up to 100 ms between tries and kept missing the gaps.
            wait_for(lambda: _status(kind, job) != JobStatus.QUEUED, seconds=90, interval=0.001)
        with _audit_writes_held():
            if connection.vendor == "postgresql":
                wait_for(lambda: _status(kind, job) != JobStatus.QUEUED, seconds=90)
            status = _status(kind, job)
            if status == JobStatus.RUNNING:
                worker.send_signal(signal.SIGKILL)
                worker.wait(timeout=10)
                return True
        if status == JobStatus.QUEUED:
            raise AssertionError(f"{kind.label()} {job.pk} was never claimed")
        assert connection.vendor == "sqlite", status
        return False
    finally:
        stop_workers([worker])


def _events(kind: JobKind, job: BackgroundJob, suffix: str) -> list[AuditEvent]:
    return list(
        AuditEvent.objects.filter(
            action=f"{kind.audit_prefix}.{suffix}",
            target_type=kind.model._meta.label_lower,
            target_id=str(job.pk),
        )
    )


def _finished_by_a_new_worker(kind: JobKind, job: BackgroundJob, env: dict[str, str]) -> str:
    """Run the queued job on a fresh worker; returns what the worker logged when the job was
    still active after two minutes (for the failure's message), else ""."""
    waiting = "" if settings.REDIS_URL else "\n".join(waiting_messages()) or "nothing"
    worker = start_worker(env)
    try:
        wait_for(lambda: _status(kind, job) not in BackgroundJob.ACTIVE, seconds=120)
        if _status(kind, job) in BackgroundJob.ACTIVE:
            return (
                f"waiting before the worker started:\n{waiting}\n"
                f"worker {'running' if worker.poll() is None else 'gone'}:\n{log_tail(worker)}"
            )
        return ""
    finally:
        stop_workers([worker])


@pytest.mark.parametrize("label", sorted(QUEUED))
def test_claim_redelivery_cancel_a_killed_worker_and_resume(label, admin_user_role, settings):
    kind = next(kind for kind in registered_kinds() if kind.label() == label)
    # What earlier tests queued for workers never started: this test's workers would run all
    # of it before its job (a slow leftover could hold the one worker past the wait).
    celery_app.control.purge()
    CustomerFactory.create_batch(5)
    env = worker_env(BACKUP_DIR=str(settings.BACKUP_DIR))
    actor = admin_user_role

    # Cancel: a job not yet started ends at once, and its message does nothing afterwards.
    cancelled = QUEUED[label](actor)
    kind.enqueue(cancelled)
    kind.cancel(actor=actor, job=cancelled)
    assert _status(kind, cancelled) == JobStatus.CANCELLED
    assert len(_events(kind, cancelled, "cancel")) == 1

    # Claim, then the worker SIGKILLed before the run could end (SQLite: a job too quick to be
    # caught is tried again with a new one; on a loaded machine a quick kind, such as an archive
    # run with nothing to archive, can slip through several times, and each miss costs only a
    # worker's start).
    for _attempt in range(15):
        job = QUEUED[label](actor)
        if _killed_mid_run(kind, job, env):
            break
    else:
        raise AssertionError(f"{label}: no run could be caught before it ended")
    job.refresh_from_db()
    assert job.status == JobStatus.RUNNING
    assert job.run_token
    assert job.started_at
    assert not _events(kind, job, "done")

    # The message delivered again while the job still looks held by a live worker: nothing.
    assert kind.run(job.pk) is None
    assert _status(kind, job) == JobStatus.RUNNING

    # Silent past the limit: the worker is gone. A kind that goes on is queued again by the
    # recovery; one that does not is resumed by a person, through the runner as well.
    silent_since = timezone.now() - kind.limit() - datetime.timedelta(seconds=5)
    kind.model.objects.filter(pk=job.pk).update(heartbeat_at=silent_since)
    if kind.resumes_after_worker_loss:
        assert recover_stalled_jobs().requeued == 1
        assert [e.changes for e in _events(kind, job, "resume")] == [
            {"automatic": True, "attempt": 1}
        ]
    else:
        kind.resume(actor=actor, job=job)
        assert [e.actor for e in _events(kind, job, "resume")] == [actor]
    assert _status(kind, job) == JobStatus.QUEUED

    unfinished = _finished_by_a_new_worker(kind, job, env)
    job.refresh_from_db()
    assert job.status == JobStatus.DONE, job.failure or unfinished
    assert len(_events(kind, job, "done")) == 1
    # The cancelled job's message, taken by the first worker, did nothing.
    cancelled.refresh_from_db()
    assert (cancelled.status, cancelled.started_at) == (JobStatus.CANCELLED, None)

    # The finished job's message delivered again: nothing runs twice.
    finished_at = job.finished_at
    assert kind.run(job.pk) is None
    job.refresh_from_db()
    assert (job.status, job.finished_at) == (JobStatus.DONE, finished_at)
    assert len(_events(kind, job, "done")) == 1
