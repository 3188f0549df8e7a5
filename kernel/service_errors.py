"""A service's ValidationError shown on the form that called it."""

from __future__ import annotations

from collections.abc import Mapping

from django import forms
from django.core.exceptions import ValidationError


def add_service_errors(
    form: forms.BaseForm, error: ValidationError, *, renamed: Mapping[str, str] | None = None
) -> None:
    """Each of the service's field errors on the form's input of that name (`renamed` maps a
    service's name to the form's where they differ), the rest above the form."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for name, messages in error.message_dict.items():
        name = (renamed or {}).get(name, name)
        form.add_error(name if name in form.fields else None, messages)
