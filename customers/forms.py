"""Customer forms. Validation messages come from the same normalisation the services use, so a
form and an import reject a value with the same words."""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts.fields import StaffChoiceField
from accounts.users import active_colleagues
from customers.custom_fields.models import FieldTarget
from customers.custom_fields.selectors import defined_fields
from customers.custom_fields.value_forms import INPUT_PREFIX, CustomValuesFormMixin
from customers.models import Contact, Customer, IdDocumentKind, LifecycleStage, Tag
from customers.presentation import display_personal
from customers.selectors import can_view_personal_data
from customers.services import PROFILE_FIELDS, BulkAction
from kernel.service_errors import add_service_errors
from kernel.version_forms import VERSION_FORM_FIELDS, VersionedFormMixin


class MaskedPersonalFieldsMixin:
    """Shows a record's phone, email and address to `viewer` as pages do: masked unless they
    may see the customer's personal data, so a form cannot be used to read what a page hides.
    A masked value sent back unchanged keeps the stored value (`kept_masked_fields`); a value
    typed over it replaces it."""

    MASKED_FIELDS = ("phone", "email", "street", "postcode")
    MASKED_HELP = _("Hidden from you. Leave it as it is to keep it, or type a new value.")
    # Field -> the masked value shown; set by mask_personal_fields.
    masked_initial: dict[str, str] = {}
    # The customer whose personal data the form shows unmasked (the view audits it), if any.
    shows_personal_data_of: Customer | None = None

    def mask_personal_fields(self, viewer: Any, customer: Customer, record: object = None) -> None:
        """Mask the personal fields of `record` (by default the customer) for `viewer`, or
        note that the form shows them unmasked (`shows_personal_data_of`)."""
        self.masked_initial = {}
        if can_view_personal_data(viewer, customer):
            self.shows_personal_data_of = customer
            return
        for field in self.MASKED_FIELDS:
            if field in self.fields:
                shown = display_personal(viewer, customer, field, record=record)
                self.initial[field] = self.masked_initial[field] = shown
                if shown:  # an empty field hides nothing
                    self.fields[field].help_text = self.MASKED_HELP

    def kept_masked_fields(self) -> set[str]:
        """The masked fields sent back as they were shown: their stored values stay."""
        return {
            field
            for field, shown in self.masked_initial.items()
            if (self.cleaned_data.get(field) or "").strip() == shown
        }


# The new-customer form's first fields: who it is and how to reach them, whose it is and where
# they came from. Everything else (address, company details, grading, notes) is folded.
ESSENTIAL_FIELDS = ("kind", "name", "phone", "email", "company_name", "owner", "source_channel")


class CustomerForm(
    VersionedFormMixin, MaskedPersonalFieldsMixin, CustomValuesFormMixin, forms.ModelForm
):
    """Collects raw values; `profile_changes()` and `custom_changes()` give what the service
    should apply. The service normalises and validates; the view puts its field errors back on
    this form. The administrators' custom fields follow the built-in ones, by group."""

    # Typed as text so "2024年1月5日" or "138 0013 8000" reach the normaliser untouched.
    birth_date = forms.CharField(label=_("birth date"), required=False)
    phone = forms.CharField(label=_("mobile phone"), required=False, max_length=64)
    email = forms.CharField(label=_("email"), required=False, max_length=320)
    website = forms.CharField(label=_("website"), required=False, max_length=200)
    id_document_kind = forms.ChoiceField(
        label=_("identity document"), choices=IdDocumentKind.choices, required=False
    )
    id_number = forms.CharField(
        label=_("identity number"),
        required=False,
        max_length=64,
        help_text=_("Stored encrypted. Leave empty to keep the current number."),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    tags = forms.ModelMultipleChoiceField(
        label=_("tags"), queryset=Tag.objects.all(), required=False
    )

    class Meta:
        model = Customer
        fields = PROFILE_FIELDS
        field_classes = {"owner": StaffChoiceField}
        widgets = {"notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, viewer: Any, can_assign_owner: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["phone"] = self.instance.phone_raw or self.instance.phone
            self.initial["email"] = self.instance.email_raw or self.instance.email
            self.initial["tags"] = list(self.instance.tags.all())
            self.initial["id_document_kind"] = self.instance.id_document_kind
            self.mask_personal_fields(viewer, self.instance)
        self.fields["owner"].queryset = active_colleagues()
        if not can_assign_owner:
            del self.fields["owner"]
        self.add_custom_inputs(
            defined_fields(FieldTarget.CUSTOMER),
            self.instance.custom or {},
            sees_personal=not self.instance.pk or can_view_personal_data(viewer, self.instance),
        )

    def _post_clean(self) -> None:
        # The model instance is written by the service, never by ModelForm.save().
        pass

    def essential_fields(self) -> list[forms.BoundField]:
        """What a new customer needs first (the new-customer page shows these, required custom
        fields among them; the rest is folded away)."""
        return [self[name] for name in ESSENTIAL_FIELDS if name in self.fields] + [
            field for field in self.custom_inputs() if field.field.required
        ]

    def folded_fields(self) -> list[forms.BoundField]:
        return [field for field in self.built_in_fields() if field.name not in ESSENTIAL_FIELDS]

    def folded_custom_groups(self) -> list[tuple[str, list[forms.BoundField]]]:
        return self.custom_groups(
            field for field in self.custom_inputs() if not field.field.required
        )

    def folded_fields_have_errors(self) -> bool:
        """Whether the folded part must open by itself: one of its fields needs correcting."""
        folded = [
            *self.folded_fields(),
            *(f for _, group in self.folded_custom_groups() for f in group),
        ]
        return any(field.errors for field in folded)

    def add_service_errors(self, error: ValidationError) -> None:
        """Show a service's per-field ValidationError on the matching inputs."""
        add_service_errors(self, error, renamed=self.custom_error_names())

    def profile_changes(self) -> dict:
        """Raw values for create_customer / update_customer (custom values apart:
        custom_changes)."""
        kept = self.kept_masked_fields() | {"tags", *VERSION_FORM_FIELDS}
        changes = {
            name: self.cleaned_data.get(name)
            for name in self.fields
            if name not in kept and not name.startswith(INPUT_PREFIX)
        }
        if not changes.get("id_number"):
            changes.pop("id_number", None)
            changes.pop("id_document_kind", None)
        return changes


class BulkActionForm(forms.Form):
    """An action on the customers ticked in the list (their ids come as `customer` values).
    Which value is needed depends on the action; `clean` reports the missing one."""

    action = forms.ChoiceField(label=_("With the selected customers"), choices=BulkAction.choices)
    tag = forms.ModelChoiceField(label=_("tag"), queryset=Tag.objects.all(), required=False)
    owner = StaffChoiceField(label=_("owner"), queryset=active_colleagues(), required=False)
    lifecycle_stage = forms.ChoiceField(
        label=_("lifecycle stage"), choices=[("", "—"), *LifecycleStage.choices], required=False
    )

    VALUE_FIELD = {
        BulkAction.ADD_TAG: "tag",
        BulkAction.REMOVE_TAG: "tag",
        BulkAction.ASSIGN_OWNER: "owner",
        BulkAction.CHANGE_STAGE: "lifecycle_stage",
    }

    def __init__(self, *args, can_assign_owner: bool = True, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not can_assign_owner:
            # Staff scoped to their own customers do not hand customers to others.
            del self.fields["owner"]
            self.fields["action"].choices = [
                choice for choice in BulkAction.choices if choice[0] != BulkAction.ASSIGN_OWNER
            ]

    def clean(self) -> dict:
        cleaned = super().clean()
        action = cleaned.get("action")
        if action and not cleaned.get(self.VALUE_FIELD[action]):
            self.add_error(self.VALUE_FIELD[action], _("Choose what to apply."))
        return cleaned

    @property
    def value(self):
        return self.cleaned_data[self.VALUE_FIELD[self.cleaned_data["action"]]]


class ContactForm(VersionedFormMixin, MaskedPersonalFieldsMixin, forms.ModelForm):
    """A person at a company customer; the service normalises phone and email, which are
    masked, as on the customer page, for a viewer who may not see them."""

    phone = forms.CharField(label=_("phone"), required=False, max_length=64)
    email = forms.CharField(label=_("email"), required=False, max_length=320)

    class Meta:
        model = Contact
        fields = ["name", "title", "decision_role", "phone", "email", "is_primary"]

    def __init__(self, *args, customer, viewer, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.customer = customer
        if self.instance.pk:
            self.initial["phone"] = self.instance.phone_raw or self.instance.phone
            self.initial["email"] = self.instance.email_raw or self.instance.email
            self.mask_personal_fields(viewer, customer, record=self.instance)

    def _post_clean(self) -> None:
        # The service validates and writes the contact.
        pass
