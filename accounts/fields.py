"""Choosing a colleague in a form or a list filter: shown as accounts/templatetags/staff.py
staff_choice shows them ("王丽娟 (sales)"), never the bare user name that User's str() gives."""

from typing import Any

import django_filters
from django import forms

from accounts.templatetags.staff import staff_choice


class StaffChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return staff_choice(obj)


class StaffFilter(django_filters.ModelChoiceFilter):
    field_class = StaffChoiceField
