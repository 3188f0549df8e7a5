"""Reading custom field definitions."""

from __future__ import annotations

from customers.custom_fields.models import FieldDefinition


def defined_fields(target: str, *, archived: bool = False) -> list[FieldDefinition]:
    """The fields of `target` records in their order, choices prefetched; with `archived`,
    the archived ones too (whose values stay on the records)."""
    fields = FieldDefinition.objects.filter(target=target).prefetch_related("choices")
    if not archived:
        fields = fields.filter(archived_at__isnull=True)
    return list(fields)
