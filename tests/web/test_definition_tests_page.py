"""The console's "Run tests" button on a definition's page: tests deployed with a process or
decision are queued as a job, run by a worker in a private database under limits, and show
green or red, failures marked on the diagram."""

from __future__ import annotations

import io
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from engine import Engine

from ..processes.fakes import Systems
from .conftest import AuthClient, prepared_app
from .test_pages import People, Person, settle, text_of

PROCESSES = Path(__file__).resolve().parents[2] / "processes"

CREDIT_TESTS = """process: credit_approval
cases:
  - name: a small contract is approved by the rules
    start:
      message: contract_submitted
      variables: {record_id: "800000000000001AAA"}
    services:
      crm.get_contract:
        returns:
          contract_number: "00000100"
          amount: 12000
          term_months: 12
          owner: {name: Sam Seller, email: sam@example.com}
          account: {id: "001000000000001AAA", name: Acme, tier: gold}
      erp.get_credit: {returns: {available: "40000.00"}}
      crm.update_contract: {returns: {}}
      crm.create_task: {returns: {}}
      notify.email: {returns: {}}
    expect:
      status: completed
      end: contract_decided
"""
BROKEN_CASE = """  - name: a broken expectation
    start:
      message: contract_submitted
      variables: {record_id: "800000000000002AAA"}
    services:
      crm.get_contract:
        returns:
          contract_number: "00000101"
          amount: 12000
          term_months: 12
          owner: {name: Sam Seller, email: sam@example.com}
          account: {id: "001000000000001AAA", name: Acme, tier: gold}
      erp.get_credit: {returns: {available: "40000.00"}}
      crm.update_contract: {returns: {}}
      crm.create_task: {returns: {}}
      notify.email: {returns: {}}
    expect:
      passed: [review_credit]
"""
REFUND_TESTS = """decision: refund_approval
cases:
  - name: gold, exactly 1000
    inputs: {refund_amount: 1000, case: {account: {tier: gold}}}
    rules: [gold_small]
"""


def app_with(tmp_path: Path, credit_tests: str, **settings: Any) -> Flask:
    folder = tmp_path / "processes"
    (folder / "forms").mkdir(parents=True)
    for name in ("credit_approval.bpmn", "credit_decision.dmn", "refund_approval.dmn",
                 "forms/credit_review.json"):
        shutil.copy(PROCESSES / name, folder / name)
    (folder / "credit_approval.test.yaml").write_text(credit_tests)
    (folder / "refund_approval.test.yaml").write_text(REFUND_TESTS)
    app = prepared_app({"database_url": f"sqlite:///{tmp_path / 'pages.db'}",
                        "run_worker_in_web": False, "processes_dir": str(folder),
                        # the deployed process needs its connectors; the tests never call them
                        "operations": Systems().registry(), **settings},
                       demo_users=True)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    app = app_with(tmp_path, CREDIT_TESTS)
    yield app
    app.extensions["bridgeflow"].close()


@pytest.fixture
def people(app: Flask) -> People:
    return People(app)


def run_tests(person: Person, app: Flask, key: str, version: int = 1) -> Any:
    """Press "Run tests": the page says the run is queued, a worker runs it, the page's
    poll is told to load the page again, which shows the results."""
    response = person.post(f"/admin/definitions/{key}/{version}/tests")
    assert response.status_code == 303
    page = response.headers["Location"]
    assert "run=" in page
    queued = person.get(page)
    assert "The tests are queued" in text_of(queued)
    poll = re.search(r'hx-get="([^"]+)"', queued.get_data(as_text=True))
    assert poll, "the queued run is not polled"
    assert "HX-Refresh" not in person.get(poll.group(1)).headers
    settle(app.extensions["bridgeflow"])
    assert person.get(poll.group(1)).headers["HX-Refresh"] == "true"
    return person.get(page)


def test_an_analyst_runs_a_process_s_tests_and_sees_them_green(people: People,
                                                               app: Flask) -> None:
    page = text_of(people["ana"].get("/admin/definitions/credit_approval"))
    assert "Deployed with this version: credit_approval.test.yaml" in page
    response = run_tests(people["ana"], app, "credit_approval")
    assert response.status_code == 200
    shown = text_of(response)
    assert "1 passed, 0 failed" in shown
    assert "✓ passed: a small contract is approved by the rules" in shown
    assert "data-failed='[]'" in response.get_data(as_text=True)


def test_a_broken_expectation_shows_red_with_its_element_marked(tmp_path: Path) -> None:
    app = app_with(tmp_path, CREDIT_TESTS + BROKEN_CASE)
    try:
        admin = People(app)["admin"]
        response = run_tests(admin, app, "credit_approval")
        body = response.get_data(as_text=True)
        shown = text_of(response)
    finally:
        app.extensions["bridgeflow"].close()
    assert "1 passed, 1 failed" in shown
    assert ('✗ failed: a broken expectation passed at review_credit : expected "review_credit" ,'
            ' got "not passed"') in shown
    assert "data-failed='[\"review_credit\"]'" in body
    assert "a test failed here" in shown  # the diagram's legend
    assert 'class="test-case test-fail"' in body


def test_a_decision_s_test_table_runs_from_its_page(people: People, app: Flask) -> None:
    response = run_tests(people["ana"], app, "refund_approval")
    assert response.status_code == 200
    assert "✓ passed: gold, exactly 1000" in text_of(response)


def test_a_third_waiting_run_is_refused_with_the_reason(people: People, app: Flask) -> None:
    ana = people["ana"]
    for _ in range(2):
        assert ana.post("/admin/definitions/credit_approval/1/tests").status_code == 303
    refused = ana.post("/admin/definitions/credit_approval/1/tests", follow_redirects=True)
    assert ("The tests were not started: you already have 2 test run(s) of credit_approval "
            "version 1 waiting (at most 2); wait for their results.") in text_of(refused)
    settle(app.extensions["bridgeflow"])  # the two queued runs end: ana may run again
    assert ana.post("/admin/definitions/credit_approval/1/tests").status_code == 303


def test_a_run_past_its_time_limit_says_it_was_stopped(tmp_path: Path) -> None:
    app = app_with(tmp_path, CREDIT_TESTS, test_run_seconds=0.2)
    try:
        page = run_tests(People(app)["ana"], app, "credit_approval")
    finally:
        app.extensions["bridgeflow"].close()
    shown = text_of(page)
    assert ("The tests were stopped: the tests ran longer than 0.2 seconds and were "
            "stopped.") in shown
    assert "passed," not in shown


def test_another_version_s_run_is_not_polled_through_this_one(people: People,
                                                              app: Flask) -> None:
    ana = people["ana"]
    page = ana.post("/admin/definitions/credit_approval/1/tests").headers["Location"]
    run_id = page.split("run=")[1].split("#")[0]
    assert ana.get(f"/admin/definitions/refund_approval/1/tests/{run_id}").status_code == 404
    assert ana.get("/admin/definitions/credit_approval/1/tests/nope").status_code == 404


def test_finance_may_not_run_tests(people: People) -> None:
    response = people["fiona"].post("/admin/definitions/credit_approval/1/tests")
    assert response.status_code == 403


def test_running_tests_without_the_csrf_token_is_refused(people: People,
                                                          app: Flask) -> None:
    engine: Engine = app.extensions["bridgeflow"]
    before = len(engine.repository.list_definitions())
    response = people["ana"].post("/admin/definitions/credit_approval/1/tests", csrf=False)
    assert response.status_code == 400
    assert "passed" not in text_of(response)
    assert len(engine.repository.list_definitions()) == before


def test_a_definition_without_tests_says_how_to_add_them(people: People) -> None:
    page = text_of(people["ana"].get("/admin/definitions/credit_decision"))
    assert "No tests were deployed with this version" in page
    assert "credit_decision.test.yaml" in page


def test_the_api_deploys_a_test_file_with_its_decision(app: Flask, client: AuthClient) -> None:
    changed = REFUND_TESTS.replace("gold, exactly 1000", "gold, a thousand exactly")
    files = [("refund_approval.dmn", (PROCESSES / "refund_approval.dmn").read_bytes()),
             ("refund_approval.test.yaml", changed.encode())]
    response = client.post("/api/v1/deployments", content_type="multipart/form-data",
                           data={"files": [(io.BytesIO(c), n) for n, c in files]})
    assert response.status_code == 201, response.get_json()
    (deployed,) = response.get_json()["definitions"]
    assert (deployed["key"], deployed["version"]) == ("refund_approval", 2)
    engine: Engine = app.extensions["bridgeflow"]
    (result,) = engine.repository.run_tests(engine.repository.definition("refund_approval"))
    assert [(c.name, c.passed) for c in result.cases] == [("gold, a thousand exactly", True)]


def test_the_api_refuses_a_test_file_for_nothing_it_deploys(client: AuthClient) -> None:
    response = client.post("/api/v1/deployments", content_type="multipart/form-data",
                           data={"files": [(io.BytesIO(REFUND_TESTS.encode()),
                                            "refund_approval.test.yaml")]})
    assert response.status_code == 422
    assert "tests 'refund_approval', which this deployment does not contain" in str(
        response.get_json())
