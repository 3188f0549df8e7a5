from django import template
from django.utils.html import format_html

from customers.dedup.reasons import REASONS
from customers.presentation import display_personal, personal_value
from customers.selectors import can_view_personal_data

register = template.Library()


@register.simple_tag(takes_context=True)
def personal(context, customer, field: str, record=None) -> str:
    """{% personal customer "phone" %} or {% personal customer "phone" contact %}: the value,
    masked unless the user may see the customer's personal data."""
    return display_personal(context["request"].user, customer, field, record=record)


# Which link opens a personal field's value: dialling a phone, writing an email.
_LINK_SCHEMES = {"phone": "tel", "email": "mailto"}


@register.simple_tag(takes_context=True)
def personal_link(context, customer, field: str, record=None) -> str:
    """{% personal_link customer "phone" %}: like `personal`, but a value the user may see
    unmasked is a tel: or mailto: link (tap to call on a phone). A masked value is never a link:
    it would dial nothing, and its href would hold what the mask hides."""
    visible = can_view_personal_data(context["request"].user, customer)
    value = personal_value(customer, field, record=record, visible=visible)
    if not value or not visible:
        return value
    return format_html('<a href="{}:{}">{}</a>', _LINK_SCHEMES[field], value, value)


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
