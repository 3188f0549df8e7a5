"""The life of an ImportJob: upload and inspect, map, preview, run in batches in the worker,
cancel, resume, report. Every write here is a service: checked, transactional and audited.

The worker's side is a kind of job run by kernel/jobs/runner.py (claim, heartbeat, cancel,
finish, audit, recovery): ImportJobKind states only the work and its crash safety.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import itertools
import logging
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing, nullcontext
from dataclasses import dataclass, replace
from importlib import import_module
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from accounts.teams import owned_by_user_or_team, works_on_behalf_of
from customers.audit import ImportAction
from customers.dedup.scan import scan_customers
from customers.imports.earlier_rows import EarlierRows
from customers.imports.fields import BatchOptions, PreparedRow, RowCells, RowIssue, prepare_rows
from customers.imports.files import (
    FileRefusedError,
    TableFormat,
    count_rows,
    inspect_file,
    iter_rows,
)
from customers.imports.mapping import IGNORE, known_format, mapping_from_template, suggest_mapping
from customers.models import (
    Customer,
    DateOrder,
    ImportIssue,
    ImportJob,
    ImportKind,
    ImportPhase,
    ImportTemplate,
    InvalidValues,
    IssueSeverity,
    SourceChannel,
    UpdatePolicy,
)
from kernel.free_text import mark_unreadable
from kernel.jobs.runner import JobFailedError, JobKind, JobRun, JobSupersededError
from kernel.models import JobStatus
from kernel.table_statistics import analyze_stale_tables, analyze_tables
from privacy.audit.recording import record_event

logger = logging.getLogger(__name__)

PREVIEW_ROWS = 20
# An import analyses the tables it writes when they have doubled since their last ANALYZE
# (kernel/table_statistics.py): log2(rows / batch) times a job at most, a few seconds in all.
GROWTH_BEFORE_ANALYZE = 1.0

# Each kind's rows module: fields(), mapping_errors(fields, source_name=...),
# prepare(row, invalid_values=..., date_order=...), write_batch(rows, options) and TABLES_WRITTEN
# (the models its batches write, whose statistics the job brings up to date). Named by path so
# that customers does not import interactions.
_ROW_MODULES = {
    ImportKind.CUSTOMERS: "customers.imports.customer_rows",
    ImportKind.TRANSACTIONS: "interactions.imports.transaction_rows",
    ImportKind.INTERACTIONS: "interactions.imports.interaction_rows",
}


def importable_kinds() -> list[tuple[str, str]]:
    return [(kind.value, kind.label) for kind in ImportKind if kind in _ROW_MODULES]


def rows_module(kind: str) -> ModuleType:
    return import_module(_ROW_MODULES[ImportKind(kind)])


def may_import(user: Any) -> bool:
    return user.has_perm("customers.import_customers")


def _require_import_permission(actor: Any) -> None:
    if not may_import(actor):
        raise PermissionDenied


def _require_own_job(actor: Any, job: ImportJob) -> None:
    _require_import_permission(actor)
    if not actor.has_perm("customers.view_all_customers") and not works_on_behalf_of(
        actor, job.created_by_id
    ):
        raise PermissionDenied


def jobs_visible_to(user: Any):
    """Import jobs a user may open and run: their own and, for a team's manager, their
    members' (whose customers they work on too), or all for users who see every customer."""
    if not may_import(user):
        return ImportJob.objects.none()
    jobs = ImportJob.objects.select_related("created_by")
    if user.has_perm("customers.view_all_customers"):
        return jobs
    return jobs.filter(owned_by_user_or_team(user, "created_by"))


def file_path(job: ImportJob) -> Path:
    return Path(job.file.path)


def table_of(job: ImportJob) -> TableFormat:
    return TableFormat.from_dict(job.table_format)


@transaction.atomic
def create_import(*, actor: Any, kind: str, upload: UploadedFile) -> ImportJob:
    """Store an uploaded file and inspect it: its format, encoding, delimiter and headers, and a
    suggested mapping. Raises ValidationError (on "file") for a file that cannot be imported;
    nothing is kept of it then."""
    _require_import_permission(actor)
    job = ImportJob(
        kind=ImportKind(kind),
        created_by=actor,
        # A label only: characters nobody typed are shown as U+FFFD rather than refused.
        file_name=mark_unreadable(Path(upload.name or "upload").name)[:255],
        file_size=upload.size or 0,
        language=translation.get_language() or "en",
        owner=None if actor.has_perm("customers.view_all_customers") else actor,
    )
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    job.file_checksum = digest.hexdigest()
    job.file.save(job.file_name, upload, save=False)
    try:
        table = inspect_file(file_path(job))
    except FileRefusedError as error:
        job.file.delete(save=False)
        raise ValidationError({"file": error.message}, code=error.code) from error
    job.table_format = table.as_dict()
    job.mapping = suggest_mapping(rows_module(kind).fields(), kind, table.headers)
    layout = known_format(kind, table.headers)
    if layout is not None:
        job.source_name = layout.source_name
        job.source_channel = SourceChannel.ONLINE_SHOP
    job.save()
    record_event(
        actor=actor,
        action=ImportAction.UPLOAD,
        target=job,
        changes={"kind": job.kind, "file_checksum": job.file_checksum, "file_size": job.file_size},
    )
    return job


def templates_for(kind: str):
    return ImportTemplate.objects.filter(kind=kind)


def apply_template(job: ImportJob, template: ImportTemplate) -> list[str]:
    return mapping_from_template(template.columns, table_of(job).headers)


@transaction.atomic
def known_fields(kind: str, mapping: Sequence[str]) -> list[str]:
    """A mapping with the fields `kind` does not know ignored."""
    known = {field.key for field in rows_module(kind).fields()}
    return [key if key in known else IGNORE for key in mapping]


def mapping_problems(kind: str, mapping: Sequence[str], *, source_name: str) -> list[Any]:
    """What is wrong with a mapping (one field key or IGNORE per column) for `kind`: a field
    the kind needs that no column gives, a field that takes one column given by several."""
    module = rows_module(kind)
    errors = module.mapping_errors(set(mapping) - {IGNORE}, source_name=source_name)
    fields = module.fields()
    joins = {field.key for field in fields if field.takes_several_columns}
    repeated = {key for key in mapping if key and key not in joins and mapping.count(key) > 1}
    if repeated:
        labels = {field.key: field.label for field in fields}
        errors.append(
            _("Each field can come from one column only: %(fields)s.")
            % {"fields": ", ".join(str(labels[key]) for key in sorted(repeated))}
        )
    return errors


def configure_import(
    *,
    actor: Any,
    job: ImportJob,
    mapping: Sequence[str],
    source_name: str = "",
    source_channel: str = SourceChannel.IMPORT,
    policy: str = UpdatePolicy.FILL,
    invalid_values: str = InvalidValues.REJECT_ROW,
    all_or_nothing: bool = False,
    owner: Any = None,
    template_name: str = "",
    date_order: str = DateOrder.UNSAID,
) -> ImportJob:
    """Set what goes where and how, on a job not yet started; optionally save the mapping as a
    named template. Raises ValidationError for an unusable mapping."""
    _require_own_job(actor, job)
    if job.status != JobStatus.DRAFT:
        raise ValidationError(_("This import has already started."))
    headers = table_of(job).headers
    mapping = known_fields(job.kind, mapping)[: len(headers)]
    mapping += [IGNORE] * (len(headers) - len(mapping))
    errors = mapping_problems(job.kind, mapping, source_name=source_name.strip())
    source_name, template_name = source_name.strip(), template_name.strip()
    for value, field in (
        (source_name, ImportJob._meta.get_field("source_name")),
        (template_name, ImportTemplate._meta.get_field("name")),
    ):
        try:
            field.run_validators(value)
        except ValidationError as error:
            errors.extend(error.messages)
    if errors:
        raise ValidationError(errors)
    job.mapping = mapping
    job.source_name = source_name
    job.source_channel = SourceChannel(source_channel)
    job.policy = UpdatePolicy(policy)
    job.invalid_values = InvalidValues(invalid_values)
    job.all_or_nothing = all_or_nothing
    job.date_order = DateOrder(date_order)
    # Staff who only see their own customers import them as their own (README.md, Roles).
    job.owner = owner if actor.has_perm("customers.view_all_customers") else actor
    job.save()
    if template_name:
        ImportTemplate.objects.update_or_create(
            kind=job.kind,
            name=template_name,
            defaults={
                "columns": {h: key for h, key in zip(headers, mapping, strict=True) if key},
                "options": {
                    "source_name": job.source_name,
                    "policy": job.policy,
                    "date_order": job.date_order,
                },
                "created_by": actor,
            },
        )
    return job


@dataclass
class PreviewRow:
    number: int
    cells: list[str]
    outcome: str
    issues: list[RowIssue]


def _options(job: ImportJob) -> BatchOptions:
    return BatchOptions(
        actor=job.created_by,
        job=job,
        source_name=job.source_name,
        source_channel=job.source_channel,
        policy=job.policy,
        owner=job.owner,
        mapped_fields=frozenset(job.mapping) - {IGNORE},
    )


def _prepare(
    job: ImportJob,
    module: ModuleType,
    rows: Sequence[tuple[int, list[str]]],
    row_cells: RowCells | None = None,
):
    if row_cells is None:
        # The fields are read once per batch: custom fields come from the database.
        row_cells = RowCells(module.fields(), table_of(job).headers, job.mapping)
    return prepare_rows(
        module,
        [row_cells(number, cells) for number, cells in rows],
        invalid_values=job.invalid_values,
        date_order=job.date_order,
    )


def preview_import(job: ImportJob, *, limit: int = PREVIEW_ROWS) -> list[PreviewRow]:
    """The first rows as the import would treat them, matched against the database but with
    nothing written (the batch runs in a transaction that is rolled back)."""
    module = rows_module(job.kind)
    rows = []
    for item in iter_rows(file_path(job), table_of(job)):
        rows.append(item)
        if len(rows) >= limit:
            break
    prepared = _prepare(job, module, rows)
    with transaction.atomic():
        outcomes = module.write_batch(prepared, _options(job))
        transaction.set_rollback(True)
    return [
        PreviewRow(number=row.number, cells=cells, outcome=outcomes[row.number], issues=row.issues)
        for row, (_number, cells) in zip(prepared, rows, strict=True)
    ]


@transaction.atomic
def start_import(
    *, actor: Any, job: ImportJob, dry_run: bool = False, queue: bool = True
) -> ImportJob:
    """Queue a configured job for the worker (after this transaction commits); with
    queue=False the caller runs it itself (`IMPORT_JOBS.run`), as the management commands do."""
    _require_own_job(actor, job)
    if job.status != JobStatus.DRAFT:
        raise ValidationError(_("This import has already started."))
    if not any(job.mapping):
        raise ValidationError(_("Choose the field of at least one column."))
    job.status = JobStatus.QUEUED
    job.dry_run = dry_run
    job.save(update_fields=["status", "dry_run"])
    record_event(
        actor=actor,
        action=ImportAction.START,
        target=job,
        changes={
            "kind": job.kind,
            "file_checksum": job.file_checksum,
            "policy": job.policy,
            "all_or_nothing": job.all_or_nothing,
            "dry_run": dry_run,
        },
    )
    if queue:
        IMPORT_JOBS.enqueue(job)
    return job


def cancel_import(*, actor: Any, job: ImportJob) -> ImportJob:
    """Ask the worker to stop after the batch it is writing; a job still waiting, or stopped
    and waiting to be resumed, stops now."""
    _require_own_job(actor, job)
    return IMPORT_JOBS.cancel(actor=actor, job=job)


def resume_import(*, actor: Any, job: ImportJob) -> ImportJob:
    """Queue again a job whose worker died or crashed; it goes on after its last commit."""
    _require_own_job(actor, job)
    if not (job.resumable or job.is_stalled()):
        raise ValidationError(_("This import cannot be resumed."))
    return IMPORT_JOBS.resume(actor=actor, job=job)


class ImportJobKind(JobKind[ImportJob]):
    """The worker's side of an import: count the file's rows, validate them all first when
    the job is all-or-nothing or a dry run, then write in batches. Each batch is written in
    one transaction with the job's counters, its issues and `checkpoint_row`, under the run's
    hold on the job, so a killed worker loses one batch and the job goes on after the
    checkpoint; a run that finds the checkpoint moved was overtaken and stops."""

    model = ImportJob
    audit_prefix = "import"
    given_up: ClassVar[dict[str, Any]] = {"resumable": True}
    unexpected_failure = _(
        "The import stopped because of an internal error. Rows up to the last saved one are "
        "imported; you can resume it."
    )
    resumable_after_error = True

    def work(self, run: JobRun[ImportJob]) -> None:
        job = run.job
        module = rows_module(job.kind)
        path, table = file_path(job), table_of(job)
        try:
            if job.phase == ImportPhase.CHECKING:
                total = count_rows(path, table)
                _advance(
                    run,
                    phase=ImportPhase.VALIDATING
                    if job.all_or_nothing or job.dry_run
                    else ImportPhase.IMPORTING,
                    rows_total=total,
                )
            if job.phase == ImportPhase.VALIDATING:
                _pass(run, module, path, table, write=False)
                if job.dry_run:
                    return
                if job.rows_failed:
                    raise JobFailedError(
                        _(
                            "Rows with errors were found, so nothing was imported. Correct "
                            "them using the error report and import the file again."
                        )
                    )
                _advance(run, phase=ImportPhase.IMPORTING, reset=True)
            _pass(run, module, path, table, write=True)
        except FileRefusedError as error:
            raise JobFailedError(error.message) from error
        # The next job (an order import after its customers, the nightly metrics) reads these
        # tables at once: planned on fresh statistics, not on whatever autovacuum has done yet.
        analyze_tables(module.TABLES_WRITTEN)

    def audit_changes(self, job: ImportJob) -> dict[str, Any]:
        return job_counts(job)

    def visible_to(self, user: Any) -> QuerySet[ImportJob]:
        return jobs_visible_to(user)

    def page_url(self, job: ImportJob, user: Any) -> str:
        return reverse("imports:detail", args=[job.pk])

    def finishing(self, job: ImportJob, status: str) -> None:
        if not job.resumable:
            # The uploaded file is personal data nobody needs any more: the report is in the
            # database and the checksum stays on the job.
            transaction.on_commit(lambda: job.file.delete(save=False))

    def then(self, job: ImportJob) -> None:
        if needs_duplicate_check(job.pk):
            # A task of its own, so that a long check never makes the import look stalled.
            from customers.tasks import check_import_for_duplicates

            check_import_for_duplicates.delay(job.pk)


IMPORT_JOBS = ImportJobKind()


def needs_duplicate_check(job_id: int) -> bool:
    return ImportJob.objects.filter(
        pk=job_id,
        kind=ImportKind.CUSTOMERS,
        status=JobStatus.DONE,
        dry_run=False,
        possible_duplicates__isnull=True,
    ).exists()


def record_possible_duplicates(job_id: int) -> int:
    """The check at the door, for a whole file: the customers a finished import created or
    changed are compared with everyone and likely duplicates go to the review queue; their
    number is kept on the job. Run after the import (a task of its own), so a long check never
    makes the import look stalled; running it twice records nothing twice."""
    if not needs_duplicate_check(job_id):
        return 0
    imported = set(Customer.objects.filter(import_job_id=job_id).values_list("pk", flat=True))
    found = scan_customers(imported)
    ImportJob.objects.filter(pk=job_id).update(possible_duplicates=found)
    return found


def _advance(
    run: JobRun[ImportJob], *, phase: str, rows_total: int | None = None, reset=False
) -> None:
    job = run.job
    with transaction.atomic():
        _lock(run)
        job.phase = phase
        if rows_total is not None:
            job.rows_total = rows_total
        if reset:
            ImportIssue.objects.filter(job=job).delete()
            job.rows_done = job.rows_created = job.rows_updated = job.rows_unchanged = 0
            job.rows_failed = job.warnings = 0
        job.save()


def _lock(run: JobRun[ImportJob]) -> ImportJob:
    locked = run.lock()
    if locked.checkpoint_row != run.job.checkpoint_row:
        raise JobSupersededError
    return locked


def _batches(
    path: Path, table: TableFormat, after_row: int
) -> Iterator[list[tuple[int, list[str]]]]:
    batch: list[tuple[int, list[str]]] = []
    for number, cells in iter_rows(path, table):
        if number <= after_row:
            continue
        batch.append((number, cells))
        if len(batch) >= settings.IMPORT_BATCH_SIZE:
            yield batch
            batch = []
    if batch:
        yield batch


def _pass(
    run: JobRun[ImportJob], module: ModuleType, path: Path, table: TableFormat, *, write: bool
):
    job = run.job
    if not write and job.rows_done:
        _advance(run, phase=job.phase, reset=True)  # a validation pass always starts over
    with nullcontext() if write else closing(EarlierRows()) as earlier:
        options = replace(_options(job), earlier_rows=earlier)
        batches = _batches(path, table, after_row=job.checkpoint_row if write else 0)
        # Closed as soon as the pass stops, however it stops: the thread prepares no more.
        with closing(_prepared_ahead(job, module, batches)) as prepared_batches:
            for batch, prepared in prepared_batches:
                _write_batch(run, module, batch, prepared, options, write=write)


def _write_batch(
    run: JobRun[ImportJob],
    module: ModuleType,
    batch: list[tuple[int, list[str]]],
    prepared: list[PreparedRow],
    options: BatchOptions,
    *,
    write: bool,
) -> None:
    with transaction.atomic():
        _lock(run)
        if write:
            outcomes = module.write_batch(prepared, options)
        else:
            savepoint = transaction.savepoint()
            outcomes = module.write_batch(prepared, options)
            transaction.savepoint_rollback(savepoint)
        _record_batch(run, prepared, outcomes, checkpoint=batch[-1][0] if write else None)
    if write:
        # Each batch looks its rows up in the tables the earlier ones filled. Planned on
        # tables never analysed, those lookups loop over every row (the CDNOW log of
        # bench/orders.py: customers at 190 rows/s instead of 2,000, an order batch's
        # customer lookup 40 s); analysed whenever the tables have doubled since their last
        # statistics, they stay index lookups for a few ANALYZEs per job.
        analyze_stale_tables(module.TABLES_WRITTEN, fraction=GROWTH_BEFORE_ANALYZE)


def _prepared_ahead(
    job: ImportJob, module: ModuleType, batches: Iterator[list[tuple[int, list[str]]]]
) -> Iterator[tuple[list[tuple[int, list[str]]], list[PreparedRow]]]:
    """Each batch with its rows prepared, the next one prepared in a thread while the caller
    writes this one. Preparing is Python's work and writing mostly the database's: a writer
    waiting on PostgreSQL lets the other thread have the interpreter, so the two overlap
    (bench/imports.py). The thread reads no database (a query there would run outside the
    job's transaction, so it is refused): the fields are read here, and the batches of a file
    that maps a custom field whose values are looked up in the database (a colleague's user
    name) are prepared here too. It works in the job's language and time zone, which Django
    keeps per thread."""
    headers = table_of(job).headers
    language, zone = translation.get_language(), timezone.get_current_timezone()

    def prepare(batch: list[tuple[int, list[str]]], row_cells: RowCells) -> list[PreparedRow]:
        try:
            with (
                translation.override(language),
                timezone.override(zone),
                connection.execute_wrapper(_refuse_query),
            ):
                return _prepare(job, module, batch, row_cells)
        finally:
            connection.close()

    ahead = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"import-{job.pk}")
    try:
        waiting = None
        # A last round without a batch hands over the one still waiting.
        for batch in itertools.chain(batches, [None]):
            following = None
            if batch is not None:
                row_cells = RowCells(module.fields(), headers, job.mapping)
                prepared = (
                    functools.partial(_prepare, job, module, batch, row_cells)
                    if row_cells.reads_database
                    else ahead.submit(prepare, batch, row_cells).result
                )
                following = (batch, prepared)
            if waiting is not None:
                yield waiting[0], waiting[1]()
            waiting = following
    finally:
        # A job stopping (cancelled, failed, overtaken) prepares nothing more.
        ahead.shutdown(wait=True, cancel_futures=True)


def _refuse_query(execute, sql, params, many, context):
    raise RuntimeError("Import rows are prepared without the database (_prepared_ahead).")


def _record_batch(
    run: JobRun[ImportJob],
    prepared: Sequence[PreparedRow],
    outcomes: dict[int, str],
    *,
    checkpoint: int | None,
) -> None:
    job = run.job
    issues = [issue for row in prepared for issue in row.issues]
    ImportIssue.objects.bulk_create(
        ImportIssue(
            job=job,
            row=issue.row,
            column=issue.column[:200],
            value=issue.value,
            message=issue.message[:500],
            severity=issue.severity,
        )
        for issue in issues
    )
    counted = list(outcomes.values())
    run.progress(
        job.rows_done + len(prepared),
        rows_created=job.rows_created + counted.count("created"),
        rows_updated=job.rows_updated + counted.count("updated"),
        rows_unchanged=job.rows_unchanged + counted.count("unchanged"),
        rows_failed=job.rows_failed + counted.count("failed"),
        warnings=job.warnings
        + sum(1 for issue in issues if issue.severity == IssueSeverity.WARNING),
        checkpoint_row=job.checkpoint_row if checkpoint is None else checkpoint,
    )


def job_counts(job: ImportJob) -> dict[str, Any]:
    """What came of a job, without personal data: for the audit log and command output."""
    return {
        "rows": job.rows_total,
        "created": job.rows_created,
        "updated": job.rows_updated,
        "unchanged": job.rows_unchanged,
        "failed": job.rows_failed,
        "warnings": job.warnings,
        "possible_duplicates": job.possible_duplicates,
        "dry_run": job.dry_run,
    }


def delete_abandoned_imports(*, now: datetime.datetime | None = None) -> int:
    """Cancel drafts never started, and give up resumable jobs never resumed, once older than
    IMPORT_FILE_RETENTION_DAYS, deleting their uploaded files; returns how many."""
    cutoff = (now or timezone.now()) - datetime.timedelta(days=settings.IMPORT_FILE_RETENTION_DAYS)
    abandoned = ImportJob.objects.filter(created_at__lt=cutoff).filter(
        Q(status=JobStatus.DRAFT) | Q(resumable=True)
    )
    count = 0
    for pk in abandoned.values_list("pk", flat=True):
        with transaction.atomic():
            job = ImportJob.objects.select_for_update().select_related("created_by").get(pk=pk)
            job.resumable = False
            IMPORT_JOBS.end(job, JobStatus.CANCELLED)
        count += 1
    return count


REPORT_HEADERS = (_("Row"), _("Column"), _("Value"), _("Severity"), _("Message"))


def report_rows(job: ImportJob) -> Iterator[list[str]]:
    """The error report: one line per issue, in row order."""
    severities = dict(IssueSeverity.choices)
    for issue in job.issues.order_by("row", "pk").iterator(chunk_size=2000):
        yield [
            str(issue.row),
            issue.column,
            issue.value,
            str(severities[issue.severity]),
            issue.message,
        ]


def record_report_download(*, actor: Any, job: ImportJob) -> None:
    _require_own_job(actor, job)
    record_event(actor=actor, action=ImportAction.REPORT, target=job)
