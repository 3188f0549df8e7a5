import csv
import json
from collections.abc import Iterator

from django.core.management.base import BaseCommand
from django.utils import translation

from customers.dedup.reasons import describe
from customers.models import CandidateStatus, DuplicateCandidate, ExternalId
from kernel.bulk import batched


class Command(BaseCommand):
    help = (
        "List the possible duplicates waiting for review: both customers' ids and external "
        "ids, the probability and the reasons. No names or contact details are printed."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--format", choices=("csv", "json"), default="csv")
        parser.add_argument("--min-probability", type=float, default=0.0)
        parser.add_argument("--language", default="en", help="language of the reasons")

    def handle(self, *args, **options) -> None:
        candidates = (
            DuplicateCandidate.objects.filter(
                status=CandidateStatus.OPEN, probability__gte=options["min_probability"]
            )
            .order_by("-probability", "group", "customer_a", "customer_b")
            .values_list("group", "customer_a", "customer_b", "probability", "reasons")
        )
        with translation.override(options["language"]):
            rows = list(_rows(candidates))
        if options["format"] == "json":
            self.stdout.write(json.dumps(rows, ensure_ascii=False, indent=1))
            return
        writer = csv.DictWriter(self.stdout, fieldnames=list(_FIELDS), lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, **{key: " ".join(row[key]) for key in _LISTS}})


def _rows(candidates) -> Iterator[dict]:
    """One row per pair, external ids looked up a chunk of pairs at a time."""
    for chunk in batched(candidates.iterator(chunk_size=CHUNK), CHUNK):
        ids = {a for _, a, _, _, _ in chunk} | {b for _, _, b, _, _ in chunk}
        external: dict[int, list[str]] = {}
        for customer_id, system, external_id in ExternalId.objects.filter(
            customer_id__in=ids
        ).values_list("customer_id", "system", "external_id"):
            external.setdefault(customer_id, []).append(f"{system}:{external_id}")
        for group, a, b, probability, reasons in chunk:
            yield {
                "group": group,
                "customer_a": a,
                "customer_b": b,
                "external_ids_a": sorted(external.get(a, [])),
                "external_ids_b": sorted(external.get(b, [])),
                "probability": round(probability, 4),
                "reasons": describe(reasons),
            }


CHUNK = 2000
_FIELDS = (
    "group",
    "customer_a",
    "customer_b",
    "external_ids_a",
    "external_ids_b",
    "probability",
    "reasons",
)
_LISTS = ("external_ids_a", "external_ids_b")
