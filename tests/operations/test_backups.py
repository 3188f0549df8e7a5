"""Backups, restores, drills and rotation, on the suite's real database (PostgreSQL with
pg_dump / pg_restore, or SQLite with its backup API) and real files."""

import datetime
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from kernel.jobs.recovery import recover_stalled_jobs
from kernel.models import JobStatus
from operations.backups import container
from operations.backups.container import BackupFileError, DecryptingReader, EncryptingWriter
from operations.backups.engines import BackupError, PostgresEngine, Target, engine_for
from operations.backups.rotation import backups_to_keep
from operations.backups.services import (
    BACKUP_JOBS,
    BACKUP_SUFFIX,
    PARTIAL_SUFFIX,
    create_backup,
    last_good_backup,
    list_backups,
    queued_backup,
    restore_backup,
    rotate_backups,
    run_drill,
    verify_backup,
)
from operations.models import BackupRun, RestoreDrill
from privacy.crypto import generate_key
from privacy.models import AlertKind, AuditEvent, SecurityAlert
from tests.factories import CustomerFactory, InteractionFactory, TransactionFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def customers():
    people = [
        CustomerFactory(name="张伟", phone="13812345678"),
        CustomerFactory(name="Anna Müller", email="anna@example.com"),
        CustomerFactory(name="李娜"),
    ]
    for person in people:
        TransactionFactory(customer=person)
        InteractionFactory(customer=person, body="Wants the blue one")
    return people


@pytest.fixture
def scratch():
    """A database (name or file) for restores, removed afterwards."""
    live = Target.live()
    target = (
        live.elsewhere(str(Path(settings.BACKUP_DIR).parent / "restored.sqlite3"))
        if live.engine == "sqlite"
        else live.elsewhere(f"{live.name[:40]}_t_restored")
    )
    yield target
    engine_for(target).drop(target)


def _customer_names(target: Target) -> list[tuple]:
    query = "SELECT id, name, phone, email FROM customers_customer ORDER BY id"
    if target.engine == "sqlite":
        with sqlite3.connect(target.name) as conn:
            return conn.execute(query).fetchall()
    with PostgresEngine.connect(target, autocommit=True) as conn:
        return conn.execute(query).fetchall()


def _damage(path: Path, at: int) -> None:
    with open(path, "r+b") as file:
        file.seek(at)
        byte = file.read(1)
        file.seek(at)
        file.write(bytes([byte[0] ^ 0xFF]))


def test_backup_then_restore_gives_back_every_table_with_equal_rows_and_checksums(
    customers, scratch
):
    live = Target.live()
    engine = engine_for(live)
    before = engine.summarise(live)

    run = create_backup()

    assert run.status == JobStatus.DONE
    assert run.size_bytes > 0
    assert run.rows > 0
    [backup] = list_backups()
    assert backup.name == run.file_name
    assert backup.path.stat().st_mode & 0o077 == 0
    assert verify_backup(backup.path).ok
    restored = restore_backup(backup.path, into=scratch.name)
    after = engine_for(scratch).summarise(scratch)
    # Every table came back; only the backup's own run row was written after `before`.
    assert after.keys() == before.keys()
    assert len(after) == run.tables
    changed = {name for name in before if before[name] != after[name]}
    assert changed == {"operations_backuprun"}
    assert after == restored.manifest.tables
    assert _customer_names(scratch) == _customer_names(live)
    assert [row[1] for row in _customer_names(scratch)] == ["张伟", "Anna Müller", "李娜"]
    if scratch.engine == "sqlite":  # a restored PostgreSQL database is no file of ours
        assert Path(scratch.name).stat().st_mode & 0o077 == 0


def test_a_restore_never_overwrites_the_live_database_without_the_explicit_flag(customers):
    create_backup()
    [backup] = list_backups()
    with pytest.raises(CommandError, match="overwrite the live database"):
        call_command("restore", str(backup.path))
    live = Target.live()
    with pytest.raises(CommandError, match="overwrite the live database"):
        call_command("restore", str(backup.path), "--into", live.name)


def test_a_restore_into_a_database_with_tables_needs_overwrite(customers, scratch):
    create_backup()
    [backup] = list_backups()
    restore_backup(backup.path, into=scratch.name)
    with pytest.raises(BackupError, match="already holds tables"):
        restore_backup(backup.path, into=scratch.name)
    assert restore_backup(backup.path, into=scratch.name, overwrite=True).manifest.rows > 0


def test_a_damaged_backup_is_detected_by_verify_restore_and_the_drill(customers, scratch):
    create_backup()
    [backup] = list_backups()
    _damage(backup.path, backup.path.stat().st_size // 2)

    report = verify_backup(backup.path)

    assert not report.ok
    assert any("SHA-256" in problem for problem in report.problems)
    assert any("damaged" in problem for problem in report.problems)
    with pytest.raises(CommandError, match="SHA-256"):
        call_command("verify_backup", str(backup.path))
    with pytest.raises(BackupFileError):
        restore_backup(backup.path, into=scratch.name)
    assert not engine_for(scratch).exists(scratch)

    drill = run_drill()

    assert drill.status == JobStatus.FAILED
    assert "damaged" in drill.failure
    alert = SecurityAlert.objects.get(kind=AlertKind.RESTORE_DRILL)
    assert alert.params["backup"] == backup.name


def test_a_truncated_backup_is_detected(customers):
    create_backup()
    [backup] = list_backups()
    whole = backup.path.read_bytes()
    for length in (len(whole) - 1, len(whole) // 2, 200):
        backup.path.write_bytes(whole[:length])
        report = verify_backup(backup.path)
        assert not report.ok
        assert any("cut short" in problem for problem in report.problems), report.problems
    # Without the checksum file the missing end is found all the same.
    backup.sidecar.unlink()
    problems = verify_backup(backup.path).problems
    assert any("checksum file" in problem for problem in problems)
    assert any("cut short" in problem for problem in problems)


@pytest.mark.parametrize(
    "payload_size", [0, 10, container.CHUNK_SIZE, 3 * container.CHUNK_SIZE + 7]
)
def test_the_container_detects_a_cut_on_a_chunk_boundary(tmp_path, payload_size):
    payload = os.urandom(payload_size)
    path = tmp_path / "payload.backup"
    with open(path, "wb") as sink:
        writer = EncryptingWriter(sink)
        writer.write(payload)
        writer.close()
    with open(path, "rb") as source:
        assert DecryptingReader(source).read() == payload
        source.seek(0)
        container.read_header(source)
        header_end = source.tell()

    whole = path.read_bytes()
    sealed = container.CHUNK_SIZE + container.TAG_SIZE
    # Cut right after the header and after each full chunk: every cut ends on a boundary.
    for cut in range(header_end, len(whole), sealed):
        path.write_bytes(whole[:cut])
        with open(path, "rb") as source, pytest.raises(BackupFileError, match="cut short"):
            DecryptingReader(source).read()


def test_backups_stay_readable_after_a_key_rotation_while_the_old_key_is_listed(
    customers, settings
):
    old = settings.BACKUP_ENCRYPTION_KEYS[0]
    create_backup()
    [backup] = list_backups()
    settings.BACKUP_ENCRYPTION_KEYS = [f"new:{generate_key()}", old]
    assert verify_backup(backup.path).ok
    settings.BACKUP_ENCRYPTION_KEYS = [f"new:{generate_key()}"]
    problems = verify_backup(backup.path).problems
    assert any("which is not in BACKUP_ENCRYPTION_KEYS" in problem for problem in problems)


def test_a_failed_backup_is_recorded_and_raises_an_alert(customers, settings):
    settings.BACKUP_ENCRYPTION_KEYS = []
    run = create_backup()
    assert run == BackupRun.objects.get()
    assert run.status == JobStatus.FAILED
    assert "No backup key is configured" in run.failure
    assert "BACKUP_ENCRYPTION_KEYS" in run.failure
    assert AuditEvent.objects.filter(action="backup.failed", target_id=str(run.pk)).exists()
    assert SecurityAlert.objects.filter(kind=AlertKind.BACKUP).exists()
    assert list_backups() == []
    assert last_good_backup() is None


def test_the_backup_command_fails_with_the_reason(settings):
    settings.BACKUP_ENCRYPTION_KEYS = []
    with pytest.raises(CommandError, match="No backup key is configured"):
        call_command("backup")
    assert BackupRun.objects.get().status == JobStatus.FAILED


def test_the_drill_restores_the_newest_backup_and_records_its_time(customers):
    create_backup()
    [backup] = list_backups()

    drill = run_drill()

    assert drill.status == JobStatus.DONE, drill.failure
    assert drill.backup_file == backup.name
    assert drill.migrations_ok is True
    assert drill.mismatches == []
    assert drill.restore_seconds > 0
    assert drill.tables_compared > 40
    assert drill.rows_compared > 0
    live = Target.live()
    assert not engine_for(live).exists(engine_for(live).scratch(live, "drill"))
    assert not SecurityAlert.objects.exists()


def test_the_drill_fails_and_alerts_without_any_backup():
    drill = run_drill()
    assert drill.status == JobStatus.FAILED
    assert "no backup" in drill.failure
    assert SecurityAlert.objects.filter(kind=AlertKind.RESTORE_DRILL).count() == 1


def test_the_drill_fails_when_the_restored_schema_lacks_a_migration(customers):
    create_backup()
    [backup] = list_backups()
    # A backup taken before the newest migration of an app was applied.
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM django_migrations WHERE app = 'crm' AND name = '0002_backups'")
    try:
        create_backup()
    finally:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO django_migrations (app, name, applied) VALUES (%s, %s, %s)",
                ["crm", "0002_backups", timezone.now()],
            )
    drill = run_drill()
    assert drill.backup_file != backup.name
    assert drill.status == JobStatus.FAILED
    assert drill.migrations_ok is False
    assert "migrate --check" in drill.failure


def _utc(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=datetime.UTC)


def test_rotation_keeps_seven_daily_four_weekly_and_twelve_monthly():
    # One backup a night at 00:30 Shanghai (16:30 UTC the day before) for two years.
    first = _utc(2024, 11, 25, 16, 30)
    taken = [first + datetime.timedelta(days=n) for n in range(731)]
    kept = backups_to_keep(taken, daily=7, weekly=4, monthly=12, time_zone="Asia/Shanghai")

    days = [f"{moment.astimezone(ZoneInfo('Asia/Shanghai')):%Y-%m-%d}" for moment in sorted(kept)]
    # The last 7 nights; Sundays (the newest of their ISO week) of the 4 weeks; the last night
    # of each of the 12 months, the current one's being today's.
    assert days == [
        "2025-12-31",
        "2026-01-31",
        "2026-02-28",
        "2026-03-31",
        "2026-04-30",
        "2026-05-31",
        "2026-06-30",
        "2026-07-31",
        "2026-08-31",
        "2026-09-30",
        "2026-10-31",
        "2026-11-08",
        "2026-11-15",
        "2026-11-20",
        "2026-11-21",
        "2026-11-22",
        "2026-11-23",
        "2026-11-24",
        "2026-11-25",
        "2026-11-26",
    ]


def test_rotation_with_other_settings_and_few_backups():
    taken = [_utc(2026, 1, 1, 1), _utc(2026, 1, 1, 2), _utc(2026, 1, 2, 1)]
    assert backups_to_keep(taken, daily=1, weekly=0, monthly=0, time_zone="UTC") == {
        _utc(2026, 1, 2, 1)
    }
    assert backups_to_keep(taken, daily=5, weekly=0, monthly=0, time_zone="UTC") == {
        _utc(2026, 1, 1, 2),
        _utc(2026, 1, 2, 1),
    }
    assert backups_to_keep([], daily=7, weekly=4, monthly=12, time_zone="UTC") == set()


def test_rotate_backups_deletes_the_files_rotation_drops_and_leftovers(settings):
    settings.BACKUP_KEEP_DAILY, settings.BACKUP_KEEP_WEEKLY, settings.BACKUP_KEEP_MONTHLY = 2, 0, 0
    folder = Path(settings.BACKUP_DIR)
    (folder / ".work" / "tmp-of-a-killed-worker").mkdir(parents=True)
    names = [f"crm-202611{day:02d}T163000Z" for day in (20, 21, 22)]
    for name in names:
        (folder / f"{name}.backup").write_bytes(b"x")
        (folder / f"{name}.json").write_text("{}")
        BackupRun.objects.create(engine="x", status=JobStatus.DONE, file_name=f"{name}.backup")
    (folder / "crm-20261123T163000Z.backup.partial").write_bytes(b"half")
    (folder / "crm-20261118T163000Z.json").write_text("{}")

    deleted = rotate_backups()

    assert deleted == [f"{names[0]}.backup"]
    assert sorted(path.name for path in folder.iterdir() if not path.name.startswith(".")) == [
        f"{names[1]}.backup",
        f"{names[1]}.json",
        f"{names[2]}.backup",
        f"{names[2]}.json",
    ]
    assert list((folder / ".work").iterdir()) == []
    assert list(
        BackupRun.objects.filter(deleted_at__isnull=False).values_list("file_name", flat=True)
    ) == [f"{names[0]}.backup"]


def test_rotation_waits_for_a_running_backup(settings):
    from operations.backups.services import _exclusive

    with _exclusive(), pytest.raises(BackupError, match="Another backup"):
        rotate_backups()


def test_a_partial_file_never_counts_as_a_backup(settings):
    folder = Path(settings.BACKUP_DIR)
    folder.mkdir(parents=True)
    partial = folder / f"crm-20261126T000000Z{BACKUP_SUFFIX}{PARTIAL_SUFFIX}"
    partial.write_bytes(container.MAGIC + b"half a backup")
    assert list_backups() == []
    assert "never finished" in verify_backup(partial).problems[0]
    with pytest.raises(BackupFileError, match="never finished"):
        restore_backup(partial, into="whatever")


def _wait_for(condition, *, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _backup_sessions(target: Target) -> list[str]:
    """What the backup's sessions (its snapshot and pg_dump) are waiting for."""
    with PostgresEngine.connect(target, autocommit=True) as conn:
        return [
            wait or ""
            for (wait,) in conn.execute(
                "SELECT wait_event_type FROM pg_stat_activity "
                "WHERE datname = %s AND application_name = 'crm-backup' "
                "AND pid <> pg_backend_pid()",
                [target.name],
            )
        ]


@pytest.mark.postgres_only
@pytest.mark.celery_worker
def test_a_worker_killed_in_the_middle_of_a_backup_leaves_nothing_that_counts(customers):
    from crm.celery import app as celery_app
    from operations.backups.services import _database_url

    live = Target.live()
    env = {
        **os.environ,
        "DATABASE_URL": _database_url(live),
        "BACKUP_DIR": str(settings.BACKUP_DIR),
    }
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "crm",
            "worker",
            "--pool=solo",
            "-n",
            f"backup-kill-{os.getpid()}@%h",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
            "-l",
            "WARNING",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # An exclusive lock on one table stops the dump half-way: pg_dump and the checksums wait.
    celery_app.control.purge()  # messages other tests queued and no worker ran
    with PostgresEngine.connect(live) as blocker:
        blocker.execute("LOCK TABLE customers_customer IN ACCESS EXCLUSIVE MODE")
        try:
            BACKUP_JOBS.enqueue(queued_backup())  # no transaction here: sent at once

            _wait_for(lambda: "Lock" in _backup_sessions(live))
            assert BackupRun.objects.get().status == JobStatus.RUNNING
        finally:
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=30)
            blocker.rollback()
    # What the killed worker had started (its snapshot session, its pg_dump) is ended.
    with PostgresEngine.connect(live, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND application_name = 'crm-backup' AND pid <> pg_backend_pid()",
            [live.name],
        )
    _wait_for(lambda: not _backup_sessions(live))

    assert list_backups() == []
    assert last_good_backup() is None
    run = BackupRun.objects.get()
    assert run.status == JobStatus.RUNNING
    BackupRun.objects.filter(pk=run.pk).update(
        heartbeat_at=timezone.now() - datetime.timedelta(minutes=5)
    )
    run.refresh_from_db()
    assert run.lost_worker
    # Its message delivered again does not start it over; recovery fails it.
    assert BACKUP_JOBS.run(run.pk) is None
    assert recover_stalled_jobs().failed == 1
    run.refresh_from_db()
    assert run.status == JobStatus.FAILED
    assert "stopped before the job finished" in run.failure
    # The next backup works and clears what the killed one left.
    assert create_backup().status == JobStatus.DONE
    assert [backup.name for backup in list_backups()] == [last_good_backup().file_name]
    leftovers = [
        path.name
        for path in Path(settings.BACKUP_DIR).iterdir()
        if path.suffix not in (".backup", ".json") and path.name not in (".lock", ".work")
    ]
    assert leftovers == []
    assert list((Path(settings.BACKUP_DIR) / ".work").iterdir()) == []
    assert RestoreDrill.objects.count() == 0
