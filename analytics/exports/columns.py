"""The columns an export may hold: the built-in fields and the customers' custom fields
(`custom.<key>`). Headers are the import's own field labels (a custom field's label), so an
exported file imports again as it is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from customers.custom_fields.models import FieldTarget
from customers.custom_fields.selectors import defined_fields
from customers.imports.mapping import CUSTOMER_FIELDS

_IMPORT_LABELS = {field.key: field.label for field in CUSTOMER_FIELDS}


@dataclass(frozen=True)
class ExportColumn:
    key: str
    label: str | Promise
    # The database columns it reads ("tags" and "external_ids" are read per chunk instead).
    reads: tuple[str, ...] = ()
    default: bool = True
    # The custom field (customers.custom_fields) a `custom.<key>` column holds.
    field: Any = None


def _column(key: str, *, reads: tuple[str, ...] | None = None, label=None, default=True):
    return ExportColumn(
        key=key,
        label=label or _IMPORT_LABELS[key],
        reads=(key,) if reads is None else reads,
        default=default,
    )


BUILT_IN_COLUMNS: tuple[ExportColumn, ...] = (
    _column("id", label=_("Customer number"), default=False),
    _column("name"),
    _column("family_name", default=False),
    _column("given_name", default=False),
    _column("kind", default=False),
    _column("gender"),
    _column("birth_date"),
    _column("phone"),
    _column("email"),
    _column("country", default=False),
    _column("province"),
    _column("city"),
    _column("district", default=False),
    _column("street", default=False),
    _column("postcode", default=False),
    _column("company_name"),
    _column("industry", default=False),
    _column("website", default=False),
    _column("lifecycle_stage"),
    _column("value_grade"),
    _column("source_channel"),
    _column("source_detail", default=False),
    _column("owner", reads=("owner__username",), label=_("Owner")),
    _column("tags", reads=()),
    _column("external_ids", reads=(), label=_("IDs in other systems"), default=False),
    _column("notes", default=False),
    _column("consent_email", default=False),
    _column("consent_sms", default=False),
    _column("consent_phone", default=False),
    _column("created_at", label=_("Created"), default=False),
    _column("last_activity_at", label=_("Last activity"), default=False),
)
DEFAULT_COLUMNS = [column.key for column in BUILT_IN_COLUMNS if column.default]


def export_columns(*, archived: bool = False) -> list[ExportColumn]:
    """Every column, the custom fields' (with `archived`, archived ones too: an export
    queued before a field was archived still writes it) after the built-in ones, labelled in
    the active language."""
    custom = [
        ExportColumn(
            key=field.name,
            label=field.label,
            reads=("custom",),
            default=False,
            field=field,
        )
        for field in defined_fields(FieldTarget.CUSTOMER, archived=archived)
    ]
    return [*BUILT_IN_COLUMNS, *custom]


def columns_by_key(*, archived: bool = False) -> dict[str, ExportColumn]:
    return {column.key: column for column in export_columns(archived=archived)}
