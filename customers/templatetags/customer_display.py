from django import template

from customers.dedup.reasons import REASONS
from customers.presentation import display_personal

register = template.Library()


@register.simple_tag(takes_context=True)
def personal(context, customer, field: str, record=None) -> str:
    """{% personal customer "phone" %} or {% personal customer "phone" contact %}: the value,
    masked unless the user may see the customer's personal data."""
    return display_personal(context["request"].user, customer, field, record=record)


@register.filter
def reason(code: str) -> str:
    """A duplicate candidate's reason code as a phrase ("same phone")."""
    return str(REASONS.get(code, code))
