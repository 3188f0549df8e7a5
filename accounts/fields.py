"""Choosing a colleague in a form or a list filter: shown as colleagues know them (the name in
its own order, "王丽娟", accounts/templatetags/staff.py) with the user name that tells two
namesakes apart, never the bare user name that User's str() gives."""

from typing import Any

import django_filters
from django import forms

from accounts.templatetags.staff import staff_name


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        name, username = staff_name(obj), obj.get_username()
        return name if name == username else f"{name} ({username})"


class StaffFilter(django_filters.ModelChoiceFilter):
    field_class = StaffChoiceField
