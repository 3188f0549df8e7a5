from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.fields import StaffChoiceField
from kernel import outbox
from webhooks import selectors
from webhooks.models import DeliveryStatus, Subscription


class SubscriptionForm(forms.ModelForm):
    """A subscription's settings; the service (webhooks/services.py) checks the address and the
    events and saves it."""

    target_url = forms.URLField(
        label=_("target URL"),
        max_length=500,
        assume_scheme="https",
        help_text=_("Where events are POSTed, signed per the Standard Webhooks specification."),
    )
    topics = forms.MultipleChoiceField(
        label=_("Events"), widget=forms.CheckboxSelectMultiple, choices=()
    )

    class Meta:
        model = Subscription
        fields = ["name", "target_url", "topics", "service_account", "owner"]
        field_classes = {"owner": StaffChoiceField}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["topics"].choices = [(topic.name, topic.label) for topic in outbox.topics()]
        self.fields["service_account"].queryset = selectors.service_accounts()
        self.fields["owner"].queryset = selectors.owners()


class DeliveryFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Every status")), *DeliveryStatus.choices],
    )
    before = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)
