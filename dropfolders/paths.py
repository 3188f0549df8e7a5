"""Where a drop folder is on disk, and which of its files have finished arriving.

An administrator names a folder from a web page, and the worker then reads every file in it
and moves it away: so a folder is either a name under DROP_FOLDER_ROOT or an absolute path
under one of the roots the server's operator listed in DROP_FOLDER_ALLOWED_ROOTS, never any
path the web page is given (/etc, the media folder, another folder's files)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from kernel.free_text import mark_unreadable

# What the scanner makes inside each folder; files there are never taken again.
PROCESSING, PROCESSED, FAILED = "processing", "processed", "failed"
WORK_FOLDERS = (PROCESSING, PROCESSED, FAILED)
# An empty file beside a data file ("orders.csv.done") says the data file is complete.
DONE_MARKER = ".done"
# Files copy tools and office programs write while a file is still being written or open.
_PARTIAL = re.compile(r"^(\.|~\$)|\.(tmp|part|partial|crdownload|filepart|swp)$", re.IGNORECASE)
_NAME = re.compile(r"^[\w.-]+$")


def allowed_roots() -> list[Path]:
    return [Path(settings.DROP_FOLDER_ROOT).resolve()] + [
        Path(root).resolve() for root in settings.DROP_FOLDER_ALLOWED_ROOTS
    ]


def resolve(path: str) -> Path:
    """The folder's absolute path: a plain name under DROP_FOLDER_ROOT, else the path given."""
    given = Path(path)
    if given.is_absolute():
        return given.resolve()
    return (Path(settings.DROP_FOLDER_ROOT) / given).resolve()


def is_allowed(folder: Path) -> bool:
    return any(folder != root and folder.is_relative_to(root) for root in allowed_roots())


def check_path(path: str) -> str:
    """The path as stored, or ValidationError saying why a folder may not be there."""
    path = path.strip()
    if not Path(path).is_absolute() and not _NAME.match(path):
        raise ValidationError(
            _("Give a name of letters, digits, dots, dashes or underscores, or an absolute path.")
        )
    if not is_allowed(resolve(path)):
        raise ValidationError(
            _("Drop folders may only be inside %(roots)s.")
            % {"roots": ", ".join(str(root) for root in allowed_roots())}
        )
    return path


@dataclass(frozen=True)
class Arrival:
    """A file as one scan saw it."""

    name: str
    size: int
    mtime_ns: int

    @property
    def label(self) -> str:
        """The name as the database can hold it: a name whose bytes are not UTF-8 (a Windows
        share writing GBK names) reaches Python with lone surrogates, shown as U+FFFD."""
        return mark_unreadable(self.name)


def arrivals(folder: Path) -> tuple[list[Arrival], set[str]]:
    """The regular files directly in the folder that may be data (not partial files, markers,
    links or the scanner's own folders), and the names that have a .done marker."""
    found, marked = [], set()
    for entry in folder.iterdir():
        if entry.name.endswith(DONE_MARKER):
            marked.add(entry.name.removesuffix(DONE_MARKER))
            continue
        if entry.is_symlink() or not entry.is_file() or _PARTIAL.search(entry.name):
            continue
        stat = entry.stat()
        found.append(Arrival(entry.name, stat.st_size, stat.st_mtime_ns))
    return found, marked


def is_complete(arrival: Arrival, *, marked: set[str], seen_before: dict | None) -> bool:
    """A file has finished arriving when a .done marker says so, or when it had the same size
    and modification time at the previous scan (`seen_before`: a copy still running changes
    them)."""
    if arrival.name in marked:
        return True
    return (
        arrival.size > 0
        and seen_before is not None
        and (seen_before["size"], seen_before["mtime_ns"]) == (arrival.size, arrival.mtime_ns)
    )


def free_name(directory: Path, name: str) -> Path:
    """A path in `directory` for `name` that no file holds yet ("a.csv", "a (2).csv", ...)."""
    candidate = directory / name
    stem, suffix = Path(name).stem, Path(name).suffix
    number = 1
    while candidate.exists():
        number += 1
        candidate = directory / f"{stem} ({number}){suffix}"
    return candidate
