"""The copy of everything held about a person (PIPL art. 45, GDPR art. 15 and 20): a ZIP with
each kind of record twice, as JSON (stable English keys, for machines and for taking the data
to another business) and as CSV (translated headings, for people, opens in Excel).

Each app registers its sections (privacy/registry.py: customers/privacy.py,
interactions/privacy.py, analytics/privacy.py; privacy's own ledgers below). Every table that
points at a customer is either a section or registered as not copied, with the reason; a test
holds the two lists against the model graph, so a table added later cannot be forgotten. Each
section is streamed row by row: a long history does not fill memory.
"""

from __future__ import annotations

import datetime
import io
import json
import zipfile
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from privacy.audit.recording import target_label
from privacy.models import AuditEvent, ConsentRecord, DataSubjectRequest
from privacy.registry import (
    COPY_SECTIONS,
    Column,
    CopySection,
    data_subject,
    display_column,
    field_column,
    user_column,
)
from privacy.tabular import csv_lines

# Privacy's own records about the person, registered by privacy/apps.py.
LEDGER_SECTIONS = [
    CopySection(
        "consents",
        gettext_lazy("Consents"),
        90,
        ConsentRecord,
        lambda ids: (
            ConsentRecord.objects.filter(customer__in=ids)
            .select_related("policy", "recorded_by")
            .order_by("recorded_at", "pk")
        ),
        [
            display_column("purpose", gettext_lazy("purpose")),
            field_column("granted", gettext_lazy("granted")),
            field_column("recorded_at", gettext_lazy("when")),
            display_column("source", gettext_lazy("through")),
            field_column("evidence", gettext_lazy("evidence")),
            Column("policy", gettext_lazy("policy version"), lambda r: str(r.policy or "")),
            user_column("recorded_by", gettext_lazy("recorded by")),
        ],
    ),
    CopySection(
        "requests",
        gettext_lazy("Requests about this data"),
        140,
        DataSubjectRequest,
        lambda ids: DataSubjectRequest.objects.filter(customer__in=ids).order_by("pk"),
        [
            field_column("id", gettext_lazy("request")),
            display_column("kind", gettext_lazy("kind")),
            field_column("received_at", gettext_lazy("received")),
            field_column("details", gettext_lazy("what was asked")),
            display_column("status", gettext_lazy("status")),
            field_column("due_on", gettext_lazy("answer due")),
            field_column("closed_at", gettext_lazy("closed")),
            field_column("resolution", gettext_lazy("answer")),
        ],
    ),
    CopySection(
        "access_log",
        gettext_lazy("Who accessed or changed the record"),
        150,
        AuditEvent,
        lambda ids: AuditEvent.objects.filter(
            target_type=target_label(data_subject().model), target_id__in=[str(pk) for pk in ids]
        ).order_by("occurred_at", "pk"),
        [
            field_column("occurred_at", gettext_lazy("when")),
            field_column("actor_label", gettext_lazy("staff member")),
            field_column("action", gettext_lazy("action")),
            display_column("via", gettext_lazy("channel")),
            field_column("target_id", gettext_lazy("record")),
        ],
    ),
]


def _plain(value: Any) -> Any:
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict | list | str | int | float | bool | type(None)):
        return value
    return str(value)


def _json_rows(columns: Sequence[Column], rows: Iterable[Any]) -> Iterable[str]:
    yield "["
    for index, row in enumerate(rows):
        record = {column.key: _plain(column.get(row)) for column in columns}
        yield ("," if index else "") + "\n  " + json.dumps(record, ensure_ascii=False)
    yield "\n]\n"


def _csv_value(value: Any) -> Any:
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    plain = _plain(value)
    return "" if plain is None else plain


def write_copy(customer: Model, path: Path, *, request: DataSubjectRequest) -> dict[str, int]:
    """Write the ZIP for `customer` (and the records merged into it) to `path`; returns the
    number of rows in each section. Headings and the README are in the active language."""
    ids = data_subject().same_person([customer.pk])
    counts: dict[str, int] = {}
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for section in COPY_SECTIONS:
            columns = section.current_columns()
            with archive.open(f"json/{section.name}.json", "w") as raw:
                handle = io.TextIOWrapper(raw, encoding="utf-8")
                rows = section.rows(ids).iterator(chunk_size=2000)
                for piece in _json_rows(columns, _counted(rows, counts, section.name)):
                    handle.write(piece)
                handle.flush()
                handle.detach()
            with archive.open(f"csv/{section.name}.csv", "w") as raw:
                handle = io.TextIOWrapper(raw, encoding="utf-8", newline="")
                headers = [str(column.label) for column in columns]
                rows = (
                    [_csv_value(column.get(row)) for column in columns]
                    for row in section.rows(ids).iterator(chunk_size=2000)
                )
                for line in csv_lines(headers, rows):
                    handle.write(line)
                handle.flush()
                handle.detach()
        archive.writestr("README.txt", _readme(request, counts))
    return counts


def _counted(rows: Iterable[Any], counts: dict[str, int], name: str) -> Iterable[Any]:
    counts[name] = 0
    for row in rows:
        counts[name] += 1
        yield row


def _readme(request: DataSubjectRequest, counts: dict[str, int]) -> str:
    lines = [
        _("Copy of your personal data"),
        "",
        _("Prepared on %(date)s in answer to request #%(request)s.")
        % {"date": timezone.localtime().strftime("%Y-%m-%d %H:%M"), "request": request.pk},
        _(
            "Each kind of record is in the folder json/ (for programs) and in the folder csv/ "
            "(opens in a spreadsheet)."
        ),
        "",
    ]
    lines += [
        f"{section.name}: {section.title} ({counts.get(section.name, 0)})"
        for section in COPY_SECTIONS
    ]
    return "\n".join(lines) + "\n"
