"""The administrators' status page (/operations/): backups and drills in sentences, the
buttons that queue them (through the real broker and a real worker), jobs, disk use, and who
may see and use it. The health endpoint is in tests/operations/test_health_and_settings.py."""

import datetime
import time
import uuid
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from django.apps import apps
from django.conf import settings
from django.utils import timezone, translation
from kombu.exceptions import OperationalError

from analytics.models import MetricsRun
from crm.celery import app as celery_app
from customers.models import DuplicateScan
from kernel.jobs.runner import registered_kinds
from kernel.models import BackgroundJob, JobStatus, WorkerHeartbeat
from kernel.tasks import run_job
from operations import status as operations
from operations.models import BackupRun, RestoreDrill
from privacy import roles
from privacy.models import AlertKind, RetentionRun, SecurityAlert

pytestmark = pytest.mark.django_db

FILE = "crm-20261125T163000Z.backup"


def _backup(*, hours_ago: float = 5, status=JobStatus.DONE, **fields) -> BackupRun:
    started = timezone.now() - datetime.timedelta(hours=hours_ago)
    done = status != JobStatus.RUNNING
    values = {
        "started_at": started,
        "finished_at": started + datetime.timedelta(seconds=75) if done else None,
        # A running backup's worker beats (kernel/jobs/runner.py).
        "heartbeat_at": None if done else timezone.now(),
        "status": status,
        "engine": "postgresql",
        "file_name": FILE if status == JobStatus.DONE else "",
        "size_bytes": 52_428_800 if status == JobStatus.DONE else None,
        "tables": 53 if status == JobStatus.DONE else None,
        "rows": 1_234_567 if status == JobStatus.DONE else None,
        "seconds": 75.0 if done else None,
    }
    return BackupRun.objects.create(**{**values, **fields})


def _drill(*, status=JobStatus.DONE, **fields) -> RestoreDrill:
    values = {
        "backup_file": FILE,
        "finished_at": timezone.now(),
        "status": status,
        "restore_seconds": 42.0,
        "tables_compared": 53,
        "rows_compared": 1_234_567,
        "migrations_ok": status == JobStatus.DONE,
    }
    return RestoreDrill.objects.create(**{**values, **fields})


def _page(client, user) -> str:
    client.force_login(user)
    response = client.get("/operations/")
    assert response.status_code == 200
    return response.content.decode()


def test_the_page_says_the_last_backup_was_restored_and_verified(
    client, admin_user_role, django_assert_max_num_queries
):
    backups = Path(settings.BACKUP_DIR)
    backups.mkdir(parents=True)
    (backups / FILE).write_bytes(b"x" * 3000)
    (backups / "crm-20261124T163000Z.backup").write_bytes(b"x" * 1000)
    (backups / "crm-20261126T163000Z.backup.partial").write_bytes(b"x" * 500)  # never counts
    _backup(hours_ago=30, status=JobStatus.FAILED, failure="No space left on device")
    _backup()
    _drill()
    client.force_login(admin_user_role)
    # One query per kind of job and per figure, whatever the number of runs; one per kind of
    # connected source (shops, web forms, drop folders, mailboxes), whatever the number of sources.
    with django_assert_max_num_queries(40):
        response = client.get("/operations/")
    html = response.content.decode()
    assert response.context["backups"].verified
    assert "was restored in 42 s and verified: 53 tables, 1,234,567 rows equal." in html
    assert "alert-danger" not in html
    files = response.context["backup_files"]
    assert (files.count, files.total_bytes, files.folder_bytes) == (2, 4000, 4500)
    assert "2 backups" in html
    assert (
        "Rotation keeps the newest backup of each of the last 7 days, 4 weeks and 12 months."
        in html
    )
    runs = html[html.index('id="backup-runs"') :]
    assert "No space left on device" in runs
    assert FILE in runs
    assert "1 min 15 s" in runs
    assert "1,234,567" in html[html.index('id="drills"') :]
    assert response.context["next_backup"].astimezone(timezone.get_current_timezone()).minute == 30


def test_a_stale_backup_turns_the_page_red(client, admin_user_role, settings):
    _backup(hours_ago=settings.BACKUP_MAX_AGE_HOURS + 3)
    _drill()
    html = _page(client, admin_user_role)
    assert "alert-danger" in html
    assert "older than 26 hours: the nightly backup did not run or did not finish." in html


def test_a_failed_backup_after_a_good_one_is_the_first_thing_said(client, admin_user_role):
    _backup(hours_ago=20)
    _drill()
    _backup(hours_ago=1, status=JobStatus.FAILED, failure="pg_dump: connection refused")
    summary = operations.backup_summary()
    assert summary.level == "danger"
    assert summary.headline.startswith("The last backup (started")
    assert summary.headline.endswith("failed: pg_dump: connection refused")
    html = _page(client, admin_user_role)
    assert "The last good backup (" in html  # the older one still restored fine


def test_a_backup_whose_worker_died_is_called_interrupted(client, admin_user_role):
    _backup(hours_ago=2, status=JobStatus.RUNNING, heartbeat_at=None)
    html = _page(client, admin_user_role)
    assert "was interrupted: its worker stopped before it finished." in html
    assert "No backup has finished yet." in html
    assert ">Interrupted<" in html


def test_a_running_backup_is_news_not_an_alarm(admin_user_role):
    _backup(hours_ago=10)
    _drill()
    _backup(hours_ago=0.1, status=JobStatus.RUNNING)
    summary = operations.backup_summary()
    assert [finding.level for finding in summary.findings] == ["info", "success"]


def test_a_failed_drill_is_a_red_warning_naming_the_tables(client, admin_user_role):
    _backup()
    _drill(
        status=JobStatus.FAILED,
        failure="2 tables differ from the backup's manifest.",
        mismatches=[{"table": "customers_customer"}, {"table": "interactions_interaction"}],
    )
    html = _page(client, admin_user_role)
    assert "failed: 2 tables differ from the backup&#x27;s manifest." in html
    assert "customers_customer, interactions_interaction" in html


def test_a_backup_no_drill_restored_yet_says_when_the_next_drill_runs(admin_user_role):
    _backup()
    _drill(backup_file="crm-20261124T163000Z.backup")  # an older backup's drill
    summary = operations.backup_summary()
    assert summary.level == "warning"
    assert "has not been restored by a drill yet; the next drill runs" in summary.headline


def test_no_backup_at_all_is_red(admin_user_role):
    summary = operations.backup_summary()
    assert (summary.level, summary.headline) == ("danger", "No backup has been made yet.")


def test_jobs_show_what_runs_and_what_failed_in_the_last_seven_days_with_links(
    client, admin_user_role
):
    now = timezone.now()
    DuplicateScan.objects.create(
        mode="full", min_probability=0.8, status=JobStatus.FAILED, failure="Out of memory (2GB)"
    )
    DuplicateScan.objects.create(
        mode="full",
        min_probability=0.8,
        status=JobStatus.FAILED,
        failure="Long ago",
        created_at=now - datetime.timedelta(days=8),
    )
    DuplicateScan.objects.create(mode="incremental", min_probability=0.8, status=JobStatus.DONE)
    MetricsRun.objects.create(as_of=now, status=JobStatus.RUNNING, heartbeat_at=now)
    RetentionRun.objects.create(dry_run=True, status=JobStatus.RUNNING, heartbeat_at=now)
    client.force_login(admin_user_role)
    response = client.get("/operations/")
    assert [(job.kind, job.failed) for job in response.context["jobs"]] == [
        ("retention run", False),
        ("metrics refresh", False),
        ("duplicate scan", True),
    ]
    html = response.content.decode()
    jobs = html[html.index('id="jobs"') : html.index('id="disk-heading"')]
    assert "Out of memory (2GB)" in jobs
    assert "Long ago" not in jobs
    assert 'href="/duplicates/"' in jobs
    assert 'href="/segments/"' in jobs
    assert 'href="/privacy/retention/"' in jobs
    # The link says "open (the page)", not the status of an open data-subject request (未办结).
    with translation.override("zh-hans"):  # put back after the request
        chinese = client.get("/operations/", HTTP_ACCEPT_LANGUAGE="zh-hans").content.decode()
    assert '<a href="/duplicates/">打开</a>' in chinese
    assert "未办结" not in chinese


def test_every_kind_of_background_job_is_run_by_the_runner_and_looked_at():
    jobs = {model._meta.label for model in apps.get_models() if issubclass(model, BackgroundJob)}
    assert {kind.label() for kind in registered_kinds()} == jobs
    assert {
        "customers.ImportJob",
        "customers.DuplicateScan",
        "customers.BulkMerge",
        "analytics.ExportJob",
        "analytics.MetricsRun",
        "analytics.ChurnModel",
        "analytics.SegmentRefresh",
        "privacy.RetentionRun",
        "interactions.ArchiveRun",
        "operations.BackupRun",
        "operations.RestoreDrill",
    } <= jobs


def test_workers_broker_disks_database_archive_and_alerts_are_shown(client, admin_user_role):
    WorkerHeartbeat.objects.create(hostname="celery@web1", seen_at=timezone.now())
    WorkerHeartbeat.objects.create(
        hostname="celery@old", seen_at=timezone.now() - datetime.timedelta(hours=2)
    )
    SecurityAlert.objects.create(
        kind=AlertKind.BACKUP, params={"failure": "No space left on device"}
    )
    client.force_login(admin_user_role)
    response = client.get("/operations/")
    html = response.content.decode()
    assert [worker.stale for worker in response.context["workers"]] == [False, True]
    assert response.context["broker"].reachable
    assert isinstance(response.context["broker"].waiting, int)
    assert "free of" in html
    assert response.context["disks"][0].total > 0
    database = response.context["database"]
    assert database.total_bytes > 0
    if database.engine == "PostgreSQL":
        assert len(database.largest_tables) == operations.LARGEST_TABLES
        assert response.context["archive"].hot_bytes is not None
    assert "none yet" in html[html.index('id="archive"') :]
    assert "The backup failed: No space left on device" in html


def test_the_queue_length_counts_messages_waiting_in_the_real_broker():
    # A queue of its own: a message left in "celery" would be run by another test's worker.
    queue = f"operations-test-{uuid.uuid4().hex}"
    with celery_app.connection_for_write() as broker:
        waiting = broker.SimpleQueue(queue)
        try:
            waiting.put({"hello": "worker"})
            waiting.put({"hello": "again"})
            assert operations.broker_status(queue).waiting == 2
        finally:
            waiting.clear()
            waiting.close()
    assert operations.broker_status(queue).waiting == 0


@pytest.mark.parametrize(
    ("free", "total", "holds_backups", "backup_bytes", "low"),
    [
        (100, 1000, True, 40, False),
        (100, 1000, True, 60, True),  # not room for two more
        (100, 1000, False, 60, False),  # this disk holds no backups
        (40, 1000, False, None, True),  # under 5 % free
        (100, 1000, True, None, False),  # no backup yet: only the share counts
    ],
)
def test_a_disk_is_short_of_space(free, total, holds_backups, backup_bytes, low):
    assert (
        operations.is_low_on_space(
            free=free, total=total, holds_backups=holds_backups, backup_bytes=backup_bytes
        )
        is low
    )


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.42, "0.4 s"), (9.96, "10.0 s"), (42.4, "42 s"), (185, "3 min 5 s"), (7830, "2 h 10 min")],
)
def test_durations_read_as_people_say_them(seconds, text):
    with translation.override("en"):
        assert operations.format_seconds(seconds) == text


def test_the_administrators_home_page_and_admin_index_say_how_old_the_backup_is(
    client, admin_user_role
):
    _backup(finished_at=timezone.now() - datetime.timedelta(hours=5, seconds=20))
    _drill()
    client.force_login(admin_user_role)
    home = client.get("/").content.decode()
    card = home[home.index('id="home-backups"') :]
    assert "Restored and verified" in card
    assert "last backup 5\xa0hours ago" in card
    assert 'href="/operations/"' in card
    index = client.get("/admin/").content.decode()
    assert "was restored in 42 s and verified" in index
    assert 'href="/operations/"' in index


NOT_ADMINISTRATORS = [roles.SALES, roles.SERVICE, roles.ANALYST, roles.PRIVACY_OFFICER, None]


@pytest.mark.parametrize("role", NOT_ADMINISTRATORS)
@pytest.mark.parametrize("path", ["/operations/backup/", "/operations/drill/"])
def test_only_administrators_may_start_a_backup_or_drill(
    client, make_user, monkeypatch, role, path
):
    queued = []
    monkeypatch.setattr(run_job, "apply_async", lambda *args, **kwargs: queued.append(kwargs))
    client.force_login(make_user(role))
    assert client.post(path).status_code == 403
    assert client.get("/operations/").status_code == 403
    assert queued == []
    assert 'href="/operations/"' not in client.get("/").content.decode()


def test_the_buttons_are_post_only(client, admin_user_role):
    client.force_login(admin_user_role)
    assert client.get("/operations/backup/").status_code == 405


@pytest.mark.django_db(transaction=True)  # the message is sent once the job's row committed
def test_an_unreachable_broker_is_said_plainly_and_nothing_is_started(
    client, admin_user_role, monkeypatch
):
    def refuse(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(run_job, "apply_async", refuse)
    client.force_login(admin_user_role)
    response = client.post("/operations/backup/", follow=True)
    assert "The job queue cannot be reached, so nothing was started." in response.content.decode()
    assert not BackupRun.objects.exists()


def test_a_second_backup_waits_for_the_first_and_a_drill_needs_a_backup(
    client, admin_user_role, monkeypatch
):
    queued = []
    monkeypatch.setattr(run_job, "apply_async", lambda *args, **kwargs: queued.append(kwargs))
    client.force_login(admin_user_role)
    drill = client.post("/operations/drill/", follow=True).content.decode()
    assert "There is no backup to restore yet: back up first." in drill
    _backup(hours_ago=0.1, status=JobStatus.RUNNING)
    again = client.post("/operations/backup/", follow=True).content.decode()
    assert "A backup or restore drill is running; start another when it is done." in again
    assert queued == []


def _wait_for(condition, *, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_back_up_now_and_drill_now_run_in_a_real_worker_and_the_page_says_verified(
    client, admin_user_role
):
    client.force_login(admin_user_role)
    with start_worker(celery_app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        started = client.post("/operations/backup/", follow=True)
        assert "Backup started" in started.content.decode()
        _wait_for(lambda: BackupRun.objects.filter(status=JobStatus.DONE).exists())
        client.post("/operations/drill/")
        _wait_for(lambda: RestoreDrill.objects.exclude(status=JobStatus.RUNNING).exists())
    run, drill = BackupRun.objects.get(), RestoreDrill.objects.get()
    assert run.created_by == drill.created_by == admin_user_role
    assert (drill.status, drill.backup_file) == (JobStatus.DONE, run.file_name), drill.failure
    html = client.get("/operations/").content.decode()
    assert "The last backup (" in html
    assert "and verified: " in html
