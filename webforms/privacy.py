"""What web forms contribute to the privacy workflows (privacy/registry.py), registered by
webforms/apps.py: a person's submissions in the data-subject copy, and what an erasure does to
them — the addresses and browsers of both steps go, and a confirmation link not yet followed
stops working (its consents were never recorded, so nothing is left to withdraw)."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

from privacy.registry import (
    Column,
    CopySection,
    Erasure,
    Scrubber,
    display_column,
    field_column,
    register_copy_section,
    register_scrubber,
)
from webforms.models import FormSubmission

SECTION = CopySection(
    "form_submissions",
    gettext_lazy("Web form submissions"),
    # After the consents the submissions led to.
    95,
    FormSubmission,
    lambda ids: (
        FormSubmission.objects.filter(customer__in=ids)
        .select_related("form")
        .order_by("received_at", "pk")
    ),
    [
        Column("form", gettext_lazy("form"), lambda row: row.form.name),
        field_column("form_version", gettext_lazy("form version")),
        field_column("received_at", gettext_lazy("received")),
        display_column("outcome", gettext_lazy("outcome")),
        display_column("source_channel", gettext_lazy("source channel")),
        field_column("source_detail", gettext_lazy("source detail")),
        Column(
            "recorded_purposes",
            gettext_lazy("consents recorded"),
            lambda row: ", ".join(row.recorded_purposes),
        ),
        Column(
            "pending_purposes",
            gettext_lazy("consents to confirm"),
            lambda row: ", ".join(row.pending_purposes),
        ),
        field_column("ip_address", gettext_lazy("address")),
        field_column("user_agent", gettext_lazy("browser")),
        field_column("confirmed_at", gettext_lazy("confirmed")),
        field_column("confirmed_ip_address", gettext_lazy("address when confirmed")),
        field_column("confirmed_user_agent", gettext_lazy("browser when confirmed")),
    ],
)


def scrub_submissions(erasure: Erasure) -> int:
    """Forget where the erased people's submissions came from and end their links."""
    return FormSubmission.objects.filter(customer__in=erasure.ids).update(
        ip_address=None,
        user_agent="",
        confirmed_ip_address=None,
        confirmed_user_agent="",
        source_detail="",
        token_digest="",
        pending_purposes=[],
    )


SCRUBBER = Scrubber(
    "form_submissions",
    95,
    scrub_submissions,
    reach=lambda ids: FormSubmission.objects.filter(customer__in=ids).count(),
)


def register() -> None:
    register_copy_section(SECTION)
    register_scrubber(SCRUBBER)
