"""The customer events other systems may subscribe to (kernel/outbox.py), registered by
customers/apps.py, and the payloads they carry: the customer as the API shows it
(customers/api/serializers.py), unmasked in the outbox and masked for each subscriber when the
event is relayed, exactly as the API masks it for that subscriber's service account.

Created and updated customers are announced from `record_customer_writes`
(customers/bulk_writes.py), the one place every form, API call, merge and import batch passes
through; archiving, merging and erasing from their services."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.utils.translation import gettext_lazy as _

from accounts.teams import works_on_behalf_of
from customers.api.serializers import CustomerSerializer, MaskedPersonalDataMixin
from customers.custom_fields.models import FieldDefinition, FieldTarget, Sensitivity
from customers.custom_fields.records import mask_personal_values
from customers.models import Customer
from customers.presentation import PERSONAL_FIELDS
from customers.selectors import can_view_personal_data, customers_visible_to
from kernel import outbox
from privacy.consent import CONSENT_TOPIC, consent_payload
from privacy.masking import mask
from privacy.models import ConsentRecord

CREATED = "customer.created"
UPDATED = "customer.updated"
MERGED = "customer.merged"
ARCHIVED = "customer.archived"
ERASED = "customer.erased"
CONSENT_CHANGED = CONSENT_TOPIC


class CustomerEventSerializer(CustomerSerializer):
    """The API's customer, unmasked: the outbox keeps the record as it is, and each subscriber
    gets it masked for its own service account (`mask_customer`)."""

    def to_representation(self, instance: Any) -> dict[str, Any]:
        # Past the masking mixin, to ModelSerializer's plain representation.
        return super(MaskedPersonalDataMixin, self).to_representation(instance)


def customer_data(customer: Customer, context: dict[str, Any] | None = None) -> dict[str, Any]:
    """The customer as the API shows it, before masking, as plain JSON values; customers
    announced together share one `context` (the custom fields are read once for them)."""
    return dict(CustomerEventSerializer(customer, context=context or {}).data)


def in_scope(viewer: Any, customer_id: int, owner_id: int | None) -> bool:
    """Whether `viewer` may see this customer (customers.selectors.customers_visible_to's rule,
    answered from the payload without a query when it can be)."""
    if not viewer.has_perm("customers.view_customer"):
        return False
    if viewer.has_perm("customers.view_all_customers"):
        return True
    if owner_id is not None:
        return works_on_behalf_of(viewer, owner_id)
    return customers_visible_to(viewer).filter(pk=customer_id).exists()


def mask_record(viewer: Any, record: dict[str, Any]) -> dict[str, Any]:
    """A customer (or contact) record with its personal fields masked unless `viewer` may see
    this customer's personal data (customers.selectors.can_view_personal_data)."""
    if can_view_personal_data(viewer, Customer(owner_id=record.get("owner"))):
        return record
    masked = {
        field: mask(PERSONAL_FIELDS[field], value or "") if field in PERSONAL_FIELDS else value
        for field, value in record.items()
    }
    return mask_custom_values(FieldTarget.CUSTOMER, masked)


def mask_custom_values(target: str, record: dict[str, Any]) -> dict[str, Any]:
    """A payload of a `target` record with the personal values of its `custom` masked (for a
    viewer who may not see its customer's personal data)."""
    if not any(value is not None for value in (record.get("custom") or {}).values()):
        return record
    personal = FieldDefinition.objects.filter(target=target, sensitivity=Sensitivity.PERSONAL).only(
        "key", "type", "sensitivity"
    )
    return {**record, "custom": mask_personal_values(personal, record["custom"])}


def mask_customer(viewer: Any, data: dict[str, Any]) -> dict[str, Any] | None:
    """A customer event's payload as `viewer` may see it: None out of their scope."""
    if not in_scope(viewer, data["id"], data.get("owner")):
        return None
    return mask_record(viewer, data)


def mask_consent(viewer: Any, data: dict[str, Any]) -> dict[str, Any] | None:
    """A consent entry names its customer by id only (privacy/consent.py
    `consent_payload`): nothing to mask, but only for viewers who may see the customer."""
    return data if in_scope(viewer, data["customer"], None) else None


def mask_ids_only(viewer: Any, data: dict[str, Any]) -> dict[str, Any] | None:
    """An erasure carries ids only: nothing to mask, and even a viewer who could not see the
    customer may be told to forget what it holds of them."""
    return data


TOPICS = [
    outbox.Topic(CREATED, _("Customer created"), mask_customer),
    outbox.Topic(UPDATED, _("Customer changed"), mask_customer),
    outbox.Topic(MERGED, _("Customers merged"), mask_customer),
    outbox.Topic(ARCHIVED, _("Customer archived"), mask_customer),
    outbox.Topic(ERASED, _("Customer erased"), mask_ids_only),
    # Emitted by privacy/consent.py and by record_customer_writes (consents changed in a form
    # or an import); registered here, where the customer's scope is known.
    outbox.Topic(CONSENT_CHANGED, _("Consent given or withdrawn"), mask_consent),
]


def announce_writes(created: Sequence[Customer], changed: Sequence[Customer]) -> None:
    """customer.created for each new customer, customer.updated for each changed one."""
    context: dict[str, Any] = {}
    for name, customers in ((CREATED, created), (UPDATED, changed)):
        outbox.emit_many(
            name, customers, data=lambda customer: customer_data(customer, context), subject_id=_pk
        )


def announce_merge(survivor: Customer, merged_ids: Sequence[int]) -> None:
    """customer.merged: the survivor as it is now, and the ids merged into it."""
    outbox.emit(
        MERGED,
        target=survivor,
        data=lambda: {**customer_data(survivor), "merged": sorted(merged_ids)},
        subject_id=survivor.pk,
    )


def announce_archived(customer: Customer) -> None:
    outbox.emit(
        ARCHIVED, target=customer, data=lambda: customer_data(customer), subject_id=customer.pk
    )


def announce_erasures(customer_ids: Sequence[int]) -> None:
    """customer.erased for each id: ids only, no personal data."""
    outbox.emit_many(
        ERASED,
        [Customer(pk=pk) for pk in customer_ids],
        data=lambda customer: {"id": customer.pk},
        subject_id=_pk,
    )


def announce_consents(records: Sequence[ConsentRecord]) -> None:
    """consent.changed for each new entry of the consent ledger."""
    outbox.emit_many(
        CONSENT_CHANGED, records, data=consent_payload, subject_id=lambda record: record.customer_id
    )


def _pk(customer: Customer) -> int:
    return customer.pk


def register() -> None:
    for topic in TOPICS:
        outbox.register_topic(topic)
