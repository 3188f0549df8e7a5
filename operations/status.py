"""What the administrators' status page (/operations/), the health endpoint and the home page
read about operations: backups and restore drills, workers, the broker's queue, background jobs
and their failures, disk and database size. Selectors, plus the two requests the page makes
(a backup now, a restore drill now), which only queue work for the worker.

Nothing here holds personal data: job failures are written personal-data-free by the jobs,
backup files are named by their time, and staff user names are the only names shown.
"""

from __future__ import annotations

import datetime
import logging
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from celery import current_app as celery_app
from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Model
from django.template.defaultfilters import filesizeformat
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from kombu.exceptions import OperationalError as BrokerError

from interactions.models import ArchivedInteraction, ArchiveRun, Interaction
from kernel.estimates import estimated_row_count
from kernel.jobs.runner import JobKind
from kernel.jobs.selectors import JobRow, job_rows
from kernel.models import BackgroundJob, JobStatus, WorkerHeartbeat
from operations.backups.services import (
    BACKUP_JOBS,
    DRILL_JOBS,
    backup_age,
    backup_dir,
    last_good_backup,
    list_backups,
    queued_backup,
    queued_drill,
)
from operations.models import BackupRun, RestoreDrill

logger = logging.getLogger(__name__)

RUNS_SHOWN = 15
JOBS_SHOWN = 100
JOB_DAYS = 7
LARGEST_TABLES = 10
# A disk is short of space below this share free, whatever it holds.
LOW_SPACE_SHARE = 0.05
# The disk holding BACKUP_DIR is short of space when the next backup might not fit twice
# (one being written while rotation has not yet removed the oldest).
BACKUPS_THAT_MUST_FIT = 2


# --- formatting for sentences built here (the page, the home page, the admin index) ----------


def _when(moment: datetime.datetime) -> str:
    return formats.date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")


def _number(value: int) -> str:
    return formats.number_format(value, force_grouping=True)


def format_seconds(seconds: float) -> str:
    """A duration as people read it: "0.4 s", "42 s", "3 min 5 s", "2 h 10 min"."""
    if seconds < 10:
        return _("%(seconds)s s") % {"seconds": formats.number_format(round(seconds, 1), 1)}
    whole = round(seconds)
    if whole < 60:
        return _("%(seconds)s s") % {"seconds": whole}
    if whole < 3600:
        return _("%(minutes)s min %(seconds)s s") % {"minutes": whole // 60, "seconds": whole % 60}
    return _("%(hours)s h %(minutes)s min") % {
        "hours": whole // 3600,
        "minutes": whole % 3600 // 60,
    }


# --- backups and drills -----------------------------------------------------------------------


def backup_is_fresh(age: datetime.timedelta | None) -> bool:
    """A backup finished within BACKUP_MAX_AGE_HOURS (False when there is none)."""
    return age is not None and age <= datetime.timedelta(hours=settings.BACKUP_MAX_AGE_HOURS)


# Bootstrap's alert colours, mildest first: the worst finding gives the summary its colour.
LEVELS = ("success", "info", "warning", "danger")


@dataclass(frozen=True)
class Finding:
    level: str
    message: str


@dataclass
class BackupSummary:
    """The state of backups in sentences, worst first, and the figures behind them."""

    findings: list[Finding]
    last_good: BackupRun | None
    age: datetime.timedelta | None
    drill: RestoreDrill | None

    @property
    def fresh(self) -> bool:
        return backup_is_fresh(self.age)

    @property
    def level(self) -> str:
        return self.findings[0].level

    @property
    def headline(self) -> str:
        return self.findings[0].message

    @property
    def verified(self) -> bool:
        """The newest good backup is fresh and a drill restored and verified it."""
        return self.level == "success"


def backup_summary(*, now: datetime.datetime | None = None) -> BackupSummary:
    """Whether the newest backup is recent, finished, and was restored and verified by a drill,
    as translated sentences, worst first (Finding.level is a Bootstrap alert colour)."""
    now = now or timezone.now()
    latest = BackupRun.objects.order_by("-created_at", "-pk").first()
    good = last_good_backup()
    age = backup_age(now)
    findings: list[Finding] = []
    if latest is None:
        findings.append(Finding("danger", _("No backup has been made yet.")))
    elif latest.status == JobStatus.FAILED:
        findings.append(
            Finding(
                "danger",
                _("The last backup (started %(when)s) failed: %(failure)s")
                % {"when": _when(_started(latest)), "failure": latest.failure},
            )
        )
    elif latest.lost_worker:
        findings.append(
            Finding(
                "danger",
                _(
                    "The last backup (started %(when)s) was interrupted: its worker stopped "
                    "before it finished."
                )
                % {"when": _when(_started(latest))},
            )
        )
    elif latest.status == JobStatus.RUNNING:
        findings.append(
            Finding(
                "info",
                _("A backup is running (started %(when)s).") % {"when": _when(_started(latest))},
            )
        )
    elif latest.status == JobStatus.QUEUED:
        findings.append(
            Finding(
                "info",
                _("A backup is waiting for a worker (queued %(when)s).")
                % {"when": _when(latest.created_at)},
            )
        )
    drill = None
    if good is not None:
        if not backup_is_fresh(age):
            findings.append(
                Finding(
                    "danger",
                    _(
                        "The newest finished backup is %(age)s old, older than %(hours)s hours: "
                        "the nightly backup did not run or did not finish."
                    )
                    % {
                        "age": format_seconds(age.total_seconds()),
                        "hours": settings.BACKUP_MAX_AGE_HOURS,
                    },
                )
            )
        if good.file_name:
            drill = (
                RestoreDrill.objects.filter(backup_file=good.file_name)
                .order_by("-created_at", "-pk")
                .first()
            )
        findings.append(_drill_finding(good, drill, is_latest=good == latest))
    elif latest is not None:
        findings.append(Finding("danger", _("No backup has finished yet.")))
    findings.sort(key=lambda finding: LEVELS.index(finding.level), reverse=True)
    return BackupSummary(findings=findings, last_good=good, age=age, drill=drill)


def _started(run: BackupRun) -> datetime.datetime:
    """When a run started, or was queued while it waits."""
    return run.started_at or run.created_at


def _drill_finding(good: BackupRun, drill: RestoreDrill | None, *, is_latest: bool) -> Finding:
    backup = {
        "when": _when(good.finished_at or good.started_at),
        "size": filesizeformat(good.size_bytes or 0),
    }
    if drill is None:
        return Finding(
            "warning",
            _(
                "The backup of %(when)s has not been restored by a drill yet; the next drill "
                "runs %(next)s."
            )
            % {**backup, "next": _when(next_run("restore-drill-nightly"))},
        )
    if drill.status == JobStatus.DONE:
        figures = {
            **backup,
            "seconds": format_seconds(drill.restore_seconds or 0),
            "tables": _number(drill.tables_compared or 0),
            "rows": _number(drill.rows_compared or 0),
        }
        if is_latest:
            message = _(
                "The last backup (%(when)s, %(size)s) was restored in %(seconds)s and verified: "
                "%(tables)s tables, %(rows)s rows equal."
            )
        else:
            message = _(
                "The last good backup (%(when)s, %(size)s) was restored in %(seconds)s and "
                "verified: %(tables)s tables, %(rows)s rows equal."
            )
        return Finding("success", message % figures)
    if drill.status == JobStatus.FAILED:
        return Finding(
            "danger",
            _("The restore drill of the backup of %(when)s failed: %(failure)s")
            % {**backup, "failure": drill.failure},
        )
    if drill.lost_worker:
        return Finding(
            "danger",
            _("The restore drill of the backup of %(when)s was interrupted: its worker stopped.")
            % backup,
        )
    return Finding("info", _("A restore drill of the backup of %(when)s is running.") % backup)


def recent_backup_runs(limit: int = RUNS_SHOWN) -> list[BackupRun]:
    return list(BackupRun.objects.select_related("created_by")[:limit])


def recent_drills(limit: int = RUNS_SHOWN) -> list[RestoreDrill]:
    return list(RestoreDrill.objects.select_related("created_by")[:limit])


@dataclass(frozen=True)
class BackupFiles:
    """The complete backups in BACKUP_DIR (what a restore can use), and the folder's size."""

    count: int
    total_bytes: int
    newest: datetime.datetime | None
    oldest: datetime.datetime | None
    folder_bytes: int


def _file_size(path: Path) -> int:
    # Rotation or a finishing backup may remove a file between listing and reading it.
    try:
        return path.stat().st_size if path.is_file() else 0
    except FileNotFoundError:
        return 0


def backup_files() -> BackupFiles:
    backups = list_backups()
    return BackupFiles(
        count=len(backups),
        total_bytes=sum(_file_size(backup.path) for backup in backups),
        newest=backups[0].taken_at if backups else None,
        oldest=backups[-1].taken_at if backups else None,
        folder_bytes=sum(_file_size(path) for path in backup_dir().rglob("*")),
    )


def next_run(schedule_name: str, *, now: datetime.datetime | None = None) -> datetime.datetime:
    """When beat next starts the CELERY_BEAT_SCHEDULE entry `schedule_name` (to the minute)."""
    now = now or timezone.now()
    schedule = settings.CELERY_BEAT_SCHEDULE[schedule_name]["schedule"]
    moment = now + schedule.remaining_estimate(now)
    return (moment + datetime.timedelta(seconds=30)).replace(second=0, microsecond=0)


class OperationRefusedError(Exception):
    """A backup or drill that was not queued; the message says why, translated."""


def _backup_work_running() -> bool:
    """A backup or a drill is queued or running (one silent past its time limit is given up
    first): a second one would only fail on the backup lock (and raise an alert for nothing)."""
    return BACKUP_JOBS.active() is not None or DRILL_JOBS.active() is not None


def _queue(kind: JobKind, queued: Callable[..., BackgroundJob], actor: Any) -> None:
    if _backup_work_running():
        raise OperationRefusedError(
            _("A backup or restore drill is running; start another when it is done.")
        )
    job = queued(actor=actor)
    try:
        # Outside a transaction the message is sent here and now, so a broker that cannot be
        # reached is known before the page answers.
        kind.enqueue(job)
    except (BrokerError, OSError) as error:
        # No message names the job: it would only wait for its time limit.
        job.delete()
        logger.error("could not queue %s: %s", kind.label(), error.__class__.__name__)
        raise OperationRefusedError(
            _(
                "The job queue cannot be reached, so nothing was started. Check that the broker "
                "(Redis) and the worker run, or run the command on the server."
            )
        ) from error


def request_backup(*, actor: Any) -> None:
    """Queue a backup for the worker, started by `actor` (audited by the job when it ends).
    Raises OperationRefusedError while a backup or drill runs, or when the broker cannot be
    reached."""
    _queue(BACKUP_JOBS, queued_backup, actor)


def request_drill(*, actor: Any) -> None:
    """Queue a restore drill of the newest backup for the worker, started by `actor`. Raises
    OperationRefusedError when there is no backup, while a backup or drill runs, or when the
    broker cannot be reached."""
    if not list_backups():
        raise OperationRefusedError(_("There is no backup to restore yet: back up first."))
    _queue(DRILL_JOBS, queued_drill, actor)


# --- workers, broker, jobs --------------------------------------------------------------------


def worker_stale_after() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.WORKER_HEARTBEAT_SECONDS * 3)


@dataclass(frozen=True)
class Worker:
    hostname: str
    seen_at: datetime.datetime
    stale: bool


def workers() -> list[Worker]:
    """Every worker that ever reported, newest first; stale when silent for three beats."""
    return [
        Worker(beat.hostname, beat.seen_at, stale=not worker_alive(beat.seen_at))
        for beat in WorkerHeartbeat.objects.order_by("-seen_at")
    ]


@dataclass(frozen=True)
class BrokerStatus:
    transport: str
    queue: str
    reachable: bool
    waiting: int | None


def broker_status(queue: str | None = None) -> BrokerStatus:
    """The messages waiting in `queue` (the default queue, "celery"): LLEN of its Redis lists,
    or its message files in BROKER_DIR/queue for the filesystem broker (kombu counts both)."""
    queue = queue or celery_app.conf.task_default_queue
    transport = "Redis" if settings.REDIS_URL else _("file system")
    try:
        with celery_app.connection_for_read() as broker:
            broker.ensure_connection(max_retries=1, timeout=2)
            _name, waiting, _consumers = broker.default_channel.queue_declare(queue=queue)
    except (BrokerError, OSError) as error:
        logger.warning("broker unreachable: %s", error.__class__.__name__)
        return BrokerStatus(transport, queue, reachable=False, waiting=None)
    return BrokerStatus(transport, queue, reachable=True, waiting=waiting)


def recent_jobs(*, user: Any, days: int = JOB_DAYS, limit: int = JOBS_SHOWN) -> list[JobRow]:
    """The queued, running and failed jobs of every kind of the last `days` days, newest
    first: the rows the jobs page reads (kernel/jobs/selectors.py), every job whoever started
    it, linked where `user` may follow it."""
    return job_rows(
        user=user,
        statuses=[*BackgroundJob.ACTIVE, JobStatus.FAILED],
        since=timezone.now() - datetime.timedelta(days=days),
        limit=limit,
        every_job=True,
    )


# --- disk and database ------------------------------------------------------------------------


@dataclass
class Disk:
    holds: list[str]
    path: str
    total: int
    free: int
    holds_backups: bool = False
    low: bool = False

    @property
    def used(self) -> int:
        return self.total - self.free

    @property
    def percent_used(self) -> int:
        return round(self.used * 100 / self.total) if self.total else 0


def is_low_on_space(
    *, free: int, total: int, holds_backups: bool, backup_bytes: int | None
) -> bool:
    """Short of space: under LOW_SPACE_SHARE free, or (for the disk holding BACKUP_DIR) room
    for fewer than BACKUPS_THAT_MUST_FIT backups the size of the last one."""
    if total and free < total * LOW_SPACE_SHARE:
        return True
    return bool(holds_backups and backup_bytes and free < BACKUPS_THAT_MUST_FIT * backup_bytes)


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def disks(*, backup_bytes: int | None) -> list[Disk]:
    """The disks holding BACKUP_DIR and VAR_DIR (once when they are the same disk)."""
    found: dict[int, Disk] = {}
    places = [
        (gettext_lazy("Backups"), Path(settings.BACKUP_DIR), True),
        (gettext_lazy("Application data (var)"), Path(settings.VAR_DIR), False),
    ]
    for label, place, holds_backups in places:
        path = _existing(place)
        device = os.stat(path).st_dev
        if device not in found:
            usage = shutil.disk_usage(path)
            found[device] = Disk(holds=[], path=str(place), total=usage.total, free=usage.free)
        disk = found[device]
        disk.holds.append(str(label))
        disk.holds_backups = disk.holds_backups or holds_backups
        disk.low = disk.low or is_low_on_space(
            free=disk.free, total=disk.total, holds_backups=holds_backups, backup_bytes=backup_bytes
        )
    return list(found.values())


@dataclass
class DatabaseSize:
    engine: str
    total_bytes: int | None
    # The largest tables with their indexes (PostgreSQL only: SQLite would read every page).
    largest_tables: list[tuple[str, int]] = field(default_factory=list)


def database_size() -> DatabaseSize:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_database_size(current_database())")
            total = cursor.fetchone()[0]
            cursor.execute(
                "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
                "JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind IN ('r', 'p') AND n.nspname = current_schema() "
                "ORDER BY 2 DESC LIMIT %s",
                [LARGEST_TABLES],
            )
            tables = [(name, size) for name, size in cursor.fetchall()]
        return DatabaseSize("PostgreSQL", total, tables)
    database = Path(str(connection.settings_dict["NAME"]))
    files = [database, database.with_name(database.name + "-wal")]
    total = sum(path.stat().st_size for path in files if path.exists())
    return DatabaseSize("SQLite", total or None)


def _table_bytes(*models: type[Model]) -> dict[str, int | None]:
    tables = [model._meta.db_table for model in models]
    if connection.vendor != "postgresql":
        return dict.fromkeys(tables)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relname, pg_total_relation_size(oid) FROM pg_class "
            "WHERE relname = ANY(%s) AND relkind IN ('r', 'p') "
            "AND relnamespace = current_schema()::regnamespace",
            [tables],
        )
        return dict.fromkeys(tables) | dict(cursor.fetchall())


@dataclass
class InteractionArchive:
    """Interactions in the table staff work in and in the archive, and the last archive run."""

    hot_rows: int
    hot_bytes: int | None
    archive_rows: int
    archive_bytes: int | None
    last_run: ArchiveRun | None


def interaction_archive() -> InteractionArchive:
    sizes = _table_bytes(Interaction, ArchivedInteraction)
    return InteractionArchive(
        hot_rows=estimated_row_count(Interaction),
        hot_bytes=sizes[Interaction._meta.db_table],
        archive_rows=estimated_row_count(ArchivedInteraction),
        archive_bytes=sizes[ArchivedInteraction._meta.db_table],
        last_run=ArchiveRun.objects.order_by("-created_at", "-pk").first(),
    )


# --- for the health endpoint -----------------------------------------------------------------


def database_reachable() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except DatabaseError:
        return False


def broker_reachable() -> bool:
    try:
        with celery_app.connection_for_write() as broker:
            broker.ensure_connection(max_retries=1, timeout=2)
        return True
    except (BrokerError, OSError):
        return False


def last_worker_beat() -> datetime.datetime | None:
    return WorkerHeartbeat.objects.order_by("-seen_at").values_list("seen_at", flat=True).first()


def worker_alive(last_beat: datetime.datetime | None) -> bool:
    """A worker reported within three heartbeats."""
    return last_beat is not None and timezone.now() - last_beat < worker_stale_after()
