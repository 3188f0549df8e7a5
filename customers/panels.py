"""The customer page's panels. Each app shows what it owns about a customer in panels it
registers from its AppConfig.ready(): interactions the purchases, follow-ups and timeline,
analytics the portrait. So customers imports neither (README.md, Architecture: interactions uses
customers, analytics reads all, nothing imports analytics). The page's view calls every panel's
context function, whose reads go through the owning app's selectors, and the page template
draws each panel's template with its values (`customer_panel` in
customers/templatetags/customer_display.py): no query starts from a template."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from customers.custom_fields import records as custom_values
from customers.custom_fields.models import FieldTarget
from customers.custom_fields.selectors import defined_fields
from customers.models import Customer
from customers.selectors import can_view_personal_data
from privacy import consent
from privacy.forms import ConsentForm
from privacy.models import ConsentPurpose

SIDE, MAIN = "side", "main"  # the page's narrow left column and its wide right one

# (viewing user, customer) -> the values the panel's template reads.
PanelContext = Callable[[Any, Customer], dict[str, Any]]


@dataclass(frozen=True)
class CustomerPanel:
    name: str
    template: str
    context_fn: PanelContext
    order: int
    column: str


@dataclass(frozen=True)
class DrawnPanel:
    """A panel as the page draws it: its template and its values for this customer."""

    name: str
    template: str
    context: dict[str, Any]


_panels: dict[str, CustomerPanel] = {}


def register_customer_panel(
    name: str, template: str, context_fn: PanelContext, order: int, column: str = MAIN
) -> None:
    """Show `template` on every customer page, in `column` (SIDE or MAIN) by ascending
    `order`, with the values `context_fn(user, customer)` returns over the page's own
    (`customer`, `can_edit`, `can_view_personal`, `perms`). A name registered again replaces
    its panel."""
    if column not in (SIDE, MAIN):
        raise ValueError(f"column must be {SIDE!r} or {MAIN!r}, not {column!r}")
    _panels[name] = CustomerPanel(name, template, context_fn, order, column)


def customer_panels(user: Any, customer: Customer) -> dict[str, list[DrawnPanel]]:
    """Every registered panel with its values for `user` looking at `customer`, by column."""
    columns: dict[str, list[DrawnPanel]] = {SIDE: [], MAIN: []}
    for panel in sorted(_panels.values(), key=lambda panel: (panel.order, panel.name)):
        columns[panel.column].append(
            DrawnPanel(panel.name, panel.template, panel.context_fn(user, customer))
        )
    return columns


CONSENT_HISTORY_SHOWN = 20


def _profile(user: Any, customer: Customer) -> dict[str, Any]:
    return {
        "can_reveal_id": user.has_perm("customers.reveal_national_id"),
        "external_ids": list(customer.external_ids.all()),
    }


def _custom_values(user: Any, customer: Customer) -> dict[str, Any]:
    return {
        "custom_groups": custom_values.shown_values(
            defined_fields(FieldTarget.CUSTOMER),
            customer.custom or {},
            sees_personal=can_view_personal_data(user, customer),
            may_reveal=user.has_perm("customers.reveal_national_id"),
        ),
        "record": customer,
        "reveal_url_name": "customers:reveal_custom",
    }


def _consent(user: Any, customer: Customer) -> dict[str, Any]:
    return {
        "consents": [
            (ConsentPurpose(purpose).label, getattr(customer, field))
            for purpose, field in consent.STATUS_FIELDS.items()
        ],
        "consent_history": list(
            customer.consent_records.select_related("policy", "recorded_by")[:CONSENT_HISTORY_SHOWN]
        ),
        "consent_form": ConsentForm()
        if user.has_perm("privacy.add_consentrecord") and not customer.erased_at
        else None,
    }


def _contacts(user: Any, customer: Customer) -> dict[str, Any]:
    return {"contacts": list(customer.contacts.all())}


def _stage_history(user: Any, customer: Customer) -> dict[str, Any]:
    return {"stage_changes": list(customer.stage_changes.select_related("changed_by")[:10])}


def register_own_panels() -> None:
    """customers' panels: the profile, custom values, consents and contact people on the side;
    in the main column, where the record forms open (order 35: after the portrait and the
    activity buttons, before the follow-ups) and, last, the lifecycle stage history."""
    register_customer_panel("profile", "customers/panels/profile.html", _profile, 10, SIDE)
    register_customer_panel(
        "custom_values", "customers/panels/custom_values.html", _custom_values, 15, SIDE
    )
    register_customer_panel("consent", "customers/_consent_card.html", _consent, 20, SIDE)
    register_customer_panel("contacts", "customers/panels/contacts.html", _contacts, 30, SIDE)
    register_customer_panel(
        "record_form", "customers/panels/record_form.html", lambda user, customer: {}, 35
    )
    register_customer_panel(
        "stage_history", "customers/panels/stage_history.html", _stage_history, 90
    )
