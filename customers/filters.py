from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import django_filters
from django.apps import apps
from django.db.models import Exists, OuterRef, QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from accounts.fields import StaffFilter
from accounts.users import active_colleagues
from customers.custom_fields.listing import custom_filters
from customers.custom_fields.models import FieldTarget
from customers.custom_fields.selectors import defined_fields
from customers.models import Customer, LifecycleStage, SourceChannel, Tag, ValueGrade
from customers.selectors import (
    SEARCH_RESULT_LIMIT,
    newest_matches,
    place_condition,
    search_customers,
)
from privacy.consent import usable_for_list

# Shown when a list's filters no longer hold, typically a segment deleted or no longer visible
# after the link or export was made. Such filters match no one rather than everyone.
FILTERS_NO_LONGER_VALID = _(
    "These filters no longer apply (a segment may have been deleted). Open the list and choose "
    "the filters again."
)

CONSENT_CHOICES = [
    ("consent_email", _("Email")),
    ("consent_sms", _("SMS")),
    ("consent_phone", _("Phone")),
]


@extend_schema_field(OpenApiTypes.INT)
class SegmentFilter(django_filters.ModelChoiceFilter):
    """A segment, by id (the API's schema says so; it cannot tell from a string reference)."""


class CustomerFilter(django_filters.FilterSet):
    lifecycle_stage = django_filters.ChoiceFilter(
        label=_("lifecycle stage"), choices=LifecycleStage.choices
    )
    source_channel = django_filters.ChoiceFilter(
        label=_("source channel"), choices=SourceChannel.choices
    )
    value_grade = django_filters.ChoiceFilter(
        label=_("value grade"), choices=ValueGrade.choices[1:]
    )
    tags = django_filters.ModelChoiceFilter(label=_("tag"), queryset=Tag.objects.all())
    owner = StaffFilter(label=_("owner"), queryset=active_colleagues())
    # However the place is written ("Shanghai", "上海"): customers.selectors.place_condition.
    province = django_filters.CharFilter(label=_("province"), method="filter_place")
    city = django_filters.CharFilter(label=_("city"), method="filter_place")
    created = django_filters.DateFromToRangeFilter(
        label=_("created between"), field_name="created_at"
    )
    last_activity = django_filters.DateFromToRangeFilter(
        label=_("last activity between"), field_name="last_activity_at"
    )
    consent = django_filters.ChoiceFilter(
        label=_("marketing consent"), choices=CONSENT_CHOICES, method="filter_consent"
    )
    archived = django_filters.BooleanFilter(label=_("archived"), method="filter_archived")
    # analytics' segments, named by string (README.md, Layers: nothing imports analytics).
    segment = SegmentFilter(
        label=_("segment"),
        queryset=lambda _request: apps.get_model("analytics", "Segment").objects.all(),
        method="filter_segment",
    )

    class Meta:
        model = Customer
        fields = [
            "lifecycle_stage",
            "source_channel",
            "value_grade",
            "tags",
            "owner",
            "province",
            "city",
        ]

    def __init__(self, *args, user: Any = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if user is None or not user.has_perm("analytics.view_segment"):
            # Before the form is built from the filters: it will not have the field either.
            del self.filters["segment"]
        # The administrators' custom fields (customers/custom_fields/listing.py), after the
        # built-in filters.
        for name, custom in custom_filters(defined_fields(FieldTarget.CUSTOMER)).items():
            custom.parent = self
            self.filters[name] = custom
        for field in self.form.fields.values():
            if isinstance(field.widget, django_filters.widgets.DateRangeWidget):
                for widget in field.widget.widgets:
                    widget.input_type = "date"

    @property
    def qs(self):
        # Archived customers stay out of day-to-day lists unless asked for.
        customers = super().qs
        if not self.form.cleaned_data.get("archived"):
            customers = customers.filter(archived_at__isnull=True)
        return customers

    def filter_consent(self, queryset, name, value):
        # value is one of CONSENT_CHOICES' field names (validated by the ChoiceFilter).
        return queryset.filter(**{value: True})

    def filter_place(self, queryset, name, value):
        return queryset.filter(place_condition(name, value))

    def filter_archived(self, queryset, name, value):
        return queryset.filter(archived_at__isnull=not value)

    def filter_segment(self, queryset, name, value):
        # A marketing segment's members who withdrew their consent since its last refresh
        # are not in it any more, for the list, its bulk actions and its exports alike.
        members = Customer.segments.through.objects.filter(segment=value, customer=OuterRef("pk"))
        return usable_for_list(queryset.filter(Exists(members)), value.marketing_channel)


def listed_customers(
    *, user: Any, params: Mapping[str, Any], search: str = ""
) -> tuple[CustomerFilter, QuerySet[Customer], bool]:
    """The customers a list shows for these filter parameters and search text: the filter set
    (for its form), the customers, and whether the search matched more than it returns (a
    search keeps its newest SEARCH_RESULT_LIMIT matches). Exports read the same set.

    Filters that do not validate match no one: django-filter would drop the bad one and
    return everyone, which an export or a bulk action must never act on. Callers that act
    check ``filterset.is_valid()`` to say why."""
    filterset = CustomerFilter(
        params, queryset=search_customers(user=user, query=search), user=user
    )
    if filterset.is_bound and not filterset.is_valid():
        return filterset, Customer.objects.none(), False
    customers = filterset.qs
    capped = False
    if search:
        matched_ids = newest_matches(customers, limit=SEARCH_RESULT_LIMIT)
        capped = len(matched_ids) == SEARCH_RESULT_LIMIT
        customers = Customer.objects.filter(pk__in=matched_ids)
    return filterset, customers, capped
