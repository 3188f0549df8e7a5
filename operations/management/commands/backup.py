from django.core.management.base import BaseCommand, CommandError

from kernel.models import JobStatus
from operations.backups.services import create_backup
from privacy.audit.recording import audit_context
from privacy.models import AuditChannel


class Command(BaseCommand):
    help = (
        "Write an encrypted, checksummed backup of the database into BACKUP_DIR now, then "
        "apply rotation."
    )

    def handle(self, *args, **options):
        with audit_context(via=AuditChannel.COMMAND):
            run = create_backup()
        if run.status != JobStatus.DONE:
            raise CommandError(run.failure)
        self.stdout.write(
            f"{run.file_name}: {run.tables} tables, {run.rows:,} rows, "
            f"{run.size_bytes:,} bytes in {run.seconds:.1f} s"
        )
