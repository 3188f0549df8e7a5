"""Reading the tables people upload: CSV/TSV in the encodings Chinese and Western tools write,
and XLSX, without trusting the file.

Pure apart from reading the file. Everything that makes a file unreadable as a whole raises
FileRefusedError with a translated message and a stable code, before any row is written: the import
scans the entire file with `count_rows` first and only then processes it.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree import ElementTree

from django.utils.translation import gettext_lazy as _

from customers.normalize import NormalizationError

MAX_FILE_BYTES = 200 * 1024 * 1024
MAX_ROWS = 1_000_000
# Longer than any real note or address, far shorter than the 10 MB cells of a hostile file.
MAX_CELL_CHARACTERS = 32_768
MAX_COLUMNS = 200
# XLSX is a zip of XML: refuse archives that would unpack into more than this, or whose parts
# compress better than any real sheet does (a zip bomb is mostly one repeated byte).
MAX_XLSX_UNPACKED_BYTES = 2 * 1024 * 1024 * 1024
MAX_XLSX_COMPRESSION_RATIO = 200
SAMPLE_BYTES = 64 * 1024
DELIMITERS = (",", "\t", ";", "|")


class FileRefusedError(NormalizationError):
    """The file as a whole cannot be imported; nothing was written. Like a value that cannot
    be normalised, it carries a translated `message` (without file content) and a `code`."""


@dataclass(frozen=True)
class TableFormat:
    """How to read a file: found by `inspect_file`, stored on the job, used by every pass."""

    kind: str  # "csv" or "xlsx"
    encoding: str = ""
    delimiter: str = ""
    headers: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "headers": self.headers,
        }

    @classmethod
    def from_dict(cls, values: dict) -> TableFormat:
        return cls(**values)


_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# GB18030 is a superset of GBK and GB2312, so one decoder reads files from all three.
_FALLBACK_ENCODINGS = ("utf-8", "gb18030")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ZIP_MAGIC = b"PK\x03\x04"
# Excel never writes a DTD; one in a sheet is there to define entities (a "billion laughs").
_XML_DTD = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)


def _refuse_empty() -> FileRefusedError:
    return FileRefusedError(_("The file is empty."), code="empty")


def inspect_file(path: Path) -> TableFormat:
    """Find the format, encoding, delimiter and header row of an uploaded file.

    Raises FileRefusedError for empty, oversized, binary or undecodable files, unsafe XLSX archives
    and unusable headers (none, blank or repeated)."""
    size = path.stat().st_size
    if size == 0:
        raise _refuse_empty()
    if size > MAX_FILE_BYTES:
        raise FileRefusedError(
            _("The file is larger than 200 MB. Split it into smaller files."), code="too_large"
        )
    with path.open("rb") as handle:
        sample = handle.read(SAMPLE_BYTES)
    if sample.startswith(_ZIP_MAGIC):
        _check_xlsx_archive(path)
        table = TableFormat(kind="xlsx")
    else:
        encoding = _detect_encoding(sample, complete=size <= SAMPLE_BYTES)
        text = _decode_sample(sample, encoding, complete=size <= SAMPLE_BYTES)
        table = TableFormat(kind="csv", encoding=encoding, delimiter=_detect_delimiter(text))
    first = next(_iter_raw(path, table), None)
    if first is None:
        raise _refuse_empty()
    return TableFormat(
        kind=table.kind,
        encoding=table.encoding,
        delimiter=table.delimiter,
        headers=_checked_headers(first[1]),
    )


def _detect_encoding(sample: bytes, *, complete: bool) -> str:
    for bom, encoding in _BOMS:
        if sample.startswith(bom):
            return encoding
    if b"\x00" in sample:
        raise _refuse_binary()
    for encoding in _FALLBACK_ENCODINGS:
        try:
            _decode_sample(sample, encoding, complete=complete)
        except UnicodeDecodeError:
            continue
        return encoding
    raise FileRefusedError(
        _("The file's text encoding is not UTF-8, GBK/GB18030 or UTF-16. Save it as CSV UTF-8."),
        code="encoding",
    )


def _decode_sample(sample: bytes, encoding: str, *, complete: bool) -> str:
    # The sample may end inside a multi-byte character: an incremental decoder keeps it back.
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    text = decoder.decode(sample, final=complete)
    if len(_CONTROL.findall(text)) > max(8, len(text) // 1000):
        raise _refuse_binary()
    return text


def _refuse_binary() -> FileRefusedError:
    return FileRefusedError(
        _("This is not a text table. Upload a CSV, TSV or XLSX file."), code="binary"
    )


def _detect_delimiter(text: str) -> str:
    """The delimiter that splits the first lines into the same number of cells, most often."""
    lines = [line for line in text.splitlines()[:50] if line.strip()]
    if not lines:
        raise _refuse_empty()
    if len(lines) > 1 and len(text) >= SAMPLE_BYTES // 2:
        lines = lines[:-1]  # probably cut off by the sample
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        try:
            rows = list(csv.reader(lines, delimiter=delimiter))
        except csv.Error:
            continue
        widths = [len(row) for row in rows]
        consistent = sum(1 for width in widths if width == widths[0])
        score = (consistent if widths[0] > 1 else 0, widths[0])
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _checked_headers(cells: list[str]) -> list[str]:
    headers = [" ".join(cell.split()) for cell in cells]
    while headers and not headers[-1]:
        headers.pop()  # trailing empty header cells: stray formatting in the spreadsheet
    if not headers:
        raise FileRefusedError(_("The first row must hold the column names."), code="no_header")
    if len(headers) > MAX_COLUMNS:
        raise FileRefusedError(_("The file has more than 200 columns."), code="too_many_columns")
    if any(not header for header in headers):
        position = headers.index("") + 1
        raise FileRefusedError(
            _("Column %(position)d has no name in the first row.") % {"position": position},
            code="blank_header",
        )
    seen: set[str] = set()
    for header in headers:
        if header.casefold() in seen:
            raise FileRefusedError(
                _("The column name “%(name)s” appears twice. Column names must be unique.")
                % {"name": header[:50]},
                code="duplicate_header",
            )
        seen.add(header.casefold())
    return headers


def iter_rows(path: Path, table: TableFormat) -> Iterator[tuple[int, list[str]]]:
    """Yield (spreadsheet row number, cells) for every data row, the header being row 1.

    Entirely empty rows are skipped (their numbers too). Cells are text; trailing empty cells
    past the header are dropped. Raises FileRefusedError for structural problems (a row with more
    or fewer cells than the header, an unclosed quote, an oversized cell, too many rows)."""
    width = len(table.headers)
    rows = _iter_raw(path, table)
    next(rows, None)  # the header
    for number, cells in rows:
        if number - 1 > MAX_ROWS:
            raise FileRefusedError(
                _("The file has more than 1,000,000 rows. Split it into smaller files."),
                code="too_many_rows",
            )
        while len(cells) > width and not cells[-1].strip():
            cells.pop()
        if not any(cell.strip() for cell in cells):
            continue
        if len(cells) != width:
            raise FileRefusedError(
                _(
                    "Row %(row)d has %(found)d cells but the header has %(expected)d. "
                    "Check for a delimiter inside an unquoted value."
                )
                % {"row": number, "found": len(cells), "expected": width},
                code="ragged",
            )
        yield number, cells


def count_rows(path: Path, table: TableFormat) -> int:
    """Read the whole file once, raising FileRefusedError for any structural problem."""
    return sum(1 for _row in iter_rows(path, table))


def _iter_raw(path: Path, table: TableFormat) -> Iterator[tuple[int, list[str]]]:
    if table.kind == "xlsx":
        yield from _iter_xlsx(path)
    else:
        yield from _iter_csv(path, table)


def _iter_csv(path: Path, table: TableFormat) -> Iterator[tuple[int, list[str]]]:
    # A process-wide setting of the csv module; every reader in this project wants the same.
    csv.field_size_limit(MAX_CELL_CHARACTERS)
    with path.open(encoding=table.encoding, errors="strict", newline="") as handle:
        reader = csv.reader(handle, delimiter=table.delimiter, strict=True)
        number = 0
        try:
            for number, cells in enumerate(reader, start=1):
                yield number, cells
        except UnicodeDecodeError as error:
            raise FileRefusedError(
                _("Row %(row)d is not valid text in the file's encoding (%(encoding)s).")
                % {"row": number + 1, "encoding": table.encoding},
                code="encoding",
            ) from error
        except csv.Error as error:
            row = number + 1
            if "field larger than field limit" in str(error):
                raise FileRefusedError(
                    _("A cell in row %(row)d is longer than %(limit)d characters.")
                    % {"row": row, "limit": MAX_CELL_CHARACTERS},
                    code="cell_too_large",
                ) from error
            raise FileRefusedError(
                _(
                    "Row %(row)d cannot be read: a quote is not closed or is followed by "
                    "other characters."
                )
                % {"row": row},
                code="quotes",
            ) from error


def _check_xlsx_archive(path: Path) -> None:
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile as error:
        raise _refuse_binary() from error
    with archive:
        members = archive.infolist()
        names = {member.filename for member in members}
        if "[Content_Types].xml" not in names or not any(n.startswith("xl/") for n in names):
            raise FileRefusedError(
                _("This archive is not an Excel workbook (.xlsx)."), code="not_xlsx"
            )
        if sum(member.file_size for member in members) > MAX_XLSX_UNPACKED_BYTES:
            raise _refuse_bomb()
        for member in members:
            ratio = member.file_size / max(member.compress_size, 1)
            if member.file_size > 1024 * 1024 and ratio > MAX_XLSX_COMPRESSION_RATIO:
                raise _refuse_bomb()
            if member.filename.endswith((".xml", ".rels")):
                with archive.open(member) as part:
                    if _XML_DTD.search(part.read(4096)):
                        raise FileRefusedError(
                            _("The workbook contains XML entity definitions, which are refused."),
                            code="xml_entities",
                        )


def _refuse_bomb() -> FileRefusedError:
    return FileRefusedError(
        _("The workbook unpacks to far more data than a real sheet holds, and is refused."),
        code="zip_bomb",
    )


def _iter_xlsx(path: Path) -> Iterator[tuple[int, list[str]]]:
    # openpyxl parses with defusedxml when it is installed (it is a requirement), and read-only
    # mode streams the sheet instead of building it in memory.
    import openpyxl
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        raise _refuse_unreadable_xlsx() from error
    try:
        sheet = workbook.worksheets[0]
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            if len(values) > MAX_COLUMNS * 5:
                raise FileRefusedError(
                    _("The file has more than 200 columns."), code="too_many_columns"
                )
            cells = [_cell_text(value) for value in values]
            if any(len(cell) > MAX_CELL_CHARACTERS for cell in cells):
                raise FileRefusedError(
                    _("A cell in row %(row)d is longer than %(limit)d characters.")
                    % {"row": number, "limit": MAX_CELL_CHARACTERS},
                    code="cell_too_large",
                )
            yield number, cells
    except (ValueError, KeyError, zipfile.BadZipFile, ElementTree.ParseError) as error:
        # defusedxml's refusals (entities, external references) are ValueErrors.
        if isinstance(error, FileRefusedError):
            raise
        raise _refuse_unreadable_xlsx() from error
    finally:
        workbook.close()


def _refuse_unreadable_xlsx() -> FileRefusedError:
    return FileRefusedError(
        _("This workbook cannot be read. Open it in Excel and save it again as .xlsx."),
        code="xlsx_unreadable",
    )


def _cell_text(value: object) -> str:
    """An XLSX cell as the text a CSV export of it would hold."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e16:
        # Numbers are floats in XLSX; 13800138000.0 is the phone number 13800138000.
        return str(int(value))
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat()
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(value)
