from django.core.management.base import BaseCommand, CommandError

from operations.backups.container import BackupFileError
from operations.backups.engines import BackupError
from operations.backups.services import restore_backup
from privacy.audit.recording import audit_context
from privacy.models import AuditChannel


class Command(BaseCommand):
    help = (
        "Restore a backup. It is restored into a scratch database first and compared table by "
        "table with its manifest; only a copy that matches takes the target's place. Without "
        "--into the target is the live database, which needs --overwrite-live (stop the web "
        "server and the worker first; the current database is kept under another name)."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="The backup file (crm-<time>.backup).")
        parser.add_argument(
            "--into",
            metavar="DB",
            help="PostgreSQL: a database name on the same server, or a postgres:// URL. "
            "SQLite: a file path. Created if missing.",
        )
        parser.add_argument(
            "--overwrite",
            action="store_true",
            help="Replace the --into database even if it holds tables.",
        )
        parser.add_argument(
            "--overwrite-live",
            action="store_true",
            help="Replace the live database (it is kept, renamed, not dropped).",
        )

    def handle(self, *args, path, into, overwrite, overwrite_live, **options):
        with audit_context(via=AuditChannel.COMMAND):
            try:
                result = restore_backup(
                    path, into=into, overwrite=overwrite, overwrite_live=overwrite_live
                )
            except (BackupError, BackupFileError) as error:
                raise CommandError(str(error)) from error
        self.stdout.write(
            f"Restored into {result.target.describe()} in {result.seconds:.1f} s: "
            f"{len(result.manifest.tables)} tables, {result.manifest.rows:,} rows, all equal "
            "to the backup's manifest."
        )
        if result.kept_as:
            self.stdout.write(f"The database it replaced is kept as {result.kept_as}.")
