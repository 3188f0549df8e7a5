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
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import CharField, DateTimeField, F, Q, Value
from django.db.models.functions import Cast, Coalesce, Concat
from django.utils import timezone

from customers.models import (
    Contact,
    Customer,
    CustomerMerge,
    DuplicateCandidate,
    ExternalId,
    ImportIssue,
)
from interactions.models import ArchivedInteraction, FollowUp, Interaction, Transaction
from privacy.audit import record_event
from privacy.consent import STATUS_FIELDS
from privacy.models import ConsentRecord, ConsentSource, DataSubjectRequest

# Every personal column of Customer and the value it takes; `name` becomes "#<id>".
ANONYMOUS_PROFILE: dict[str, Any] = {
    "family_name": "",
    "given_name": "",
    "name_pinyin": "",
    "name_key": "",
    "gender": "",
    "birth_date": None,
    "phone": "",
    "phone_raw": "",
    "email": "",
    "email_raw": "",
    "phone_verified": False,
    "email_verified": False,
    "id_document_kind": "",
    "id_number_encrypted": "",
    "id_number_blind_index": "",
    "id_number_masked": "",
    "city": "",
    "city_pinyin": "",
    "district": "",
    "street": "",
    "postcode": "",
    "company_name": "",
    "website": "",
    "source_detail": "",
    "notes": "",
    **dict.fromkeys(STATUS_FIELDS.values(), False),
}
# Values an import may have reported verbatim in its error report.
_RAW_VALUE_FIELDS = ("name", "phone", "phone_raw", "email", "email_raw", "street")


def same_person_ids(customer_ids: Iterable[int]) -> list[int]:
    """The customers and every record merged into them, however many merges deep."""
    found = set(customer_ids)
    frontier = set(found)
    while frontier:
        frontier = (
            set(Customer.objects.filter(merged_into__in=frontier).values_list("pk", flat=True))
            - found
        )
        found |= frontier
    return sorted(found)


def _scrub_interactions(customer_ids: list[int]) -> int:
    # The hot table first, then the archive: an interaction archived meanwhile is found there
    # (interactions/archive.py explains why this order is enough).
    return sum(
        table.objects.filter(customer__in=customer_ids).update(subject="", body="", external_ref="")
        for table in (Interaction, ArchivedInteraction)
    )


@transaction.atomic
def anonymise_customers(
    customer_ids: Iterable[int], *, actor: Any, reason: str, evidence: str
) -> dict[str, int]:
    """Anonymise these customers (and the records merged into them) in place, in one
    transaction; returns how many rows of each kind changed. `reason` is the audit action's
    suffix ("request", "retention"), `evidence` the consent ledger's note for the consents
    this withdraws. Customers already erased are left as they are."""
    ids = list(
        Customer.objects.filter(pk__in=same_person_ids(customer_ids), erased_at=None).values_list(
            "pk", flat=True
        )
    )
    if not ids:
        return {}
    now = timezone.now()
    people = Customer.objects.filter(pk__in=ids)
    raw_values = {value for row in people.values_list(*_RAW_VALUE_FIELDS) for value in row if value}
    granted = [
        ConsentRecord(
            customer_id=pk,
            purpose=purpose,
            granted=False,
            source=ConsentSource.STAFF,
            evidence=evidence,
            recorded_at=now,
        )
        for purpose, field in STATUS_FIELDS.items()
        for pk in people.filter(**{field: True}).values_list("pk", flat=True)
    ]
    counts = {
        "consents_scrubbed": ConsentRecord.objects.filter(customer__in=ids)
        .exclude(evidence="")
        .update(evidence=""),
        "contacts": Contact.objects.filter(customer__in=ids).delete()[0],
        "external_ids": ExternalId.objects.filter(customer__in=ids).delete()[0],
        "interactions": _scrub_interactions(ids),
        "follow_ups": FollowUp.objects.filter(customer__in=ids).update(
            title="",
            notes="",
            done_at=Coalesce("done_at", Value(now, output_field=DateTimeField())),
            version=F("version") + 1,
        ),
        "transactions": Transaction.objects.filter(customer__in=ids).update(external_ref=""),
        "merges": CustomerMerge.objects.filter(survivor__in=ids).update(survivor_before={}),
        "duplicate_pairs": DuplicateCandidate.objects.filter(
            Q(customer_a__in=ids) | Q(customer_b__in=ids)
        ).delete()[0],
        "import_issues": ImportIssue.objects.filter(value__in=raw_values).update(value="")
        if raw_values
        else 0,
        "requests": DataSubjectRequest.objects.filter(customer__in=ids).update(details=""),
    }
    ConsentRecord.objects.bulk_create(granted)
    counts["customers"] = people.update(
        **ANONYMOUS_PROFILE,
        name=Concat(Value("#"), Cast("pk", output_field=CharField())),
        erased_at=now,
        archived_at=Coalesce("archived_at", Value(now, output_field=DateTimeField())),
        updated_at=now,
        # A form opened before the erasure must not write the personal data back.
        version=F("version") + 1,
    )
    for pk in ids:
        record_event(
            actor=actor,
            action=f"customer.erase.{reason}",
            target=Customer(pk=pk),
            changes={"same_person": [other for other in ids if other != pk]}
            if len(ids) > 1
            else {},
        )
    return counts
