"""Copying files into a drop folder the way a POS does, scanning, and running the imports
the scans queue through the job runner, as the import tests do."""

from __future__ import annotations

import os
from pathlib import Path

from customers.imports import jobs
from customers.models import ImportJob
from dropfolders import scan
from dropfolders.models import DropFolder
from dropfolders.paths import resolve


def drop(folder: DropFolder, name: str, content: bytes) -> Path:
    """Copy a file into the folder, dated a moment ago (so a rewrite changes its time)."""
    path = resolve(folder.path) / name
    path.write_bytes(content)
    return path


def touch_later(path: Path) -> None:
    """A copy still running: the file's time moves on."""
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def run_queued_imports() -> list[ImportJob]:
    """What the worker does with the jobs the scans queued."""
    queued = list(ImportJob.objects.filter(status="queued").order_by("pk"))
    for job in queued:
        jobs.IMPORT_JOBS.run(job.pk)
        job.refresh_from_db()
    return queued


def scan_twice(folder: DropFolder) -> int:
    """Two scans a minute apart: a file that did not change between them is complete."""
    return scan.scan_folder(folder.pk) + scan.scan_folder(folder.pk)
