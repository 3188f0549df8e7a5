"""analytics' panel on the customer page (customers/panels.py): the portrait, the nightly
figures with the churn model's status beside what the customer buys most. Registered from
AnalyticsConfig.ready()."""

from __future__ import annotations

from typing import Any

from analytics.churn import metrics_with_churn_status
from customers.models import Customer
from customers.panels import register_customer_panel
from interactions.selectors import preferred_categories


def _portrait(user: Any, customer: Customer) -> dict[str, Any]:
    return {
        # None before the first nightly refresh.
        "metrics": metrics_with_churn_status(customer_id=customer.pk),
        "categories": preferred_categories(customer=customer),
    }


def register_panels() -> None:
    register_customer_panel("portrait", "analytics/panels/portrait.html", _portrait, 20)
