"""The analytics part the customer list shows (the static-list bar). Its template loads it, so
that `customers` imports nothing from `analytics` (README.md, Architecture: analytics reads all,
nothing imports it). It reads nothing from the database."""

from __future__ import annotations

from django import template

from analytics.segments.forms import ListMembersForm

register = template.Library()


@register.simple_tag(takes_context=True)
def static_list_form(context) -> ListMembersForm | None:
    """The customer list's *Add to list* form, for those who may fill static lists."""
    return (
        ListMembersForm() if context["request"].user.has_perm("analytics.change_segment") else None
    )
