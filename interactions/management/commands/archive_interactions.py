import datetime

from django.core.management.base import BaseCommand, CommandError

from interactions.archive import (
    MIN_AGE_DAYS,
    ArchiveAgeTooShortError,
    archive_age,
    archive_interactions,
)
from kernel.models import JobStatus
from privacy.audit.recording import audit_context
from privacy.models import AuditChannel


class Command(BaseCommand):
    help = (
        "Move interactions older than INTERACTION_ARCHIVE_AFTER_DAYS (or --older-than-days) "
        "into the archive table, in batches; --dry-run only counts them."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count the rows due; move none.")
        parser.add_argument(
            "--older-than-days",
            type=int,
            help=f"Archive interactions older than this many days (at least {MIN_AGE_DAYS}).",
        )

    def handle(self, *args, dry_run: bool, older_than_days: int | None, **options):
        if older_than_days is None:
            older_than = archive_age()
            if older_than is None:
                self.stdout.write("Archiving is off (INTERACTION_ARCHIVE_AFTER_DAYS=0).")
                return
        else:
            older_than = datetime.timedelta(days=older_than_days)
        try:
            with audit_context(via=AuditChannel.COMMAND):
                run = archive_interactions(older_than=older_than, dry_run=dry_run)
        except ArchiveAgeTooShortError as error:
            raise CommandError(
                f"Archive only interactions older than {MIN_AGE_DAYS} days."
            ) from error
        if run is None:
            raise CommandError("Another archive run is in progress; nothing was done.")
        if run.status != JobStatus.DONE:
            raise CommandError(run.failure)
        before = run.cutoff.isoformat(timespec="seconds")
        if dry_run:
            self.stdout.write(f"{run.rows_total} interactions from before {before} would move.")
        else:
            self.stdout.write(
                f"{run.rows_done} of {run.rows_total} interactions from before {before} moved "
                f"to the archive (run {run.pk})."
            )
