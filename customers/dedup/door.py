"""The check at the door: is the customer being typed in (or imported) already here?

Customers sharing a key with the record (phone, email, ID number, or the name's sound key) are
fetched through indexes, then scored with the same linkage model the scans use, so the form's
warning and the review queue agree. Small enough for a request: a few hundred rows at most.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import Q, QuerySet

from customers.dedup import features as feature_rows
from customers.dedup import linkage
from customers.dedup.reasons import notable
from customers.dedup.scan import current_model
from customers.models import Customer
from customers.selectors import customers_visible_to, id_number_scope, personal_data_scope

# A common name (张伟) may block with thousands: the newest are the likeliest to be the same.
NAME_BLOCK_LIMIT = 200
# What pages mask: compared only with customers whose personal data the user may see.
MASKED_FIELDS = ("phone", "email", "id_number_blind_index", "street", "postcode")
# The record being checked has no id yet.
NEW_RECORD_ID = 0


@dataclass(frozen=True)
class DoorMatch:
    customer: Customer
    probability: float
    # The notable reasons (customers.dedup.reasons), strongest first.
    reasons: tuple[tuple[str, float], ...]


def likely_duplicates(
    *,
    user: AbstractBaseUser,
    values: Mapping[str, Any],
    exclude_pk: int | None = None,
    limit: int = 5,
) -> list[DoorMatch]:
    """Customers `user` may see that are probably the record described by `values` (stored,
    normalised field values, any of them missing), the likeliest first.

    The record's phone, email and address are compared only with customers whose personal
    data the user may see, its identity number only by those who may reveal one; the others
    are compared on what the user sees of them (name, birth date, city, company), so the panel
    never confirms a masked value."""
    record = {field: values.get(field) or "" for field in feature_rows.SOURCE_FIELDS}
    record.update(id=NEW_RECORD_ID, birth_date=values.get("birth_date") or None)
    if values.get("name"):
        record.pop("name_pinyin"), record.pop("name_key")
    if id_number_scope(user) is None:
        # Identity numbers are compared only by those who may reveal them.
        record["id_number_blind_index"] = ""
    visible = customers_visible_to(user).filter(archived_at__isnull=True).exclude(pk=exclude_pk)
    scope = personal_data_scope(user)
    if scope == Q():
        scored = _score_against(record, _candidates(record, visible))
    else:
        unmasked = visible.none() if scope is None else visible.filter(scope)
        masked = visible if scope is None else visible.exclude(scope)
        without_personal = {**record, **dict.fromkeys(MASKED_FIELDS, "")}
        scored = sorted(
            [
                *_score_against(record, _candidates(record, unmasked)),
                *_score_against(without_personal, _candidates(without_personal, masked)),
            ],
            key=lambda match: -match[1],
        )
    customers = Customer.objects.in_bulk(pair_id for pair_id, _, _ in scored)
    return [
        DoorMatch(customers[pk], probability, tuple(notable(reasons)))
        for pk, probability, reasons in scored[:limit]
        if pk in customers
    ]


def _candidates(record: Mapping[str, Any], customers: QuerySet[Customer]) -> set[int]:
    """The customers sharing a key with the record: phone, email, identity number, or the
    name's sound key (the newest NAME_BLOCK_LIMIT of a common name)."""
    keys = Q()
    for field in ("phone", "email", "id_number_blind_index"):
        if record[field]:
            keys |= Q(**{field: record[field]})
    ids = (
        set(customers.filter(keys).values_list("pk", flat=True)[:NAME_BLOCK_LIMIT])
        if keys
        else set()
    )
    key = feature_rows.feature_row(record)[3]
    if key:
        ids |= set(
            customers.filter(name_key=key)
            .order_by("-updated_at")
            .values_list("pk", flat=True)[:NAME_BLOCK_LIMIT]
        )
    return ids


def _score_against(
    record: Mapping[str, Any], candidate_ids: set[int]
) -> list[tuple[int, float, tuple[tuple[str, float], ...]]]:
    """Score one unsaved record (id NEW_RECORD_ID) against the customers `candidate_ids`:
    [(customer id, probability, reasons)], likeliest first."""
    if not candidate_ids:
        return []
    features = linkage.Features(memory_limit="256MB", threads=1)
    try:
        features.add([feature_rows.feature_row(record, changed=True)])
        feature_rows.load(features, Customer.objects.filter(pk__in=candidate_ids))
        # Only the new record is marked changed, so every pair is (new record, candidate),
        # the new record's id being the smallest.
        scored = [
            (pair.right, pair.probability, pair.reasons)
            for pair in linkage.predict(
                features,
                current_model(),
                min_probability=settings.DEDUP_DOOR_PROBABILITY,
                only_changed=True,
            )
        ]
    finally:
        features.close()
    scored.sort(key=lambda match: -match[1])
    return scored
