from django.core.management.base import BaseCommand, CommandError

from kernel.models import JobStatus
from privacy.audit.recording import audit_context
from privacy.models import AuditChannel, RetentionKind
from privacy.retention import apply_retention


class Command(BaseCommand):
    help = "Apply the enabled retention policies now, or with --dry-run report what they would do."

    def add_arguments(self, parser):
        parser.add_argument(
            "--dry-run", action="store_true", help="Count the rows due; change nothing."
        )

    def handle(self, *args, dry_run: bool, **options):
        with audit_context(via=AuditChannel.COMMAND):
            run = apply_retention(dry_run=dry_run)
        if run.status != JobStatus.DONE:
            raise CommandError(run.failure)
        verb = "would change" if dry_run else "changed"
        for kind, result in run.results.items():
            self.stdout.write(
                f"{RetentionKind(kind).label}: {verb} {result['rows']} "
                f"(older than {result['keep_days']} days)"
            )
        if not run.results:
            self.stdout.write("No retention policy is enabled.")
