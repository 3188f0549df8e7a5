"""Deals as CSV or XLSX, streamed: rows are read in chunks (constant memory whatever the
number of deals), every value formula-safe (privacy/tabular.py), the customer's phone masked
unless the exporting user may see it (customers/presentation.py), and the export audited."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from accounts.templatetags.staff import staff_name
from customers.presentation import display_personal
from kernel.actors import Actor
from privacy.audit.recording import record_event
from privacy.tabular import csv_lines, write_xlsx
from sales.deals.audit import DealAction
from sales.models import Deal

CHUNK = 2000


def _headers() -> list[str]:
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
    ]


def _rows(user: Actor, deals: QuerySet[Deal]) -> Iterator[list[Any]]:
    rows = deals.select_related("customer", "pipeline", "stage", "owner").order_by("-pk")
    for deal in rows.iterator(chunk_size=CHUNK):
        yield [
            deal.pk,
            deal.title,
            deal.customer.name,
            display_personal(user, deal.customer, "phone"),
            deal.pipeline.display_name,
            deal.stage.display_name,
            deal.amount,
            deal.currency,
            deal.expected_close_date or "",
            staff_name(deal.owner),
            deal.created_at.date(),
            deal.won_at.date() if deal.won_at else "",
            deal.lost_at.date() if deal.lost_at else "",
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
    return csv_lines(_headers(), _rows(user, deals))


def deals_xlsx_file(*, user: Actor, deals: QuerySet[Deal], filters: dict[str, str]):
    """An open binary file holding the XLSX workbook, written row by row (constant memory);
    the file has no name left on disk, so it goes when the response closes it. Audited."""
    _audit(user, "xlsx", filters)
    handle, name = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    path = Path(name)
    try:
        write_xlsx(path, _headers(), _rows(user, deals))
        opened = path.open("rb")
    finally:
        path.unlink(missing_ok=True)
    return opened
