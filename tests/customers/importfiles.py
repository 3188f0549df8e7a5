"""Files the import tests feed in, written the way real tools write them."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Sequence
from pathlib import Path

import openpyxl
from django.core.files.uploadedfile import SimpleUploadedFile

# Shopify admin → Customers → Export, as Shopify writes the header row.
SHOPIFY_CUSTOMER_HEADERS = [
    "Customer ID",
    "First Name",
    "Last Name",
    "Email",
    "Accepts Email Marketing",
    "Default Address Company",
    "Default Address Address1",
    "Default Address Address2",
    "Default Address City",
    "Default Address Province Code",
    "Default Address Country Code",
    "Default Address Zip",
    "Default Address Phone",
    "Phone",
    "Accepts SMS Marketing",
    "Total Spent",
    "Total Orders",
    "Note",
    "Tax Exempt",
    "Tags",
]


def csv_bytes(
    rows: Sequence[Sequence[object]], *, encoding: str = "utf-8", delimiter: str = ","
) -> bytes:
    text = io.StringIO()
    csv.writer(text, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return text.getvalue().encode(encoding)


def xlsx_bytes(rows: Sequence[Sequence[object]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(list(row))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def zip_bomb_xlsx(path: Path) -> bytes:
    """A workbook whose sheet unpacks from a few hundred KB into 300 MB of zeros."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            block = b"0" * (1024 * 1024)
            for _ in range(300):
                sheet.write(block)
    return buffer.getvalue()


def entity_bomb_xlsx() -> bytes:
    """A real workbook whose sheet defines nested entities ("billion laughs")."""
    original = xlsx_bytes([["姓名", "手机"], ["王丽娟", "13800138000"]])
    entities = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10)
    )
    sheet = (
        f'<?xml version="1.0"?><!DOCTYPE worksheet [{entities}]>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>'
        "</sheetData></worksheet>"
    )
    source = zipfile.ZipFile(io.BytesIO(original))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for item in source.infolist():
            data = source.read(item.filename)
            archive.writestr(item, sheet if item.filename == "xl/worksheets/sheet1.xml" else data)
    return buffer.getvalue()


def run_wizard(client, *, kind: str, content: bytes, name: str = "file.csv", **options):
    """Put a file through the import wizard as a user does: upload, read the mapping page with
    its preview, start with the guessed mapping and `options`, then run the job as the worker
    does with the queued message. Returns the job."""
    from customers.imports import jobs
    from customers.models import ImportJob

    uploaded = client.post("/imports/", {"kind": kind, "file": upload(name, content)})
    assert uploaded.status_code == 302, uploaded.content.decode()[:2000]
    job = ImportJob.objects.get(pk=int(uploaded["Location"].rstrip("/").rsplit("/", 1)[1]))
    page = client.get(uploaded["Location"])
    assert page.status_code == 200
    assert page.context["preview"]
    data = {f"column_{index}": key for index, key in enumerate(job.mapping)}
    data.update(source_channel="import", policy="fill", invalid_values="reject")
    data.update(options, start="1")
    started = client.post(uploaded["Location"], data)
    assert started.status_code == 302, started.content.decode()[:3000]
    jobs.IMPORT_JOBS.run(job.pk)
    job.refresh_from_db()
    return job
