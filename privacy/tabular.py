"""Writing spreadsheets that are safe to open: every CSV or XLSX file the product hands out
(exports, import error reports) goes through here.

A cell that starts with = + - @, a tab or a carriage return is a formula to Excel and LibreOffice
("=HYPERLINK(...)" in a customer's name would run when an analyst opens the export). Such cells
get a leading apostrophe, which spreadsheet programs show as text and do not evaluate.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from privacy.xlsx import XlsxStream

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_FIRST = frozenset(_FORMULA_STARTS)


def neutralise(value: Any) -> str:
    """The value as text that no spreadsheet program will evaluate."""
    # Called for every cell of million-row exports: the common case (a str) stays cheap.
    text = value if type(value) is str else ("" if value is None else str(value))
    if text[:1] in _FORMULA_FIRST:
        return "'" + text
    return text


def unneutralise(text: str) -> str:
    """Undo `neutralise` on a cell read back from a file: "'+8613800138000" is a phone number
    that an export (or a person typing in Excel) marked as text."""
    if text.startswith("'") and text[1:].startswith(_FORMULA_STARTS):
        return text[1:]
    return text


class _Echo:
    """A file-like object whose write returns the text, for streaming responses."""

    def write(self, text: str) -> str:
        return text


def csv_lines(headers: Sequence[Any], rows: Iterable[Sequence[Any]]) -> Iterable[str]:
    """CSV text in pieces, starting with a UTF-8 byte-order mark so that Excel reads Chinese
    correctly, for a streaming HTTP response."""
    writer = csv.writer(_Echo())
    yield codecs.BOM_UTF8.decode("utf-8") + writer.writerow([neutralise(h) for h in headers])
    for row in rows:
        yield writer.writerow([neutralise(value) for value in row])


# Rows per sheet: Excel's limit is 1,048,576 including the header.
XLSX_SHEET_ROWS = 1_048_575
PROGRESS_EVERY = 10_000


def write_csv(
    path: Path,
    headers: Sequence[Any],
    rows: Iterable[Sequence[Any]],
    *,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Write a CSV file (UTF-8 with BOM, formula-safe); returns the number of data rows.
    `on_progress(count)` is called every PROGRESS_EVERY rows."""
    count = -1  # the first line is the header
    with path.open("w", encoding="utf-8", newline="") as handle:
        for count, line in enumerate(csv_lines(headers, rows)):
            handle.write(line)
            if on_progress is not None and count and count % PROGRESS_EVERY == 0:
                on_progress(count)
    return max(count, 0)


def write_xlsx(
    path: Path,
    headers: Sequence[Any],
    rows: Iterable[Sequence[Any]],
    *,
    on_progress: Callable[[int], None] | None = None,
) -> int:
    """Write an XLSX workbook, formula-safe, streamed (privacy.xlsx: constant memory), every
    cell as text so that phone numbers stay exact; a new sheet starts every XLSX_SHEET_ROWS
    rows. Returns the number of data rows."""
    count = 0
    with XlsxStream(path, [neutralise(h) for h in headers]) as workbook:
        line = XLSX_SHEET_ROWS
        for count, row in enumerate(rows, start=1):
            if line == XLSX_SHEET_ROWS:
                workbook.add_sheet()
                line = 0
            line += 1
            workbook.write_row([neutralise(value) for value in row])
            if on_progress is not None and count % PROGRESS_EVERY == 0:
                on_progress(count)
    return count
