"""Custom values on a record's edit form: one input per field, grouped as the administrator
grouped them. The inputs collect what a person types; the record's service cleans it (the same
cleaning as an import's or the API's), and its errors come back on these inputs."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from customers.custom_fields.models import FieldDefinition, FieldType, Sensitivity
from customers.custom_fields.records import by_group, current_value, is_hidden, is_sealed
from customers.custom_fields.values import (
    LONG_TEXT_MAX_LENGTH,
    TEXT_MAX_LENGTH,
    staff_choices,
)

# A custom field's input is named after its key, apart from any built-in field's name.
INPUT_PREFIX = "custom__"
SEALED_HELP = _("Stored encrypted. Leave it empty to keep the current value.")
_EMPTY_CHOICE = ("", "—")
# What a browser keyboard should offer for a type typed as text.
_INPUT_MODES = {
    FieldType.NUMBER: "decimal",
    FieldType.MONEY: "decimal",
    FieldType.PHONE: "tel",
    FieldType.EMAIL: "email",
    FieldType.URL: "url",
}


def input_name(field: FieldDefinition) -> str:
    return f"{INPUT_PREFIX}{field.key}"


def is_custom_input(name: str) -> bool:
    return name.startswith(INPUT_PREFIX)


def _choices(field: FieldDefinition, held: Iterable[str]) -> list[tuple[str, str]]:
    """The offered choices, and an archived one the record still holds (so that saving the
    form does not drop it)."""
    held = set(held)
    return [
        (choice.key, choice.label)
        for choice in field.choices.all()
        if not choice.archived or choice.key in held
    ]


def value_input(field: FieldDefinition, stored: Any) -> forms.Field:
    """The input for `field` on a record holding `stored` (its JSON entry, or None)."""
    sealed = field.sensitivity == Sensitivity.SENSITIVE
    options: dict[str, Any] = {
        "label": field.label,
        # A sealed value cannot be shown; an empty input keeps it.
        "required": field.required and not (sealed and stored is not None),
        "help_text": SEALED_HELP if sealed and stored is not None else field.help_text,
    }
    kind = field.type
    held = [] if stored is None or is_sealed(stored) else stored
    if kind == FieldType.YES_NO:
        choices = [_EMPTY_CHOICE, ("yes", _("Yes")), ("no", _("No"))]
        return forms.ChoiceField(choices=choices, **options)
    if kind == FieldType.CHOICE:
        held_keys = [held] if held else []
        return forms.ChoiceField(choices=[_EMPTY_CHOICE, *_choices(field, held_keys)], **options)
    if kind == FieldType.CHOICES:
        return forms.MultipleChoiceField(
            choices=_choices(field, held), widget=forms.CheckboxSelectMultiple, **options
        )
    if kind == FieldType.USER:
        return forms.ChoiceField(
            choices=[_EMPTY_CHOICE, *staff_choices(including=held or None)], **options
        )
    if kind == FieldType.LONG_TEXT:
        widget: forms.Widget = forms.Textarea(attrs={"rows": 3})
        return forms.CharField(max_length=LONG_TEXT_MAX_LENGTH, widget=widget, **options)
    if kind == FieldType.DATE:
        widget = forms.DateInput(attrs={"type": "date"})
    else:
        attrs = {"inputmode": _INPUT_MODES[kind]} if kind in _INPUT_MODES else {}
        if sealed:
            attrs["autocomplete"] = "off"
        widget = forms.TextInput(attrs=attrs)
    return forms.CharField(max_length=TEXT_MAX_LENGTH, widget=widget, **options)


def _initial(field: FieldDefinition, stored: Any) -> Any:
    if stored is None or is_hidden(field, stored):
        return None
    if field.type == FieldType.YES_NO:
        return "yes" if stored else "no"
    if field.type == FieldType.USER:
        return str(stored)
    return stored


class CustomValuesFormMixin:
    """Mix into a form that edits a record with custom values; call add_custom_inputs() from
    __init__."""

    custom_fields: list[FieldDefinition]

    def add_custom_inputs(
        self, fields: Iterable[FieldDefinition], stored: dict[str, Any], *, sees_personal: bool
    ) -> None:
        """An input per field, initially the record's value. A personal value the editor may
        not see is left off the form (it cannot be read here, nor overwritten unseen); a
        sensitive one is write-only."""
        self.custom_fields = [
            field for field in fields if sees_personal or field.sensitivity != Sensitivity.PERSONAL
        ]
        for field in self.custom_fields:
            entry = stored.get(field.key)
            if entry is not None and not is_hidden(field, entry):
                # As the field stores it now; empty when it is no value of the field (its
                # conversion kept it): untouched, the input leaves it as it is.
                entry = current_value(field, entry)
            name = input_name(field)
            self.fields[name] = value_input(field, entry)
            self.fields[name].custom_group = field.group
            initial = _initial(field, entry)
            if initial is not None:
                self.initial[name] = initial

    def built_in_fields(self) -> list[forms.BoundField]:
        """The form's visible inputs other than the custom ones."""
        return [
            bound
            for bound in self.visible_fields()  # type: ignore[attr-defined]
            if not is_custom_input(bound.name)
        ]

    def custom_inputs(self) -> list[forms.BoundField]:
        return [self[input_name(field)] for field in self.custom_fields]

    def custom_groups(
        self, inputs: Iterable[forms.BoundField] | None = None
    ) -> list[tuple[str, list[forms.BoundField]]]:
        """The custom inputs (by default all) by group, in the fields' order."""
        inputs = self.custom_inputs() if inputs is None else inputs
        return by_group(inputs, lambda bound: bound.field.custom_group)

    def custom_changes(self) -> dict[str, Any]:
        """key -> value as typed, for the record's service: only the inputs the user changed
        (a value kept as it was is not cleaned again: an archived choice or a colleague who
        left stays; a new record's untouched input takes the field's default), and a sensitive
        input left empty keeps the stored value."""
        changed = set(self.changed_data)
        changes: dict[str, Any] = {}
        for field in self.custom_fields:
            name = input_name(field)
            value = self.cleaned_data.get(name)
            if name not in changed:
                continue
            if field.sensitivity == Sensitivity.SENSITIVE and value in (None, "", []):
                continue
            changes[field.key] = value
        return changes

    def custom_error_names(self) -> dict[str, str]:
        """The service's error names (custom.<key>) -> this form's input names."""
        return {field.name: input_name(field) for field in self.custom_fields}
