"""Starting an export (queued for the worker), cancelling it and downloading its file: each
audited."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from analytics.audit import ExportAction
from analytics.exports.columns import columns_by_key
from analytics.exports.jobs import EXPORT_JOBS
from analytics.exports.selectors import may_export
from analytics.models import ExportFormat, ExportJob
from customers.filters import FILTERS_NO_LONGER_VALID, listed_customers
from kernel.models import JobStatus
from privacy.audit.recording import record_event
from privacy.consent import MARKETING_CHANNELS


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
    known = columns_by_key()
    unknown = [key for key in columns if key not in known]
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


def cancel_export(*, actor: Any, job: ExportJob) -> ExportJob:
    if job.created_by_id != actor.pk:
        raise PermissionDenied
    return EXPORT_JOBS.cancel(actor=actor, job=job)


def record_download(*, actor: Any, job: ExportJob) -> None:
    if job.created_by_id != actor.pk or not may_export(actor):
        raise PermissionDenied
    record_event(actor=actor, action=ExportAction.DOWNLOAD, target=job)
