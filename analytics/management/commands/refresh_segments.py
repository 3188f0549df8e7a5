import json

from django.core.management.base import BaseCommand, CommandError

from analytics.models import Segment
from analytics.segments.ready_made import ensure_ready_made_segments
from analytics.segments.refresh import refresh_segments
from privacy.audit.recording import audit_context
from privacy.models import AuditChannel


class Command(BaseCommand):
    help = (
        "Recompute the members of dynamic segments (all of them, or those NAMEd); the ready-"
        "made segments are created first if missing. Prints a JSON line per segment."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("names", nargs="*", metavar="NAME")

    def handle(self, *args, names: list[str], **options) -> None:
        ensure_ready_made_segments()
        unknown = sorted(
            set(names) - set(Segment.objects.filter(name__in=names).values_list("name", flat=True))
        )
        if unknown:
            raise CommandError(f"No segments named {unknown}")
        with audit_context(via=AuditChannel.COMMAND):
            refreshed = refresh_segments(names or None)
        for segment in refreshed:
            self.stdout.write(
                json.dumps(
                    {
                        "segment": segment.name,
                        "size": segment.size,
                        "seconds": segment.refresh_seconds,
                    },
                    ensure_ascii=False,
                )
            )
