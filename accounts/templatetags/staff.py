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


@register.filter
def staff_choice(user) -> str:
    """A colleague among others to choose from: the name and, beside it, the user name that
    tells two namesakes apart ("王丽娟 (sales)"); the user name alone when there is no name."""
    name, username = staff_name(user), user.get_username()
    return name if name == username else f"{name} ({username})"
