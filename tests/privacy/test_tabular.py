import csv
import io

import pytest

from privacy.tabular import csv_lines, neutralise


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+8613800138000", "'+8613800138000"),
        ("-3", "'-3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("王丽娟", "王丽娟"),
        ("a=b", "a=b"),
        (None, ""),
        (42, "42"),
    ],
)
def test_cells_that_a_spreadsheet_would_evaluate_are_neutralised(value, expected):
    assert neutralise(value) == expected


def test_csv_lines_start_with_a_bom_and_neutralise_every_cell():
    text = "".join(csv_lines(["=Name", "电话"], [['=HYPERLINK("x")', "138"]]))
    assert text.startswith("\ufeff")
    assert list(csv.reader(io.StringIO(text[1:]))) == [
        ["'=Name", "电话"],
        ['\'=HYPERLINK("x")', "138"],
    ]


def test_xlsx_cells_keep_text_exactly_and_sheets_split_at_the_row_limit(tmp_path, monkeypatch):
    import openpyxl

    from privacy import tabular

    monkeypatch.setattr(tabular, "XLSX_SHEET_ROWS", 3)
    rows = [
        [" leading space", "a&b<c>", "bell\x07", "=1+1"],
        ["王丽娟", "", "0013800", "x"],
        ["3"],
        ["4"],
        ["5"],
    ]
    path = tmp_path / "out.xlsx"
    assert tabular.write_xlsx(path, ["名字", "B", "C", "D"], rows) == 5
    workbook = openpyxl.load_workbook(path, read_only=True)
    sheets = [
        [list(row) for row in sheet.iter_rows(values_only=True)] for sheet in workbook.worksheets
    ]
    assert [len(sheet) for sheet in sheets] == [4, 3]  # a header on each sheet
    assert sheets[0][0] == ["名字", "B", "C", "D"]
    # XML cannot hold a control character: it is written as Excel's own escape, which Excel
    # turns back into the character (openpyxl shows the escape).
    assert sheets[0][1] == [" leading space", "a&b<c>", "bell_x0007_", "'=1+1"]
    assert sheets[0][2] == ["王丽娟", None, "0013800", "x"]
    assert sheets[1][1:] == [["4"], ["5"]]


def test_an_empty_xlsx_still_has_its_header(tmp_path):
    import openpyxl

    from privacy.tabular import write_xlsx

    path = tmp_path / "empty.xlsx"
    assert write_xlsx(path, ["Name"], []) == 0
    sheet = openpyxl.load_workbook(path, read_only=True).worksheets[0]
    assert [list(row) for row in sheet.iter_rows(values_only=True)] == [["Name"]]
