"""Customer lists to CSV or XLSX: the export service and the worker's writer.

The worker reads exactly the customers the list showed (customers.filters.listed_customers,
scoped to the user who asked), in primary-key chunks so that memory stays flat whatever the
size, masks personal data unless that user holds `export_personal_data`, and writes through
privacy.tabular (formula-safe). The file is written under a temporary name and only becomes
the job's file when complete: a killed worker leaves no half file that looks like an export.
"""

from __future__ import annotations

import datetime
import logging
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.db import models, transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from analytics.audit import ExportAction
from analytics.models import ExportFormat, ExportJob
from customers.filters import FILTERS_NO_LONGER_VALID, listed_customers
from customers.imports.mapping import CUSTOMER_FIELDS
from customers.models import (
    Customer,
    CustomerKind,
    ExternalId,
    Gender,
    LifecycleStage,
    SavedView,
    SourceChannel,
    ValueGrade,
)
from kernel.jobs.runner import JobFailedError, JobKind, JobRun
from kernel.models import JobStatus
from privacy.audit.recording import record_event
from privacy.consent import MARKETING_CHANNELS, usable_for_list
from privacy.masking import mask_email, mask_phone, mask_postcode, mask_street
from privacy.tabular import write_csv, write_xlsx

logger = logging.getLogger(__name__)

CHUNK = 5000
# A half-written file this old belongs to a run whose worker died (a live run writes to it
# all the time).
PARTIAL_FILE_MAX_AGE = datetime.timedelta(minutes=10)
_IMPORT_LABELS = {field.key: field.label for field in CUSTOMER_FIELDS}


@dataclass(frozen=True)
class ExportColumn:
    key: str
    label: str | Promise
    # The database columns it reads ("tags" and "external_ids" are read per chunk instead).
    reads: tuple[str, ...] = ()
    default: bool = True


def _column(key: str, *, reads: tuple[str, ...] | None = None, label=None, default=True):
    return ExportColumn(
        key=key,
        label=label or _IMPORT_LABELS[key],
        reads=(key,) if reads is None else reads,
        default=default,
    )


# Headers are the import's own field labels, so an exported file imports again as it is.
COLUMNS: tuple[ExportColumn, ...] = (
    _column("id", label=_("Customer number"), default=False),
    _column("name"),
    _column("family_name", default=False),
    _column("given_name", default=False),
    _column("kind", default=False),
    _column("gender"),
    _column("birth_date"),
    _column("phone"),
    _column("email"),
    _column("country", default=False),
    _column("province"),
    _column("city"),
    _column("district", default=False),
    _column("street", default=False),
    _column("postcode", default=False),
    _column("company_name"),
    _column("industry", default=False),
    _column("website", default=False),
    _column("lifecycle_stage"),
    _column("value_grade"),
    _column("source_channel"),
    _column("source_detail", default=False),
    _column("owner", reads=("owner__username",), label=_("Owner")),
    _column("tags", reads=()),
    _column("external_ids", reads=(), label=_("IDs in other systems"), default=False),
    _column("notes", default=False),
    _column("consent_email", default=False),
    _column("consent_sms", default=False),
    _column("consent_phone", default=False),
    _column("created_at", label=_("Created"), default=False),
    _column("last_activity_at", label=_("Last activity"), default=False),
)
COLUMNS_BY_KEY = {column.key: column for column in COLUMNS}
DEFAULT_COLUMNS = [column.key for column in COLUMNS if column.default]
_MASKERS: dict[str, Callable[[str], str]] = {
    "phone": mask_phone,
    "email": mask_email,
    "street": mask_street,
    "postcode": mask_postcode,
}
_CHOICES = {
    "kind": CustomerKind,
    "gender": Gender,
    "lifecycle_stage": LifecycleStage,
    "value_grade": ValueGrade,
    "source_channel": SourceChannel,
}


def may_export(user: Any) -> bool:
    return user.has_perm("customers.export_customers")


def exports_visible_to(user: Any) -> QuerySet[ExportJob]:
    """A user's own exports: an export holds data chosen for one person."""
    if not may_export(user):
        return ExportJob.objects.none()
    return ExportJob.objects.filter(created_by=user)


def _clean_filters(params: Mapping[str, Any]) -> dict[str, str]:
    # Only the list's filter parameters travel; page, order and tokens do not.
    return {
        key: str(value)
        for key, value in params.items()
        if key not in ("search", "after", "order", "csrfmiddlewaretoken") and value
    }


@transaction.atomic
def start_export(
    *,
    actor: Any,
    params: Mapping[str, Any],
    columns: Sequence[str],
    format: str,
    search: str = "",
    view_name: str = "",
    marketing_channel: str = "",
    queue: bool = True,
) -> ExportJob:
    """Queue an export of the list these parameters (and search text) show the actor; for a
    marketing channel, only the customers who consented to it. Audited with the filters,
    columns and channel, never the search text."""

    if not may_export(actor):
        raise PermissionDenied
    unknown = [key for key in columns if key not in COLUMNS_BY_KEY]
    if unknown or not columns:
        raise ValidationError(_("Choose at least one column to export."))
    if not listed_customers(user=actor, params=params)[0].is_valid():
        raise ValidationError(FILTERS_NO_LONGER_VALID)
    if marketing_channel and marketing_channel not in MARKETING_CHANNELS:
        raise ValidationError(_("Choose a marketing channel from the list."))
    job = ExportJob.objects.create(
        created_by=actor,
        status=JobStatus.QUEUED,
        format=ExportFormat(format),
        filters=_clean_filters(params),
        search=search[:200],
        view_name=view_name[:100],
        columns=list(dict.fromkeys(columns)),
        unmasked=actor.has_perm("customers.export_personal_data"),
        language=translation.get_language() or "en",
        marketing_channel=marketing_channel,
    )
    record_event(
        actor=actor,
        action=ExportAction.START,
        target=job,
        changes={
            "filters": job.filters,
            "searched": bool(search),
            "view": job.view_name,
            "columns": job.columns,
            "format": job.format,
            "unmasked": job.unmasked,
            "marketing_channel": job.marketing_channel,
        },
    )
    if queue:
        EXPORT_JOBS.enqueue(job)
    return job


def saved_view_params(user: Any, name: str) -> dict[str, str]:
    """The filter parameters of a saved view the user may use (own or shared), by name."""
    from django.http import QueryDict

    from customers.selectors import saved_views_for

    view = saved_views_for(user).filter(name=name).order_by("-owner_id").first()
    if view is None:
        raise SavedView.DoesNotExist(name)
    return QueryDict(view.query).dict()


def cancel_export(*, actor: Any, job: ExportJob) -> ExportJob:
    if job.created_by_id != actor.pk:
        raise PermissionDenied
    return EXPORT_JOBS.cancel(actor=actor, job=job)


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
            headers = [str(COLUMNS_BY_KEY[key].label) for key in job.columns]
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


def export_rows(
    customers: QuerySet[Customer], columns: Sequence[str], *, unmasked: bool
) -> Iterator[list[str]]:
    """The export's rows in primary-key order, read in chunks (bounded memory)."""
    reads = list(dict.fromkeys(["pk", *(r for key in columns for r in COLUMNS_BY_KEY[key].reads)]))
    position = {name: index for index, name in enumerate(reads)}
    render = [_renderer(key, position, unmasked=unmasked) for key in columns]
    wants_tags, wants_ids = "tags" in columns, "external_ids" in columns
    last = 0
    while True:
        chunk = list(customers.filter(pk__gt=last).order_by("pk").values_list(*reads)[:CHUNK])
        if not chunk:
            return
        # The chunk's id range, not its id list: a range is one cheap condition, and links of
        # customers filtered out in between are simply not looked up.
        first, last = chunk[0][0], chunk[-1][0]
        extras = {
            "tags": _tags(first, last) if wants_tags else {},
            "external_ids": _external_ids(first, last) if wants_ids else {},
        }
        for row in chunk:
            yield [cell(row, extras) for cell in render]


def _renderer(key: str, position: Mapping[str, int], *, unmasked: bool):
    if key in ("tags", "external_ids"):
        return lambda row, extras: extras[key].get(row[0], "")
    index = position[COLUMNS_BY_KEY[key].reads[0]]
    if key in _CHOICES:
        # An empty choice ("Unknown", "Ungraded") stays an empty cell.
        labels = {value: str(label) for value, label in _CHOICES[key].choices if value}
        labels[""] = ""
        return lambda row, extras: labels.get(row[index], row[index])
    if key in _MASKERS and not unmasked:
        masker = _MASKERS[key]
        return lambda row, extras: masker(row[index])
    if key.startswith("consent_"):
        yes, no = str(_("yes")), str(_("no"))
        return lambda row, extras: yes if row[index] else no
    if key in ("created_at", "last_activity_at"):
        return lambda row, extras: _local(row[index])
    field = Customer._meta.get_field(key) if key != "owner" else None
    if isinstance(field, models.CharField | models.TextField):
        return lambda row, extras: row[index]  # text and never NULL
    return lambda row, extras: _text(row[index])


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def _local(moment: datetime.datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


def _tags(first: int, last: int) -> dict[int, str]:
    names: dict[int, list[str]] = {}
    for customer_id, name in (
        Customer.tags.through.objects.filter(customer_id__gte=first, customer_id__lte=last)
        .order_by("tag__name")
        .values_list("customer_id", "tag__name")
    ):
        names.setdefault(customer_id, []).append(name)
    return {customer_id: ", ".join(values) for customer_id, values in names.items()}


def _external_ids(first: int, last: int) -> dict[int, str]:
    links: dict[int, list[str]] = {}
    for customer_id, system, value in (
        ExternalId.objects.filter(customer_id__gte=first, customer_id__lte=last)
        .order_by("system", "external_id")
        .values_list("customer_id", "system", "external_id")
    ):
        links.setdefault(customer_id, []).append(f"{system}:{value}")
    return {customer_id: ", ".join(values) for customer_id, values in links.items()}


def record_download(*, actor: Any, job: ExportJob) -> None:
    if job.created_by_id != actor.pk or not may_export(actor):
        raise PermissionDenied
    record_event(actor=actor, action=ExportAction.DOWNLOAD, target=job)


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
