"""The scan of a drop folder (the beat runs it every minute): files that have finished arriving
become import jobs, once each; then they leave the folder for processing/, and for processed/
or failed/ when their job is over.

Once each: a file's key is its folder and its checksum (DropFile's unique constraint), written
in the transaction that creates and queues its import job. A rescan, a retried task or two
beats at once find the key and import nothing; the file's content, not its name, is the key,
so a POS that writes `export.csv` every day has each day's file imported, and a file copied in
twice is imported once. Files move only after that transaction commits: a scan that dies
between the two leaves the file in the folder, and the next scan, finding its key, moves it on.

A file still being copied is never taken: it must have had the same size and modification time
at two scans in a row, or have a `<name>.done` marker beside it."""

from __future__ import annotations

import datetime
import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from customers.imports import jobs
from customers.models import DateOrder, ImportJob, UpdatePolicy
from dropfolders import paths
from dropfolders.models import DropFile, DropFolder, FolderProblem
from kernel.free_text import mark_unreadable
from kernel.models import JobStatus

logger = logging.getLogger(__name__)

_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Taken:
    """A file of the folder whose key a scan found or recorded, to be moved on after commit."""

    source: Path
    drop: DropFile
    # A copy of a file imported earlier (its key recorded and the first copy moved away).
    repeat: bool = False
    # Its key recorded (and its import queued) by this scan.
    new: bool = False


def scan_all() -> int:
    """Scan every active folder; returns how many files became imports."""
    return sum(
        scan_folder(pk)
        for pk in DropFolder.objects.filter(is_active=True).values_list("pk", flat=True)
    )


def scan_folder(folder_id: int) -> int:
    """One scan of one folder: take the files that finished arriving, move them on, settle
    those whose import is over and delete what was kept past DROP_FOLDER_KEEP_DAYS. Returns
    how many files became imports."""
    taken = _take_complete_files(folder_id)
    folder = DropFolder.objects.get(pk=folder_id)
    directory = paths.resolve(folder.path)
    for item in taken:
        _move_in(directory, item)
    if folder.problem:
        return 0
    _settle(folder, directory)
    _forget_kept_files(folder, directory)
    return sum(1 for item in taken if item.new)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _folder_problem(directory: Path) -> str:
    if not paths.is_allowed(directory):
        return FolderProblem.OUTSIDE
    if not directory.is_dir():
        return FolderProblem.MISSING
    try:
        for name in paths.WORK_FOLDERS:
            (directory / name).mkdir(exist_ok=True)
    except OSError:
        return FolderProblem.UNREADABLE
    return FolderProblem.NONE


def _take_complete_files(folder_id: int) -> list[Taken]:
    """Under the folder's row lock (a second scan at the same moment skips the folder): note
    what is in it, and record the key of every complete file, creating and queueing its import
    job in the same transaction."""
    with transaction.atomic():
        folder = (
            DropFolder.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("run_as", "owner", "template")
            .filter(pk=folder_id, is_active=True)
            .first()
        )
        if folder is None:
            return []
        now = timezone.now()
        folder.last_scan_at = now
        directory = paths.resolve(folder.path)
        folder.problem = _folder_problem(directory)
        if folder.problem:
            folder.save(update_fields=["last_scan_at", "problem"])
            return []
        try:
            found, marked = paths.arrivals(directory)
        except OSError:
            folder.problem = FolderProblem.UNREADABLE
            folder.save(update_fields=["last_scan_at", "problem"])
            return []
        taken, sightings = [], {}
        for arrival in found:
            seen = folder.sightings.get(arrival.label)
            if paths.is_complete(arrival, marked=marked, seen_before=seen):
                item = _take(folder, directory / arrival.name, arrival)
                if item is not None:
                    taken.append(item)
                    continue
            sightings[arrival.label] = {
                "size": arrival.size,
                "mtime_ns": arrival.mtime_ns,
                "since": seen["since"] if seen else now.isoformat(),
            }
        folder.sightings = sightings
        folder.waiting = len(sightings)
        folder.oldest_waiting_at = (
            min(datetime.datetime.fromisoformat(seen["since"]) for seen in sightings.values())
            if sightings
            else None
        )
        folder.save(
            update_fields=["last_scan_at", "problem", "sightings", "waiting", "oldest_waiting_at"]
        )
        return taken


def _take(folder: DropFolder, path: Path, arrival: paths.Arrival) -> Taken | None:
    try:
        checksum = _sha256(path)
    except OSError:
        # Gone or locked since the listing (another scan moved it): the next scan decides.
        return None
    known = DropFile.objects.filter(folder=folder, checksum=checksum).first()
    if known is not None:
        return Taken(path, known, repeat=bool(known.stored_as or known.settled_at))
    drop = DropFile.objects.create(
        folder=folder, file_name=arrival.label[:255], checksum=checksum, size=arrival.size
    )
    _start_import(folder, drop, path)
    drop.save(update_fields=["job", "refusal"])
    return Taken(path, drop, new=True)


def _start_import(folder: DropFolder, drop: DropFile, path: Path) -> None:
    """The file through the import wizard's own steps (upload checks, mapping, start), as the
    folder's import user; a refusal is kept on `drop` (and a job whose mapping was refused
    stays a draft that someone can map by hand)."""
    actor = folder.run_as
    try:
        with path.open("rb") as handle:
            upload = UploadedFile(handle, name=path.name, size=drop.size)
            drop.job = jobs.create_import(actor=actor, kind=folder.kind, upload=upload)
        job = drop.job
        mapping, options = job.mapping, {}
        if folder.template is not None:
            mapping = jobs.apply_template(job, folder.template)
            options = folder.template.options
        jobs.configure_import(
            actor=actor,
            job=job,
            mapping=mapping,
            source_name=folder.source_name or options.get("source_name") or job.source_name,
            source_channel=folder.source_channel,
            policy=options.get("policy", UpdatePolicy.FILL),
            date_order=options.get("date_order", DateOrder.UNSAID),
            owner=folder.owner,
        )
        jobs.start_import(actor=actor, job=job)
    except ValidationError as refused:
        drop.refusal = " ".join(refused.messages)[:500]
    except PermissionDenied:
        drop.refusal = _("The folder's import user may not import.")


def _move(directory: Path, source: Path, to: str) -> str | None:
    """Move a file into one of the folder's work folders under a name not taken there (and
    one the database can hold); its path relative to the folder, or None when it was gone
    (another scan moved it)."""
    target = paths.free_name(directory / to, mark_unreadable(source.name))
    try:
        source.rename(target)
    except FileNotFoundError:
        return None
    return str(target.relative_to(directory))


def _move_in(directory: Path, item: Taken) -> None:
    source = item.source
    (directory / (source.name + paths.DONE_MARKER)).unlink(missing_ok=True)
    if item.repeat:
        _move(directory, source, paths.PROCESSED)
        return
    stored_as = _move(directory, source, paths.PROCESSING)
    if stored_as is not None:
        DropFile.objects.filter(pk=item.drop.pk).update(stored_as=stored_as)


def _settle(folder: DropFolder, directory: Path) -> None:
    """Files whose import is over (or never started) go to processed/, or to failed/ with a
    note that links to the import's page and says why."""
    waiting = DropFile.objects.filter(
        folder=folder, settled_at__isnull=True, stored_as__startswith=paths.PROCESSING + "/"
    ).select_related("job")
    for drop in waiting:
        job = drop.job
        if not drop.refusal and (job is None or job.status not in ImportJob.FINISHED):
            continue
        # Claimed by a conditional update: of two scans at once, one moves the file.
        if not DropFile.objects.filter(pk=drop.pk, settled_at__isnull=True).update(
            settled_at=timezone.now()
        ):
            continue
        succeeded = not drop.refusal and job.status == JobStatus.DONE and not job.rows_failed
        to = paths.PROCESSED if succeeded else paths.FAILED
        stored_as = _move(directory, directory / drop.stored_as, to)
        if stored_as is None:
            continue
        DropFile.objects.filter(pk=drop.pk).update(stored_as=stored_as)
        if not succeeded:
            note = directory / (stored_as + ".txt")
            note.write_text(failure_note(drop), encoding="utf-8")


def failure_note(drop: DropFile) -> str:
    """What the note beside a failed file says: why, and the import's page (no file content:
    the page and its error report show the rows, to those allowed to see them)."""
    job = drop.job
    with translation.override(job.language if job else settings.LANGUAGE_CODE):
        lines = [_("%(file)s was not imported in full.") % {"file": drop.file_name}]
        if drop.refusal:
            lines.append(drop.refusal)
        elif job.failure:
            lines.append(job.failure)
        elif job.rows_failed:
            lines.append(
                _("%(failed)s of %(rows)s rows had errors; the others were imported.")
                % {"failed": job.rows_failed, "rows": job.rows_total}
            )
        if job is not None:
            lines.append(
                _("The import and its error report: %(url)s")
                % {"url": settings.SITE_URL + reverse("imports:detail", args=[job.pk])}
            )
        return "\n".join(lines) + "\n"


def _forget_kept_files(folder: DropFolder, directory: Path) -> None:
    """Processed and failed files hold personal data: deleted DROP_FOLDER_KEEP_DAYS after they
    were settled (the import keeps what it wrote, the job its report)."""
    cutoff = timezone.now() - datetime.timedelta(days=settings.DROP_FOLDER_KEEP_DAYS)
    old = DropFile.objects.filter(folder=folder, settled_at__lt=cutoff).exclude(stored_as="")
    for drop in old:
        for kept in (directory / drop.stored_as, directory / (drop.stored_as + ".txt")):
            kept.unlink(missing_ok=True)
        DropFile.objects.filter(pk=drop.pk).update(stored_as="")
