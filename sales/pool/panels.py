"""The pool's panel on the customer page (customers/panels.py): the claim or release button and
the ownership history, beside the lifecycle stage history. Registered from SalesConfig.ready()."""

from __future__ import annotations

from typing import Any

from customers.models import Customer
from customers.panels import register_customer_panel
from sales.pool.forms import ReleaseForm
from sales.pool.selectors import can_claim, can_release, ownership_history


def _ownership(user: Any, customer: Customer) -> dict[str, Any]:
    return {
        "ownership_changes": ownership_history(customer),
        "can_claim": can_claim(user, customer),
        "release_form": ReleaseForm() if can_release(user, customer) else None,
    }


def register_panels() -> None:
    # Order 91: right after the lifecycle stage history (90).
    register_customer_panel("pool", "pool/panels/ownership.html", _ownership, 91)
