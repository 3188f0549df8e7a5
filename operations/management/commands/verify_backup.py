from django.core.management.base import BaseCommand, CommandError

from operations.backups.services import verify_backup


class Command(BaseCommand):
    help = (
        "Check a backup file without restoring it: its checksum, every encrypted block, its "
        "end, its manifest and the dump inside. Exits 1 when anything is wrong."
    )

    def add_arguments(self, parser):
        parser.add_argument("path", help="The backup file (crm-<time>.backup).")

    def handle(self, *args, path: str, **options):
        report = verify_backup(path)
        if not report.ok:
            raise CommandError("\n".join(report.problems))
        manifest = report.manifest
        self.stdout.write(
            f"{report.path.name}: sound. {manifest.engine} backup taken {manifest.created_at}, "
            f"{len(manifest.tables)} tables, {manifest.rows:,} rows."
        )
