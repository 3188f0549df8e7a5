from django.core.management.base import BaseCommand, CommandError

from privacy.audit.verification import DEFAULT_BATCH_SIZE, verify_chain


class Command(BaseCommand):
    help = (
        "Check the audit log's hash chain: report the first changed or removed event and exit "
        "with status 1, or print the number of events checked and the chain's head."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)

    def handle(self, *args, batch_size: int, **options) -> None:
        report = verify_chain(batch_size=batch_size)
        if not report.ok:
            raise CommandError(
                f"Audit chain broken after {report.checked} intact events: "
                f"{report.first_break.describe()}"
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Audit chain intact: {report.checked} events checked. "
                f"Head: sequence {report.head_sequence}, hash {report.head_hash}"
            )
        )
