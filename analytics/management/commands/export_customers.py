import json
import shutil
from pathlib import Path

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from analytics.exports.columns import BUILT_IN_COLUMNS, DEFAULT_COLUMNS
from analytics.exports.jobs import EXPORT_JOBS
from analytics.exports.selectors import saved_view_params
from analytics.exports.services import start_export
from analytics.models import ExportFormat
from customers.imports.command import command_actor
from customers.models import SavedView
from kernel.models import JobStatus
from privacy.audit.recording import audit_context
from privacy.consent import MARKETING_CHANNELS
from privacy.models import AuditChannel


class Command(BaseCommand):
    help = "Export customers (all you may see, or a saved view's) to CSV or XLSX, audited."

    def add_arguments(self, parser) -> None:
        parser.add_argument("-o", "--output", type=Path, required=True)
        parser.add_argument("--view", help="a saved view's name (own or shared)")
        parser.add_argument("--format", choices=ExportFormat.values, default=ExportFormat.CSV)
        parser.add_argument(
            "--columns",
            help=(
                f"comma-separated, from: {', '.join(column.key for column in BUILT_IN_COLUMNS)}, "
                "and custom fields as custom.<key>"
            ),
        )
        parser.add_argument(
            "--marketing",
            choices=MARKETING_CHANNELS,
            default="",
            help="the channel the list is for: only customers who consented to it",
        )
        parser.add_argument(
            "--user", help="whose export this is (default: the first active superuser)"
        )

    def handle(self, *args, **options) -> None:
        actor = command_actor(options["user"])
        columns = options["columns"].split(",") if options["columns"] else DEFAULT_COLUMNS
        try:
            params = saved_view_params(actor, options["view"]) if options["view"] else {}
            with audit_context(via=AuditChannel.COMMAND):
                job = start_export(
                    actor=actor,
                    params=params,
                    columns=[column.strip() for column in columns],
                    format=options["format"],
                    view_name=options["view"] or "",
                    marketing_channel=options["marketing"],
                    queue=False,
                )
                EXPORT_JOBS.run(job.pk)
        except SavedView.DoesNotExist as error:
            raise CommandError(f"No saved view named {options['view']!r} for {actor}") from error
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        except PermissionDenied as error:
            raise CommandError(f"{actor} may not export") from error
        job.refresh_from_db()
        if job.status != JobStatus.DONE:
            raise CommandError(job.failure or f"Export {job.status}")
        with job.file.open("rb") as source, options["output"].open("wb") as target:
            shutil.copyfileobj(source, target)
        self.stdout.write(
            json.dumps(
                {
                    "job": job.pk,
                    "rows": job.rows_done,
                    "format": job.format,
                    "unmasked": job.unmasked,
                    "output": str(options["output"]),
                }
            )
        )
