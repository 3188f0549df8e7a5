"""What the shared pool contributes to the privacy workflows (privacy/registry.py), registered
by sales/apps.py: a data subject's ownership history (who looked after them, from when, and
why they went back to the pool) in the copy; erasure clears the reasons, free text a colleague
wrote about the person. A merge moves the rows with the customer (customers/merge.py)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from privacy.registry import (
    CopySection,
    Erasure,
    Scrubber,
    display_column,
    field_column,
    register_copy_section,
    register_scrubber,
    user_column,
)
from sales.models import OwnershipChange

SECTION = CopySection(
    "ownership_changes",
    gettext_lazy("Ownership history"),
    47,
    OwnershipChange,
    lambda ids: (
        OwnershipChange.objects.filter(customer__in=ids)
        .select_related("from_owner", "to_owner")
        .order_by("at", "pk")
    ),
    [
        field_column("at", gettext_lazy("when")),
        display_column("kind", gettext_lazy("change")),
        user_column("from_owner", gettext_lazy("previous owner")),
        user_column("to_owner", gettext_lazy("new owner")),
        field_column("reason", gettext_lazy("reason")),
    ],
)


def _scrub_reasons(erasure: Erasure) -> int:
    return (
        OwnershipChange.objects.filter(customer__in=erasure.ids)
        .exclude(reason="")
        .update(reason="")
    )


def register() -> None:
    register_copy_section(SECTION)
    register_scrubber(Scrubber("ownership_changes", 57, _scrub_reasons))
