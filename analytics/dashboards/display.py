"""Dashboard tables as shown: cells in words (the same text in the table and the CSV file),
and what dashboards.js draws."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.utils.translation import get_language

from analytics.dashboards.charts import Chart, Column


def display_value(column: Column, value: Any) -> str:
    """A cell as the table and the CSV file show it (the same text in both)."""
    if value is None:
        return ""
    if column.kind == "names":
        # (English, Chinese): a name administrators gave in both languages.
        english, chinese = value
        return chinese if (get_language() or "").lower().startswith("zh") else english
    if column.kind == "category":
        return str((column.choices or {}).get(value, value))
    if column.kind == "month":
        return value.strftime("%Y-%m")
    if column.kind == "money":
        return f"{value:.2f}"
    if column.kind == "percent":
        return f"{value:.1f}"
    if column.kind == "score":
        return f"{value:.2f}"
    return str(value)


def display_rows(chart: Chart, rows: Iterable[tuple]) -> list[list[str]]:
    return [
        [display_value(column, value) for column, value in zip(chart.columns, row, strict=True)]
        for row in rows
    ]


def headers(chart: Chart) -> list[str]:
    return [str(column.label) for column in chart.columns]


def chart_payload(chart: Chart, rows: list[tuple]) -> dict[str, Any]:
    """What dashboards.js draws: category labels, and one dataset per plotted column (numbers,
    null where there is no figure)."""
    first, *values = chart.columns
    return {
        "drawing": chart.drawing,
        "labels": [display_value(first, row[0]) for row in rows],
        "datasets": [
            {
                "label": str(column.label),
                "kind": column.kind,
                "plot": column.plot,
                "axis": column.axis,
                "data": [None if row[index] is None else float(row[index]) for row in rows],
            }
            for index, column in enumerate(values, start=1)
            if column.plot
        ],
    }


def cohort_shade(value: float | None, top: float) -> int | None:
    """0–10: the shading step of a retention cell, relative to the table's largest share
    `top` (retention is often 10–30 %: absolute steps would leave every cell pale); None for
    a blank cell."""
    if value is None:
        return None
    return round(10 * value / top) if top else 0
