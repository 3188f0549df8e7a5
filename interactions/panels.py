"""interactions' panels on the customer page (customers/panels.py): the purchase totals, the
buttons that log activity, the open follow-ups and the timeline. Registered from
InteractionsConfig.ready()."""

from __future__ import annotations

from typing import Any

from customers.models import Customer
from customers.panels import register_customer_panel
from interactions.selectors import customer_timeline, customer_totals, open_follow_ups
from interactions.timeline import timeline_choices


def _purchases(user: Any, customer: Customer) -> dict[str, Any]:
    return {"totals": customer_totals(customer=customer)}


def _follow_ups(user: Any, customer: Customer) -> dict[str, Any]:
    return {"follow_ups": open_follow_ups(customer=customer)}


def _timeline(user: Any, customer: Customer) -> dict[str, Any]:
    entries, next_cursor = customer_timeline(customer=customer, user=user)
    return {
        "entries": entries,
        "next_cursor": next_cursor,
        "kind": "",
        "timeline_choices": timeline_choices(),
    }


def register_panels() -> None:
    register_customer_panel("purchases", "interactions/panels/purchases.html", _purchases, 10)
    register_customer_panel(
        "activity", "interactions/panels/activity.html", lambda user, customer: {}, 30
    )
    register_customer_panel("follow_ups", "interactions/panels/follow_ups.html", _follow_ups, 40)
    register_customer_panel("timeline", "interactions/panels/timeline.html", _timeline, 50)
