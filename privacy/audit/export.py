"""The audit log's own export: the events a privacy officer filtered, as CSV, streamed in
bounded memory and formula-safe (privacy/tabular.py). The export is itself audited: when it
starts ("audit.export_start", with the filters) and when it ends ("audit.export", with the
number of rows sent, which the large-export alert looks at)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from django.db.models import QuerySet
from django.utils import translation
from django.utils.translation import gettext as _

from privacy.actions import AuditLogAction
from privacy.audit.actions import action_label
from privacy.audit.chain import canonical_json, canonical_time
from privacy.audit.filters import ORDERING
from privacy.audit.recording import current_context, record_event, restored_context
from privacy.models import AuditEvent
from privacy.tabular import csv_lines

CHUNK_SIZE = 2000

_COLUMNS = (
    "sequence",
    "occurred_at",
    "actor_label",
    "action",
    "target_type",
    "target_id",
    "changes",
    "ip_address",
    "via",
    "user_agent",
    "event_hash",
)


def export_headers() -> list[str]:
    return [
        _("sequence"),
        _("when (UTC)"),
        _("user name"),
        _("action"),
        _("action in words"),
        _("object type"),
        _("object id"),
        _("changes"),
        _("IP address"),
        _("channel"),
        _("user agent"),
        _("hash"),
    ]


def export_rows(events: QuerySet[AuditEvent], *, language: str) -> Iterator[list[Any]]:
    """The cells of each event, the action also in words in `language`."""
    labels: dict[str, str] = {}
    for row in events.order_by(*ORDERING).values_list(*_COLUMNS).iterator(CHUNK_SIZE):
        values = dict(zip(_COLUMNS, row, strict=True))
        values["occurred_at"] = canonical_time(values["occurred_at"])
        values["changes"] = canonical_json(values["changes"]) if values["changes"] else ""
        if values["action"] not in labels:
            with translation.override(language):
                labels[values["action"]] = action_label(values["action"])
        cells = [values[column] for column in _COLUMNS]
        cells.insert(_COLUMNS.index("action") + 1, labels[values["action"]])
        yield cells


def stream_audit_export(
    *, actor: Any, events: QuerySet[AuditEvent], filters: dict[str, str]
) -> Iterable[str]:
    """CSV text of `events` for a streaming response, audited at its start and its end
    (the end is recorded also when the download is broken off, with the rows sent so far)."""
    record_event(actor=actor, action=AuditLogAction.EXPORT_START, changes={"filters": filters})
    context = current_context()
    headers = export_headers()
    # The rows are written after the view returned: in the language of the request.
    language = translation.get_language()

    def generate() -> Iterator[str]:
        lines = 0  # the first is the header
        complete = False
        try:
            for line in csv_lines(headers, export_rows(events, language=language)):
                yield line
                lines += 1
            complete = True
        finally:
            # Runs after the view returned: the request's audit context is carried over.
            with restored_context(context):
                record_event(
                    actor=actor,
                    action=AuditLogAction.EXPORT,
                    changes={"filters": filters, "rows": max(lines - 1, 0), "complete": complete},
                )

    return generate()
