"""The sales, inventory and customer reports end to end: real Tryton, the sandbox CRM, SMTP.

Sales are seeded in the ERP in June 2025 (and May, the period before), a month no other
test sells in, so the report's totals are known: June 1,000.00 in three orders (Acme 675.00
in two, gold; Borealis 325.00 in one, silver), May 770.00 in one. The XLSX cells and the
PDF's text carry those figures; the download and the e-mail carry the same bytes.

The CRM's opportunities (the demo seed's plus those ``june_opportunities`` adds) give the
sales report's Stage, Pipeline and Won-in-period columns known values too.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from openpyxl import load_workbook

from service_tasks.tryton.client import TrytonClient
from service_tasks.tryton.demo import DEMO_DATABASE, DEMO_PASSWORD, DEMO_USER
from service_tasks.tryton.erp_operations import TrytonOperations
from service_tasks.tryton.server import TrytonServer
from tests.e2e.conftest import ACME, BOREALIS, Crm, Erp, Flow, Mailbox, wait_until
from tests.erp.test_report_reads import seed_sale

pytestmark = pytest.mark.slow

SCREENSHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"
READER = "rita.reports@bridgeflow.example"  # in sales-ops and finance: gets every report


@pytest.fixture(scope="session")
def june_sales(e2e_erp_server: TrytonServer) -> Iterator[None]:
    """The sales of June and May 2025, seeded once for every database variant."""
    with requests.Session() as session:
        erp = TrytonOperations(TrytonClient(session, e2e_erp_server.url, DEMO_DATABASE,
                                            DEMO_USER, DEMO_PASSWORD, timeout=30))
        seed_sale(erp, ACME, dt.date(2025, 6, 3), ("BF-120", 10, "38.50"), ("BF-110", 2, "65"))
        seed_sale(erp, ACME, dt.date(2025, 6, 20), ("BF-120", 4, "40"))
        seed_sale(erp, BOREALIS, dt.date(2025, 6, 30), ("BF-110", 5, "65"))
        seed_sale(erp, ACME, dt.date(2025, 5, 12), ("BF-120", 20, "38.50"))
        seed_sale(erp, ACME, dt.date(2025, 6, 12), ("BF-120", 3, "38.50"), confirm=False)
        yield


@pytest.fixture
def june_opportunities(crm: Crm) -> None:
    """Opportunities with known stages and amounts, added once to the session's CRM.

    With the seed's (Acme: Proposal/Price Quote 48,000.00 and Qualification 6,500.00 open;
    Borealis: Negotiation/Review 12,400.00 open), June 2025 reads: Acme most advanced at
    Negotiation/Review, 64,500.00 open, 1 won; Borealis Negotiation/Review, 12,400.00, 1 won.
    """
    if crm.query("SELECT Id FROM Opportunity WHERE Name LIKE 'June test:%'"):
        return
    for account, name, stage, amount, close in [
            (ACME, "mezzanine", "Negotiation/Review", 10000, "2025-07-15"),
            (ACME, "racking", "Closed Won", 3000, "2025-06-15"),
            (ACME, "barriers", "Closed Won", 800, "2025-05-31"),   # won the month before
            (BOREALIS, "shelving", "Closed Won", 2500, "2025-06-30"),
            (BOREALIS, "scanners", "Closed Lost", 900, "2025-06-10")]:
        crm.client.create("Opportunity", {"Name": f"June test: {name}", "AccountId": account,
                                          "StageName": stage, "Amount": amount,
                                          "CloseDate": close})


@pytest.fixture
def reader(flow: Flow) -> str:
    """A person in sales-ops and finance with an e-mail address (reports go to groups)."""
    identity = flow.engine.identity
    if identity.user_by_name("rita") is None:
        identity.create_user("rita", "correct horse battery", groups=["sales-ops", "finance"],
                             role="user", email=READER)
    return READER


def run_report(flow: Flow, key: str, period: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Start a report on demand; answer the ended instance and its stored report."""
    started = flow.call("POST", "/process-instances", expect=(200, 201),
                        json={"process_key": key, "variables": {"period": period}})
    done = flow.wait_for(started["id"], "completed", "incident", timeout=60)
    assert done["status"] == "completed", done
    report = flow.call("GET", f"/reports/{done['variables']['stored_report']['report_id']}")
    return done, report


def download(flow: Flow, report: dict[str, Any], suffix: str) -> bytes:
    [name] = [f["name"] for f in report["files"] if f["name"].endswith(suffix)]
    answer = flow.session.get(f"{flow.bridgeflow.url}/api/v1/reports/{report['id']}/files/"
                              f"{name}", timeout=30)
    assert answer.status_code == 200
    stored = next(f for f in report["files"] if f["name"] == name)
    assert hashlib.sha256(answer.content).hexdigest() == stored["sha256"]
    return answer.content


def sheet_rows(xlsx: bytes, title: str) -> list[tuple[Any, ...]]:
    book = load_workbook(io.BytesIO(xlsx), read_only=True)
    [sheet] = [name for name in book.sheetnames if name.startswith(title)]
    return [tuple(row) for row in book[sheet].iter_rows(values_only=True)]


def row_of(rows: list[tuple[Any, ...]], first: Any) -> tuple[Any, ...]:
    return next(r for r in rows if r and r[0] == first)


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True,
                          capture_output=True, text=True).stdout


def screenshot(pdf: bytes, name: str, tmp_path: Path) -> None:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(pdf)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile",
                    str(path), str(SCREENSHOTS / name)], check=True)


def mailed_same_files(mailbox: Mailbox, subject: str, flow: Flow,
                      report: dict[str, Any]) -> None:
    mail = mailbox.wait_for(READER, subject, timeout=30)
    attached = {part.get_filename(): hashlib.sha256(part.get_content()).hexdigest()
                for part in mail.message.iter_attachments()}
    stored = {f["name"]: f["sha256"] for f in report["files"]}
    assert attached and all(stored[name] == digest for name, digest in attached.items())
    assert any(name.endswith(".pdf") for name in attached)


def test_sales_report_on_demand_carries_the_seeded_figures(
        june_sales: None, june_opportunities: None, reader: str, flow: Flow, mailbox: Mailbox,
        tmp_path: Path) -> None:
    done, report = run_report(flow, "sales_report", "2025-06")
    assert report["kind"] == "sales" and report["title"] == "Sales report: June 2025"
    xlsx = download(flow, report, ".xlsx")
    summary = sheet_rows(xlsx, "Summary")
    assert row_of(summary, "Revenue")[1:3] == (1000.0, 770.0)
    assert row_of(summary, "Orders")[1:3] == (3, 1)
    customers = sheet_rows(xlsx, "Revenue by customer")
    assert row_of(customers, "Acme Industrial GmbH")[2:5] == ("gold", 2, 675.0)
    assert row_of(customers, "Borealis Retail Ltd")[2:5] == ("silver", 1, 325.0)
    assert row_of(customers, "Total")[3:5] == (3, 1000.0)
    assert row_of(customers, "Customer")[6:9] == ("Stage", "Pipeline", "Won in period")
    assert row_of(customers, "Acme Industrial GmbH")[6:9] == ("Negotiation/Review", 64500.0, 1)
    assert row_of(customers, "Borealis Retail Ltd")[6:9] == ("Negotiation/Review", 12400.0, 1)
    assert row_of(customers, "Total")[7:9] == (76900.0, 2)
    products = sheet_rows(xlsx, "Revenue by product")
    assert row_of(products, "BF-120")[2:4] == (14, 545.0)
    assert row_of(products, "BF-110")[2:4] == (7, 455.0)
    tiers = sheet_rows(xlsx, "Revenue by account tier")
    assert row_of(tiers, "gold")[3:6] == (675.0, 770.0, pytest.approx(-0.1234, abs=1e-4))
    assert row_of(tiers, "gold")[6:9] == ("Negotiation/Review", 64500.0, 1)
    assert row_of(tiers, "silver")[6:9] == ("Negotiation/Review", 12400.0, 1)
    pdf = download(flow, report, ".pdf")
    text = pdf_text(pdf, tmp_path)
    for expected in ("Sales report", "June 2025", "€1,000.00", "€675.00", "€325.00",
                     "Negotiation/Review", "€64,500.00",
                     "Acme Industrial GmbH", "Borealis Retail Ltd"):
        assert expected in text, expected
    screenshot(pdf, "report-sales", tmp_path)
    mailed_same_files(mailbox, "Sales report: June 2025", flow, report)


def test_sales_report_on_its_timer_covers_the_last_complete_week(
        reader: str, flow: Flow, mailbox: Mailbox) -> None:
    before = {i["id"] for i in flow.instances("sales_report")}
    flow.fire_start_timer("sales_report")
    [inst] = wait_until(lambda: [i for i in flow.instances("sales_report")
                                 if i["id"] not in before], timeout=20,
                        message="the Monday timer started no sales report")
    done = flow.wait_for(inst["id"], "completed", "incident", timeout=60)
    assert done["status"] == "completed", done
    today = dt.datetime.now(dt.UTC).date()
    monday = today - dt.timedelta(days=today.weekday() + 7)
    week = monday.isocalendar()
    assert done["variables"]["periods"]["period"]["key"] == f"{week.year}-W{week.week:02d}"
    report = flow.call("GET", f"/reports/{done['variables']['stored_report']['report_id']}")
    assert report["period_from"].startswith(monday.isoformat())
    mailed_same_files(mailbox, f"Sales report: Week {week.week}, {week.year}", flow, report)


def test_inventory_report_shows_stock_at_the_period_end_beside_the_period_before(
        reader: str, flow: Flow, mailbox: Mailbox, tmp_path: Path) -> None:
    # The demo's opening stock is counted in on 2025-01-01 (1,188 units): January ends with
    # it, December 2024 with nothing; whatever tests sell or count in later is not in them.
    done, report = run_report(flow, "inventory_report", "2025-01")
    assert report["title"] == "Inventory report: January 2025"
    xlsx = download(flow, report, ".xlsx")
    summary = sheet_rows(xlsx, "Summary")
    assert row_of(summary, "Units in stock")[1:3] == (1188, 0)
    assert row_of(summary, "Below reorder point")[1:3] == (5, 12)
    stock = sheet_rows(xlsx, "Stock per product and location")
    header = next(r for r in stock if r and r[0] == "Product")
    row = dict(zip(header, row_of(stock, "BF-300"), strict=False))
    assert row["Name"] == "Safety barrier 2 m" and row["Storage Zone"] == 80
    assert (row["In stock"], row["Period before"], row["Change"]) == (80, 0, 80)
    assert row["Reorder point"] == 20  # no order point in the ERP: the BPMN's default
    below = sheet_rows(xlsx, "Below the reorder point")
    assert row_of(below, "BF-100")[1:5] == ("Pallet racking bay", 40, 50, 10)  # the ERP's
    assert row_of(below, "BF-210")[1:5] == ("Electric stacker", 2, 3, 1)
    assert row_of(below, "BF-510")[1:5] == ("Barcode scanner", 0, 20, 20)
    assert not any(r and r[0] == "BF-200" for r in below)  # 12, its order point is 5
    pdf = download(flow, report, ".pdf")
    text = pdf_text(pdf, tmp_path)
    assert "Inventory report" in text and "January 2025" in text and "Barcode scanner" in text
    assert "December 2024" in text  # the period compared with
    screenshot(pdf, "report-inventory", tmp_path)
    mailed_same_files(mailbox, "Inventory report: January 2025", flow, report)


def test_a_crm_that_is_down_ends_in_an_incident_and_a_retry_after_it_keeps_the_report(
        reader: str, flow: Flow, crm: Crm, mailbox: Mailbox) -> None:
    kept = flow.call("GET", "/reports?kind=inventory&per_page=100")["total"]
    crm.stop()
    try:
        started = flow.call("POST", "/process-instances", expect=(200, 201),
                            json={"process_key": "inventory_report",
                                  "variables": {"period": "2025-02"}})

        def gave_up() -> bool:
            flow.hurry_retries(started["id"])
            return flow.instance(started["id"])["status"] == "incident"
        wait_until(gave_up, timeout=90, interval=0.5,
                   message="the inventory report did not give up on the CRM")
        inst = flow.instance(started["id"])
        assert inst["active_elements"] == ["read_crm"]
        [incident] = flow.incidents(started["id"])
        assert "crm.orders_awaiting_restock failed 3 time(s)" in incident["message"]
        assert flow.call("GET", "/reports?kind=inventory&per_page=100")["total"] == kept
    finally:
        crm.start()
    flow.retry_incident(str(incident["id"]))  # as an administrator would, the CRM back
    done = flow.wait_for(started["id"], "completed", "incident", timeout=60)
    assert done["status"] == "completed", done
    assert flow.incidents(started["id"]) == []
    report = flow.call("GET", f"/reports/{done['variables']['stored_report']['report_id']}")
    assert report["title"] == "Inventory report: February 2025"
    assert flow.call("GET", "/reports?kind=inventory&per_page=100")["total"] == kept + 1
    mailed_same_files(mailbox, "Inventory report: February 2025", flow, report)


def test_customer_report_puts_erp_credit_beside_crm_cases(
        june_sales: None, reader: str, flow: Flow, erp: Erp, crm: Crm, mailbox: Mailbox,
        tmp_path: Path) -> None:
    credit = erp.ops.get_credit({"crm_account_id": ACME}, erp.call)
    open_cases = len(crm.query(f"SELECT Id FROM Case WHERE AccountId = '{ACME}' "
                               "AND Status != 'Closed'"))
    done, report = run_report(flow, "customer_report", "2025-06")
    xlsx = download(flow, report, ".xlsx")
    accounts = sheet_rows(xlsx, "Accounts")
    header = next(r for r in accounts if r and r[0] == "Customer")
    acme = dict(zip(header, row_of(accounts, "Acme Industrial GmbH"), strict=False))
    assert (acme["Orders"], acme["Revenue"], acme["Tier"]) == (2, 675.0, "gold")
    assert acme["Open cases"] == open_cases
    credits = sheet_rows(xlsx, "Credit used against the limit")
    header = next(r for r in credits if r and r[0] == "Customer")
    acme = dict(zip(header, row_of(credits, "Acme Industrial GmbH"), strict=False))
    assert acme["Credit limit"] == 50000.0 and acme["Account owner"] == "Sam Seller"
    assert acme["Credit used"] == pytest.approx(float(credit["exposure"]), abs=0.01)
    pdf = download(flow, report, ".pdf")
    text = pdf_text(pdf, tmp_path)
    use = float(credit["exposure"]) / 50000 * 100
    assert "Customer report" in text and "June 2025" in text and "Acme Indust" in text
    assert f"{use:.1f} %" in text  # Acme's use of its credit limit
    screenshot(pdf, "report-customer", tmp_path)
    mailed_same_files(mailbox, "Customer report: June 2025", flow, report)


@pytest.mark.parametrize(("period", "says"), [
    ("2026-13", "'2026-13' is not a period; use a month like 2026-11"),
    ("2999-01", "is in the future")])
def test_a_bad_period_is_refused_at_the_start_and_nothing_is_created(
        flow: Flow, period: str, says: str) -> None:
    before = len(flow.instances("sales_report"))
    answer = flow.call("POST", "/process-instances", expect=422,
                       json={"process_key": "sales_report", "variables": {"period": period}})
    assert answer["error"] == "invalid_input"
    assert answer["message"].startswith("sales_report cannot start with these variables: "
                                        "'period': ") and says in answer["message"]
    assert list(answer["details"]["fields"]) == ["period"]
    assert len(flow.instances("sales_report")) == before


def test_a_period_without_sales_is_an_honest_empty_report(
        reader: str, flow: Flow, tmp_path: Path) -> None:
    done, report = run_report(flow, "sales_report", "2019-03")
    xlsx = download(flow, report, ".xlsx")
    assert row_of(sheet_rows(xlsx, "Summary"), "Revenue")[1] == 0.0
    assert ("No confirmed sales in this period.",) == row_of(
        sheet_rows(xlsx, "Revenue by customer"), "No confirmed sales in this period.")[:1]
    assert "No confirmed sales in this period." in pdf_text(download(flow, report, ".pdf"),
                                                            tmp_path)


def test_an_erp_that_is_down_ends_in_an_incident_and_keeps_no_report(
        flow: Flow, erp: Erp) -> None:
    kept = flow.call("GET", "/reports?kind=sales&per_page=100")["total"]
    erp.stop()
    try:
        started = flow.call("POST", "/process-instances", expect=(200, 201),
                            json={"process_key": "sales_report",
                                  "variables": {"period": "2025-04"}})

        def gave_up() -> bool:
            flow.hurry_retries(started["id"])
            return flow.instance(started["id"])["status"] == "incident"
        wait_until(gave_up, timeout=90, interval=0.5,
                   message="the sales report did not give up on the ERP")
    finally:
        erp.start()
    inst = flow.instance(started["id"])
    assert inst["active_elements"] == ["read_erp_sales"]
    [incident] = flow.incidents(started["id"])
    assert "erp.sales_in_period" in incident["message"] or "ERP" in incident["message"]
    assert flow.call("GET", "/reports?kind=sales&per_page=100")["total"] == kept
