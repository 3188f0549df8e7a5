"""Filters of the audit log pages and their export, and keyset pagination over the log.

Every filter narrows on an indexed column (user name, IP address, object, time, action prefix),
so that the pages stay fast on a log of millions of events; nothing counts the whole log. The
action is chosen in words from the registered actions (privacy/audit/actions.py); an address
written before the select still works, prefixes included ("customer": every customer action).
"""

from __future__ import annotations

import datetime
from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from privacy.audit.actions import action_choices, is_known
from privacy.models import AuditChannel, AuditEvent

PAGE_SIZE = 50
# Newest first; the sequence breaks ties between events of the same microsecond.
ORDERING = ("-occurred_at", "-sequence")


class IPAddressFilter(django_filters.Filter):
    field_class = forms.GenericIPAddressField


class ActionField(forms.ChoiceField):
    """A select of the actions in words that takes any text, as the free-text field it
    replaced did (a prefix, or an action no longer registered)."""

    def valid_value(self, value: str) -> bool:
        return True


class ActionFilter(django_filters.Filter):
    field_class = ActionField


class AuditEventFilter(django_filters.FilterSet):
    user = django_filters.CharFilter(
        label=_("user name"),
        field_name="actor_label",
        help_text=_("Exactly as the user signs in (or tried to)."),
    )
    action = ActionFilter(label=_("action"), method="filter_action")
    target_type = django_filters.CharFilter(
        label=_("object type"), help_text=_('For example "customers.customer".')
    )
    target_id = django_filters.CharFilter(label=_("object id"))
    since = django_filters.DateFilter(label=_("from"), method="filter_since")
    until = django_filters.DateFilter(label=_("until"), method="filter_until")
    ip_address = IPAddressFilter(label=_("IP address"))
    via = django_filters.ChoiceFilter(label=_("channel"), choices=AuditChannel.choices)

    class Meta:
        model = AuditEvent
        fields: list[str] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        action = self.form.fields["action"]
        action.choices = [("", _("Every action")), *action_choices()]
        asked = self.form["action"].value()
        if asked and not is_known(asked):
            action.choices = [*action.choices, (asked, asked)]
        for field in self.form.fields.values():
            widget = field.widget
            widget.attrs["class"] = (
                "form-select form-select-sm"
                if isinstance(widget, forms.Select)
                else "form-control form-control-sm"
            )
            if isinstance(field, forms.DateField):
                widget.input_type = "date"

    def filter_action(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        value = value.strip()
        if value.endswith("."):
            return queryset.filter(action__startswith=value)
        # "customer" means customer.* (and "customer" itself); a dotted name is exact.
        if "." in value:
            return queryset.filter(action=value)
        return queryset.filter(Q(action=value) | Q(action__startswith=f"{value}."))

    def filter_since(self, queryset: QuerySet, name: str, value: datetime.date) -> QuerySet:
        return queryset.filter(occurred_at__gte=_start_of(value))

    def filter_until(self, queryset: QuerySet, name: str, value: datetime.date) -> QuerySet:
        return queryset.filter(occurred_at__lt=_start_of(value + datetime.timedelta(days=1)))


def _start_of(day: datetime.date) -> datetime.datetime:
    """Midnight at the start of `day` in the current time zone (an indexed range, not a
    per-row date conversion)."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def event_page(
    events: QuerySet[AuditEvent], *, before: int | None, size: int | None = None
) -> tuple[list[AuditEvent], int | None]:
    """One page of `events`, newest first, starting after the event with sequence `before`,
    and the sequence to continue from (None on the last page). Keyset pagination: no count,
    no offset."""
    size = size or PAGE_SIZE
    if before is not None:
        anchor = AuditEvent.objects.filter(sequence=before).values("occurred_at").first()
        if anchor is not None:
            events = events.filter(
                Q(occurred_at__lt=anchor["occurred_at"])
                | Q(occurred_at=anchor["occurred_at"], sequence__lt=before)
            )
    rows = list(events.order_by(*ORDERING)[: size + 1])
    return rows[:size], rows[size - 1].sequence if len(rows) > size else None
