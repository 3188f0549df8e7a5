import json

from django.core.management.base import BaseCommand, CommandError

from analytics.churn import train_churn_model
from kernel.models import JobStatus
from privacy.audit.recording import audit_context
from privacy.models import AuditChannel


class Command(BaseCommand):
    help = (
        "Train the churn model on the history, measure it on a held-out period and score every "
        "active customer who has bought (or clear the scores when there is too little data). "
        "Run after refresh_metrics. Prints a JSON summary."
    )

    def handle(self, *args, **options) -> None:
        with audit_context(via=AuditChannel.COMMAND):
            model = train_churn_model()
        if model.status != JobStatus.DONE:
            raise CommandError(model.failure)
        self.stdout.write(
            json.dumps(
                {
                    "model": model.pk,
                    "outcome": model.outcome,
                    "auc": model.auc,
                    "recency_auc": model.recency_auc,
                    "training_customers": model.training_customers,
                    "held_out_customers": model.held_out_customers,
                    "scored_customers": model.scored_customers,
                    "reason": model.reason_text,
                    "seconds": model.seconds,
                }
            )
        )
