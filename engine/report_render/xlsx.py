"""A report as an Excel workbook: a Summary sheet, then one sheet per section.

Numbers are real numbers with number formats (money in the report's currency, percentages,
whole numbers), dates and date-times real Excel dates; text is always stored as text, so a
cell starting with ``=`` never becomes a formula. Written in openpyxl's write-only mode, so
a 200,000-row report does not hold every cell object in memory.
"""

from __future__ import annotations

import io
import re
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import Cell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from .formats import SYMBOLS, as_date, as_utc, change, format_value, period_text

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")
BOLD = Font(bold=True)
TITLE = Font(bold=True, size=14)
WIDTH_SAMPLE = 2_000  # rows read to size the columns


def number_format(fmt: str, currency: str) -> str:
    """The Excel number format of a report format."""
    if fmt == "money":
        symbol = SYMBOLS.get(currency)
        return f'"{symbol}"#,##0.00' if symbol else f'#,##0.00 "{currency}"'
    return {"integer": "#,##0", "number": "#,##0.00", "percent": "0.0%",
            "days": '#,##0.0 "days"', "date": "yyyy-mm-dd",
            "datetime": "yyyy-mm-dd hh:mm"}.get(fmt, "General")


def sheet_names(titles: list[str]) -> list[str]:
    """Excel sheet names for the sections: at most 31 characters, unique, none of
    ``[]:*?/\\``, never "Summary" (the first sheet)."""
    taken = {"summary"}
    names = []
    for title in titles:
        base = _SHEET_BAD.sub(" ", title).strip().strip("'")[:31] or "Section"
        name, n = base, 2
        while name.lower() in taken:
            suffix = f" ({n})"
            name, n = base[:31 - len(suffix)] + suffix, n + 1
        taken.add(name.lower())
        names.append(name)
    return names


def _cell(ws: WriteOnlyWorksheet, value: Any, fmt: str, currency: str,
          font: Font | None = None) -> Cell:
    if value is not None and fmt == "date":
        value = as_date(value)
    elif value is not None and fmt == "datetime":
        value = as_utc(value)
    result = WriteOnlyCell(ws, value=value)
    if isinstance(value, str):
        result.data_type = "s"  # text stays text: no formula, whatever it starts with
    elif value is not None:
        result.number_format = number_format(fmt, currency)
    if font is not None:
        result.font = font
    return result


def _label(ws: WriteOnlyWorksheet, text: str, font: Font | None = None) -> Cell:
    return _cell(ws, text, "text", "", font)


def render_xlsx(doc: dict[str, Any]) -> bytes:
    """The workbook's bytes."""
    wb = Workbook(write_only=True)
    _summary(wb.create_sheet("Summary"), doc)
    names = sheet_names([s["title"] for s in doc["sections"]])
    for name, section in zip(names, doc["sections"], strict=True):
        _section(wb.create_sheet(name), section, doc)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _heading(ws: WriteOnlyWorksheet, title: str, doc: dict[str, Any]) -> None:
    ws.append([_label(ws, title, TITLE)])
    ws.append([_label(ws, "Period", BOLD), _label(ws, period_text(doc["period"]))])
    ws.append([_label(ws, "Data as of", BOLD),
               _cell(ws, doc["data_as_of"], "datetime", doc["currency"]),
               _label(ws, "UTC")])


def _summary(ws: WriteOnlyWorksheet, doc: dict[str, Any]) -> None:
    currency = doc["currency"]
    for letter, width in zip("ABCD", (34, 20, 20, 12), strict=True):
        _width(ws, letter, width)
    _heading(ws, doc["title"], doc)
    ws.append([_label(ws, "Previous period", BOLD),
               _label(ws, period_text(doc["previous_period"]))])
    ws.append([_label(ws, "Currency", BOLD), _label(ws, currency)])
    ws.append([])
    ws.append([_label(ws, text, BOLD) for text in
               ("Figure", "This period", "Previous period", "Change")])
    for figure in doc["summary"]:
        fmt = figure["format"]
        ws.append([_label(ws, figure["label"]),
                   _cell(ws, figure["value"], fmt, currency),
                   _cell(ws, figure["previous"], fmt, currency),
                   _cell(ws, change(figure["value"], figure["previous"]), "percent", currency)])


def _width(ws: Any, letter: str, width: float) -> None:
    # set before the first row; the write-only sheet's stubs do not declare the attribute
    ws.column_dimensions[letter].width = width


def _widths(section: dict[str, Any], currency: str) -> list[float]:
    widths: list[float] = []
    sample = section["rows"][:WIDTH_SAMPLE] + ([section["totals"]] if section["totals"] else [])
    for column in section["columns"]:
        key, fmt = column["key"], column["format"]
        longest = max((len(format_value(r.get(key), fmt, currency)) for r in sample), default=0)
        widths.append(min(max(longest, len(column["label"])) + 2, 60))
    return widths


def _section(ws: WriteOnlyWorksheet, section: dict[str, Any], doc: dict[str, Any]) -> None:
    currency, columns = doc["currency"], section["columns"]
    for i, width in enumerate(_widths(section, currency), start=1):
        _width(ws, get_column_letter(i), max(width, 12 if i == 1 else 8))
    ws.freeze_panes = "A6"  # the header row (row 5) stays in view
    _heading(ws, section["title"], doc)
    ws.append([])
    ws.append([_label(ws, c["label"], BOLD) for c in columns])
    for row in section["rows"]:
        ws.append([_cell(ws, row.get(c["key"]), c["format"], currency) for c in columns])
    if not section["rows"]:
        ws.append([_label(ws, section["empty_text"])])
    elif section["totals"]:
        ws.append([_cell(ws, section["totals"].get(c["key"]), c["format"], currency, BOLD)
                   for c in columns])
