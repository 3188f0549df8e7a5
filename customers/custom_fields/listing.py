"""Custom fields in a record kind's list: a filter per field, the listed fields' columns and
sorting by one of them.

Filters travel in the URL, so only ordinary fields get one: a personal or sensitive value never
goes into an address (the list's search box, which is POSTed, is where personal data is
looked for)."""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from typing import Any

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import F, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from customers.custom_fields.indexes import holds, is_ordered, ordered_value
from customers.custom_fields.models import FieldDefinition, FieldType, Sensitivity
from customers.custom_fields.records import hidden_text, is_hidden, masked_value, shown_text
from customers.custom_fields.values import clean_value, staff_choices

# A custom field's filter parameter and sort order are named after its key.
FILTER_PREFIX = "custom_"
ORDER_PREFIX = "custom:"
# The alias a custom sort orders by.
SORT_ALIAS = "custom_order_value"


def filter_name(field: FieldDefinition) -> str:
    return f"{FILTER_PREFIX}{field.key}"


def _by(field: FieldDefinition, stored: Any):
    def apply(queryset: QuerySet, name: str, value: Any) -> QuerySet:
        return queryset.filter(holds(field, stored(value)))

    return apply


def _exact(field: FieldDefinition):
    def apply(queryset: QuerySet, name: str, value: Any) -> QuerySet:
        try:
            wanted = clean_value(field, value)
        except ValidationError:
            return queryset.none()  # no value of the field is written that way
        return queryset if wanted is None else queryset.filter(holds(field, wanted))

    return apply


def _between(field: FieldDefinition, as_stored):
    def apply(queryset: QuerySet, name: str, value: slice) -> QuerySet:
        bounds = Q()
        if value.start is not None:
            bounds &= Q(**{f"{SORT_ALIAS}__gte": as_stored(value.start)})
        if value.stop is not None:
            bounds &= Q(**{f"{SORT_ALIAS}__lte": as_stored(value.stop)})
        return queryset.alias(**{SORT_ALIAS: ordered_value(field)}).filter(bounds)

    return apply


def _filter_for(field: FieldDefinition) -> django_filters.Filter | None:
    label = field.label
    kind = field.type
    if kind in (FieldType.CHOICE, FieldType.CHOICES):
        choices = [(choice.key, choice.label) for choice in field.choices.all()]
        return django_filters.ChoiceFilter(
            label=label, choices=choices, method=_by(field, lambda key: key)
        )
    if kind == FieldType.YES_NO:
        return django_filters.ChoiceFilter(
            label=label,
            choices=[("yes", _("Yes")), ("no", _("No"))],
            method=_by(field, lambda answer: answer == "yes"),
        )
    if kind == FieldType.USER:
        return django_filters.ChoiceFilter(
            label=label, choices=staff_choices, method=_by(field, int)
        )
    if kind in (FieldType.NUMBER, FieldType.MONEY):
        return django_filters.RangeFilter(
            label=label,
            method=_between(field, lambda n: n),
            widget=_typed_range(django_filters.widgets.RangeWidget, "number", step="any"),
        )
    if kind == FieldType.DATE:
        return django_filters.DateFromToRangeFilter(
            label=label,
            method=_between(field, datetime.date.isoformat),
            widget=_typed_range(django_filters.widgets.DateRangeWidget, "date"),
        )
    if kind == FieldType.LONG_TEXT:
        return None
    return django_filters.CharFilter(label=label, method=_exact(field))


def _typed_range(widget_class: type, input_type: str, **attrs: str) -> Any:
    """A range's two inputs of `input_type` (a browser's number or date input)."""
    widget = widget_class(attrs=attrs)
    for part in widget.widgets:
        part.input_type = input_type
    return widget


def custom_filters(fields: Iterable[FieldDefinition]) -> dict[str, django_filters.Filter]:
    """Filter name -> filter for the ordinary fields (see the module's note)."""
    filters = {}
    for field in fields:
        if field.sensitivity != Sensitivity.ORDINARY:
            continue
        built = _filter_for(field)
        if built is not None:
            filters[filter_name(field)] = built
    return filters


def listed_fields(fields: Iterable[FieldDefinition]) -> list[FieldDefinition]:
    """The fields shown as columns."""
    return [field for field in fields if field.listed]


def sort_order(field: FieldDefinition) -> str:
    """The list's order value that sorts by `field`, "" when it cannot: only an ordinary
    field's (the order of masked personal values would tell them)."""
    sortable = field.listed and is_ordered(field) and field.sensitivity == Sensitivity.ORDINARY
    return f"{ORDER_PREFIX}{field.key}" if sortable else ""


def sort_orders(fields: Iterable[FieldDefinition]) -> list[tuple[str, str]]:
    """(order value, label) for each listed field the list can be sorted by."""
    return [(sort_order(field), field.label) for field in fields if sort_order(field)]


def sort_field(order: str, fields: Sequence[FieldDefinition]) -> FieldDefinition | None:
    """The listed field `order` names, if it names one the list can be sorted by."""
    return next((field for field in fields if order and sort_order(field) == order), None)


def sorted_page(
    records: QuerySet, field: FieldDefinition, *, after: int | None, size: int
) -> tuple[list[Any], int | None]:
    """One page of `records` by `field`'s value (empty last, then by id), starting after the
    record with id `after`, and the id to continue from: keyset pagination on the field's
    index, as the built-in orders page (customers.selectors.customer_page)."""
    records = records.alias(**{SORT_ALIAS: ordered_value(field)})
    if after is not None:
        anchor = (
            records.filter(pk=after)
            .annotate(anchor_value=ordered_value(field))
            .values_list("anchor_value", flat=True)
        )
        if anchor.exists():
            value = anchor.get()
            if value is None:
                later = Q(**{f"{SORT_ALIAS}__isnull": True, "pk__gt": after})
            else:
                later = (
                    Q(**{f"{SORT_ALIAS}__gt": value})
                    | Q(**{SORT_ALIAS: value, "pk__gt": after})
                    | Q(**{f"{SORT_ALIAS}__isnull": True})
                )
            records = records.filter(later)
    rows = list(records.order_by(F(SORT_ALIAS).asc(nulls_last=True), "pk")[: size + 1])
    return rows[:size], rows[size - 1].pk if len(rows) > size else None


def column_texts(
    records: Iterable[Any],
    fields: Sequence[FieldDefinition],
    *,
    sees_personal,
    values_field: str = "custom",
) -> dict[int, list[str]]:
    """Record id -> the listed fields' values as the viewer may see them (a personal value
    masked unless `sees_personal(record)`, a sensitive one always), read without a query per
    cell: colleagues' names are read once per field (records.colleague_names)."""
    texts: dict[int, list[str]] = {}
    for record in records:
        stored = getattr(record, values_field) or {}
        visible = None
        row = []
        for field in fields:
            entry = stored.get(field.key)
            if entry is None:
                row.append("")
                continue
            if is_hidden(field, entry):
                row.append(hidden_text(field, entry))
                continue
            text = shown_text(field, entry)
            if field.sensitivity == Sensitivity.PERSONAL:
                visible = sees_personal(record) if visible is None else visible
                text = text if visible else masked_value(field, text)
            row.append(text)
        texts[record.pk] = row
    return texts
