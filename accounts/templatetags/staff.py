from django import template

from kernel.person_names import join_person_name

register = template.Library()


@register.filter
def staff_name(user) -> str:
    """A staff member as colleagues know them: full name in its own order ("王丽娟",
    "Anna Schmidt"), else the user name; "" for nobody."""
    if user is None:
        return ""
    return join_person_name(user.last_name, user.first_name) or user.get_username()
