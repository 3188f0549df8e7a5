"""What interactions contributes to the privacy workflows (privacy/registry.py), registered by
interactions/apps.py: purchases, interactions (with their custom values) and follow-ups in the
data-subject copy, what an erasure does to them, and the retention of old interactions' text
and custom values."""

from __future__ import annotations

import datetime
from typing import Any

from django.db.models import DateTimeField, F, QuerySet, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy

from customers.custom_fields.models import FieldTarget
from customers.custom_fields.privacy import copy_columns
from interactions.models import (
    ArchivedInteraction,
    FollowUp,
    Interaction,
    Transaction,
    TransactionLine,
)
from privacy.models import RetentionKind
from privacy.registry import (
    Column,
    CopySection,
    Erasure,
    RetentionTarget,
    Scrubber,
    display_column,
    field_column,
    register_copy_section,
    register_retention_target,
    register_scrubber,
    user_column,
)

# --- the copy -----------------------------------------------------------------------------

_INTERACTION_COLUMNS = [
    field_column("occurred_at", gettext_lazy("when")),
    display_column("kind", gettext_lazy("kind")),
    display_column("channel", gettext_lazy("channel")),
    display_column("direction", gettext_lazy("direction")),
    field_column("subject", gettext_lazy("subject")),
    field_column("body", gettext_lazy("details")),
    field_column("satisfaction", gettext_lazy("satisfaction (1–5)")),
    user_column("staff", gettext_lazy("staff")),
    Column("contact", gettext_lazy("contact"), lambda i: getattr(i.contact, "name", "")),
    field_column("external_ref", gettext_lazy("external reference")),
]


def _interactions(model: type[Interaction | ArchivedInteraction], ids: list[int]) -> QuerySet:
    return (
        model.objects.filter(customer__in=ids)
        .select_related("staff", "contact")
        .order_by("occurred_at", "pk")
    )


SECTIONS = [
    CopySection(
        "transactions",
        gettext_lazy("Purchases"),
        40,
        Transaction,
        lambda ids: Transaction.objects.filter(customer__in=ids).order_by("occurred_at", "pk"),
        [
            field_column("id", gettext_lazy("purchase")),
            field_column("occurred_at", gettext_lazy("date")),
            field_column("source_system", gettext_lazy("source system")),
            field_column("external_ref", gettext_lazy("order number")),
            display_column("channel", gettext_lazy("channel")),
            display_column("status", gettext_lazy("status")),
            field_column("amount", gettext_lazy("amount")),
            field_column("discount", gettext_lazy("order discount")),
            field_column("currency", gettext_lazy("currency")),
        ],
    ),
    CopySection(
        "transaction_lines",
        gettext_lazy("Purchased items"),
        50,
        TransactionLine,
        lambda ids: (
            TransactionLine.objects.filter(transaction__customer__in=ids)
            .select_related("product")
            .order_by("transaction_id", "pk")
        ),
        [
            field_column("transaction_id", gettext_lazy("purchase")),
            Column("sku", gettext_lazy("SKU"), lambda line: getattr(line.product, "sku", "")),
            Column(
                "product", gettext_lazy("product"), lambda line: getattr(line.product, "name", "")
            ),
            field_column("description", gettext_lazy("description")),
            field_column("quantity", gettext_lazy("quantity")),
            field_column("unit_price", gettext_lazy("unit price")),
            field_column("discount", gettext_lazy("discount")),
            field_column("line_total", gettext_lazy("line total")),
        ],
    ),
    CopySection(
        "interactions",
        gettext_lazy("Interactions"),
        60,
        Interaction,
        lambda ids: _interactions(Interaction, ids),
        copy_columns(FieldTarget.INTERACTION, _INTERACTION_COLUMNS),
    ),
    # After the hot table: an interaction archived while the copy is written may then be
    # listed in both sections, never in neither.
    CopySection(
        "archived_interactions",
        gettext_lazy("Older interactions (archived)"),
        70,
        ArchivedInteraction,
        lambda ids: _interactions(ArchivedInteraction, ids),
        copy_columns(
            FieldTarget.INTERACTION,
            [*_INTERACTION_COLUMNS, field_column("archived_at", gettext_lazy("archived"))],
        ),
    ),
    CopySection(
        "follow_ups",
        gettext_lazy("Follow-ups"),
        80,
        FollowUp,
        lambda ids: (
            FollowUp.objects.filter(customer__in=ids)
            .select_related("assignee")
            .order_by("due_at", "pk")
        ),
        [
            field_column("title", gettext_lazy("what to do")),
            field_column("notes", gettext_lazy("notes")),
            field_column("due_at", gettext_lazy("due date")),
            user_column("assignee", gettext_lazy("assigned to")),
            field_column("done_at", gettext_lazy("completed at")),
        ],
    ),
]

# --- erasure ------------------------------------------------------------------------------


def _scrub_customers_interactions(erasure: Erasure) -> int:
    # The hot table first, then the archive: an interaction archived meanwhile is found there
    # (interactions/archive.py explains why this order is enough).
    return sum(
        table.objects.filter(customer__in=erasure.ids).update(
            subject="", body="", external_ref="", custom={}
        )
        for table in (Interaction, ArchivedInteraction)
    )


SCRUBBERS = [
    Scrubber(
        "interactions",
        40,
        _scrub_customers_interactions,
        reach=lambda ids: sum(
            table.objects.filter(customer__in=ids).count()
            for table in (Interaction, ArchivedInteraction)
        ),
    ),
    Scrubber(
        "follow_ups",
        50,
        lambda erasure: FollowUp.objects.filter(customer__in=erasure.ids).update(
            title="",
            notes="",
            done_at=Coalesce("done_at", Value(erasure.now, output_field=DateTimeField())),
            version=F("version") + 1,
        ),
    ),
    Scrubber(
        "transactions",
        60,
        lambda erasure: Transaction.objects.filter(customer__in=erasure.ids).update(
            external_ref=""
        ),
        reach=lambda ids: Transaction.objects.filter(customer__in=ids).count(),
    ),
]

# --- retention ----------------------------------------------------------------------------


def _old_interactions(cutoff: datetime.datetime) -> QuerySet:
    # Hot and archived alike, in one statement (an interaction keeps its id in the archive).
    hot, archived = (
        table.objects.filter(occurred_at__lt=cutoff)
        .exclude(subject="", body="", custom={})
        .order_by()
        .values_list("pk")
        for table in (Interaction, ArchivedInteraction)
    )
    return hot.union(archived, all=True)


def _scrub_old_interactions(ids: list[int], actor: Any) -> None:
    # The hot table first, then the archive: a row archived since the run settled its ids is
    # found there (see interactions/archive.py).
    for table in (Interaction, ArchivedInteraction):
        table.objects.filter(pk__in=ids).update(subject="", body="", custom={})


RETENTION_TARGET = RetentionTarget(
    RetentionKind.OLD_INTERACTIONS, _old_interactions, _scrub_old_interactions
)


def register() -> None:
    for section in SECTIONS:
        register_copy_section(section)
    for scrubber in SCRUBBERS:
        register_scrubber(scrubber)
    register_retention_target(RETENTION_TARGET)
