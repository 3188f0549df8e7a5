import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from customers.imports.command import command_actor
from customers.merge import merge_customers
from customers.models import Customer
from customers.selectors import can_merge_customers
from privacy.audit.recording import audit_context
from privacy.models import AuditChannel


class Command(BaseCommand):
    help = "Merge customers OTHER... into SURVIVOR (audited; undo the last merge in the app)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("survivor", type=int)
        parser.add_argument("others", type=int, nargs="+")
        parser.add_argument("--user", help="who merges (default: the first active superuser)")

    def handle(self, *args, **options) -> None:
        actor = command_actor(options["user"])
        customers = Customer.objects.in_bulk([options["survivor"], *options["others"]])
        missing = [pk for pk in [options["survivor"], *options["others"]] if pk not in customers]
        if missing:
            raise CommandError(f"No customers with ids {missing}")
        if not can_merge_customers(actor, customers.values()):
            raise CommandError(f"{actor} may not merge these customers")
        try:
            with audit_context(via=AuditChannel.COMMAND):
                merge = merge_customers(
                    actor=actor,
                    survivor=customers[options["survivor"]],
                    others=[customers[pk] for pk in options["others"]],
                )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        self.stdout.write(
            json.dumps(
                {
                    "merge": merge.pk,
                    "survivor": merge.survivor_id,
                    "merged": sorted(merge.merged.values_list("pk", flat=True)),
                }
            )
        )
