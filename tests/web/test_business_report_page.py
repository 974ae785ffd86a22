"""The console page of a sales report: headline cards with the previous period, server-drawn
SVG charts, the tables in the PDF's formats, downloads of every file; text from the ERP or
the CRM is escaped; only admins see it (and the reports API keys download it)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from engine import Engine
from engine.registry import CallContext
from engine.report_operations import store_operation

from ..engine.report_samples import changed, sales_document
from .conftest import AuthClient, prepared_app
from .test_reports_api import signed_in


@pytest.fixture
def app(tmp_path: Path) -> Any:
    app = prepared_app({"database_url": f"sqlite:///{tmp_path / 'reports.db'}",
                        "run_worker_in_web": False,
                        "processes_dir": str(tmp_path)}, demo_users=True)
    app.config["TESTING"] = True
    yield app
    app.extensions["bridgeflow"].close()


def stored(engine: Engine, document: dict[str, Any]) -> str:
    store = store_operation(engine._core.db, engine._core.settings)
    result = store({"kind": document["kind"], "report": document},
                   CallContext("inst-1", None, "keep", 1))
    return str(result["report_id"])


def test_the_page_shows_figures_charts_tables_and_downloads(app: Flask,
                                                            engine: Engine) -> None:
    document = changed(sales_document(), "sections.0.rows.0.customer",
                       "<script>alert('x')</script> & Co")
    report_id = stored(engine, document)
    page = signed_in(app, "admin").get(f"/admin/reports/{report_id}")
    assert page.status_code == 200
    text = page.text
    for expected in ("Sales report: November 2026", "November 2026 (2026-11-01 – 2026-11-30)",
                     "October 2026 (2026-10-01 – 2026-10-31)", "2026-12-01 02:00 UTC",
                     "€12,345.60", "previous €11,000.00", "+12.2 %", "Revenue by customer",
                     "€1,000.50", "11.2 %", "2026-11-30 17:45 UTC", "€7,502.50",
                     "2.5 days", "No orders waiting in this period.", "Ünïcode GmbH"):
        assert expected in text, expected
    assert "<script>alert" not in text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; Co" in text
    charts = re.findall(r'<svg class="chart report-chart"', text)
    assert len(charts) == 2  # the bars by customer and the tier pie; no chart for "waiting"
    assert "Gold: €7,000.00 (70%)" in text
    admin = signed_in(app, "admin")
    for f in engine.reports.get(report_id).files:
        link = f"/admin/reports/{report_id}/files/{f.name}"
        assert link in text
        download = admin.get(link)
        assert download.status_code == 200
        assert hashlib.sha256(download.data).hexdigest() == f.sha256
        assert download.headers["Content-Type"].startswith(f.media_type.split(";")[0])


def test_a_long_section_shows_its_first_rows_and_says_so(app: Flask, engine: Engine) -> None:
    report_id = stored(engine, sales_document(rows=600))
    text = signed_in(app, "admin").get(f"/admin/reports/{report_id}").text
    assert "The first 500 of 600 rows; the XLSX and CSV files have every one." in text
    assert "Customer 00499" in text and "Customer 00500" not in text


def test_only_admins_see_the_page_and_api_keys_need_the_reports_scope(
        app: Flask, engine: Engine) -> None:
    report_id = stored(engine, sales_document())
    for name in ("fiona", "ana"):
        client = signed_in(app, name)
        assert client.get(f"/admin/reports/{report_id}").status_code == 403
        assert client.get(f"/admin/reports/{report_id}/files/sales-2026-11.pdf"
                          ).status_code == 403
    assert app.test_client().get(f"/admin/reports/{report_id}").status_code in (302, 401)
    reader = AuthClient(app.test_client(),
                        engine.identity.create_api_key("reader", ["reports:read"]))
    pdf = reader.get(f"/api/v1/reports/{report_id}/files/sales-2026-11.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    other = AuthClient(app.test_client(),
                       engine.identity.create_api_key("starter", ["processes:start"]))
    assert other.get(f"/api/v1/reports/{report_id}").status_code == 403


def test_a_line_chart_is_drawn_as_a_polyline_with_its_values(app: Flask,
                                                              engine: Engine) -> None:
    document = changed(sales_document(), "sections.0.chart",
                       {"type": "line", "label": "first_order", "values": ["revenue"]})
    report_id = stored(engine, document)
    text = signed_in(app, "admin").get(f"/admin/reports/{report_id}").text
    assert "<polyline" in text
    assert "2026-11-01 – Revenue: €1,000.50" in text
