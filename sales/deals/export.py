"""Deals as CSV or XLSX, streamed: rows are read in chunks (constant memory whatever the
number of deals), every value formula-safe (privacy/tabular.py), the customer's phone and
personal custom values masked unless the exporting user may see them
(customers/presentation.py), and the export audited."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from accounts.templatetags.staff import staff_name
from accounts.users import staff_accounts
from customers.custom_fields.models import FieldDefinition, FieldTarget
from customers.custom_fields.records import portable_writer
from customers.custom_fields.selectors import defined_fields
from customers.presentation import personal_value
from customers.selectors import can_view_personal_data
from kernel.actors import Actor
from privacy.audit.recording import record_event
from privacy.tabular import csv_lines, write_xlsx
from sales.deals.audit import DealAction
from sales.models import Deal

CHUNK = 2000


def _headers(fields: list[FieldDefinition]) -> list[str]:
    return [
        _("Deal"),
        _("Title"),
        _("Customer"),
        _("Customer phone"),
        _("Pipeline"),
        _("Stage"),
        _("Amount"),
        _("Currency"),
        _("Expected close date"),
        _("Owner"),
        _("Created"),
        _("Won"),
        _("Lost"),
        *(field.label for field in fields),
    ]


def _rows(user: Actor, deals: QuerySet[Deal], fields: list[FieldDefinition]) -> Iterator[list[Any]]:
    """A row per deal; its custom values in words an import takes back (portable_writer), a
    personal one masked unless the user may see the customer's personal data, a sensitive
    one always."""
    usernames = dict(staff_accounts().values_list("pk", "username")) if fields else {}
    # Whether the user may see the row's customer's personal data -> a writer per field.
    writers = {
        unmasked: [
            (field.key, portable_writer(field, unmasked=unmasked, usernames=usernames))
            for field in fields
        ]
        for unmasked in (True, False)
    }
    rows = deals.select_related("customer", "pipeline", "stage", "owner").order_by("-pk")
    for deal in rows.iterator(chunk_size=CHUNK):
        unmasked = can_view_personal_data(user, deal.customer)
        custom = deal.custom or {}
        yield [
            deal.pk,
            deal.title,
            deal.customer.name,
            personal_value(deal.customer, "phone", visible=unmasked),
            deal.pipeline.display_name,
            deal.stage.display_name,
            deal.amount,
            deal.currency,
            deal.expected_close_date or "",
            staff_name(deal.owner),
            deal.created_at.date(),
            deal.won_at.date() if deal.won_at else "",
            deal.lost_at.date() if deal.lost_at else "",
            *(write(custom.get(key)) for key, write in writers[unmasked]),
        ]


def _audit(user: Actor, file_format: str, filters: dict[str, str]) -> None:
    record_event(
        actor=user,
        action=DealAction.EXPORTED,
        changes={"format": file_format, "filters": filters},
    )


def stream_deals_csv(
    *, user: Actor, deals: QuerySet[Deal], filters: dict[str, str]
) -> Iterable[str]:
    """CSV text in pieces for a streaming response; audited before the first row."""
    _audit(user, "csv", filters)
    fields = defined_fields(FieldTarget.DEAL)
    return csv_lines(_headers(fields), _rows(user, deals, fields))


def deals_xlsx_file(*, user: Actor, deals: QuerySet[Deal], filters: dict[str, str]):
    """An open binary file holding the XLSX workbook, written row by row (constant memory);
    the file has no name left on disk, so it goes when the response closes it. Audited."""
    _audit(user, "xlsx", filters)
    fields = defined_fields(FieldTarget.DEAL)
    handle, name = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    path = Path(name)
    try:
        write_xlsx(path, _headers(fields), _rows(user, deals, fields))
        opened = path.open("rb")
    finally:
        path.unlink(missing_ok=True)
    return opened
