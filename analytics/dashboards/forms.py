import datetime

from django import forms
from django.utils.translation import gettext_lazy as _

from analytics.dashboards.periods import FIRST_YEAR, LAST_YEAR, Period, PeriodPreset, preset_period


class DashboardPeriodForm(forms.Form):
    """The dashboards' period: a preset, or custom dates (both needed, start before end)."""

    period = forms.ChoiceField(
        label=_("Period"),
        choices=PeriodPreset.choices,
        initial=PeriodPreset.default,
        required=False,
    )
    start = forms.DateField(
        label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = forms.DateField(
        label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self):
        data = super().clean()
        data["period"] = data.get("period") or PeriodPreset.default
        if data["period"] != PeriodPreset.CUSTOM:
            return data
        start, end = data.get("start"), data.get("end")
        if "start" in self.errors or "end" in self.errors:
            return data
        if start is None or end is None:
            raise forms.ValidationError(_("Custom dates need both a start and an end date."))
        if start > end:
            raise forms.ValidationError(_("The start date must not be after the end date."))
        if start.year < FIRST_YEAR or end.year > LAST_YEAR:
            raise forms.ValidationError(
                _("Choose dates between the years %(first)d and %(last)d.")
                % {"first": FIRST_YEAR, "last": LAST_YEAR}
            )
        return data

    def chosen_period(self, *, reference: datetime.date) -> Period:
        """The chosen period (the form must be valid); presets end on `reference`."""
        data = self.cleaned_data
        if data["period"] == PeriodPreset.CUSTOM:
            return Period(start=data["start"], end=data["end"])
        return preset_period(data["period"], reference=reference)
