"""Custom values in the API: `custom` on a record (a customer, an interaction), read and written,
and its OpenAPI schema.

The fields are data, defined by administrators while the server runs, so the schema is drawn
from the database each time it is asked for (an OpenApiSerializerFieldExtension): one property
per field, typed by the field's type, with its choices and its help. Writes take values as
typed, as the form does; the services clean them and refuse what does not fit, per field
("custom.<key>")."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from rest_framework import serializers

from customers.custom_fields.models import FieldDefinition, FieldTarget, FieldType, Sensitivity
from customers.custom_fields.records import api_values
from customers.custom_fields.selectors import defined_fields
from kernel.api.schema import read_for_schema

_SCALARS = (str, int, float, bool, type(None))


def fields_in(context: dict[str, Any], target: str = FieldTarget.CUSTOMER) -> list[FieldDefinition]:
    """The custom fields of `target` records, read once per serializer (a page of records
    shares its root's context) instead of once per record."""
    key = f"custom_fields.{target}"
    if key not in context:
        context[key] = defined_fields(target)
    return context[key]


class CustomValuesOutput(serializers.Field):
    """The record's custom values (records.api_values), every field of `target` records
    present; the serializer that carries them masks the personal ones for its reader."""

    def __init__(self, target: str = FieldTarget.CUSTOMER, **kwargs: Any) -> None:
        self.target_kind = target
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, record: Any) -> dict[str, Any]:
        return api_values(fields_in(self.context, self.target_kind), record.custom or {})


class CustomValuesInput(serializers.Field):
    """Custom values to write, by key, each as typed (a list for several choices); null or ""
    empties one. Keys that are not custom fields of `target` records are refused here; values
    that do not fit their field, by the service."""

    def __init__(self, target: str = FieldTarget.CUSTOMER, **kwargs: Any) -> None:
        self.target_kind = target
        super().__init__(required=False, **kwargs)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise serializers.ValidationError(_("Give the custom values as an object by key."))
        known = {field.key for field in defined_fields(self.target_kind)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise serializers.ValidationError(
                _("These are not custom fields of %(records)s: %(keys)s.")
                % {
                    "records": FieldTarget(self.target_kind).label.lower(),
                    "keys": ", ".join(unknown),
                }
            )
        for value in data.values():
            items = value if isinstance(value, list) else [value]
            if not all(isinstance(item, _SCALARS) for item in items):
                raise serializers.ValidationError(
                    _("A custom value is text, a number, true / false, or a list of them.")
                )
        return data

    def to_representation(self, value: Any) -> Any:
        return value


def _read_schema(field: FieldDefinition) -> dict[str, Any]:
    if field.sensitivity != Sensitivity.ORDINARY:
        return {"type": ["string", "null"]}
    kind = field.type
    if kind in (FieldType.NUMBER, FieldType.MONEY):
        return {"type": ["string", "null"], "format": "decimal"}
    if kind == FieldType.DATE:
        return {"type": ["string", "null"], "format": "date"}
    if kind == FieldType.YES_NO:
        return {"type": ["boolean", "null"]}
    if kind == FieldType.USER:
        return {"type": ["integer", "null"]}
    if kind == FieldType.CHOICE:
        return {"type": ["string", "null"], "enum": [*_choice_keys(field), None]}
    if kind == FieldType.CHOICES:
        return {"type": ["array", "null"], "items": {"type": "string", "enum": _choice_keys(field)}}
    return {"type": ["string", "null"]}


def _write_schema(field: FieldDefinition) -> dict[str, Any]:
    kind = field.type
    if kind in (FieldType.NUMBER, FieldType.MONEY):
        return {"type": ["string", "number", "null"]}
    if kind == FieldType.YES_NO:
        return {"type": ["boolean", "string", "null"]}
    if kind == FieldType.USER:
        return {"type": ["integer", "string", "null"]}
    if kind == FieldType.CHOICES:
        return {"type": ["array", "string", "null"], "items": {"type": "string"}}
    return {"type": ["string", "null"]}


def _choice_keys(field: FieldDefinition) -> list[str]:
    return [choice.key for choice in field.choices.all()]


def _description(field: FieldDefinition, *, writing: bool) -> str:
    parts = [field.label]
    if field.help_text:
        parts.append(field.help_text)
    if field.type in (FieldType.CHOICE, FieldType.CHOICES):
        choices = ", ".join(
            f"{choice.key} ({choice.label})"
            for choice in field.choices.all()
            if not choice.archived
        )
        parts.append(_("Choices: %(choices)s.") % {"choices": choices})
        if writing:
            parts.append(_("A choice's key or its label in either language is taken."))
    if field.type == FieldType.USER:
        parts.append(
            _("A staff member's id or user name.") if writing else _("A staff member's id.")
        )
    if field.sensitivity == Sensitivity.PERSONAL:
        parts.append(_("Personal: masked without the permission to see personal data."))
    if field.sensitivity == Sensitivity.SENSITIVE:
        parts.append(_("Sensitive: stored encrypted; reads give its mask only."))
    return " ".join(parts)


class _CustomValuesSchema(OpenApiSerializerFieldExtension):
    writing = False

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        shape = _write_schema if self.writing else _read_schema
        fields = read_for_schema(lambda: defined_fields(self.target.target_kind), [])
        return {
            "type": "object",
            "description": _("The custom fields administrators define, by key."),
            "properties": {
                field.key: {
                    **shape(field),
                    "description": _description(field, writing=self.writing),
                }
                for field in fields
            },
            "additionalProperties": False,
        }


class CustomValuesOutputSchema(_CustomValuesSchema):
    target_class = CustomValuesOutput


class CustomValuesInputSchema(_CustomValuesSchema):
    target_class = CustomValuesInput
    writing = True
