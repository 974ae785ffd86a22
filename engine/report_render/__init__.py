"""Business reports (sales, inventory, customer) from their document to files people read.

``validate`` checks a report document from process variables; ``render_files`` makes what
``reports.store`` keeps: ``report.json`` (the document), ``<kind>-<period>.xlsx``,
``<kind>-<period>.pdf`` and ``<kind>-<period>-<section>.csv`` per section.
"""

from __future__ import annotations

import json
from typing import Any

from ..stored_reports import NewReportFile
from .csv_files import render_csv
from .document import ReportDocumentError, validate
from .formats import Chart, chart_of, format_change, format_value, period_text
from .pdf import render_pdf
from .view import Card, ReportView, SectionView, view_of
from .xlsx import render_xlsx

__all__ = ["DOCUMENT_FILE", "Card", "Chart", "ReportDocumentError", "ReportView",
           "SectionView", "chart_of", "file_stem", "format_change", "format_value",
           "is_empty", "period_text", "render_files", "render_validated", "validate",
           "view_of"]

DOCUMENT_FILE = "report.json"


def file_stem(doc: dict[str, Any]) -> str:
    """``sales-2026-11``: the start of every file name of a validated report."""
    return f"{doc['kind']}-{doc['period']['key']}"


def is_empty(doc: dict[str, Any]) -> bool:
    """Whether no section of a validated report has a row."""
    return not any(section["rows"] for section in doc["sections"])


def render_files(document: Any) -> list[NewReportFile]:
    """The files of a report document (validated first: ``ReportDocumentError`` if bad)."""
    return render_validated(validate(document))


def render_validated(doc: dict[str, Any]) -> list[NewReportFile]:
    """The files of a document ``validate`` answered."""
    stem = file_stem(doc)
    files = [NewReportFile(DOCUMENT_FILE, "application/json",
                           json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()),
             NewReportFile(f"{stem}.xlsx", "application/vnd.openxmlformats-officedocument"
                           ".spreadsheetml.sheet", render_xlsx(doc)),
             NewReportFile(f"{stem}.pdf", "application/pdf", render_pdf(doc))]
    for section in doc["sections"]:
        files.append(NewReportFile(f"{stem}-{section['key']}.csv", "text/csv; charset=utf-8",
                                   render_csv(section)))
    return files
