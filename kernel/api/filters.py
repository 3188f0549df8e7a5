"""Filters the API's lists share."""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from django_filters import IsoDateTimeFilter
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
