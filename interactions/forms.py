"""Forms for what staff log from the customer page: an interaction, a purchase, a follow-up."""

import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.fields import StaffChoiceField
from accounts.users import active_staff_holding
from customers.custom_fields.models import FieldTarget
from customers.custom_fields.selectors import defined_fields
from customers.custom_fields.value_forms import CustomValuesFormMixin
from interactions.models import FollowUp, Interaction, InteractionKind, Transaction
from kernel.version_forms import VersionedFormMixin


class LocalDateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M")


class CustomerRecordForm(forms.ModelForm):
    """The customer comes from the URL, not the form."""

    def __init__(self, *args, customer, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.customer = customer

    def _post_clean(self) -> None:
        # The service validates the whole record; the form checks the inputs only.
        pass


class InteractionForm(CustomValuesFormMixin, CustomerRecordForm):
    """An interaction's own fields, then the administrators' custom fields for interactions."""

    class Meta:
        model = Interaction
        fields = ["kind", "channel", "occurred_at", "contact", "subject", "body", "satisfaction"]
        widgets = {"occurred_at": LocalDateTimeInput(), "body": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, customer, **kwargs) -> None:
        super().__init__(*args, customer=customer, **kwargs)
        # A new interaction holds nothing yet: its personal inputs show nothing hidden.
        self.add_custom_inputs(
            defined_fields(FieldTarget.INTERACTION), self.instance.custom or {}, sees_personal=True
        )
        self.fields["occurred_at"].initial = timezone.localtime().replace(second=0, microsecond=0)
        self.fields["contact"].queryset = customer.contacts.all()
        if not customer.contacts.exists():
            del self.fields["contact"]
        self.fields["satisfaction"].widget = forms.Select(
            choices=[("", "—"), *((n, f"{n} ★") for n in range(1, 6))],
            attrs={"class": "form-select"},
        )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("kind") == InteractionKind.COMPLAINT and not cleaned.get("satisfaction"):
            self.add_error(
                "satisfaction", _("Rate how satisfied the customer was with the resolution.")
            )
        return cleaned


class TransactionForm(CustomerRecordForm):
    class Meta:
        model = Transaction
        fields = [
            "occurred_at",
            "channel",
            "status",
            "amount",
            "currency",
            "source_system",
            "external_ref",
        ]
        widgets = {"occurred_at": LocalDateTimeInput()}

    def __init__(self, *args, customer, **kwargs) -> None:
        super().__init__(*args, customer=customer, **kwargs)
        self.fields["occurred_at"].initial = timezone.localtime().replace(second=0, microsecond=0)
        self.fields["amount"].widget.attrs["min"] = "0"


def staff_who_follow_up():
    """Active users whose role lets them work on follow-ups (analysts, for one, cannot)."""
    return active_staff_holding("interactions.change_followup")


class FollowUpForm(VersionedFormMixin, CustomerRecordForm):
    class Meta:
        model = FollowUp
        fields = ["title", "due_at", "assignee", "notes"]
        field_classes = {"assignee": StaffChoiceField}
        widgets = {"due_at": LocalDateTimeInput(), "notes": forms.Textarea(attrs={"rows": 2})}

    def __init__(self, *args, customer, user, **kwargs) -> None:
        super().__init__(*args, customer=customer, **kwargs)
        tomorrow = timezone.localtime() + datetime.timedelta(days=1)
        self.fields["due_at"].initial = tomorrow.replace(hour=10, minute=0, second=0)
        self.fields["assignee"].queryset = staff_who_follow_up()
        self.fields["assignee"].initial = user
