from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from kernel.free_text import validate_readable_text
from privacy.consent import STATUS_FIELDS
from privacy.models import (
    RESTRICTION_REASON_LENGTH,
    ConsentPurpose,
    DataSubjectRequest,
    RequestKind,
    RequestStatus,
    VerificationMethod,
)


class FindCustomerForm(forms.Form):
    # Sent by POST: a phone number or name typed here never appears in a URL or access log.
    query = forms.CharField(
        label=_("Find the customer"),
        max_length=200,
        help_text=_("Name, phone number, email or an id from another system."),
    )


class NewRequestForm(forms.ModelForm):
    class Meta:
        model = DataSubjectRequest
        fields = ["kind", "channel", "received_at", "details"]
        widgets = {
            "received_at": forms.DateTimeInput(attrs={"type": "datetime-local"}),
            "details": forms.Textarea(attrs={"rows": 4}),
        }
        help_texts = {
            "details": _("What the person asked for, in their words."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["received_at"].initial = timezone.localtime().strftime("%Y-%m-%dT%H:%M")


class QueueFilterForm(forms.Form):
    OPEN = "open"
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[(OPEN, _("Open")), ("", _("All")), *RequestStatus.choices],
    )
    kind = forms.ChoiceField(
        label=_("Request"), required=False, choices=[("", _("All")), *RequestKind.choices]
    )


class VerifyForm(forms.Form):
    method = forms.ChoiceField(
        label=_("How was the identity checked?"), choices=VerificationMethod.choices
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=DataSubjectRequest._meta.get_field("verification_note").max_length,
        validators=[validate_readable_text],
        help_text=_("What was seen or confirmed. Never write a document number here."),
    )


class AnswerForm(forms.Form):
    resolution = forms.CharField(
        label=_("Answer given to the person"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=DataSubjectRequest._meta.get_field("resolution").max_length,
        validators=[validate_readable_text],
    )


class RestrictForm(AnswerForm):
    reason = forms.CharField(
        label=_("Why processing is restricted"),
        max_length=RESTRICTION_REASON_LENGTH,
        validators=[validate_readable_text],
        help_text=_("For an erasure the law does not allow: name the obligation to keep the data."),
    )


class EraseForm(AnswerForm):
    confirm = forms.BooleanField(
        label=_("I understand that the personal data is removed for good and cannot be restored."),
    )


class WithdrawForm(AnswerForm):
    purposes = forms.MultipleChoiceField(
        label=_("Consents to withdraw"),
        choices=ConsentPurpose.choices,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args, customer, **kwargs):
        super().__init__(*args, **kwargs)
        granted = [
            (purpose.value, purpose.label)
            for purpose, field in STATUS_FIELDS.items()
            if getattr(customer, field)
        ]
        self.fields["purposes"].choices = granted
        self.fields["purposes"].initial = [value for value, _label in granted]
