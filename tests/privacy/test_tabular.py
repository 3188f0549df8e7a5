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
