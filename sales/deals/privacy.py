"""What deals contribute to the privacy workflows (privacy/registry.py), registered by
sales/apps.py: a data subject's deals, their lines and custom values in the copy, and an
erasure scrubbing the deals' free text (title, notes, lost reason, the lost reasons kept in
their stage history) and custom values. A merge moves deals to the survivor by itself
(customers/merge.py moves every row pointing at a merged customer), and their stage history
with them (it hangs on the deal)."""

from __future__ import annotations

from django.db.models import F, Value
from django.utils.translation import gettext_lazy

from customers.custom_fields.models import FieldTarget
from customers.custom_fields.privacy import copy_columns
from privacy.registry import (
    Column,
    CopySection,
    Erasure,
    Scrubber,
    display_column,
    field_column,
    register_copy_section,
    register_scrubber,
    user_column,
)
from sales.models import Deal, DealLine, DealStageChange

SECTIONS = [
    CopySection(
        "deals",
        gettext_lazy("Deals"),
        45,
        Deal,
        lambda ids: (
            Deal.objects.filter(customer__in=ids)
            .select_related("stage", "owner", "pipeline")
            .order_by("created_at", "pk")
        ),
        [
            field_column("id", gettext_lazy("deal")),
            field_column("title", gettext_lazy("title")),
            Column("pipeline", gettext_lazy("pipeline"), lambda d: d.pipeline.display_name),
            Column("stage", gettext_lazy("stage"), lambda d: d.stage.display_name),
            field_column("amount", gettext_lazy("amount")),
            field_column("currency", gettext_lazy("currency")),
            field_column("expected_close_date", gettext_lazy("expected close date")),
            field_column("notes", gettext_lazy("notes")),
            field_column("lost_reason", gettext_lazy("lost reason")),
            user_column("owner", gettext_lazy("owner")),
            field_column("created_at", gettext_lazy("created at")),
            field_column("won_at", gettext_lazy("won at")),
            field_column("lost_at", gettext_lazy("lost at")),
        ],
    ),
    CopySection(
        "deal_lines",
        gettext_lazy("Products of deals"),
        46,
        DealLine,
        lambda ids: (
            DealLine.objects.filter(deal__customer__in=ids)
            .select_related("product")
            .order_by("deal_id", "pk")
        ),
        [
            field_column("deal_id", gettext_lazy("deal")),
            Column("product", gettext_lazy("product"), lambda line: line.product.name),
            field_column("quantity", gettext_lazy("quantity")),
            field_column("unit_price", gettext_lazy("unit price")),
        ],
    ),
    CopySection(
        "deal_stage_changes",
        gettext_lazy("Stage history of deals"),
        47,
        DealStageChange,
        lambda ids: (
            DealStageChange.objects.filter(deal__customer__in=ids)
            .select_related("from_stage", "to_stage")
            .order_by("deal_id", "at", "pk")
        ),
        [
            field_column("deal_id", gettext_lazy("deal")),
            display_column("kind", gettext_lazy("change")),
            Column(
                "from_stage",
                gettext_lazy("from stage"),
                lambda row: row.from_stage.display_name if row.from_stage else "",
            ),
            Column("to_stage", gettext_lazy("stage"), lambda row: row.to_stage.display_name),
            field_column("lost_reason", gettext_lazy("lost reason")),
            field_column("at", gettext_lazy("when")),
        ],
    ),
    CopySection(
        "deal_custom_fields",
        gettext_lazy("Custom fields of deals"),
        48,
        Deal,
        lambda ids: Deal.objects.filter(customer__in=ids).exclude(custom={}).order_by("pk"),
        copy_columns(FieldTarget.DEAL, [field_column("id", gettext_lazy("deal"))]),
    ),
]


def _scrub_deals(erasure: Erasure) -> int:
    # The title may name the person ("Wang Li's kitchen"): it goes too, the money stays for
    # the figures. Custom values go whole: what the business recorded about the deal may be
    # about the person.
    return Deal.objects.filter(customer__in=erasure.ids).update(
        title=Value(str(gettext_lazy("(erased)"))),
        notes="",
        lost_reason="",
        custom={},
        version=F("version") + 1,
    )


def _scrub_stage_history(erasure: Erasure) -> int:
    return (
        DealStageChange.objects.filter(deal__customer__in=erasure.ids)
        .exclude(lost_reason="")
        .update(lost_reason="")
    )


SCRUBBERS = [
    Scrubber(
        "deals",
        55,
        _scrub_deals,
        reach=lambda ids: Deal.objects.filter(customer__in=ids).count(),
    ),
    Scrubber("deal_stage_changes", 56, _scrub_stage_history),
]


def register() -> None:
    for section in SECTIONS:
        register_copy_section(section)
    for scrubber in SCRUBBERS:
        register_scrubber(scrubber)
