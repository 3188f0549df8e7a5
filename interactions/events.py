"""The events of purchases, interactions and follow-ups other systems may subscribe to
(kernel/outbox.py), registered by interactions/apps.py: their payloads as the API shows these
records, and each subscriber's view of them (only customers in its service account's scope,
an interaction's personal custom values masked as the API masks them).

A follow-up falling due is no write: `announce_due_follow_ups` finds, from the beat, those that
fell due since its last run, each once."""

from __future__ import annotations

import datetime
from collections.abc import Collection
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.api.serializers import MaskedPersonalDataMixin
from customers.custom_fields.models import FieldTarget
from customers.events import in_scope, mask_custom_values
from customers.models import Customer
from customers.selectors import can_view_personal_data
from interactions.api.serializers import (
    FollowUpSerializer,
    InteractionSerializer,
    TransactionSerializer,
)
from interactions.models import FollowUp, Interaction, Transaction
from kernel import outbox

TRANSACTION_RECORDED = "transaction.recorded"
INTERACTION_LOGGED = "interaction.logged"
FOLLOW_UP_DUE = "follow_up.due"
_FOLLOW_UPS_WATERMARK = "follow_up.due"


def mask_for_customer_scope(viewer: Any, data: dict[str, Any]) -> dict[str, Any] | None:
    """These records hold no field the pages mask: each goes to viewers who may see its
    customer, whole."""
    return data if in_scope(viewer, data["customer"], None) else None


def mask_interaction(viewer: Any, data: dict[str, Any]) -> dict[str, Any] | None:
    """An interaction goes to viewers who may see its customer, its personal custom values
    masked unless they may see the customer's personal data."""
    if not in_scope(viewer, data["customer"], None):
        return None
    customer = Customer.objects.only("owner_id").get(pk=data["customer"])
    if can_view_personal_data(viewer, customer):
        return data
    return mask_custom_values(FieldTarget.INTERACTION, data)


class InteractionEventSerializer(InteractionSerializer):
    """The API's interaction, unmasked: the outbox keeps it as it is, and each subscriber gets
    it masked for its own service account (`mask_interaction`)."""

    def to_representation(self, instance: Any) -> dict[str, Any]:
        # Past the masking mixin, to ModelSerializer's plain representation.
        return super(MaskedPersonalDataMixin, self).to_representation(instance)


TOPICS = [
    outbox.Topic(TRANSACTION_RECORDED, _("Purchase recorded"), mask_for_customer_scope),
    outbox.Topic(INTERACTION_LOGGED, _("Interaction logged"), mask_interaction),
    outbox.Topic(FOLLOW_UP_DUE, _("Follow-up due"), mask_for_customer_scope),
]


def announce_transaction(order: Transaction) -> None:
    outbox.emit(
        TRANSACTION_RECORDED,
        target=order,
        data=lambda: dict(TransactionSerializer(order).data),
        subject_id=order.customer_id,
    )


def announce_interaction(interaction: Interaction) -> None:
    outbox.emit(
        INTERACTION_LOGGED,
        target=interaction,
        data=lambda: dict(InteractionEventSerializer(interaction).data),
        subject_id=interaction.customer_id,
    )


def announce_transactions(orders: Collection[Transaction]) -> int:
    """transaction.recorded for each of many new orders at once (an import batch, a bulk
    call), their lines read in one query; returns how many were written."""
    if not orders or not outbox.is_subscribed(TRANSACTION_RECORDED):
        return 0
    with_lines = Transaction.objects.filter(pk__in=[order.pk for order in orders])
    return outbox.emit_many(
        TRANSACTION_RECORDED,
        with_lines.prefetch_related("lines").order_by("pk"),
        data=lambda order: dict(TransactionSerializer(order).data),
        subject_id=lambda order: order.customer_id,
    )


def announce_interactions(interactions: Collection[Interaction]) -> int:
    """interaction.logged for each of many new interactions at once (an import batch, a bulk
    call); returns how many were written. They share one serializer context: the custom
    fields are read once for all of them."""
    context: dict[str, Any] = {}
    return outbox.emit_many(
        INTERACTION_LOGGED,
        interactions,
        data=lambda interaction: dict(
            InteractionEventSerializer(interaction, context=context).data
        ),
        subject_id=lambda interaction: interaction.customer_id,
    )


def announce_due_follow_ups(*, now: datetime.datetime | None = None) -> int:
    """follow_up.due for every open follow-up that fell due since the last run (each once: the
    window moves on in the same transaction); returns how many were announced. The first run
    only marks where the next one starts."""
    with transaction.atomic():
        window = outbox.announcement_window(_FOLLOW_UPS_WATERMARK, until=now or timezone.now())
        if window is None or not outbox.is_subscribed(FOLLOW_UP_DUE):
            return 0
        since, until = window
        due = FollowUp.objects.filter(
            due_at__gt=since, due_at__lte=until, done_at__isnull=True
        ).order_by("due_at", "pk")
        return outbox.emit_many(
            FOLLOW_UP_DUE,
            due.iterator(chunk_size=1000),
            data=lambda follow_up: dict(FollowUpSerializer(follow_up).data),
            subject_id=lambda follow_up: follow_up.customer_id,
        )


def register() -> None:
    for topic in TOPICS:
        outbox.register_topic(topic)
