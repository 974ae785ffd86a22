"""An analyst runs a process's tests from the console: green, then one broken expectation
shows red, with its element marked on the diagram."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.processes.conftest import shipped_files
from tests.web.test_definition_tests_page import BROKEN_CASE, CREDIT_TESTS

from .conftest import Server, Visit

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def deploy_with_tests(server: Server, tests: str) -> int:
    files = shipped_files() | {"credit_approval.test.yaml": tests.encode()}
    deployed = server.engine.repository.deploy(files, deployed_by="browser-test")
    (credit,) = [d for d in deployed if d.key == "credit_approval"]
    return credit.version


def test_process_tests_run_green_and_a_broken_expectation_shows_red_on_the_diagram(
        visit: Visit, server: Server) -> None:
    page = visit.page
    green = deploy_with_tests(server, CREDIT_TESTS)
    visit.goto(f"/admin/definitions/credit_approval?version={green}")
    visit.sign_in("ana")
    page.get_by_role("button", name="Run tests").click()
    expect(page.locator("#tests-summary")).to_have_text("1 passed, 0 failed", timeout=60_000)
    expect(page.locator(".test-case.test-pass")).to_have_text(
        "✓ passed: a small contract is approved by the rules")
    visit.diagram_ready()
    visit.shot("green")

    red = deploy_with_tests(server, CREDIT_TESTS + BROKEN_CASE)
    assert red == green + 1, "a changed test file makes a new version"
    visit.goto(f"/admin/definitions/credit_approval?version={red}")
    page.get_by_role("button", name="Run tests").click()
    expect(page.locator("#tests-summary")).to_have_text("1 passed, 1 failed", timeout=60_000)
    failed = page.locator(".test-case.test-fail")
    expect(failed).to_contain_text("a broken expectation")
    expect(failed).to_contain_text('passed at review_credit: expected "review_credit"')
    diagram = visit.diagram_ready()
    expect(diagram.locator("g.djs-element.bf-incident[data-element-id='review_credit']")
           ).to_have_count(1)
    expect(diagram.locator("g.djs-element.bf-incident")).to_have_count(1)
    visit.shot("red")
