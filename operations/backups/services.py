"""Backups, their verification, restores, restore drills and rotation.

A backup is one file in BACKUP_DIR, ``crm-<UTC time>.backup``, and its sidecar
``crm-<UTC time>.json`` (the file's SHA-256 and size and the manifest, readable without the
key). The file is an encrypted tar (container.py) of ``manifest.json`` and the database dump
(engines.py). Both are written as ``*.partial`` and renamed only when complete and flushed to
disk, the backup file last: a worker killed half-way leaves a ``.partial`` that nothing counts
as a backup, and the next backup (or rotation) removes it.

One backup, restore or drill runs at a time on a machine (a lock file in BACKUP_DIR).

Backups and drills are jobs of the runner (kernel/jobs/runner.py: BackupJobKind,
RestoreDrillKind, which own their BackupRun / RestoreDrill rows); a restore is an operator's
action on a database (manage.py restore), not a job.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import io
import json
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kernel.actors import Actor
from kernel.jobs.runner import JobFailedError, JobKind, JobRun
from kernel.models import JobStatus
from operations.audit import BackupAction
from operations.backups.container import (
    BackupFileError,
    DecryptingReader,
    EncryptingWriter,
    file_sha256,
)
from operations.backups.engines import (
    DATABASE_ERRORS,
    DUMP_MEMBER,
    SQLITE_MEMBER,
    BackupError,
    Target,
    engine_for,
)
from operations.backups.manifest import Manifest, Mismatch, compare
from operations.backups.rotation import backups_to_keep
from operations.models import BackupRun, RestoreDrill
from privacy.alerts import raise_alert
from privacy.audit.recording import record_event
from privacy.models import AlertKind

logger = logging.getLogger(__name__)

BACKUP_SUFFIX = ".backup"
SIDECAR_SUFFIX = ".json"
PARTIAL_SUFFIX = ".partial"
MANIFEST_MEMBER = "manifest.json"
DATA_MEMBERS = (DUMP_MEMBER, SQLITE_MEMBER)
NAME_FORMAT = "crm-%Y%m%dT%H%M%SZ"


# --- files ------------------------------------------------------------------------------------


def backup_dir() -> Path:
    folder = Path(settings.BACKUP_DIR)
    # Only the account that runs the application reads backups (they are encrypted too).
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def _create_private(path: Path) -> BinaryIO:
    """A new file only its owner can read; fails if it exists."""
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb")


def _work_dir() -> Path:
    folder = backup_dir() / ".work"
    folder.mkdir(exist_ok=True)
    return folder


@dataclass(frozen=True)
class BackupFile:
    path: Path
    taken_at: datetime.datetime

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def sidecar(self) -> Path:
        return self.path.with_suffix(SIDECAR_SUFFIX)


def _taken_at(path: Path) -> datetime.datetime | None:
    try:
        moment = datetime.datetime.strptime(path.stem, NAME_FORMAT)
    except ValueError:
        return None
    return moment.replace(tzinfo=datetime.UTC)


def list_backups() -> list[BackupFile]:
    """The complete backups in BACKUP_DIR, newest first (``.partial`` files never count)."""
    found = []
    for path in backup_dir().glob(f"crm-*{BACKUP_SUFFIX}"):
        taken_at = _taken_at(path)
        if taken_at is not None:
            found.append(BackupFile(path, taken_at))
    return sorted(found, key=lambda backup: backup.taken_at, reverse=True)


@contextlib.contextmanager
def _exclusive() -> Iterator[None]:
    with open(backup_dir() / ".lock", "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupError(
                _("Another backup, restore or drill is running; try again when it is done.")
            ) from None
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _fsync_dir(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _write_durably(path: Path, data: bytes) -> None:
    partial = path.with_name(path.name + PARTIAL_SUFFIX)
    partial.unlink(missing_ok=True)
    with _create_private(partial) as sink:
        sink.write(data)
        sink.flush()
        os.fsync(sink.fileno())
    os.replace(partial, path)


# --- backup ---------------------------------------------------------------------------------


class BackupJobKind(JobKind[BackupRun]):
    """A backup: dump the live database into a new backup file, then apply rotation. A failure
    raises an alert. One backup, restore or drill at a time (the lock file is the guard; the
    status page refuses a second one before queueing it). A backup whose worker died is failed,
    not started again: restarted hours later it would run into the day's work, and the next
    night's backup takes over."""

    model = BackupRun
    audit_prefix = "backup"
    seen_with = ("operations.view_operations",)
    followed_at = "operations:status"
    resumes_after_worker_loss = False
    # A backup still active after this long lost its worker, or never found one.
    time_limit = datetime.timedelta(minutes=settings.BACKUP_TIMEOUT_MINUTES)
    given_up_reason = gettext_lazy("Interrupted: its worker stopped before it finished.")

    def work(self, run: JobRun[BackupRun]) -> None:
        backup = run.job
        live = Target.live()
        started = time.monotonic()
        try:
            with _exclusive():
                with tempfile.TemporaryDirectory(dir=_work_dir()) as work:
                    files, manifest = engine_for(live).dump(live, Path(work))
                    manifest.backup_run = backup.pk
                    path, sidecar = _write_backup(files, manifest)
                deleted = _rotate(now=timezone.now())
        except (BackupError, BackupFileError, OSError, *DATABASE_ERRORS) as error:
            raise JobFailedError(failure_message(error)) from error
        backup.file_name = path.name
        backup.size_bytes = sidecar["size"]
        backup.sha256 = sidecar["sha256"]
        backup.tables = len(manifest.tables)
        backup.rows = manifest.rows
        backup.seconds = time.monotonic() - started
        logger.info(
            "backup %s written: %s bytes in %.1f s", path.name, backup.size_bytes, backup.seconds
        )
        _mark_deleted(deleted)

    def audit_changes(self, job: BackupRun) -> dict[str, Any]:
        if job.status != JobStatus.DONE:
            return {}
        return {"file": job.file_name, "bytes": job.size_bytes, "rows": job.rows}

    def finishing(self, job: BackupRun, status: str) -> None:
        if status == JobStatus.FAILED:
            logger.error("backup %s failed: %s", job.pk, job.failure)
            raise_alert(kind=AlertKind.BACKUP, params={"failure": job.failure[:500]})


BACKUP_JOBS = BackupJobKind()


def queued_backup(*, actor: Actor | None = None) -> BackupRun:
    """A backup waiting for its run (`actor` None: the schedule's or a command's)."""
    return BackupRun.objects.create(
        engine=engine_for(Target.live()).name, created_by=actor, status=JobStatus.QUEUED
    )


def create_backup(*, actor: Actor | None = None) -> BackupRun:
    """A backup now, in this process (commands, seed data, benchmarks): the finished BackupRun,
    DONE or FAILED with its reason."""
    backup = queued_backup(actor=actor)
    return BACKUP_JOBS.run_here(backup)


def failure_message(error: Exception) -> str:
    """Ours are translated already; a file system error names its cause (a full disk, a
    missing permission); a database error only its class, since its text may quote values."""
    if isinstance(error, BackupError | BackupFileError):
        return str(error)
    if isinstance(error, OSError):
        return _("A file could not be written or read: %(reason)s") % {
            "reason": error.strerror or error.__class__.__name__
        }
    return _("The database refused a step (%(error)s).") % {"error": error.__class__.__name__}


def _write_backup(files: list[Path], manifest: Manifest) -> tuple[Path, dict]:
    folder = backup_dir()
    path = folder / f"{timezone.now().strftime(NAME_FORMAT)}{BACKUP_SUFFIX}"
    while path.exists():  # a backup taken within the same second: names are per second
        time.sleep(0.1)
        path = folder / f"{timezone.now().strftime(NAME_FORMAT)}{BACKUP_SUFFIX}"
    partial = path.with_name(path.name + PARTIAL_SUFFIX)
    manifest_bytes = manifest.to_json().encode()
    with _create_private(partial) as sink:
        writer = EncryptingWriter(
            sink, extra_header={"engine": manifest.engine, "created_at": manifest.created_at}
        )
        # The ignored call-overload: typeshed asks tarfile for a seekable file object, which the
        # stream modes ("w|", "r|") never seek.
        with tarfile.open(fileobj=writer, mode="w|", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
            info = tarfile.TarInfo(MANIFEST_MEMBER)
            info.size = len(manifest_bytes)
            tar.addfile(info, io.BytesIO(manifest_bytes))
            for data in files:
                tar.add(data, arcname=data.name, recursive=False)
        writer.close()
        sink.flush()
        os.fsync(sink.fileno())
    sidecar = {
        "file": path.name,
        "sha256": writer.sha256.hexdigest(),
        "size": writer.size,
        "manifest": json.loads(manifest_bytes),
    }
    _write_durably(path.with_suffix(SIDECAR_SUFFIX), json.dumps(sidecar, indent=1).encode())
    # Last: from here on the backup exists.
    os.replace(partial, path)
    _fsync_dir(folder)
    return path, sidecar


# --- verification and unpacking ---------------------------------------------------------------


@dataclass
class Verification:
    path: Path
    manifest: Manifest | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _unpack(path: Path, work: Path) -> tuple[Manifest, dict[str, Path]]:
    """Decrypt and unpack a backup into `work`: its manifest and data files. Every chunk is
    authenticated, and the end of the file must be there."""
    files: dict[str, Path] = {}
    manifest = None
    with open(path, "rb") as source:
        reader = DecryptingReader(source)
        try:
            # The ignored call-overload: a stream mode, never seeking (see the writing above).
            with tarfile.open(fileobj=reader, mode="r|") as tar:  # type: ignore[call-overload]
                for member in tar:
                    if not member.isfile():
                        raise BackupFileError(_("The backup holds something unexpected."))
                    extracted = tar.extractfile(member)
                    if member.name == MANIFEST_MEMBER:
                        manifest = Manifest.from_json(extracted.read())
                    elif member.name in DATA_MEMBERS:
                        files[member.name] = work / member.name
                        with open(files[member.name], "wb") as sink:
                            while block := extracted.read(1024 * 1024):
                                sink.write(block)
                    else:
                        raise BackupFileError(_("The backup holds something unexpected."))
        except tarfile.TarError as error:
            raise BackupFileError(_("The backup's contents are damaged.")) from error
        reader.drain()
    if manifest is None or not files:
        raise BackupFileError(_("The backup is incomplete: its manifest or data is missing."))
    return manifest, files


def _resolve(path: Path | str) -> Path:
    path = Path(path)
    if path.name.endswith(PARTIAL_SUFFIX):
        raise BackupFileError(
            _("This file was never finished (its writer stopped): it is not a backup.")
        )
    if not path.is_file():
        raise BackupFileError(_("There is no backup file at this path."))
    return path


def verify_backup(path: Path | str) -> Verification:
    """Check a backup without restoring it: the checksum and size in its sidecar, every
    encrypted chunk and the end of the file, the manifest inside against the sidecar's, and
    the dump itself (PostgreSQL: its table of contents; SQLite: the compressed copy)."""
    report = Verification(Path(path))
    try:
        path = _resolve(path)
    except BackupFileError as error:
        report.problems.append(str(error))
        return report
    sidecar = _read_sidecar(path)
    if sidecar is None:
        report.problems.append(
            _("The checksum file (%(name)s) is missing.")
            % {"name": path.with_suffix(SIDECAR_SUFFIX).name}
        )
    else:
        if path.stat().st_size != sidecar.get("size"):
            report.problems.append(_("The file's size differs from the size recorded."))
        if file_sha256(path) != sidecar.get("sha256"):
            report.problems.append(_("The file's SHA-256 checksum differs from the one recorded."))
    try:
        with tempfile.TemporaryDirectory(dir=_work_dir()) as work:
            manifest, files = _unpack(path, Path(work))
            engine_for(Target(engine=manifest.engine, name="")).check_dump(files)
    except (BackupFileError, BackupError) as error:
        report.problems.append(str(error))
        return report
    report.manifest = manifest
    if sidecar is not None and sidecar.get("manifest") != json.loads(manifest.to_json()):
        report.problems.append(_("The manifest inside the backup differs from the recorded one."))
    return report


def _read_sidecar(path: Path) -> dict[str, Any] | None:
    try:
        sidecar: dict[str, Any] = json.loads(path.with_suffix(SIDECAR_SUFFIX).read_text())
        return sidecar
    except (OSError, ValueError):
        return None


# --- restore ----------------------------------------------------------------------------------


@dataclass
class Restore:
    target: Target
    manifest: Manifest
    seconds: float
    kept_as: str = ""


def _restore_verified(path: Path, scratch: Target) -> tuple[Manifest, list[Mismatch]]:
    """Restore `path` into `scratch` (dropped first if a former attempt left it) and compare
    every table with the manifest."""
    engine = engine_for(scratch)
    with tempfile.TemporaryDirectory(dir=_work_dir()) as work:
        manifest, files = _unpack(path, Path(work))
        if manifest.engine != scratch.engine:
            raise BackupError(
                _("This is a %(engine)s backup; it cannot be restored into %(target)s.")
                % {"engine": manifest.engine, "target": scratch.engine}
            )
        engine.drop(scratch)
        engine.restore(manifest, files, scratch)
    return manifest, compare(manifest.tables, engine.summarise(scratch))


def restore_backup(
    path: Path | str,
    *,
    into: str | None = None,
    overwrite: bool = False,
    overwrite_live: bool = False,
    actor: Actor | None = None,
) -> Restore:
    """Restore a backup into `into` (a database name or URL, or an SQLite path; the live
    database when None). The backup goes into a scratch database first and is compared table by
    table with its manifest; only then does it take the target's place. The live database is
    never overwritten without `overwrite_live` (and is then kept under another name), another
    database holding tables not without `overwrite`."""
    path = _resolve(path)
    live = Target.live()
    target = live.elsewhere(into) if into else live
    engine = engine_for(target)
    is_live = target.same_database(live)
    if is_live and not overwrite_live:
        raise BackupError(
            _(
                "This would overwrite the live database %(name)s. Restore into another database "
                "with --into, or stop the application and pass --overwrite-live."
            )
            % {"name": target.describe()}
        )
    if not is_live and engine.exists(target) and not engine.is_empty(target) and not overwrite:
        raise BackupError(
            _("%(name)s already holds tables; pass --overwrite to replace it.")
            % {"name": target.describe()}
        )
    started = time.monotonic()
    with _exclusive():
        scratch = engine.scratch(target, "restoring")
        try:
            manifest, mismatches = _restore_verified(path, scratch)
        except Exception:
            engine.drop(scratch)
            raise
        if mismatches:
            engine.drop(scratch)
            raise BackupError(
                _(
                    "The restored copy differs from the backup's manifest in %(count)s tables: "
                    "%(tables)s."
                )
                % {"count": len(mismatches), "tables": ", ".join(m.table for m in mismatches[:10])}
            )
        kept_as = ""
        if is_live:
            stamp = timezone.now().strftime("%Y%m%d%H%M%S")
            kept_as = (
                f"{target.name}.before-restore-{stamp}"
                if target.engine == "sqlite"
                else f"{target.name[:40]}_before_restore_{stamp}"
            )
            engine.swap_in(scratch, target, keep_as=kept_as)
        else:
            engine.replace(scratch, target)
    seconds = time.monotonic() - started
    if is_live:
        _settle_restored_live(path, manifest, actor=actor, kept_as=kept_as)
    logger.info("backup %s restored into %s in %.1f s", path.name, target.describe(), seconds)
    return Restore(target=target, manifest=manifest, seconds=seconds, kept_as=kept_as)


def _settle_restored_live(
    path: Path, manifest: Manifest, *, actor: Actor | None, kept_as: str
) -> None:
    """In the restored live database: the backup that produced it was still running when its
    snapshot was taken; mark it done from its sidecar, and audit the restore."""
    sidecar = _read_sidecar(path) or {}
    if manifest.backup_run is not None:
        BackupRun.objects.filter(pk=manifest.backup_run, status=JobStatus.RUNNING).update(
            status=JobStatus.DONE,
            file_name=path.name,
            size_bytes=sidecar.get("size"),
            sha256=sidecar.get("sha256", ""),
            tables=len(manifest.tables),
            rows=manifest.rows,
        )
    record_event(
        actor=actor if getattr(actor, "pk", None) else None,
        action=BackupAction.RESTORE,
        changes={"file": path.name, "taken_at": manifest.created_at, "previous": kept_as},
    )


# --- drills -----------------------------------------------------------------------------------


def _database_url(target: Target) -> str:
    if target.engine == "sqlite":
        return f"sqlite:///{target.name}"
    credentials = quote(target.user or "postgres", safe="")
    if target.password:
        credentials += ":" + quote(target.password, safe="")
    return (
        f"postgres://{credentials}@{target.host or 'localhost'}:{target.port or 5432}/"
        f"{quote(target.name, safe='')}"
    )


def _migrations_current(target: Target) -> bool:
    """`manage.py migrate --check` against `target`: True when every migration of this code
    is applied there (a restored database this code can run on as it is)."""
    result = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--check", "--no-input", "-v", "0"],
        cwd=settings.BASE_DIR,
        env={**os.environ, "DATABASE_URL": _database_url(target)},
        capture_output=True,
        check=False,
    )
    return result.returncode == 0


class RestoreDrillKind(JobKind[RestoreDrill]):
    """A drill: restore the newest backup into a scratch database, compare every table with its
    manifest, run `migrate --check` on it, time it, drop it. A failed drill raises an alert.
    Like a backup, one at a time, and failed rather than started again when its worker dies."""

    model = RestoreDrill
    audit_prefix = "backup.drill"
    seen_with = ("operations.view_operations",)
    followed_at = "operations:status"
    resumes_after_worker_loss = False
    time_limit = BackupJobKind.time_limit
    given_up_reason = BackupJobKind.given_up_reason

    def work(self, run: JobRun[RestoreDrill]) -> None:
        drill = run.job
        live = Target.live()
        engine = engine_for(live)
        backups = list_backups()
        drill.backup_file = backups[0].name if backups else ""
        scratch = engine.scratch(live, "drill")
        failure = ""
        try:
            if not backups:
                raise BackupError(_("There is no backup to restore."))
            started = time.monotonic()
            with _exclusive():
                manifest, mismatches = _restore_verified(backups[0].path, scratch)
                drill.restore_seconds = time.monotonic() - started
                drill.tables_compared = len(manifest.tables)
                drill.rows_compared = manifest.rows
                drill.mismatches = [mismatch.as_dict() for mismatch in mismatches]
                drill.migrations_ok = _migrations_current(scratch)
            if mismatches:
                failure = _("%(count)s tables differ from the backup's manifest.") % {
                    "count": len(mismatches)
                }
            elif not drill.migrations_ok:
                failure = _(
                    "The restored database lacks migrations of the running code (migrate --check)."
                )
        except (BackupError, BackupFileError, OSError, *DATABASE_ERRORS) as error:
            failure = failure_message(error)
        finally:
            try:
                engine.drop(scratch)
            except (OSError, *DATABASE_ERRORS) as error:
                logger.error(
                    "could not drop the drill's scratch database: %s", error.__class__.__name__
                )
        if failure:
            raise JobFailedError(failure)
        logger.info(
            "restore drill of %s passed: %s tables in %.1f s",
            drill.backup_file,
            drill.tables_compared,
            drill.restore_seconds,
        )

    def audit_changes(self, job: RestoreDrill) -> dict[str, Any]:
        return {"backup": job.backup_file, "tables": job.tables_compared}

    def finishing(self, job: RestoreDrill, status: str) -> None:
        if status == JobStatus.FAILED:
            logger.error("restore drill %s failed: %s", job.pk, job.failure)
            raise_alert(
                kind=AlertKind.RESTORE_DRILL,
                params={"backup": job.backup_file, "failure": job.failure[:500]},
            )


DRILL_JOBS = RestoreDrillKind()


def queued_drill(*, actor: Actor | None = None) -> RestoreDrill:
    """A restore drill waiting for its run (`actor` None: the schedule's or a command's)."""
    return RestoreDrill.objects.create(created_by=actor, status=JobStatus.QUEUED)


def run_drill(*, actor: Actor | None = None) -> RestoreDrill:
    """A restore drill now, in this process (commands, seed data, benchmarks): the finished
    RestoreDrill, DONE or FAILED with its reason."""
    drill = queued_drill(actor=actor)
    return DRILL_JOBS.run_here(drill)


# --- rotation ---------------------------------------------------------------------------------


def rotate_backups() -> list[str]:
    """Delete the backups rotation does not keep (BACKUP_KEEP_DAILY/WEEKLY/MONTHLY) with their
    sidecars, and what killed workers left behind. Returns the deleted backups' names."""
    with _exclusive():
        deleted = _rotate(now=timezone.now())
    _mark_deleted(deleted)
    return deleted


def _rotate(*, now: datetime.datetime) -> list[str]:
    # Holding the lock: no backup, restore or drill runs on this machine, so every .partial
    # file, sidecar without its backup and work folder is a leftover of a dead process.
    backups = list_backups()
    kept = backups_to_keep(
        [backup.taken_at for backup in backups],
        daily=settings.BACKUP_KEEP_DAILY,
        weekly=settings.BACKUP_KEEP_WEEKLY,
        monthly=settings.BACKUP_KEEP_MONTHLY,
        time_zone=settings.TIME_ZONE,
    )
    deleted = []
    for backup in backups:
        if backup.taken_at not in kept:
            backup.path.unlink(missing_ok=True)
            backup.sidecar.unlink(missing_ok=True)
            deleted.append(backup.name)
    folder = backup_dir()
    for partial in folder.glob(f"*{PARTIAL_SUFFIX}"):
        partial.unlink(missing_ok=True)
    for sidecar in folder.glob(f"crm-*{SIDECAR_SUFFIX}"):
        if not sidecar.with_suffix(BACKUP_SUFFIX).exists():
            sidecar.unlink(missing_ok=True)
    for leftover in _work_dir().iterdir():
        shutil.rmtree(leftover, ignore_errors=True)
    if deleted:
        logger.info("rotation deleted %s backups", len(deleted))
    return deleted


def _mark_deleted(names: list[str]) -> None:
    if names:
        BackupRun.objects.filter(file_name__in=names, deleted_at__isnull=True).update(
            deleted_at=timezone.now()
        )


# --- status -----------------------------------------------------------------------------------


def last_good_backup() -> BackupRun | None:
    return BackupRun.objects.filter(status=JobStatus.DONE).order_by("-finished_at").first()


def backup_age(now: datetime.datetime | None = None) -> datetime.timedelta | None:
    last = last_good_backup()
    if last is None or last.finished_at is None:
        return None
    return (now or timezone.now()) - last.finished_at
