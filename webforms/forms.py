"""The staff's form settings and the visitor's form.

Settings: one row per field a form may ask (shown, required, a label in each language) and one
per consent (asked, its wording in each language); the service (webforms/services.py) checks
and saves them. The visitor's form is built from a form's settings in the visitor's language;
its values go to the import's door, which cleans them, so this form checks only what a
browser must (required, lengths)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from customers.models import Gender
from kernel.version_forms import VersionedFormMixin
from webforms.abuse import HONEYPOT_FIELD
from webforms.catalogue import (
    OFFERED_FIELDS,
    OFFERED_PURPOSES,
    SUFFIXES,
    consent_field_name,
    default_label,
    purpose_label,
    shown_fields,
    text_in,
)
from webforms.models import FORM_TEXT_LENGTH, WebForm
from webforms.services import LABEL_LENGTH

# The inputs of each language, named in words ("(zh)" is no word to a reader of Chinese).
_LABEL_TITLES = {"en": _("Label in English"), "zh": _("Label in Chinese")}
_WORDING_TITLES = {"en": _("Wording in English"), "zh": _("Wording in Chinese")}

# The fields a new form starts with.
_NEW_FORM_FIELDS = ({"key": "name", "required": True}, {"key": "email", "required": True})


def _shown(key: str) -> str:
    return f"field_{key}_shown"


def _required(key: str) -> str:
    return f"field_{key}_required"


def _label(key: str, suffix: str) -> str:
    return f"field_{key}_label_{suffix}"


def _asked(purpose: str) -> str:
    return f"consent_{purpose}_asked"


def _wording(purpose: str, suffix: str) -> str:
    return f"consent_{purpose}_text_{suffix}"


class WebFormSettingsForm(VersionedFormMixin, forms.ModelForm):
    """A form's settings: its own fields, a row per field it may ask and one per consent
    (`rows`, `consent_table` for the page; `settings_values` for the service)."""

    redirect_url = forms.URLField(
        label=_("thank-you page address"),
        required=False,
        max_length=500,
        assume_scheme="https",
        help_text=_("Instead of the thank-you message, send the visitor to this page."),
    )
    allowed_origins = forms.CharField(
        label=_("Sites that embed the form"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "One a line, as https://www.example.com. Only their pages may show the form in a "
            "frame or send it from their own scripts; a plain HTML form works from anywhere."
        ),
    )

    class Meta:
        model = WebForm
        fields = ["name", "thank_you_en", "thank_you_zh", "redirect_url", "min_seconds"]
        widgets = {
            "thank_you_en": forms.Textarea(attrs={"rows": 2}),
            "thank_you_zh": forms.Textarea(attrs={"rows": 2}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        instance = self.instance
        entries = {e["key"]: e for e in (instance.fields if instance.pk else _NEW_FORM_FIELDS)}
        consents = {c["purpose"]: c for c in instance.consents}
        self.field_rows = []
        for field in OFFERED_FIELDS:
            entry = entries.get(field.key, {})
            self.fields[_shown(field.key)] = forms.BooleanField(
                label=field.label, required=False, initial=field.key in entries
            )
            self.fields[_required(field.key)] = forms.BooleanField(
                label=_("Required"), required=False, initial=bool(entry.get("required"))
            )
            for language, suffix in SUFFIXES.items():
                self.fields[_label(field.key, suffix)] = forms.CharField(
                    label=_LABEL_TITLES[suffix],
                    required=False,
                    max_length=LABEL_LENGTH,
                    initial=entry.get(f"label_{suffix}", ""),
                    widget=forms.TextInput(
                        attrs={"placeholder": default_label(field.key, language)}
                    ),
                )
            self.field_rows.append(field.key)
        self.consent_rows = []
        for purpose in OFFERED_PURPOSES:
            consent = consents.get(purpose, {})
            self.fields[_asked(purpose)] = forms.BooleanField(
                label=purpose.label, required=False, initial=purpose.value in consents
            )
            for language, suffix in SUFFIXES.items():
                self.fields[_wording(purpose, suffix)] = forms.CharField(
                    label=_WORDING_TITLES[suffix],
                    required=False,
                    max_length=FORM_TEXT_LENGTH,
                    initial=consent.get(f"text_{suffix}", ""),
                    widget=forms.Textarea(
                        attrs={"rows": 2, "placeholder": purpose_label(purpose, language)}
                    ),
                )
            self.consent_rows.append(purpose.value)
        self.fields["allowed_origins"].initial = "\n".join(instance.allowed_origins)

    def rows(self) -> list[dict[str, Any]]:
        """The field rows for the template: each with its bound fields."""
        return [
            {
                "shown": self[_shown(key)],
                "required": self[_required(key)],
                "labels": [self[_label(key, suffix)] for suffix in SUFFIXES.values()],
            }
            for key in self.field_rows
        ]

    def consent_table(self) -> list[dict[str, Any]]:
        return [
            {
                "asked": self[_asked(purpose)],
                "wordings": [self[_wording(purpose, suffix)] for suffix in SUFFIXES.values()],
            }
            for purpose in self.consent_rows
        ]

    def settings_values(self) -> dict[str, Any]:
        """The cleaned settings as the service takes them."""
        data = self.cleaned_data
        fields = [
            {
                "key": key,
                "required": data[_required(key)],
                **{f"label_{s}": data[_label(key, s)] for s in SUFFIXES.values()},
            }
            for key in self.field_rows
            if data[_shown(key)]
        ]
        consents = [
            {
                "purpose": purpose,
                **{f"text_{s}": data[_wording(purpose, s)] for s in SUFFIXES.values()},
            }
            for purpose in self.consent_rows
            if data[_asked(purpose)]
        ]
        return {
            "name": data["name"],
            "fields": fields,
            "consents": consents,
            "thank_you_en": data["thank_you_en"],
            "thank_you_zh": data["thank_you_zh"],
            "redirect_url": data["redirect_url"],
            "allowed_origins": data["allowed_origins"].splitlines(),
            "min_seconds": data["min_seconds"],
        }


# What browsers may fill in for each field, and the input each shows.
_AUTOCOMPLETE = {
    "name": "name",
    "family_name": "family-name",
    "given_name": "given-name",
    "gender": "sex",
    "birth_date": "bday",
    "phone": "tel",
    "email": "email",
    "company_name": "organization",
    "website": "url",
    "country": "country-name",
    "province": "address-level1",
    "city": "address-level2",
    "district": "address-level3",
    "street": "street-address",
    "postcode": "postal-code",
}
_INPUT_TYPES = {"phone": "tel", "email": "email", "birth_date": "date", "website": "url"}
# Enough for any value the door keeps (it reports a value too long for its field itself);
# notes are kept short enough that a body never nears WEBFORMS_MAX_BODY_BYTES.
_MAX_LENGTHS = {"notes": 2000, "email": 320}
_MAX_LENGTH = 200
PASS_THROUGH = ("lang", "utm_source", "utm_medium", "utm_campaign", "referrer")


def _input(key: str, label: str, required: bool) -> forms.Field:
    attrs = {"autocomplete": _AUTOCOMPLETE.get(key, "on")}
    if key == "gender":
        return forms.ChoiceField(
            label=label,
            required=required,
            choices=[("", "—"), *Gender.choices],
            widget=forms.Select(attrs=attrs),
        )
    if key == "notes":
        widget: forms.Widget = forms.Textarea(attrs={**attrs, "rows": 3})
    else:
        widget = forms.TextInput(attrs={**attrs, "type": _INPUT_TYPES.get(key, "text")})
    return forms.CharField(
        label=label,
        required=required,
        max_length=_MAX_LENGTHS.get(key, _MAX_LENGTH),
        widget=widget,
    )


class PublicForm(forms.Form):
    """A form as its visitor sees it, in `language`: its fields, its consents (never ticked in
    advance), the form token, the attribution passed along, and the honeypot."""

    token = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args: Any, webform: WebForm, language: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in PASS_THROUGH:
            self.fields[name] = forms.CharField(
                required=False, max_length=_MAX_LENGTH, widget=forms.HiddenInput
            )
        for shown in shown_fields(webform.fields, language):
            self.fields[shown.key] = _input(shown.key, shown.label, shown.required)
        self.consent_names = []
        for consent in webform.consents:
            name = consent_field_name(consent["purpose"])
            self.fields[name] = forms.BooleanField(
                label=text_in(consent, "text", language), required=False
            )
            self.consent_names.append(name)
        self.fields[HONEYPOT_FIELD] = forms.CharField(
            label=_("Leave this empty"),
            required=False,
            widget=forms.TextInput(attrs={"tabindex": "-1", "autocomplete": "off"}),
        )

    def visible_inputs(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if self._is_visible_input(name)]

    def _is_visible_input(self, name: str) -> bool:
        return (
            name not in ("token", HONEYPOT_FIELD, *PASS_THROUGH) and name not in self.consent_names
        )

    def consent_inputs(self) -> list[forms.BoundField]:
        return [self[name] for name in self.consent_names]
