"""The export job: the worker writing one list to a file, and the removal of files past their
time."""

from __future__ import annotations

import datetime
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from analytics.exports.columns import columns_by_key
from analytics.exports.rows import export_rows
from analytics.exports.selectors import exports_visible_to
from analytics.models import ExportFormat, ExportJob
from customers.filters import FILTERS_NO_LONGER_VALID, listed_customers
from customers.models import Customer
from kernel.jobs.runner import JobFailedError, JobKind, JobRun
from privacy.consent import usable_for_list
from privacy.tabular import write_csv, write_xlsx

# A half-written file this old belongs to a run whose worker died (a live run writes to it
# all the time).
PARTIAL_FILE_MAX_AGE = datetime.timedelta(minutes=10)


class ExportJobKind(JobKind[ExportJob]):
    """Writing one list to a file: into a partial file of its own, renamed into place and
    attached to the job only when complete, so a run that died leaves no file behind and the
    run that takes over writes it again from the start."""

    model = ExportJob
    audit_prefix = "export"
    unexpected_failure = _("The export failed. Try again.")

    def work(self, run: JobRun[ExportJob]) -> None:
        job = run.job
        relative = f"exports/{timezone.now():%Y/%m}/{uuid.uuid4().hex}.{job.format}"
        target = Path(default_storage.path(relative))
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = _partial_path(job)
        partial.parent.mkdir(parents=True, exist_ok=True)
        try:
            customers = _customers(job)
            run.progress(0, customers.count())
            known = columns_by_key(archived=True)
            headers = [str(known[key].label) for key in job.columns]
            writer = write_xlsx if job.format == ExportFormat.XLSX else write_csv
            rows = writer(
                partial,
                headers,
                export_rows(customers, job.columns, unmasked=job.unmasked),
                on_progress=run.progress,
            )
            partial.rename(target)
        finally:
            partial.unlink(missing_ok=True)
        job.file.name = relative
        job.rows_done = rows

    def audit_changes(self, job: ExportJob) -> dict[str, Any]:
        return {"rows": job.rows_done, "columns": job.columns, "unmasked": job.unmasked}

    def visible_to(self, user: Any) -> QuerySet[ExportJob]:
        return exports_visible_to(user)

    def page_url(self, job: ExportJob, user: Any) -> str:
        return reverse("exports:detail", args=[job.pk])


EXPORT_JOBS = ExportJobKind()


def _partial_path(job: ExportJob) -> Path:
    return Path(default_storage.path(f"exports/partial/job-{job.pk}.{job.format}"))


def _customers(job: ExportJob) -> QuerySet[Customer]:
    filterset, customers, _capped = listed_customers(
        user=job.created_by, params=job.filters, search=job.search
    )
    if not filterset.is_valid():
        # Its filters stopped validating after it was queued (a segment deleted).
        raise JobFailedError(FILTERS_NO_LONGER_VALID)
    return usable_for_list(customers, job.marketing_channel)


def delete_expired_exports(*, now: datetime.datetime | None = None) -> int:
    """Delete export files older than EXPORT_RETENTION_DAYS (the job rows stay, for the
    audit trail); returns how many files were removed."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=settings.EXPORT_RETENTION_DAYS)
    removed = 0
    for job in ExportJob.objects.filter(finished_at__lt=cutoff).exclude(file=""):
        job.file.delete(save=False)
        ExportJob.objects.filter(pk=job.pk).update(file="")
        removed += 1
    # Half-written files of workers killed mid-export.
    partials = Path(default_storage.path("exports/partial"))
    for path in partials.glob("job-*") if partials.is_dir() else ():
        modified = datetime.datetime.fromtimestamp(path.stat().st_mtime, tz=datetime.UTC)
        if now - modified > PARTIAL_FILE_MAX_AGE:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
