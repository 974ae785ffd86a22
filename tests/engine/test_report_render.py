"""Business report files read back as a person and a spreadsheet would read them: the XLSX
with openpyxl (cells, numbers, number formats), the PDF with pdftotext (figures, the period
and the time of the data on every page, page N of M), the CSV with the csv module."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest

from engine.report_render import render_files
from engine.stored_reports import NewReportFile

from .report_samples import sales_document

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "tests" / "artifacts" / "screenshots"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def files_of(document: dict[str, Any]) -> dict[str, NewReportFile]:
    return {f.name: f for f in render_files(document)}


def pdf_pages(content: bytes, tmp_path: Path) -> list[str]:
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed")
    path = tmp_path / "report.pdf"
    path.write_bytes(content)
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout
    return [page for page in text.split("\f") if page.strip()]


def test_a_report_renders_to_json_xlsx_pdf_and_a_csv_per_section() -> None:
    files = files_of(sales_document())
    assert [(name, f.media_type) for name, f in files.items()] == [
        ("report.json", "application/json"), ("sales-2026-11.xlsx", XLSX_TYPE),
        ("sales-2026-11.pdf", "application/pdf"),
        ("sales-2026-11-by_customer.csv", "text/csv; charset=utf-8"),
        ("sales-2026-11-by_tier.csv", "text/csv; charset=utf-8"),
        ("sales-2026-11-waiting.csv", "text/csv; charset=utf-8")]
    assert json.loads(files["report.json"].content)["summary"][0]["value"] == 12345.6


def test_the_xlsx_has_a_summary_and_a_sheet_per_section_with_real_numbers() -> None:
    book = openpyxl.load_workbook(io.BytesIO(files_of(sales_document())["sales-2026-11.xlsx"]
                                             .content))
    assert book.sheetnames == ["Summary", "Revenue by customer", "Revenue by account tier",
                               "Orders waiting on stock or cred"]
    summary = book["Summary"]
    assert summary["A1"].value == "Sales report" and summary["A1"].font.b
    assert summary["B2"].value == "November 2026 (2026-11-01 – 2026-11-30)"
    assert summary["B3"].value == datetime(2026, 12, 1, 2, 0, 5)
    assert summary["B4"].value == "October 2026 (2026-10-01 – 2026-10-31)"
    assert [c.value for c in summary[8]] == ["Revenue", 12345.6, 11000, pytest.approx(0.12233,
                                                                                       abs=1e-5)]
    assert (summary["B8"].number_format, summary["D8"].number_format) == ('"€"#,##0.00', "0.0%")
    assert [c.value for c in summary[10]][:3] == ["Waiting on stock", None, 3]

    sheet = book["Revenue by customer"]
    assert sheet.freeze_panes == "A6"
    assert sheet["B2"].value.startswith("November 2026") and sheet["B3"].value == datetime(
        2026, 12, 1, 2, 0, 5)
    assert [c.value for c in sheet[5]] == ["Customer", "Orders", "Revenue", "Previous period",
                                           "Change", "First order", "Updated"]
    assert all(c.font.b for c in sheet[5])
    first = [c.value for c in sheet[6]]
    assert first == ["Acme", 1, 1000.5, 900, 0.1117, datetime(2026, 11, 1),
                     datetime(2026, 11, 30, 17, 45)]
    assert [c.number_format for c in sheet[6]][1:] == [
        "#,##0", '"€"#,##0.00', '"€"#,##0.00', "0.0%", "yyyy-mm-dd", "yyyy-mm-dd hh:mm"]
    assert sheet["A7"].value == "Ünïcode GmbH" and sheet["A8"].value == "Βήτα Α.Ε."
    totals = [c.value for c in sheet[11]]
    assert totals[:3] == ["Total", 15, 7502.5] and sheet["C11"].font.b
    assert sheet.column_dimensions["A"].width >= len("=cmd|' /C calc'!A0")
    empty = book[book.sheetnames[3]]
    assert empty["A6"].value == "No orders waiting in this period."


def test_text_that_looks_like_a_formula_stays_text_in_the_xlsx_and_the_csv() -> None:
    files = files_of(sales_document())
    sheet = openpyxl.load_workbook(io.BytesIO(files["sales-2026-11.xlsx"].content))[
        "Revenue by customer"]
    assert (sheet["A9"].value, sheet["A9"].data_type) == ("=cmd|' /C calc'!A0", "s")
    assert (sheet["A10"].value, sheet["A10"].data_type) == ("@SUM(1+1)", "s")
    raw = files["sales-2026-11.xlsx"].content
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        sheet_xml = archive.read("xl/worksheets/sheet2.xml").decode()
    assert "<f>" not in sheet_xml  # no formula anywhere in the section's sheet
    rows = list(csv.reader(io.StringIO(files["sales-2026-11-by_customer.csv"].content
                                       .decode("utf-8-sig"))))
    assert [r[0] for r in rows[4:6]] == ["'=cmd|' /C calc'!A0", "'@SUM(1+1)"]


def test_the_csv_has_a_bom_raw_numbers_and_iso_dates() -> None:
    content = files_of(sales_document())["sales-2026-11-by_customer.csv"].content
    assert content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    assert len(rows) == 5  # the rows, not the totals
    assert rows[0] == {"Customer": "Acme", "Orders": "1", "Revenue": "1000.5",
                       "Previous period": "900", "Change": "0.1117",
                       "First order": "2026-11-01", "Updated": "2026-11-30T17:45:00Z"}
    tiers = list(csv.DictReader(io.StringIO(
        files_of(sales_document())["sales-2026-11-by_tier.csv"].content.decode("utf-8-sig"))))
    assert tiers[1] == {"Tier": "Silver", "Revenue": "3000.25", "Average age": ""}


def test_the_pdf_prints_the_figures_for_the_reader(tmp_path: Path) -> None:
    pages = pdf_pages(files_of(sales_document())["sales-2026-11.pdf"].content, tmp_path)
    text = "\n".join(pages)
    for expected in ("Sales report", "Period: November 2026 (2026-11-01 – 2026-11-30)",
                     "Previous period: October 2026", "€12,345.60", "€11,000.00", "+12.2 %",
                     "+5.0 %", "Ünïcode GmbH", "Βήτα Α.Ε.", "€1,000.50", "11.2 %",
                     "2026-11-30 17:45 UTC", "€7,502.50", "Revenue by account tier",
                     "2.5 days", "No orders waiting in this period."):
        assert expected in text, expected
    assert "=cmd|' /C calc'!A0" in text


def test_every_pdf_page_has_the_period_the_data_time_and_page_n_of_m(tmp_path: Path) -> None:
    document = sales_document(rows=10_000)
    files = files_of(document)
    pages = pdf_pages(files["sales-2026-11.pdf"].content, tmp_path)
    assert len(pages) > 20  # the long table goes on over many pages
    for number, page in enumerate(pages, start=1):
        assert "November 2026 (2026-11-01 – 2026-11-30)" in page
        assert "Data as of 2026-12-01 02:00 UTC" in page
        assert f"Page {number} of {len(pages)}" in page
    assert all("Customer" in p and "Previous period" in p for p in pages[2:-1])  # header again
    assert "Customer 09999" in pages[-1] and "Total" in pages[-1]
    sheet = openpyxl.load_workbook(io.BytesIO(files["sales-2026-11.xlsx"].content),
                                   read_only=True)["Revenue by customer"]
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 5 + 10_000 + 1
    assert rows[-2][:3] == ("Customer 09999", 10_000, 1000.5 + 9_999 * 250)


def test_an_empty_report_is_an_honest_report(tmp_path: Path) -> None:
    document = sales_document(rows=0)
    document["sections"][1]["rows"] = []
    files = files_of(document)
    text = "\n".join(pdf_pages(files["sales-2026-11.pdf"].content, tmp_path))
    assert "No confirmed sales in this period." in text and "No tiers." in text
    sheet = openpyxl.load_workbook(io.BytesIO(files["sales-2026-11.xlsx"].content))[
        "Revenue by customer"]
    assert sheet["A6"].value == "No confirmed sales in this period."
    assert files["sales-2026-11-by_customer.csv"].content.decode("utf-8-sig").splitlines() == [
        "Customer,Orders,Revenue,Previous period,Change,First order,Updated"]


def test_sheet_names_are_short_unique_and_without_forbidden_characters() -> None:
    document = sales_document()
    document["sections"][0]["title"] = "Revenue: by [customer] / month? " * 3
    document["sections"][1]["title"] = "Revenue: by [customer] / month? " * 3
    document["sections"][2]["title"] = "Summary"
    names = openpyxl.load_workbook(io.BytesIO(files_of(document)["sales-2026-11.xlsx"]
                                              .content)).sheetnames
    assert names[0] == "Summary" and len(set(n.lower() for n in names)) == 4
    assert all(len(n) <= 31 and not set(n) & set("[]:*?/\\") for n in names)
    assert names[2].endswith("(2)") and names[3] == "Summary (2)"


def test_a_screenshot_of_the_pdf_first_page_is_kept_for_a_person(tmp_path: Path) -> None:
    if shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    path = tmp_path / "sales.pdf"
    path.write_bytes(files_of(sales_document(rows=30))["sales-2026-11.pdf"].content)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    target = SCREENSHOTS / "report-render-sales-pdf-page1"
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile",
                    str(path), str(target)], check=True)
    png = target.with_suffix(".png")
    assert png.read_bytes().startswith(b"\x89PNG") and png.stat().st_size > 10_000


def test_a_long_title_is_cut_in_the_page_header_not_over_the_period(tmp_path: Path) -> None:
    document = sales_document()
    document["title"] = "Quarterly sales of every product line in every region " * 3
    [first, *_] = pdf_pages(files_of(document)["sales-2026-11.pdf"].content, tmp_path)
    header = first.splitlines()[0]
    assert "…" in header and header.rstrip().endswith("November 2026 (2026-11-01 – 2026-11-30)")


def test_a_line_chart_and_negative_values_render(tmp_path: Path) -> None:
    document = sales_document()
    document["sections"][0]["chart"] = {"type": "line", "label": "first_order",
                                        "values": ["change"]}
    document["sections"][0]["rows"][2]["change"] = -0.35
    files = files_of(document)
    text = "\n".join(pdf_pages(files["sales-2026-11.pdf"].content, tmp_path))
    assert "-35.0 %" in text and "2026-11-03" in text
    sheet = openpyxl.load_workbook(io.BytesIO(files["sales-2026-11.xlsx"].content))[
        "Revenue by customer"]
    assert sheet["E8"].value == -0.35 and sheet["E8"].number_format == "0.0%"


def test_without_debians_fonts_the_pdf_is_set_in_reportlabs_own_and_says_so(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
        tmp_path: Path) -> None:
    from engine.report_render import pdf

    monkeypatch.setattr(pdf, "FONT_DIR", "/nonexistent/dejavu")
    pdf.register_fonts.cache_clear()
    try:
        with caplog.at_level("WARNING", logger=pdf.__name__):
            made = files_of(sales_document())["sales-2026-11.pdf"].content
        assert "apt-get install fonts-dejavu-core" in caplog.text
        text = "\n".join(pdf_pages(made, tmp_path))
        assert "Sales report" in text and "€" in text  # Vera has the euro sign
        monkeypatch.setattr(pdf, "BUNDLED_FONT_DIR", "/nonexistent/reportlab")
        pdf.register_fonts.cache_clear()
        with pytest.raises(pdf.FontsMissingError, match="apt-get install fonts-dejavu-core"):
            render_files(sales_document())
    finally:
        monkeypatch.undo()
        pdf.register_fonts.cache_clear()
    assert pdf.register_fonts() == "DejaVu"
    assert files_of(sales_document())["sales-2026-11.pdf"].content.startswith(b"%PDF")
