"""What the import_* management commands share: run one file through the same job machinery as
the wizard, in this process, and print a JSON summary."""

from __future__ import annotations

import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.management.base import BaseCommand, CommandError

from customers.imports import jobs
from customers.models import DateOrder, InvalidValues, IssueSeverity, UpdatePolicy
from kernel.models import JobStatus
from privacy.audit.recording import audit_context
from privacy.models import AuditChannel

MAX_ERRORS_PRINTED = 100


class ImportCommand(BaseCommand):
    kind = ""

    def add_arguments(self, parser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument("--source", default="", help="the system the file comes from")
        parser.add_argument(
            "--mapping",
            default="auto",
            help="a saved template's name, or 'auto' to map columns from their headers",
        )
        parser.add_argument("--policy", choices=UpdatePolicy.values, default=UpdatePolicy.FILL)
        parser.add_argument(
            "--invalid-values", choices=InvalidValues.values, default=InvalidValues.REJECT_ROW
        )
        parser.add_argument(
            "--date-order",
            choices=["day-first", "month-first"],
            help="how the file writes dates such as 07/04/1980 (without it they are refused; "
            "a template's choice is the default)",
        )
        parser.add_argument("--all-or-nothing", action="store_true")
        parser.add_argument("--dry-run", action="store_true", help="count, write nothing")
        parser.add_argument(
            "--user", help="whose import this is (default: the first active superuser)"
        )

    def handle(self, *args, **options) -> None:
        actor = self._actor(options["user"])
        path: Path = options["path"]
        if not path.is_file():
            raise CommandError(f"No such file: {path}")
        with audit_context(via=AuditChannel.COMMAND):
            job = self._run(actor, path, options)
        summary = {
            "job": job.pk,
            "status": job.status,
            "failure": job.failure,
            **jobs.job_counts(job),
            # Cell values stay out of the terminal (and its logs): the report has them.
            "errors": list(
                job.issues.filter(severity=IssueSeverity.ERROR).values("row", "column", "message")[
                    :MAX_ERRORS_PRINTED
                ]
            ),
        }
        self.stdout.write(json.dumps(summary, ensure_ascii=False, indent=2))
        if job.status != JobStatus.DONE:
            raise CommandError(job.failure or f"Import {job.status}")

    def _run(self, actor, path: Path, options):
        try:
            with path.open("rb") as handle:
                upload = UploadedFile(handle, name=path.name, size=path.stat().st_size)
                job = jobs.create_import(actor=actor, kind=self.kind, upload=upload)
            mapping = job.mapping
            date_order = (options["date_order"] or "").replace("-", "_")
            if options["mapping"] != "auto":
                template = jobs.templates_for(self.kind).filter(name=options["mapping"]).first()
                if template is None:
                    raise CommandError(
                        f"No {self.kind} import template named {options['mapping']!r}"
                    )
                mapping = jobs.apply_template(job, template)
                date_order = date_order or template.options.get("date_order", DateOrder.UNSAID)
            jobs.configure_import(
                actor=actor,
                job=job,
                mapping=mapping,
                source_name=options["source"] or job.source_name,
                policy=options["policy"],
                invalid_values=options["invalid_values"],
                all_or_nothing=options["all_or_nothing"],
                date_order=date_order,
            )
            jobs.start_import(actor=actor, job=job, dry_run=options["dry_run"], queue=False)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        except PermissionDenied as error:
            raise CommandError(f"{actor} may not import") from error
        jobs.IMPORT_JOBS.run(job.pk)
        if jobs.needs_duplicate_check(job.pk):
            jobs.record_possible_duplicates(job.pk)
        job.refresh_from_db()
        return job

    @staticmethod
    def _actor(username: str | None):
        return command_actor(username)


def command_actor(username: str | None):
    """The user a management command acts for: --user, else the first active superuser."""
    users = get_user_model().objects.filter(is_active=True)
    actor = (
        users.filter(username=username).first()
        if username
        else users.filter(is_superuser=True).order_by("pk").first()
    )
    if actor is None:
        raise CommandError("Pass --user with the username of an active user allowed to do this.")
    return actor
