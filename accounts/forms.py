import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _


class CodeForm(forms.Form):
    """A six-digit code from an authenticator app, typed with or without spaces."""

    code = forms.CharField(
        label=_("Code"),
        help_text=_("The 6-digit code your authenticator app shows now."),
        max_length=12,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )

    def clean_code(self) -> str:
        code = re.sub(r"[\s-]", "", self.cleaned_data["code"])
        if not re.fullmatch(r"\d{6}", code):
            raise ValidationError(_("Enter the 6 digits your authenticator app shows."))
        return code
