"""A report document comes from process variables: each bad one is refused with the path of
what is wrong, and ``reports.store`` then keeps nothing; a good one is kept with its files."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from engine import Engine, ReportStatus
from engine.registry import CallContext
from engine.report_operations import store_operation
from engine.report_render import ReportDocumentError, validate
from engine.stored_reports import Report, ReportFile

from .report_samples import changed, sales_document

GOOD = sales_document()
ROW = "sections.0.rows.1"


def big_section(rows: int) -> dict[str, Any]:
    return {"key": "big", "title": "Big", "columns": [{"key": "n", "label": "N",
                                                       "format": "integer"}],
            "rows": [{"n": i} for i in range(rows)]}


BAD: list[tuple[Any, str]] = [
    (changed(GOOD, "kind", "weather"), "kind: unknown kind 'weather'"),
    (changed(GOOD, f"{ROW}.revenue", "lots"), "sections[0].rows[1].revenue: not a number"),
    (changed(GOOD, f"{ROW}.orders", 2.5), "sections[0].rows[1].orders: not a whole number"),
    (changed(GOOD, f"{ROW}.orders", True), "sections[0].rows[1].orders: not a number"),
    (changed(GOOD, f"{ROW}.discount", 3), "sections[0].rows[1].discount: not a column"),
    (changed(GOOD, f"{ROW}.first_order", "30/11/2026"),
     "sections[0].rows[1].first_order: not an ISO date"),
    (changed(GOOD, f"{ROW}.customer", {"name": "x"}), "sections[0].rows[1].customer: not text"),
    (changed(GOOD, f"{ROW}.customer", "x" * 2001),
     "sections[0].rows[1].customer: 2001 characters; at most 2000"),
    (changed(GOOD, "sections.0.columns.2.format", "euros"),
     "sections[0].columns[2].format: unknown format 'euros'"),
    (changed(GOOD, "sections.0.chart.values", ["customer"]),
     "sections[0].chart.values[0]: column 'customer' is text, not numeric"),
    (changed(GOOD, "sections.0.chart.label", "region"),
     "sections[0].chart.label: 'region' is not a column"),
    (changed(GOOD, "sections.0.chart.type", "radar"), "sections[0].chart.type: unknown chart"),
    (changed(GOOD, "title", "T" * 201), "title: 201 characters; at most 200"),
    (changed(GOOD, "period.from", "2026-12-01"), "period.from: 2026-12-01 is after 'to'"),
    (changed(GOOD, "period.key", "../../etc"), "period.key: missing, or not letters"),
    (changed(GOOD, "data_as_of", "yesterday"), "data_as_of: not an ISO date-time"),
    (changed(GOOD, "currency", "euro"), "currency: 'euro' is not a three-letter currency"),
    (changed(GOOD, "summary.0.value", "12k"), "summary[0].value: not a number"),
    (changed(GOOD, "sections.1.key", "by_customer"),
     "sections: two sections have the key 'by_customer'"),
    (changed(GOOD, "sections", [big_section(1)] * 51), "sections: 51 sections; at most 50"),
    (changed(GOOD, "sections", [big_section(200_001)]),
     "sections: 200001 rows in all; at most 200,000"),
    (changed(GOOD, "sections.0.columns", [{"key": f"c{i}", "label": "C", "format": "text"}
                                          for i in range(101)]),
     "sections[0].columns: 101 columns; at most 100"),
    ("a report", "report: not an object"),
]


@pytest.mark.parametrize(("document", "message"), BAD)
def test_a_bad_document_is_refused_naming_what_is_wrong(document: Any, message: str) -> None:
    with pytest.raises(ReportDocumentError) as caught:
        validate(document)
    assert message in caught.value.message
    assert any(p.startswith(message.split(":")[0]) for p in caught.value.details["problems"])


def test_a_good_document_is_normalised() -> None:
    doc = validate(changed(GOOD, f"{ROW}.orders", 2.0))
    assert doc["sections"][0]["rows"][1]["orders"] == 2 and isinstance(
        doc["sections"][0]["rows"][1]["orders"], int)
    assert doc["sections"][1]["chart"]["top"] == 10


def count(engine: Engine, model: type) -> int:
    with engine._core.db.read() as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.parametrize(("document", "message"), [BAD[1], BAD[9], BAD[-1]])
def test_reports_store_keeps_nothing_of_a_bad_document(engine: Engine, document: Any,
                                                       message: str) -> None:
    store = store_operation(engine._core.db, engine._core.settings)
    with pytest.raises(ReportDocumentError, match=message.replace("[", r"\[").replace(
            "]", r"\]")) as caught:
        store({"kind": "sales", "report": document}, CallContext("i1", None, "keep", 1))
    assert getattr(caught.value, "retryable", True) is False  # an incident, not retries
    assert (count(engine, Report), count(engine, ReportFile)) == (0, 0)


def test_reports_store_keeps_a_sales_report_with_its_files(engine: Engine) -> None:
    store = store_operation(engine._core.db, engine._core.settings)
    result = store({"kind": "sales", "report": GOOD}, CallContext("i1", None, "keep", 1))
    assert [f["name"] for f in result["files"]] == [
        "report.json", "sales-2026-11-by_customer.csv", "sales-2026-11-by_tier.csv",
        "sales-2026-11-waiting.csv", "sales-2026-11.pdf", "sales-2026-11.xlsx"]
    report = engine.reports.get(result["report_id"])
    assert (report.kind, report.title, report.status) == (
        "sales", "Sales report: November 2026", ReportStatus.COMPLETE)
    assert (report.period_from, report.period_to) == (datetime(2026, 11, 1),
                                                      datetime(2026, 12, 1))
    assert report.summary["figures"] == {"Revenue": 12345.6, "Orders": 42,
                                         "Waiting on stock": None}
    assert engine.reports.document(report.id)["sections"][0]["rows"][0]["customer"] == "Acme"


def test_an_empty_report_is_kept_as_empty_not_refused(engine: Engine) -> None:
    document = sales_document(rows=0)
    document["sections"][1]["rows"] = []
    store = store_operation(engine._core.db, engine._core.settings)
    result = store({"kind": "sales", "report": document}, CallContext("i1", None, "keep", 1))
    assert engine.reports.get(result["report_id"]).status == ReportStatus.EMPTY


def test_the_kind_asked_for_must_be_the_documents(engine: Engine) -> None:
    store = store_operation(engine._core.db, engine._core.settings)
    with pytest.raises(Exception, match="'kind' is 'inventory' but the report document is a "
                                        "'sales' report"):
        store({"kind": "inventory", "report": GOOD}, CallContext("i1", None, "keep", 1))
    assert count(engine, Report) == 0
