"""Erasure by anonymisation: the customer's row and history stay, for the figures they feed
(revenue, interaction counts, segment sizes), with nothing left that identifies the person.

The same set-based statements serve one data-subject request and a retention run over
thousands of customers. What is kept and why:
- amounts, dates, products, channels, interaction kinds, satisfaction, lifecycle stage,
  country and province, tags, metrics: aggregates, identifying no one;
- the audit log: it never holds personal values (customers.services.audit_diff masks them).
What goes: every personal field of the profile, the encrypted identity number and its blind
index, contacts, external ids, order numbers, the free text of interactions (archived ones too)
and follow-ups, the evidence text of consents, the undo snapshots of merges, duplicate pairs,
the raw values an import reported as faulty, the details of the person's requests. Records
merged into the customer are the same person and go the same way.

Each app registers what anonymising does to its rows (a scrubber, privacy/registry.py:
customers/privacy.py, interactions/privacy.py; the consent ledger and the requests below);
they run in the order of their keys, the profile last, as the ones before it read it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from privacy.actions import DataSubjectAction
from privacy.audit.recording import record_event
from privacy.consent import STATUS_FIELDS
from privacy.models import ConsentRecord, ConsentSource, DataSubjectRequest
from privacy.registry import SCRUBBERS, Erasure, Scrubber, data_subject


def _scrub_consents(erasure: Erasure) -> int:
    """The evidence of past consents goes; each consent still given is withdrawn in the ledger."""
    people = data_subject().model.objects.filter(pk__in=erasure.ids)
    withdrawn = [
        ConsentRecord(
            customer_id=pk,
            purpose=purpose,
            granted=False,
            source=ConsentSource.STAFF,
            evidence=erasure.evidence,
            recorded_at=erasure.now,
        )
        for purpose, field in STATUS_FIELDS.items()
        for pk in people.filter(**{field: True}).values_list("pk", flat=True)
    ]
    scrubbed = (
        ConsentRecord.objects.filter(customer__in=erasure.ids)
        .exclude(evidence="")
        .update(evidence="")
    )
    ConsentRecord.objects.bulk_create(withdrawn)
    return scrubbed


# Privacy's own records about the person, registered by privacy/apps.py.
LEDGER_SCRUBBERS = [
    Scrubber("consents_scrubbed", 10, _scrub_consents),
    Scrubber(
        "requests",
        100,
        lambda erasure: DataSubjectRequest.objects.filter(customer__in=erasure.ids).update(
            details=""
        ),
    ),
]


# The reasons anonymise_customers is given, and how each erasure is audited.
_ERASED_BECAUSE = {
    "request": DataSubjectAction.ERASE_ON_REQUEST,
    "retention": DataSubjectAction.ERASE_AFTER_RETENTION,
}


@transaction.atomic
def anonymise_customers(
    customer_ids: Iterable[int], *, actor: Any, reason: str, evidence: str
) -> dict[str, int]:
    """Anonymise these customers (and the records merged into them) in place, in one
    transaction; returns how many rows of each kind changed. `reason` ("request", "retention") says
    which audit action records it, `evidence` the consent ledger's note for the consents
    this withdraws. Customers already erased are left as they are."""
    subject = data_subject()
    ids = list(
        subject.model.objects.filter(
            pk__in=subject.same_person(customer_ids), erased_at=None
        ).values_list("pk", flat=True)
    )
    if not ids:
        return {}
    erasure = Erasure(ids=ids, now=timezone.now(), evidence=evidence)
    counts = {scrubber.name: scrubber.scrub(erasure) for scrubber in SCRUBBERS}
    for pk in ids:
        record_event(
            actor=actor,
            action=_ERASED_BECAUSE[reason],
            target=subject.model(pk=pk),
            changes={"same_person": [other for other in ids if other != pk]}
            if len(ids) > 1
            else {},
        )
    return counts
