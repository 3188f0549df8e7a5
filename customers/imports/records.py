"""Bulk upsert of records sent by another system (the API's /customers/bulk/,
/transactions/bulk/, /interactions/bulk/): each record holds the raw values a file row would,
under the import's field names, and goes through the file import's own steps — the kind's
`prepare` (clean values, the same errors and warnings) and `write_batch` (matching against the
database and within the call, set-based writes) — so that a record and a file row with the same
values are stored the same way.

A call is one batch in one transaction: a record that fails writes nothing, the others are
written; the call is audited as one event with its counts (never a value)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from customers.audit import ImportAction
from customers.imports.fields import (
    MATCH_KEYS,
    BatchOptions,
    PreparedRow,
    cells_by_field,
    prepare_rows,
)
from customers.imports.jobs import GROWTH_BEFORE_ANALYZE, may_import, rows_module
from customers.imports.mapping import IGNORE, ImportField
from customers.models import DateOrder, ImportKind, InvalidValues, IssueSeverity, UpdatePolicy
from kernel.table_statistics import analyze_stale_tables
from privacy.audit.recording import record_event

MAX_RECORDS = 1000
OUTCOMES = ("created", "updated", "unchanged", "failed")
# The issue key of a problem with the record as a whole (as in serializers' errors).
WHOLE_RECORD = "non_field_errors"
_MAX_KEY = 100

_NOT_A_VALUE = _("Give text, a number, true or false.")
_UNKNOWN_FIELD = _("This field is not known here; it was left out.")


@dataclass
class RecordOutcome:
    """What came of one record: its outcome ("created", "updated", "unchanged", "failed"),
    the id of the record it wrote or matched, and its messages by field."""

    index: int
    status: str
    id: int | None
    errors: dict[str, list[str]] = field(default_factory=dict)
    warnings: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class BulkOutcome:
    results: list[RecordOutcome]

    def count(self, status: str) -> int:
        return sum(1 for result in self.results if result.status == status)

    @property
    def counts(self) -> dict[str, int]:
        return {status: self.count(status) for status in OUTCOMES}

    @property
    def warnings(self) -> int:
        return sum(
            len(messages) for result in self.results for messages in result.warnings.values()
        )


def cell_text(value: Any) -> str | None:
    """A record's value as the text a file's cell would hold; None for a value no cell holds
    (an object, a list of anything but text)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        # Tags as a list: the import reads them from one cell, separated by commas.
        return ", ".join(value)
    return None


def record_row(fields: Sequence[ImportField], index: int, record: Mapping[str, Any]) -> PreparedRow:
    """A record as a file row numbered `index`: its known fields as cells (cells_by_field),
    values no cell could hold as errors, and unknown fields as warnings."""
    known = {item.key for item in fields}
    keys: list[str] = []
    cells: list[str] = []
    refused: list[str] = []
    unknown: list[str] = []
    for key, value in record.items():
        text = cell_text(value)
        if key not in known:
            unknown.append(key[:_MAX_KEY])
        elif text is None:
            refused.append(key)
        else:
            keys.append(key)
            cells.append(text)
    row = cells_by_field(fields, keys, keys, index, cells)
    for key in refused:
        row.add_issue(key, _NOT_A_VALUE, value="", column=key)
    for key in unknown:
        row.add_issue(IGNORE, _UNKNOWN_FIELD, warning=True, value="", column=key)
    return row


def upsert_records(
    *,
    actor: Any,
    kind: str,
    records: Sequence[Mapping[str, Any]],
    source_name: str = "",
    source_channel: str = "",
    match_on: Iterable[str] = MATCH_KEYS,
    policy: str = UpdatePolicy.OVERWRITE,
    invalid_values: str = InvalidValues.REJECT_ROW,
    date_order: str = DateOrder.UNSAID,
) -> BulkOutcome:
    """Create or update customers, orders or interactions (`kind`, an ImportKind) from up to
    MAX_RECORDS records, as an import of a file holding them would: matched by the customer's
    id in `source_name`, phone, email or identity number (those of `match_on`), within
    `actor`'s scope; records of one customer (or order) in the call combined; staff scoped
    to their own customers own the customers they create. Returns each record's outcome, in
    order. Raises PermissionDenied without the import permission, ValueError for more than
    MAX_RECORDS records."""
    if not may_import(actor):
        raise PermissionDenied
    if len(records) > MAX_RECORDS:
        raise ValueError(f"At most {MAX_RECORDS} records a call.")
    module = rows_module(kind)
    options = BatchOptions(
        actor=actor,
        job=None,
        source_name=source_name,
        source_channel=source_channel,
        policy=policy,
        owner=None if actor.has_perm("customers.view_all_customers") else actor,
        match_on=frozenset(match_on),
    )
    fields = module.fields()
    rows = prepare_rows(
        module,
        [record_row(fields, index, record) for index, record in enumerate(records)],
        invalid_values=invalid_values,
        date_order=date_order,
    )
    with transaction.atomic():
        outcomes = module.write_batch(rows, options)
        result = BulkOutcome([_outcome(row, outcomes[row.number]) for row in rows])
        record_event(
            actor=actor,
            action=ImportAction.BULK_UPSERT,
            changes={
                "kind": ImportKind(kind).value,
                "source_name": source_name,
                "records": len(records),
                **result.counts,
                "warnings": result.warnings,
            },
        )
    # As after each of an import's batches: lookups of the next calls stay index lookups.
    analyze_stale_tables(module.TABLES_WRITTEN, fraction=GROWTH_BEFORE_ANALYZE)
    return result


def _outcome(row: PreparedRow, status: str) -> RecordOutcome:
    outcome = RecordOutcome(
        index=row.number, status=status, id=None if status == "failed" else row.stored_id
    )
    for issue in row.issues:
        messages = outcome.errors if issue.severity == IssueSeverity.ERROR else outcome.warnings
        messages.setdefault(issue.column or WHOLE_RECORD, []).append(issue.message)
    return outcome
