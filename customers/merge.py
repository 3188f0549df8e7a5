"""Merging duplicate customers into one survivor, and undoing the last merge.

In one transaction: the survivor takes, group of fields by group, the most complete non-empty
value among the customers, the newest of equally complete ones (or the one the reviewer
chose), every row that points at a merged customer (contacts, orders, interactions,
follow-ups, external ids, stage history, and any model added later) moves to the survivor,
tags are united, notes kept, and the others become tombstones pointing at the survivor, so
their old links redirect. The CustomerMerge row keeps
what undo needs; the audit log keeps the masked before and after.

Whoever calls a merge or its undo has checked that the actor may
(`customers.selectors.can_merge_customers`: the review pages, the merge_customers command; the
bulk merge lets only groups it may edit through, see customers/dedup/review.py); the services
take the actor for the record and the audit. What no one may merge — customers merged already,
erased or restricted — they refuse themselves, on the locked rows.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from customers import events
from customers.audit import CustomerAction
from customers.bulk_writes import CustomerWrite, record_customer_writes
from customers.custom_fields.models import NAME_PREFIX, FieldTarget
from customers.custom_fields.records import merged_values
from customers.custom_fields.selectors import defined_fields
from customers.dedup.review import reopen_after_undo, settle_after_merge
from customers.models import Contact, Customer, CustomerMerge
from customers.normalize import name_sound, place_pinyin
from customers.selectors import customers_visible_to
from customers.services import (
    CONFIRMATIONS,
    audit_diff,
    profile_snapshot,
)
from customers.signals import customers_merged, merge_undone
from kernel.versioning import next_version
from notifications.models import NotificationKind
from notifications.services import in_language_of, notify
from privacy import consent
from privacy.audit.recording import record_event
from privacy.models import ConsentSource

# Fields that travel together: a phone with the way it was written, an identity number with
# its blind index and mask, a name with its parts, an address as a whole.
FIELD_GROUPS: tuple[tuple[str, ...], ...] = (
    ("name", "family_name", "given_name", "name_pinyin", "name_key"),
    ("kind",),
    ("gender",),
    ("birth_date",),
    ("phone", "phone_raw", "phone_verified"),
    ("email", "email_raw", "email_verified"),
    ("id_document_kind", "id_number_encrypted", "id_number_blind_index", "id_number_masked"),
    ("country", "province", "city", "district", "street", "postcode", "city_pinyin"),
    ("company_name", "industry", "company_size", "website"),
    ("lifecycle_stage",),
    ("value_grade",),
    ("source_channel", "source_detail"),
    ("owner_id",),
)
# A group is "empty" on a customer when its first field is.
_EMPTY = ("", None)
# What makes a group's value more complete than another's, by the group's first field: the
# fields a person fills in (not those derived from them), counted when not empty. An address
# with a street and postcode beats a city alone; a name with its parts beats one without. Groups
# not listed are one value: present or not.
COMPLETENESS_FIELDS: dict[str, tuple[str, ...]] = {
    "name": ("name", "family_name", "given_name"),
    "phone": ("phone",),
    "email": ("email",),
    "id_document_kind": ("id_number_encrypted",),
    "country": ("street", "postcode", "city", "district", "province", "country"),
    "company_name": ("company_name", "industry", "company_size", "website"),
    "source_channel": ("source_channel", "source_detail"),
}
_CONSENTS = tuple(consent.PURPOSES_BY_FIELD)
# Where a merge notes the "not duplicates" decisions it carried over to the survivor.
_CARRIED_DECISIONS = "duplicate_decisions"
# ... and what other apps moved on customers_merged (customers/signals.py), by their key.
_CARRIED_ELSEWHERE = "carried_by_apps"
# The consent ledger's evidence for a change a merge or its undo made.
_MERGE_EVIDENCE = _("Duplicate records merged; a consent stands only where every record gave it.")
_UNDO_EVIDENCE = _("Merge undone; the consents are as before it.")


def _related_rows() -> list[tuple[type[models.Model], str]]:
    """Every (model, foreign key) pointing at a customer whose rows follow a merge; found
    from the model graph, so a model added later is moved too."""
    related = []
    for relation in Customer._meta.related_objects:
        if relation.one_to_many and relation.related_model not in (Customer, CustomerMerge):
            related.append((relation.related_model, relation.field.name))
    # Archives last, after the tables their rows move from (see _tables_holding).
    return sorted(related, key=lambda pair: hasattr(pair[0], "archive_of"))


def _tables_holding(model: type[models.Model]) -> list[type[models.Model]]:
    """`model` and any archive its rows move to keeping their ids (a model naming it as its
    `archive_of`, e.g. interactions.ArchivedInteraction): a row the merge moved may have been
    archived since, and undo finds it there. The archive comes second: a row being archived
    while undo runs is then found in one table or the other (interactions/archive.py)."""
    return [model] + [
        related
        for related, _field in _related_rows()
        if getattr(related, "archive_of", None) is model
    ]


def _label(model: type[models.Model]) -> str:
    return model._meta.label_lower


@transaction.atomic
def merge_customers(
    *,
    actor: Any,
    survivor: Customer,
    others: Sequence[Customer],
    field_choices: Mapping[str, int] | None = None,
) -> CustomerMerge:
    """Merge `others` into `survivor` for `actor` (None: the automatic merges the
    administrator configured), who the caller checked may (`can_merge_customers`).
    `field_choices` maps a field (the first of its group, e.g. "phone", or a custom field's
    "custom.<key>") to the id of the customer whose value to keep. Raises ValidationError for
    an impossible merge; on any error nothing changes."""
    other_ids = {other.pk for other in others} - {survivor.pk}
    if not other_ids:
        raise ValidationError(_("Choose at least one other customer to merge."))
    ids = sorted({survivor.pk, *other_ids})
    locked = {c.pk: c for c in Customer.objects.select_for_update().filter(pk__in=ids)}
    if len(locked) != len(ids) or any(c.merged_into_id for c in locked.values()):
        raise ValidationError(_("One of these customers has already been merged."))
    if any(c.restricted_at or c.erased_at for c in locked.values()):
        raise ValidationError(
            _("Customers whose processing is restricted, or who were erased, cannot be merged.")
        )
    survivor = locked[survivor.pk]
    others = [locked[pk] for pk in ids if pk != survivor.pk]

    before = profile_snapshot(survivor)
    record = CustomerMerge.objects.create(
        survivor=survivor,
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        survivor_before={
            field.attname: _jsonable(getattr(survivor, field.attname))
            for field in Customer._meta.concrete_fields
            if field.name != "id"
        },
        survivor_tags_before=sorted(survivor.tags.values_list("pk", flat=True)),
    )
    record.merged.set(others)
    consents_before = consent.statuses(survivor)
    _take_values(survivor, [survivor, *others], field_choices or {})
    version = next_version(survivor)
    survivor.save()
    written = CustomerWrite(survivor, consents_before=consents_before)
    written.moved_stage(before["lifecycle_stage"])
    record_customer_writes(
        [written],
        actor=actor,
        consent_source=ConsentSource.STAFF,
        evidence=str(_MERGE_EVIDENCE),
        announce=False,
    )
    record.moved = _move_rows(survivor, others)
    record.save(update_fields=["moved"])
    survivor.tags.add(
        *Customer.tags.through.objects.filter(customer__in=others).values_list("tag_id", flat=True)
    )
    _point(others, at=survivor)
    carried = settle_after_merge(actor=actor, survivor=survivor, others=others)
    if carried:
        record.moved[_CARRIED_DECISIONS] = {"": carried}
    elsewhere = dict(
        answer
        for _receiver, answer in customers_merged.send(
            sender=Customer, survivor=survivor, others=others
        )
        if answer is not None
    )
    if elsewhere:
        record.moved[_CARRIED_ELSEWHERE] = elsewhere
    record.save(update_fields=["moved"])
    _audit(actor, CustomerAction.MERGE, record, survivor, others, before, version)
    events.announce_merge(survivor, [other.pk for other in others])
    _tell_owners(actor, survivor, others)
    for other in others:
        record_event(
            actor=actor,
            action=CustomerAction.MERGED_INTO,
            target=other,
            changes={"survivor": survivor.pk, "merge": record.pk},
        )
    return record


def _tell_owners(actor: Any, survivor: Customer, others: Sequence[Customer]) -> None:
    """Each owner of a merged customer (but whoever merged) learns that it became part of the
    survivor; the survivor is named and linked only to an owner who may see it."""
    owner_ids = {other.owner_id for other in others} - {None, getattr(actor, "pk", None)}
    for owner in get_user_model().objects.filter(pk__in=owner_ids, is_active=True):
        sees_survivor = customers_visible_to(owner).filter(pk=survivor.pk).exists()
        names = ", ".join(other.name for other in others if other.owner_id == owner.pk)
        with in_language_of(owner):
            if sees_survivor:
                message = gettext("%(merged)s, a customer of yours, was merged into %(survivor)s.")
            else:
                message = gettext(
                    "%(merged)s, a customer of yours, was merged into another record."
                )
            message %= {"merged": names, "survivor": survivor.name}
        notify(
            owner,
            NotificationKind.CUSTOMER_MERGED,
            message,
            url=reverse("customers:detail", args=[survivor.pk]) if sees_survivor else "",
            customer_id=survivor.pk,
        )


def _jsonable(value: Any) -> Any:
    # Full precision (DjangoJSONEncoder would cut microseconds): undo restores exactly.
    return value.isoformat() if isinstance(value, datetime.date) else value


def completeness(customer: Customer, group: Sequence[str]) -> int:
    """How many of the fields that make `group`'s value complete `customer` fills
    (COMPLETENESS_FIELDS)."""
    fields = COMPLETENESS_FIELDS.get(group[0], group[:1])
    return sum(getattr(customer, field) not in _EMPTY for field in fields)


def default_sources(survivor: Customer, customers: Sequence[Customer]) -> dict[str, Customer]:
    """Where each group of fields comes from unless the reviewer chooses: among the customers
    that have a value, one the customer confirmed before an unconfirmed one (phone, email),
    then the most complete (`completeness`), then the most recently updated (the survivor
    when none has a value)."""
    sources = {}
    for group in FIELD_GROUPS:
        confirmed = CONFIRMATIONS.get(group[0])
        ranked = sorted(
            customers,
            key=lambda c, group=group, flag=confirmed: (
                bool(flag and getattr(c, flag)),
                completeness(c, group),
                c.updated_at,
                c.pk,
            ),
            reverse=True,
        )
        sources[group[0]] = next(
            (c for c in ranked if getattr(c, group[0]) not in _EMPTY), survivor
        )
    return sources


def _take_values(survivor: Customer, customers: list[Customer], choices: Mapping[str, int]):
    newest_first = sorted(customers, key=lambda c: (c.updated_at, c.pk), reverse=True)
    by_id = {customer.pk: customer for customer in customers}
    defaults = default_sources(survivor, customers)
    for group in FIELD_GROUPS:
        chosen = by_id.get(choices.get(group[0].removesuffix("_id")) or choices.get(group[0]))
        source = chosen or defaults[group[0]]
        for field in group:
            setattr(survivor, field, getattr(source, field))
    notes = [c.notes.strip() for c in newest_first if c.notes.strip()]
    survivor.notes = "\n\n".join(dict.fromkeys(notes))
    # A consent needs every record's: one that never gave it (or withdrew) wins.
    for status in _CONSENTS:
        setattr(survivor, status, all(getattr(c, status) for c in customers))
    activity = [c.last_activity_at for c in customers if c.last_activity_at]
    survivor.last_activity_at = max(activity) if activity else None
    custom_choices = {
        field.removeprefix(NAME_PREFIX): pk
        for field, pk in choices.items()
        if field.startswith(NAME_PREFIX)
    }
    survivor.custom = merged_values(
        defined_fields(FieldTarget.CUSTOMER, archived=True), customers, custom_choices
    )
    survivor.created_at = min(c.created_at for c in customers)


def _move_rows(survivor: Customer, others: list[Customer]) -> dict[str, dict[str, list[int]]]:
    moved: dict[str, dict[str, list[int]]] = {}
    other_ids = [other.pk for other in others]
    # One primary contact per customer: the survivor's stays primary, or else the newest of
    # the others'; the rest are demoted (and promoted again by undo).
    primaries = list(
        Contact.objects.filter(customer_id__in=other_ids, is_primary=True)
        .order_by("-created_at", "-pk")
        .values_list("pk", flat=True)
    )
    keep = 0 if survivor.contacts.filter(is_primary=True).exists() else 1
    demoted = primaries[keep:]
    if demoted:
        Contact.objects.filter(pk__in=demoted).update(is_primary=False)
        moved["primary_contacts"] = {"": demoted}
    for model, field in _related_rows():
        rows: dict[str, list[int]] = {}
        for pk, customer_id in model.objects.filter(**{f"{field}__in": other_ids}).values_list(
            "pk", f"{field}_id"
        ):
            rows.setdefault(str(customer_id), []).append(pk)
        if rows:
            model.objects.filter(**{f"{field}__in": other_ids}).update(**{field: survivor})
            moved[f"{_label(model)}.{field}"] = rows
    return moved


def _point(others: Sequence[Customer], *, at: Customer | None) -> None:
    """Make the others tombstones of `at`, or (None) customers again."""
    Customer.objects.filter(pk__in=[other.pk for other in others]).update(
        merged_into=at, updated_at=timezone.now()
    )


def _audit(
    actor, action: CustomerAction, merge: CustomerMerge, survivor, others, before, version
) -> None:
    record_event(
        actor=actor,
        action=action,
        target=survivor,
        changes={
            "merge": merge.pk,
            "customers": [other.pk for other in others],
            **audit_diff(before, profile_snapshot(survivor)),
            **version,
        },
    )


def last_merge_of(customer: Customer) -> CustomerMerge | None:
    return customer.merges.filter(undone_at__isnull=True).order_by("-merged_at", "-pk").first()


@transaction.atomic
def undo_merge(*, actor: Any, merge: CustomerMerge) -> Customer:
    """Undo the survivor's most recent merge: its values and tags as they were, every moved
    row back where it came from, the tombstones customers again, for `actor`, who the caller
    checked may (`can_merge_customers` on the survivor and the merged customers). Raises
    ValidationError when this is not the survivor's last merge or the survivor has since been
    merged itself."""
    merge = CustomerMerge.objects.select_for_update().get(pk=merge.pk)
    survivor = Customer.objects.select_for_update().get(pk=merge.survivor_id)
    others = list(merge.merged.select_for_update())
    latest = last_merge_of(survivor)
    if merge.undone_at or latest is None or latest.pk != merge.pk or survivor.merged_into_id:
        raise ValidationError(_("Only the last merge of a customer can be undone."))
    if survivor.erased_at:
        # The erasure dropped the values the undo would restore.
        raise ValidationError(_("The merges of an erased customer cannot be undone."))
    if any(customer.restricted_at for customer in [survivor, *others]):
        raise ValidationError(
            _("A merge of customers whose processing is restricted cannot be undone.")
        )
    before_undo = profile_snapshot(survivor)
    consents_before = consent.statuses(survivor)
    for field in Customer._meta.concrete_fields:
        # The version only moves forward: forms opened before the undo are stale.
        if field.attname in merge.survivor_before and field.attname != "version":
            setattr(survivor, field.attname, field.to_python(merge.survivor_before[field.attname]))
    # Merges made before names kept their sound (and cities their pinyin): recompute them.
    survivor.name_pinyin, survivor.name_key = name_sound(survivor.name)
    survivor.city_pinyin = place_pinyin(survivor.city)
    version = next_version(survivor)
    survivor.save()
    record_customer_writes(
        [CustomerWrite(survivor, consents_before=consents_before)],
        actor=actor,
        consent_source=ConsentSource.STAFF,
        evidence=str(_UNDO_EVIDENCE),
    )
    survivor.tags.set(merge.survivor_tags_before)
    for key, rows in merge.moved.items():
        if key in ("primary_contacts", _CARRIED_DECISIONS, _CARRIED_ELSEWHERE):
            continue
        label, field = key.rsplit(".", 1)
        model = next(m for m, f in _related_rows() if _label(m) == label and f == field)
        for table in _tables_holding(model):
            for customer_id, pks in rows.items():
                table.objects.filter(pk__in=pks).update(**{f"{field}_id": int(customer_id)})
    Contact.objects.filter(pk__in=merge.moved.get("primary_contacts", {}).get("", [])).update(
        is_primary=True
    )
    _point(others, at=None)
    merge_undone.send(
        sender=Customer, survivor=survivor, carried=merge.moved.get(_CARRIED_ELSEWHERE, {})
    )
    reopen_after_undo(
        survivor=survivor,
        others=others,
        carried=merge.moved.get(_CARRIED_DECISIONS, {}).get("", []),
    )
    merge.undone_at = timezone.now()
    merge.save(update_fields=["undone_at"])
    _audit(actor, CustomerAction.UNMERGE, merge, survivor, others, before_undo, version)
    return survivor


def survivor_of(pk: int) -> Customer | None:
    """The live customer a tombstone was merged into (following merges of merges)."""
    seen = set()
    customer = Customer.objects.filter(pk=pk).first()
    while customer is not None and customer.merged_into_id and customer.pk not in seen:
        seen.add(customer.pk)
        customer = Customer.objects.filter(pk=customer.merged_into_id).first()
    return customer
