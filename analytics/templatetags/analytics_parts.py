"""The analytics parts other apps' pages show (the portrait's figures on the customer page,
the static-list bar on the customer list). Templates load them, so that `customers` imports
nothing from `analytics` (ARCHITECTURE.md: analytics reads all, nothing imports it)."""

from __future__ import annotations

from django import template

from analytics.churn import metrics_with_churn_status
from analytics.models import CustomerMetrics
from analytics.segments.forms import ListMembersForm

register = template.Library()


@register.simple_tag
def customer_metrics(customer) -> CustomerMetrics | None:
    """The customer's nightly figures with the churn model's status, or None before the first
    refresh."""
    return metrics_with_churn_status(customer_id=customer.pk)


@register.simple_tag(takes_context=True)
def static_list_form(context) -> ListMembersForm | None:
    """The customer list's *Add to list* form, for those who may fill static lists."""
    return (
        ListMembersForm() if context["request"].user.has_perm("analytics.change_segment") else None
    )
