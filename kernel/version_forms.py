"""The edit forms' side of kernel/versioning.py: one mixin for every edit form of a versioned row.

The form carries, hidden, the version it started from and the values it showed then. When the
service refuses a save as stale (EditConflictError), the form keeps what the user typed, takes the
row's new version and starting values, and lists the other person's changes field by field —
their value now beside the one this form started from — so that the user merges by hand and
saves again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django import forms
from django.utils.translation import gettext

from kernel.versioning import EditConflictError, lock_version
from privacy.masking import mask

# Named apart from any model field (a privacy policy has a "version" of its own).
VERSION_FIELD = "row_version"
STARTED_FROM_FIELD = "started_from"
VERSION_FORM_FIELDS = (VERSION_FIELD, STARTED_FROM_FIELD)
# Arguments of the form's own __init__ that describe the row, not who edits it: a fresh copy
# of the form (on the row as it is now) takes every other one again.
_ROW_ARGUMENTS = ("data", "files", "instance", "initial")


class VersionedFormMixin:
    """Mix into the ModelForm of a kernel.models.Versioned model (before forms.ModelForm)."""

    def __new__(cls, *args: Any, **kwargs: Any):
        form = super().__new__(cls)
        # Kept before any __init__ takes its own keywords (the editing user, the customer).
        form._same_editor = {k: v for k, v in kwargs.items() if k not in _ROW_ARGUMENTS}
        return form

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Not required: a client that sends no version (a script) is not checked, as the API
        # without If-Match; every page of this product sends one.
        self.fields[VERSION_FIELD] = forms.IntegerField(
            required=False, min_value=1, widget=forms.HiddenInput
        )
        self.fields[STARTED_FROM_FIELD] = forms.CharField(required=False, widget=forms.HiddenInput)
        if self.instance.pk:
            self.initial[VERSION_FIELD] = self.instance.row_version
        self.conflict: EditConflictError | None = None
        self.conflict_rows: list[tuple[str, str, str]] = []

    @property
    def expected_version(self) -> int | None:
        """The version this form started from, for the service (None: not checked)."""
        return self.cleaned_data.get(VERSION_FIELD)

    def get_initial_for_field(self, field: forms.Field, field_name: str) -> Any:
        if field_name == STARTED_FROM_FIELD:
            # Read when the form is drawn, after every __init__ has set its initial values.
            return json.dumps(self.shown_values(), ensure_ascii=False)
        return super().get_initial_for_field(field, field_name)

    def shown_values(self) -> dict[str, Any]:
        """What an unbound form shows in each field, comparable across requests."""
        return {
            name: _comparable(self[name]) for name in self.fields if name not in VERSION_FORM_FIELDS
        }

    @property
    def changed_data(self) -> list[str]:
        # The version fields are bookkeeping, never a change to the row.
        return [name for name in super().changed_data if name not in VERSION_FORM_FIELDS]

    def show_conflict(
        self, conflict: EditConflictError, *, masks: Mapping[str, str] | None = None
    ) -> None:
        """Take the row's current version and values as the form's new starting point and
        list the other person's changes (`conflict_rows`: label, their value now, the value
        this form started from, and whether the form took it over), masking the fields in
        `masks` (field -> privacy.masking kind) for a user who may not see them. What the
        user typed stays; a field they left alone takes the other person's value, so that
        saving again keeps both people's changes."""
        masks = masks or {}
        fresh = type(self)(instance=conflict.current, **self._same_editor)
        now = fresh.shown_values()
        started = _started_from(self.data.get(self.add_prefix(STARTED_FROM_FIELD), ""))
        self.data = self.data.copy()
        self.conflict = conflict
        self.conflict_rows = []
        for name, value in now.items():
            if name not in started or started[name] == value:
                continue
            left_alone = _comparable(self[name]) == started[name]
            if left_alone:
                self._take_over(name, value)
            self.conflict_rows.append(
                (
                    str(self.fields[name].label or name),
                    _shown(self.fields[name], value, masks.get(name)),
                    _shown(self.fields[name], started[name], masks.get(name)),
                    left_alone,
                )
            )
        self.data[self.add_prefix(VERSION_FIELD)] = str(conflict.current.row_version)
        self.data[self.add_prefix(STARTED_FROM_FIELD)] = json.dumps(now, ensure_ascii=False)
        self.add_error(None, conflict.messages)

    def _take_over(self, name: str, value: Any) -> None:
        key = self.add_prefix(name)
        if isinstance(value, bool):
            if value:
                self.data[key] = "on"
            else:
                self.data.pop(key, None)
        elif isinstance(value, list):
            if hasattr(self.data, "setlist"):
                self.data.setlist(key, value)
            else:
                self.data[key] = value
        else:
            self.data[key] = value


class AdminVersionedForm(VersionedFormMixin, forms.ModelForm):
    """Django admin's change form of a versioned row. Admin runs the whole change view in one
    transaction, so the version is locked and compared while the form is validated, and the
    stale form is shown again with the other person's changes instead of being saved."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.instance.pk:
            try:
                lock_version(self.instance, expected_version=cleaned.get(VERSION_FIELD))
            except EditConflictError as conflict:
                self.show_conflict(conflict)
        return cleaned


class VersionedAdminMixin:
    """For a ModelAdmin of a versioned model: the form above, and a change form template that
    carries the version and shows a conflict. save_model passes `form.expected_version` on."""

    form = AdminVersionedForm
    change_form_template = "admin/versioned_change_form.html"


def edited_values(form: forms.Form) -> dict[str, Any]:
    """A valid form's cleaned values without the version fields, for a service's keywords
    (any form: those without the mixin are returned whole)."""
    return {
        name: value for name, value in form.cleaned_data.items() if name not in VERSION_FORM_FIELDS
    }


def _comparable(bound: forms.BoundField) -> Any:
    if isinstance(bound.field, forms.BooleanField):
        return bool(bound.value())
    widget = bound.field.widget
    # Django admin wraps relation widgets (add / change links); the inner one formats.
    widget = getattr(widget, "widget", widget)
    formatted = widget.format_value(bound.value())
    if isinstance(formatted, list | tuple):  # choices: the chosen keys
        return sorted(str(item) for item in formatted if item not in ("", None))
    return "" if formatted is None else str(formatted)


def _started_from(raw: str) -> dict[str, Any]:
    try:
        values = json.loads(raw)
    except ValueError:
        return {}
    return values if isinstance(values, dict) else {}


def _shown(field: forms.Field, value: Any, mask_kind: str | None) -> str:
    if isinstance(field, forms.BooleanField):
        return gettext("yes") if value else gettext("no")
    if hasattr(field, "choices"):
        labels = {str(key): str(label) for key, label in field.choices}
        keys = value if isinstance(value, list) else [value]
        text = ", ".join(labels.get(str(key), str(key)) for key in keys if key != "")
    else:
        text = str(value)
    if text and mask_kind:
        text = mask(mask_kind, text)
    return text or "—"
