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


@register.simple_tag(takes_context=True)
def customer_panel(context, panel) -> str:
    """{% customer_panel panel %}: a customer page panel's template drawn with the values its
    context function gave the view (customers/panels.py) over the page's own. It only draws:
    the values were read in the view."""
    with context.push(panel.context):
        return context.template.engine.get_template(panel.template).render(context)
