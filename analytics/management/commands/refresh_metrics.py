import json

from django.core.management.base import BaseCommand, CommandError

from analytics.metrics import refresh_metrics
from kernel.models import JobStatus
from privacy.audit.recording import audit_context
from privacy.models import AuditChannel


class Command(BaseCommand):
    help = (
        "Recompute every customer's metrics (RFM, lifetime value, purchases, interactions) and "
        "move lifecycle stages by the rules. Prints a JSON summary."
    )

    def handle(self, *args, **options) -> None:
        with audit_context(via=AuditChannel.COMMAND):
            run = refresh_metrics()
        if run.status != JobStatus.DONE:
            raise CommandError(run.failure)
        self.stdout.write(
            json.dumps(
                {
                    "run": run.pk,
                    "customers": run.customers,
                    "stage_changes": run.stage_changes,
                    "seconds": run.seconds,
                }
            )
        )
