"""Archiving: interactions older than INTERACTION_ARCHIVE_AFTER_DAYS move out of the table staff
work in (`Interaction`, the hot table) into `ArchivedInteraction`, keeping their ids, so that the
hot table and its indexes stay the size of the recent years.

Set-based, by batches of ids found through the (kind, occurred_at) index, oldest first, one
transaction per batch: an `INSERT ... SELECT` copies the batch into the archive and a `DELETE`
removes it from the hot table, and the run's progress is written in the same transaction. A
crash, a killed worker or a failed statement therefore leaves every row in exactly one of the
two tables, and the next run (or a retry) moves what is still due. No row is saved one at a
time.

Concurrency on PostgreSQL (READ COMMITTED; SQLite runs one writer at a time): a batch first
takes KEY SHARE locks on its customers, then FOR UPDATE locks on its rows. A merge holds its
customers FOR UPDATE before touching their interactions, so the two wait for each other in the
same order and never deadlock. A writer that changes interactions in place (erasure,
retention, merge and undo) changes the hot table first and the archive second: each statement
reads afresh, so a row a batch moved meanwhile is found in the archive. Readers that need
every interaction read both tables in one statement (interactions.selectors), so a row moving
meanwhile is counted once.
"""

from __future__ import annotations

import datetime
import logging
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Min
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import Customer
from interactions.models import ArchivedInteraction, ArchiveRun, Interaction
from kernel.bulk import quoted_column
from kernel.jobs.runner import JobKind, JobRun
from kernel.models import JobStatus
from kernel.table_statistics import analyze_tables

logger = logging.getLogger(__name__)

BATCH_SIZE = 5_000
# Archiving is for old history. The home page's "recent interactions" reads the hot table
# only, and a younger interaction may still be worked on (a complaint being resolved).
MIN_AGE_DAYS = 365
# A batch takes seconds; a run that has not committed one for this long lost its worker.
STALLED_AFTER = datetime.timedelta(minutes=30)

_STALLED = _("The worker stopped before finishing; the rows it moved stay archived.")
_FAILED = _(
    "The run stopped on an error (see the worker's log); the rows it moved stay archived and "
    "the next run moves the rest."
)


class ArchiveAgeTooShortError(ValueError):
    """Asked to archive interactions younger than MIN_AGE_DAYS."""


def archive_interactions(
    *,
    older_than: datetime.timedelta,
    dry_run: bool = False,
    actor: Any = None,
    batch_size: int = BATCH_SIZE,
) -> ArchiveRun | None:
    """Move every interaction that occurred before now − `older_than` into the archive (with
    `dry_run`, only count them), here and now. Returns the finished run (failed, with every
    finished batch kept, when something went wrong), or None when another run is in progress.
    Raises ArchiveAgeTooShortError for an age under MIN_AGE_DAYS."""
    if older_than < datetime.timedelta(days=MIN_AGE_DAYS):
        raise ArchiveAgeTooShortError(older_than)
    with transaction.atomic():
        if ARCHIVE_JOBS.active() is not None:
            return None
        now = timezone.now()
        run = ArchiveRun.objects.create(
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
            created_at=now,
            status=JobStatus.QUEUED,
            cutoff=now - older_than,
            dry_run=dry_run,
        )
    return ArchiveJobKind(batch_size=batch_size).run(run.pk)


class ArchiveJobKind(JobKind[ArchiveRun]):
    """One archive run: count what is due, then move it kind by kind in batches. One runs at a
    time; a run whose worker died is given up after STALLED_AFTER (what it moved stays
    archived, the next night's run moves the rest)."""

    model = ArchiveRun
    audit_prefix = "interactions.archive"
    time_limit = STALLED_AFTER
    resumes_after_worker_loss = False
    given_up_reason = _STALLED
    unexpected_failure = _FAILED

    def __init__(self, *, batch_size: int = BATCH_SIZE) -> None:
        self.batch_size = batch_size

    def work(self, run: JobRun[ArchiveRun]) -> None:
        archive = run.job
        kinds = _kinds()
        due = Interaction.objects.filter(kind__in=kinds, occurred_at__lt=archive.cutoff).count()
        run.progress(0, due)
        for kind in [] if archive.dry_run else kinds:
            since: datetime.datetime | None = None
            skipped: set[int] = set()
            while True:
                since = _move_batch(
                    run, kind=kind, since=since, skipped=skipped, size=self.batch_size
                )
                if since is None:
                    break
        if not archive.dry_run:
            # A run moves a year of history at once: the metrics, churn features and the
            # service chart read both tables next, planned on their new sizes.
            analyze_tables([Interaction, ArchivedInteraction])

    def audit_changes(self, job: ArchiveRun) -> dict[str, Any]:
        return {
            "cutoff": job.cutoff.isoformat(),
            "due": job.rows_total,
            "moved": job.rows_done,
            "dry_run": job.dry_run,
        }

    def finishing(self, job: ArchiveRun, status: str) -> None:
        logger.info(
            "interaction archive run %s %s: %s of %s due rows moved (before %s)",
            job.pk,
            status,
            job.rows_done,
            job.rows_total,
            job.cutoff.isoformat(),
        )


ARCHIVE_JOBS = ArchiveJobKind()


def _kinds() -> list[str]:
    """The kinds in the hot table, one probe of its (kind, occurred_at) index each: a run then
    reads only the index ranges of due rows, never the whole table, so a nightly run costs
    what it moves."""
    kinds: list[str] = []
    kind = Interaction.objects.aggregate(first=Min("kind"))["first"]
    while kind is not None:
        kinds.append(kind)
        kind = Interaction.objects.filter(kind__gt=kind).aggregate(next=Min("kind"))["next"]
    return kinds


def _move_batch(
    run: JobRun[ArchiveRun],
    *,
    kind: str,
    since: datetime.datetime | None,
    skipped: set[int],
    size: int,
) -> datetime.datetime | None:
    """Move the oldest due interactions of `kind` (none older than `since`, none in
    `skipped`) in one transaction; returns the time of the last one looked at, or None when
    none is left. Moved rows leave the hot table, so each batch starts at the oldest row still
    due: an index range scan from `since`, without re-reading what was moved. Rows left for
    the next run (their customer changed meanwhile) join `skipped`, so every batch makes
    progress."""
    cutoff = run.job.cutoff
    due = Interaction.objects.filter(kind=kind, occurred_at__lt=cutoff)
    if since is not None:
        due = due.filter(occurred_at__gte=since)
    if skipped:
        due = due.exclude(pk__in=skipped)
    with transaction.atomic():
        archive = run.lock()
        candidates = list(
            due.order_by("occurred_at").values_list("pk", "customer_id", "occurred_at")[:size]
        )
        if not candidates:
            return None
        customer_ids = sorted({customer_id for _pk, customer_id, _at in candidates})
        _share_lock_customers(customer_ids)
        # Rows whose customer changed since they were listed (a merge committed meanwhile)
        # are left for the next run rather than locked under a customer not locked above.
        ids = list(
            Interaction.objects.select_for_update()
            .filter(
                pk__in=[pk for pk, _customer, _at in candidates],
                customer_id__in=customer_ids,
                occurred_at__lt=cutoff,
            )
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        moved = _copy_and_delete(ids, archived_at=timezone.now()) if ids else 0
        run.progress(archive.rows_done + moved)
    skipped.update({pk for pk, _customer, _at in candidates} - set(ids))
    logger.debug("interaction archive run %s: %s %s rows moved", run.job.pk, moved, kind)
    return candidates[-1][2]


def _share_lock_customers(customer_ids: list[int]) -> None:
    # Django's select_for_update has no KEY SHARE; it is the lock the archive's foreign key
    # check would take anyway, taken first. SQLite: the transaction's write lock suffices.
    if connection.vendor != "postgresql":
        return
    table = connection.ops.quote_name(Customer._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id FROM {table} WHERE id = ANY(%s) ORDER BY id FOR KEY SHARE",  # noqa: S608
            [customer_ids],
        )


def _copy_and_delete(ids: list[int], *, archived_at: datetime.datetime) -> int:
    quote = connection.ops.quote_name
    columns = ", ".join(quoted_column(field) for field in Interaction._meta.concrete_fields)
    hot = quote(Interaction._meta.db_table)
    archive = quote(ArchivedInteraction._meta.db_table)
    in_ids = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        # Identifiers come from the models (the archive has the hot table's columns by
        # construction: interactions.models.InteractionRecord); values are parameters.
        cursor.execute(
            f"INSERT INTO {archive} ({columns}, {quote('archived_at')}) "  # noqa: S608
            f"SELECT {columns}, %s FROM {hot} WHERE {quote('id')} IN ({in_ids})",
            [connection.ops.adapt_datetimefield_value(archived_at), *ids],
        )
        copied: int = cursor.rowcount
        cursor.execute(f"DELETE FROM {hot} WHERE {quote('id')} IN ({in_ids})", ids)  # noqa: S608
        deleted: int = cursor.rowcount
    if copied != deleted or copied != len(ids):
        # Rows are locked, so this cannot happen; if it did, roll the batch back whole.
        raise RuntimeError(f"archive batch copied {copied}, deleted {deleted} of {len(ids)}")
    return copied


def archive_age() -> datetime.timedelta | None:
    """The configured age past which interactions are archived (None: archiving is off)."""
    days = settings.INTERACTION_ARCHIVE_AFTER_DAYS
    return datetime.timedelta(days=days) if days else None
