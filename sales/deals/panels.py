"""The deals panel on the customer page (customers/panels.py): the customer's deals the viewer
may see and the "New deal" button. Registered from SalesConfig.ready(), so customers imports
nothing of sales."""

from __future__ import annotations

from typing import Any

from customers.models import Customer
from customers.panels import register_customer_panel
from sales.deals.selectors import deals_of_customer


def _deals(user: Any, customer: Customer) -> dict[str, Any]:
    if not user.has_perm("sales.view_deal"):
        return {"deals": [], "can_add_deal": False}
    return {
        "deals": deals_of_customer(user=user, customer_id=customer.pk),
        "can_add_deal": user.has_perm("sales.add_deal") and not customer.erased_at,
    }


def register_panels() -> None:
    # After the purchases (10) and the activity buttons (30), before the follow-ups (40).
    register_customer_panel("deals", "deals/panels/deals.html", _deals, 35)
