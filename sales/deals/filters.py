"""The board's and the list's filters (django-filter): an owner, a month of expected close; the
list's also a stage and the administrators' custom fields for deals."""

from __future__ import annotations

import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.fields import StaffFilter
from customers.custom_fields.listing import custom_filters
from customers.custom_fields.models import FieldTarget
from customers.custom_fields.selectors import defined_fields
from kernel.actors import Actor
from sales.deals.forms import deal_owners
from sales.deals.selectors import filter_deals, sees_other_owners
from sales.models import Deal, Stage


class MonthInput(forms.DateInput):
    input_type = "month"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m")


class MonthField(forms.DateField):
    input_formats = ["%Y-%m", "%Y-%m-%d"]


class MonthFilter(django_filters.Filter):
    field_class = MonthField


class DealFilter(django_filters.FilterSet):
    """`owner` only for whoever sees other people's deals, among those `deal_owners` offers them."""

    owner = StaffFilter(label=_("Owner"), queryset=None, method="filter_owner")
    close_month = MonthFilter(
        label=_("Expected close month"), widget=MonthInput(), method="filter_close_month"
    )
    stage = django_filters.ModelChoiceFilter(label=_("Stage"), queryset=None)

    class Meta:
        model = Deal
        fields = ["owner", "close_month", "stage"]

    def __init__(
        self, *args, user: Actor, with_stage: bool = False, with_custom: bool = False, **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        if sees_other_owners(user):
            self.filters["owner"].queryset = deal_owners(user)
        else:
            del self.filters["owner"]
        if with_stage:
            self.filters["stage"].queryset = Stage.objects.filter(
                pipeline__active=True
            ).select_related("pipeline")
        else:
            del self.filters["stage"]
        if with_custom:
            for name, custom in custom_filters(defined_fields(FieldTarget.DEAL)).items():
                custom.parent = self
                self.filters[name] = custom

    def filter_owner(self, queryset, name, value):
        return filter_deals(queryset, owner_id=value.pk) if value else queryset

    def filter_close_month(self, queryset, name, value):
        return filter_deals(queryset, close_month=value) if value else queryset
