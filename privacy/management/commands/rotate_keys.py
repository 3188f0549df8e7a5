from django.core.management.base import BaseCommand

from privacy import crypto
from privacy.audit.recording import audit_context
from privacy.models import AuditChannel
from privacy.rotation import rotate_encrypted_columns


class Command(BaseCommand):
    help = (
        "Re-encrypt every encrypted value under the newest key (the first of "
        "FIELD_ENCRYPTION_KEYS). Put the new key first, keep the old ones, run this, then "
        "remove the old keys."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args, batch_size: int, **options) -> None:
        self.stdout.write(f"Current key: {crypto.current_key_id()}")
        with audit_context(via=AuditChannel.COMMAND):
            report = rotate_encrypted_columns(batch_size=batch_size)
        for column, counts in report.items():
            self.stdout.write(
                f"{column}: {counts['checked']} checked, {counts['rotated']} re-encrypted"
            )
        self.stdout.write(self.style.SUCCESS("All encrypted values are under the current key."))
