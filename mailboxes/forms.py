from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from mailboxes.models import Mailbox


class MailboxForm(forms.ModelForm):
    """A mailbox's settings; the service (mailboxes/services.py) checks and saves them, and
    encrypts the password."""

    password = forms.CharField(
        label=_("Password"),
        required=False,
        strip=False,
        max_length=500,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
    )

    class Meta:
        model = Mailbox
        fields = [
            "name",
            "host",
            "port",
            "security",
            "username",
            "password",
            "folders",
            "bcc_address",
            "staff_domains",
            "read_since",
            "is_active",
        ]
        widgets = {"read_since": forms.DateInput(attrs={"type": "date"})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["password"].help_text = _("Leave empty to keep the stored password.")
        else:
            self.fields["password"].required = True
