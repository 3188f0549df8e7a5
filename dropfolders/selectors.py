"""The reads of the drop folder pages and of the operations page's connections."""

from __future__ import annotations

import datetime
from collections.abc import Iterator

from django.contrib.auth import get_user_model
from django.db.models import Count, Max, Q, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from dropfolders.models import DropFile, DropFolder, FolderProblem
from kernel.models import JobStatus
from operations.connections import ConnectionHealth

RECENT_FILES = 50


def folders() -> QuerySet[DropFolder]:
    """Every folder, by name, with what its list shows."""
    return DropFolder.objects.select_related("run_as", "template").order_by("name", "pk")


def recent_files(folder: DropFolder) -> list[DropFile]:
    """The folder's newest files, with their import jobs."""
    return list(folder.files.select_related("job").order_by("-taken_at", "-pk")[:RECENT_FILES])


def import_users() -> QuerySet:
    """Users a folder may import as: active, with the right to import."""
    return (
        get_user_model()
        .objects.with_perm(
            "customers.import_customers", backend="django.contrib.auth.backends.ModelBackend"
        )
        .filter(is_active=True)
        .order_by("username")
    )


# A file's import went wrong: refused, failed or cancelled, or some of its rows had errors.
_WENT_WRONG = (
    ~Q(files__refusal="")
    | Q(files__job__status__in=[JobStatus.FAILED, JobStatus.CANCELLED])
    | Q(files__job__rows_failed__gt=0)
)


def folder_health() -> Iterator[ConnectionHealth]:
    """Each active folder as the operations page shows it: its last file, the files of the
    last day whose import went wrong, the files still arriving, and why it cannot be read."""
    since = timezone.now() - datetime.timedelta(days=1)
    annotated = DropFolder.objects.filter(is_active=True).annotate(
        last_file_at=Max("files__taken_at"),
        went_wrong=Count("files", filter=Q(files__taken_at__gte=since) & _WENT_WRONG),
    )
    for folder in annotated.order_by("name", "pk"):
        yield ConnectionHealth(
            kind=_("Drop folder"),
            name=folder.name,
            url=reverse("dropfolders:detail", args=[folder.pk]),
            last_received_at=folder.last_file_at,
            errors_last_day=folder.went_wrong,
            backlog=folder.waiting,
            oldest_waiting_at=folder.oldest_waiting_at,
            problem=FolderProblem(folder.problem).label if folder.problem else "",
        )
