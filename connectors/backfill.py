"""Loading a shop's own bulk export (connectors/platforms/: Shopify's bulk-operation JSONL,
WooCommerce's REST JSON arrays) through the same apply code as its webhooks: a customer or
order already held with a newer updated time is left alone, so an export older than the
webhooks since changes nothing wrong.

A file is loaded once per connector (its SHA-256), unless its job failed or was cancelled.
The worker applies it in batches of CONNECTORS_BACKFILL_BATCH objects, each committed with
the job's progress under the run's hold on the job (kernel/jobs/runner.py): a worker that
dies loses one batch at most, and the job, queued again by recovery, goes on after the last
committed one."""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import QuerySet
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from connectors.apply import apply_units
from connectors.audit import ConnectorAction
from connectors.changes import PayloadError
from connectors.models import Backfill, Connector
from connectors.platforms import adapter_for
from kernel.actors import Actor
from kernel.free_text import mark_unreadable
from kernel.jobs.runner import JobFailedError, JobKind, JobRun
from kernel.models import JobStatus
from privacy.audit.recording import record_event

# The problems a job keeps to show (the shop's object id and why); the counts hold the rest.
PROBLEMS_KEPT = 50


def _checksum(upload: UploadedFile) -> str:
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


@transaction.atomic
def start_backfill(
    *, actor: Actor, connector: Connector, upload: UploadedFile, queue: bool = True
) -> Backfill:
    """Store the shop's export file and queue its loading (unless `queue` is false: the
    caller runs it). Raises ValidationError (on "file") for a file this connector has loaded,
    or is loading, already. Audited (`connector.backfill`, with the file's checksum)."""
    checksum = _checksum(upload)
    loaded = Backfill.objects.filter(connector=connector, file_checksum=checksum).exclude(
        status__in=[JobStatus.CANCELLED, JobStatus.FAILED], resumable=False
    )
    if loaded.exists():
        raise ValidationError({"file": _("This file was loaded for this shop already.")})
    job = Backfill(
        connector=connector,
        created_by=actor,
        # A label only: characters nobody typed are shown as U+FFFD rather than refused.
        file_name=mark_unreadable(Path(upload.name or "export").name)[:255],
        file_size=upload.size or 0,
        file_checksum=checksum,
        language=translation.get_language() or settings.LANGUAGE_CODE,
        status=JobStatus.QUEUED,
    )
    job.file.save(job.file_name, upload, save=False)
    job.save()
    record_event(
        actor=actor,
        action=ConnectorAction.BACKFILL,
        target=connector,
        changes={"backfill": job.pk, "file_checksum": checksum, "file_size": job.file_size},
    )
    if queue:
        BACKFILLS.enqueue(job)
    return job


class BackfillKind(JobKind[Backfill]):
    model = Backfill
    audit_prefix = "connector_backfill"
    given_up: ClassVar[dict[str, Any]] = {"resumable": True}
    unexpected_failure = _(
        "The loading stopped because of an internal error. What was loaded stays; you can load "
        "the file again to go on."
    )
    resumable_after_error = True
    seen_with = ("connectors.manage_connectors",)

    def work(self, run: JobRun[Backfill]) -> None:
        job = run.job
        adapter = adapter_for(job.connector.platform)
        try:
            if job.rows_total is None:
                with job.file.open("rb") as stream:
                    total = sum(1 for _object in adapter.read_export(stream))
                run.progress(job.rows_done, total)
            with job.file.open("rb") as stream:
                remaining = itertools.islice(adapter.read_export(stream), job.rows_done, None)
                while batch := list(
                    itertools.islice(remaining, settings.CONNECTORS_BACKFILL_BATCH)
                ):
                    self._apply(run, batch)
        except PayloadError as error:
            raise JobFailedError(error.message) from error

    def _apply(self, run: JobRun[Backfill], batch: list[tuple[str, Any]]) -> None:
        job = run.job
        readable = [
            (ref, changes) for ref, changes in batch if not isinstance(changes, PayloadError)
        ]
        problems = list(job.problems)
        for ref, error in batch:
            if isinstance(error, PayloadError):
                problems.append([ref, str(error.message)])
        with transaction.atomic():
            run.lock()
            connector = (
                Connector.objects.select_for_update()
                .select_related("service_account")
                .get(pk=job.connector_id)
            )
            outcomes = apply_units(connector, [changes for _ref, changes in readable])
            applied = sum(1 for outcome in outcomes if outcome.applied and not outcome.failed)
            failed = sum(1 for outcome in outcomes if outcome.failed)
            problems += [
                [ref, outcome.text]
                for (ref, _changes), outcome in zip(readable, outcomes, strict=True)
                if outcome.failed
            ]
            run.progress(
                job.rows_done + len(batch),
                objects_applied=job.objects_applied + applied,
                objects_skipped=job.objects_skipped + len(outcomes) - applied - failed,
                objects_failed=job.objects_failed + failed + len(batch) - len(readable),
                problems=problems[:PROBLEMS_KEPT],
            )

    def audit_changes(self, job: Backfill) -> dict[str, Any]:
        return {
            "connector": job.connector_id,
            "objects": job.rows_done,
            "applied": job.objects_applied,
            "unchanged": job.objects_skipped,
            "failed": job.objects_failed,
        }

    def visible_to(self, user: Actor) -> QuerySet[Backfill]:
        return super().visible_to(user).select_related("connector")

    def page_url(self, job: Backfill, user: Actor) -> str:
        return reverse("connectors:detail", args=[job.connector_id])

    def finishing(self, job: Backfill, status: str) -> None:
        if not job.resumable:
            # The export holds personal data nobody needs once it is loaded.
            transaction.on_commit(lambda: job.file.delete(save=False))


BACKFILLS = BackfillKind()
