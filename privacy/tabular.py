"""Writing spreadsheets that are safe to open: every CSV or XLSX file the product hands out
(exports, import error reports) goes through here.

A cell that starts with = + - @, a tab or a carriage return is a formula to Excel and LibreOffice
("=HYPERLINK(...)" in a customer's name would run when an analyst opens the export). Such cells
get a leading apostrophe, which spreadsheet programs show as text and do not evaluate.
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Iterable, Sequence
from typing import Any

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: Any) -> str:
    """The value as text that no spreadsheet program will evaluate."""
    text = "" if value is None else str(value)
    if text.startswith(_FORMULA_STARTS):
        return "'" + text
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
