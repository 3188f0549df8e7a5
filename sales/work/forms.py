"""The in-place actions of My work: snooze and reassign (done needs no form)."""

from __future__ import annotations

import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.fields import StaffChoiceField
from interactions.forms import staff_who_follow_up

# The hour a snooze to another day lands on.
SNOOZE_HOUR = 9


class SnoozeForm(forms.Form):
    HOUR, TOMORROW, NEXT_WEEK, DATE = "hour", "tomorrow", "next_week", "date"
    until = forms.ChoiceField(
        label=_("Snooze until"),
        choices=[
            (HOUR, _("In 1 hour")),
            (TOMORROW, _("Tomorrow 9:00")),
            (NEXT_WEEK, _("Next week")),
            (DATE, _("Pick a date")),
        ],
    )
    date = forms.DateField(
        label=_("Date"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    version = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("until") == self.DATE:
            date = cleaned.get("date")
            if date is None:
                self.add_error("date", _("Pick the date to snooze until."))
            elif date < timezone.localdate():
                self.add_error("date", _("Pick today or a later date."))
        return cleaned

    def due_at(self, now: datetime.datetime | None = None) -> datetime.datetime:
        """The new due time the choice means, in the current time zone."""
        now = timezone.localtime(now)
        morning = now.replace(hour=SNOOZE_HOUR, minute=0, second=0, microsecond=0)
        choice = self.cleaned_data["until"]
        if choice == self.HOUR:
            return now + datetime.timedelta(hours=1)
        if choice == self.TOMORROW:
            return _at_local(morning, now.date() + datetime.timedelta(days=1))
        if choice == self.NEXT_WEEK:
            return _at_local(morning, now.date() + datetime.timedelta(days=7 - now.weekday()))
        return _at_local(morning, self.cleaned_data["date"])


def _at_local(morning: datetime.datetime, day: datetime.date) -> datetime.datetime:
    naive = datetime.datetime.combine(day, morning.time())
    return timezone.make_aware(naive)


class ReassignForm(forms.Form):
    assignee = StaffChoiceField(label=_("Reassign to"), queryset=None)
    version = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args, colleagues=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Given by the page (one query for all its rows); read here otherwise.
        self.fields["assignee"].queryset = (
            colleagues if colleagues is not None else staff_who_follow_up()
        )
