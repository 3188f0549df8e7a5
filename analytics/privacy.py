"""What analytics contributes to the data-subject copy (privacy/registry.py), registered by
analytics/apps.py: segment memberships and the figures computed per customer, both profiling.
Erasure leaves them (aggregates, identifying no one: privacy/subjects/erasure.py)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from analytics.models import CustomerMetrics, SegmentMember
from privacy.registry import Column, CopySection, field_column, register_copy_section

SECTIONS = [
    CopySection(
        "segments",
        gettext_lazy("Segments (profiling)"),
        120,
        SegmentMember,
        lambda ids: (
            SegmentMember.objects.filter(customer__in=ids)
            .select_related("segment")
            .order_by("added_at", "pk")
        ),
        [
            Column("segment", gettext_lazy("segment"), lambda m: m.segment.name),
            Column("description", gettext_lazy("description"), lambda m: m.segment.description),
            field_column("added_at", gettext_lazy("since")),
        ],
    ),
    CopySection(
        "metrics",
        gettext_lazy("Figures computed from the history (profiling)"),
        130,
        CustomerMetrics,
        lambda ids: CustomerMetrics.objects.filter(customer__in=ids).order_by("customer_id"),
        [
            Column(field.name, field.verbose_name, lambda m, name=field.attname: getattr(m, name))
            for field in CustomerMetrics._meta.concrete_fields
        ],
    ),
]


def register() -> None:
    for section in SECTIONS:
        register_copy_section(section)
