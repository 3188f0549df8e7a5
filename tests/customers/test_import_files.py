"""Reading uploaded tables: encodings, delimiters, XLSX, and hostile files refused whole."""

import codecs

import pytest

from customers.imports.files import (
    MAX_CELL_CHARACTERS,
    FileRefusedError,
    count_rows,
    inspect_file,
    iter_rows,
)
from customers.imports.mapping import CUSTOMER_FIELDS, suggest_mapping
from tests.customers.importfiles import (
    SHOPIFY_CUSTOMER_HEADERS,
    csv_bytes,
    entity_bomb_xlsx,
    xlsx_bytes,
    zip_bomb_xlsx,
)

ROWS = [
    ["姓名", "手机号码", "邮箱", "备注"],
    ["王丽娟", "138 0013 8000", "wlj@example.com", "喜欢绿茶，每月来店"],
    ["Anna Schmidt", "+49 30 1234567", "anna@example.de", 'says "hi", twice'],
]


def _read(tmp_path, name, content):
    path = tmp_path / name
    path.write_bytes(content)
    table = inspect_file(path)
    return table, [cells for _number, cells in iter_rows(path, table)]


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [
        ("utf-8", "utf-8"),
        ("utf-8-sig", "utf-8-sig"),
        ("gb18030", "gb18030"),
        ("gbk", "gb18030"),
        ("utf-16", "utf-16"),  # Python writes the BOM, as Excel's "Unicode text" does
    ],
)
def test_text_encodings_are_detected(tmp_path, encoding, expected):
    table, rows = _read(tmp_path, "customers.csv", csv_bytes(ROWS, encoding=encoding))
    assert table.encoding == expected
    assert table.headers == ROWS[0]
    assert rows == ROWS[1:]


@pytest.mark.parametrize("delimiter", [",", "\t", ";", "|"])
def test_delimiters_are_detected(tmp_path, delimiter):
    table, rows = _read(tmp_path, "customers.txt", csv_bytes(ROWS, delimiter=delimiter))
    assert table.delimiter == delimiter
    assert rows == ROWS[1:]


def test_xlsx_numbers_and_dates_read_as_their_text(tmp_path):
    import datetime

    content = xlsx_bytes(
        [
            ["姓名", "手机", "生日", "积分"],
            ["张伟", 13800138000, datetime.datetime(1990, 1, 5), 12.5],
        ]
    )
    table, rows = _read(tmp_path, "customers.xlsx", content)
    assert table.kind == "xlsx"
    assert rows == [["张伟", "13800138000", "1990-01-05", "12.5"]]


def test_row_numbers_are_the_spreadsheet_rows_and_blank_rows_are_skipped(tmp_path):
    path = tmp_path / "gaps.csv"
    path.write_bytes(csv_bytes([["name"], ["a"], [""], ["b"]]))
    table = inspect_file(path)
    assert [number for number, _cells in iter_rows(path, table)] == [2, 4]
    assert count_rows(path, table) == 2


def test_a_gbk_file_larger_than_the_sample_is_read_to_the_end(tmp_path):
    rows = [["姓名", "城市"]] + [[f"王{i}", "北京市朝阳区"] for i in range(20_000)]
    table, read = _read(tmp_path, "big.csv", csv_bytes(rows, encoding="gbk"))
    assert table.encoding == "gb18030"
    assert len(read) == 20_000
    assert read[-1] == ["王19999", "北京市朝阳区"]


def _inspect_and_scan(path):
    count_rows(path, inspect_file(path))


def _refusal(tmp_path, name, content) -> str:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(FileRefusedError) as refused:
        _inspect_and_scan(path)
    assert str(refused.value)  # a message for the user
    return refused.value.code


@pytest.mark.parametrize(
    ("name", "content", "code"),
    [
        ("empty.csv", b"", "empty"),
        ("blank.csv", b"\r\n\r\n", "empty"),
        ("photo.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, "binary"),
        ("latin1.csv", "name\nJosé Müller,Köln\n".encode("cp1252") + b"\x81\x8d", "encoding"),
        ("dupes.csv", csv_bytes([["手机", "姓名", "手机"], ["1", "2", "3"]]), "duplicate_header"),
        ("blank-header.csv", csv_bytes([["姓名", "", "手机"], ["a", "b", "c"]]), "blank_header"),
        ("ragged.csv", csv_bytes([["姓名", "手机"], ["a", "1"], ["b", "2", "3"]]), "ragged"),
        ("short.csv", csv_bytes([["姓名", "手机", "邮箱"], ["a", "1"]]), "ragged"),
        ("quote.csv", b'name,phone\r\n"Wang,138\r\nLi,139\r\n', "quotes"),
        ("stray-quote.csv", b'name,phone\r\n"Wang"x,138\r\n', "quotes"),
        (
            "huge-cell.csv",
            b"name,notes\r\nWang," + b"x" * (10 * 1024 * 1024) + b"\r\n",
            "cell_too_large",
        ),
        ("fake.xlsx", b"PK\x03\x04 this is not a zip at all" * 10, "binary"),
    ],
)
def test_hostile_files_are_refused_with_a_reason(tmp_path, name, content, code):
    assert _refusal(tmp_path, name, content) == code


def test_a_zip_bomb_is_refused_before_unpacking(tmp_path):
    assert _refusal(tmp_path, "bomb.xlsx", zip_bomb_xlsx(tmp_path)) == "zip_bomb"


def test_an_xml_entity_bomb_is_refused(tmp_path):
    assert _refusal(tmp_path, "laughs.xlsx", entity_bomb_xlsx()) == "xml_entities"


def test_a_long_but_legitimate_cell_is_read(tmp_path):
    note = "很长的备注。" * (MAX_CELL_CHARACTERS // 12)
    _table, rows = _read(tmp_path, "notes.csv", csv_bytes([["姓名", "备注"], ["王", note]]))
    assert rows[0][1] == note


def test_utf16_without_bom_is_refused_as_binary(tmp_path):
    content = csv_bytes(ROWS, encoding="utf-16")[len(codecs.BOM_UTF16_LE) :]
    assert _refusal(tmp_path, "nobom.csv", content) == "binary"


def test_mapping_is_suggested_from_chinese_and_english_headers():
    headers = [
        "客户编号",
        "姓名",
        "手机号码（必填）",
        "E-Mail",
        "性别",
        "出生日期",
        "省份",
        "城市",
        "地址",
        "公司",
        "标签",
        "来源",
        "备注",
        "积分",
    ]
    assert suggest_mapping(CUSTOMER_FIELDS, "customers", headers) == [
        "external_id",
        "name",
        "phone",
        "email",
        "gender",
        "birth_date",
        "province",
        "city",
        "street",
        "company_name",
        "tags",
        "source_channel",
        "notes",
        "",
    ]


def test_a_shopify_customers_export_is_recognised():
    headers = SHOPIFY_CUSTOMER_HEADERS
    assert suggest_mapping(CUSTOMER_FIELDS, "customers", headers) == [
        "external_id",
        "given_name",
        "family_name",
        "email",
        "consent_email",
        "company_name",
        "street",
        "street",
        "city",
        "province",
        "country",
        "postcode",
        "phone",
        "phone",
        "consent_sms",
        "",
        "",
        "notes",
        "",
        "tags",
    ]


def test_a_field_is_suggested_for_one_column_only():
    assert suggest_mapping(CUSTOMER_FIELDS, "customers", ["邮箱", "Email"]) == ["email", ""]


def test_every_phone_column_of_a_file_is_suggested_as_a_phone():
    headers = ["手机", "电话", "billing_phone", "Shipping Phone", "收货人手机"]
    assert suggest_mapping(CUSTOMER_FIELDS, "customers", headers) == ["phone"] * 5


def test_the_xml_parser_itself_refuses_entities_too(tmp_path):
    """Defence in depth: even past the archive check, defusedxml refuses the DTD."""
    from customers.imports.files import _iter_xlsx

    path = tmp_path / "laughs.xlsx"
    path.write_bytes(entity_bomb_xlsx())
    with pytest.raises(FileRefusedError) as refused:
        list(_iter_xlsx(path))
    assert refused.value.code == "xlsx_unreadable"
