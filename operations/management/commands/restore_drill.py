from django.core.management.base import BaseCommand, CommandError

from kernel.models import JobStatus
from operations.backups.services import run_drill
from privacy.audit.recording import audit_context
from privacy.models import AuditChannel


class Command(BaseCommand):
    help = (
        "Restore the newest backup into a scratch database, compare every table with its "
        "manifest, run migrate --check on it, report the time to restore, and drop it."
    )

    def handle(self, *args, **options):
        with audit_context(via=AuditChannel.COMMAND):
            drill = run_drill()
        if drill.status != JobStatus.DONE:
            raise CommandError(f"{drill.backup_file}: {drill.failure}")
        self.stdout.write(
            f"{drill.backup_file}: restored in {drill.restore_seconds:.1f} s, "
            f"{drill.tables_compared} tables and {drill.rows_compared:,} rows equal to the "
            "manifest, migrations up to date."
        )
