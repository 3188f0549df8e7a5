"""Filters the API's lists share."""

from __future__ import annotations

import datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django_filters import IsoDateTimeFilter, NumberFilter
from django_filters.fields import IsoDateTimeField


class InstantField(IsoDateTimeField):
    """An ISO 8601 moment, compared in UTC: an offset the database cannot store (+21:31 is
    valid ISO but not to PostgreSQL) or a moment outside the calendar answers 400, not 500."""

    def to_python(self, value: Any) -> datetime.datetime | None:
        moment = super().to_python(value)
        if moment is None:
            return None
        try:
            return moment.astimezone(datetime.UTC)
        except OverflowError:
            raise ValidationError(
                _("Enter a moment between the years 1 and 9999."), code="invalid"
            ) from None


class InstantFilter(IsoDateTimeFilter):
    field_class = InstantField


class IdField(forms.IntegerField):
    """A record's id: a whole number a database column holds (a float such as -9.3e+47 would
    overflow SQLite's integers and answer 500)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(min_value=1, max_value=2**63 - 1, **kwargs)


class IdFilter(NumberFilter):
    """By a record's id, not a choice among records: an unknown id and one outside the
    caller's scope both list nothing, so the answer does not tell which ids exist."""

    field_class = IdField
