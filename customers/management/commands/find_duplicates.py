import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from customers.dedup.scan import SCAN_JOBS, create_scan
from customers.models import ScanMode
from kernel.models import JobStatus
from privacy.audit.recording import audit_context
from privacy.models import AuditChannel


class Command(BaseCommand):
    help = (
        "Find likely duplicate customers and put them in the review queue. Prints a JSON summary."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--incremental",
            action="store_true",
            help="compare only customers new or changed since the last scan",
        )
        parser.add_argument(
            "--min-probability",
            type=float,
            default=None,
            help="keep pairs at least this likely (0-1; default DEDUP_MIN_PROBABILITY)",
        )

    def handle(self, *args, **options) -> None:
        probability = options["min_probability"]
        if probability is None:
            probability = settings.DEDUP_MIN_PROBABILITY
        if not 0 < probability <= 1:
            raise CommandError("--min-probability must be above 0 and at most 1")
        if SCAN_JOBS.active() is not None:
            raise CommandError("A duplicate scan is already running; try again when it ends.")
        scan = create_scan(
            mode=ScanMode.INCREMENTAL if options["incremental"] else ScanMode.FULL,
            min_probability=probability,
        )
        with audit_context(via=AuditChannel.COMMAND):
            SCAN_JOBS.run(scan.pk)
        scan.refresh_from_db()
        if scan.status != JobStatus.DONE:
            raise CommandError(scan.failure)
        self.stdout.write(
            json.dumps(
                {
                    "scan": scan.pk,
                    "mode": scan.mode,
                    "customers_compared": scan.customers_compared,
                    "pairs_found": scan.pairs_found,
                    "groups": scan.groups_found,
                    "auto_merged": scan.auto_merged,
                    "model_trained_on_this_data": scan.trained,
                    "seconds": scan.seconds,
                }
            )
        )
