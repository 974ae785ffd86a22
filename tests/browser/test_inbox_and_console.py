"""People using the pages in Chromium: a finance review, an admin repair, a refused task."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from .conftest import FIXTURES, Server, Visit

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_finance_user_claims_and_approves_a_credit_review(visit: Visit, server: Server) -> None:
    instance = server.engine.runtime.start("credit_review", "CT-2001",
                                   {"customer": "ACME GmbH", "amount": 48000})
    server.wait_until(lambda: server.engine.tasks.open_tasks_of(instance.id), "the review task")
    page = visit.page

    visit.goto("/inbox")
    expect(page).to_have_url(re.compile(r"/login\?next=/inbox$"))
    visit.shot("1-sign-in")
    visit.sign_in("fiona")
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    row = page.get_by_role("row").filter(has_text="CT-2001")
    expect(row).to_contain_text("Review the credit")
    expect(row).to_contain_text("high (70)")
    server.engine.runtime.start("credit_review", "CT-2002", {"customer": "Initech", "amount": 700})
    # the list refreshes by itself: the new review appears without reloading the page
    expect(page.get_by_role("row").filter(has_text="CT-2002")).to_have_count(1, timeout=10_000)
    visit.shot("2-inbox")

    row.get_by_role("link", name="Review the credit").click()
    expect(page.get_by_role("heading", name="Review the credit")).to_be_visible()
    diagram = visit.diagram_ready()
    expect(diagram.locator("g.djs-element.bf-current[data-element-id='review_credit']")
           ).to_have_count(1)
    expect(page.get_by_text("Claim this task to work on it")).to_be_visible()
    expect(page.get_by_role("radio", name="Approve")).to_be_disabled()
    visit.shot("3-task")

    page.get_by_role("button", name="Claim").click()
    expect(page.get_by_role("status")).to_contain_text("You have claimed “Review the credit”.")
    page.get_by_label("Approved credit limit (EUR)").fill("-10")
    page.get_by_role("button", name="Complete task").click()
    expect(page.get_by_role("alert")).to_contain_text("The form is not filled in correctly.")
    expect(page.locator("#f-decision-error")).to_have_text("Fill this in, it is required.")
    expect(page.locator("#f-approved_limit-error")).to_have_text("Must be at least 0.")
    expect(page.get_by_label("Approved credit limit (EUR)")).to_have_value("-10")
    visit.shot("4-form-errors")

    page.get_by_role("radio", name="Approve").check()
    page.get_by_label("Approved credit limit (EUR)").fill("50000")
    page.get_by_label("Comment", exact=True).fill("Exposure stays within the limit.")
    page.get_by_role("button", name="Complete task").click()
    expect(page).to_have_url(re.compile(r"/inbox$"))
    expect(page.get_by_role("status").first).to_contain_text(
        "Done: “Review the credit” is completed")
    expect(page.get_by_role("row").filter(has_text="CT-2001")).to_have_count(0)
    visit.shot("5-inbox-after")

    done = server.wait_until(
        lambda: server.engine.runtime.instance(instance.id).status == "completed" or None,
        "the credit review instance to finish")
    assert done
    assert server.engine.runtime.instance(instance.id).variables["outcome"] == "approved"
    [task] = [t for t in server.engine.tasks.list_tasks(status="completed").items
              if t.instance_id == instance.id]
    visit.goto(f"/inbox/tasks/{task.id}")
    expect(page.locator("ol.history")).to_contain_text("Completed by fiona")
    visit.shot("6-task-done")


def test_admin_sees_an_incident_on_the_diagram_and_retries_it(visit: Visit,
                                                              server: Server) -> None:
    server.erp.broken.add("SO-9001")
    instance = server.engine.runtime.start("order_push", "ORD-9001", {"order_id": "9001"})
    server.wait_until(lambda: server.engine.runtime.instance(instance.id).status == "incident",
                      "the order push to fail into an incident")
    page = visit.page

    visit.goto("/admin")
    visit.sign_in("admin")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.locator("#incidents")).to_contain_text("the ERP refused the connection")
    visit.shot("1-dashboard")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Instances").click()
    page.get_by_label("Status").select_option("incident")
    page.get_by_label("Business key").fill("ORD-9001")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("1 instance, newest first.")).to_be_visible()
    visit.shot("2-instances")

    page.get_by_role("link", name=f"Instance {instance.id}").click()
    expect(page.get_by_role("heading", name="Open incident")).to_be_visible()
    incidents = page.locator("#incidents")
    expect(incidents).to_contain_text("push_to_erp")
    expect(incidents).to_contain_text("ConnectionError: the ERP refused the connection")
    diagram = visit.diagram_ready()
    expect(diagram.locator(".djs-overlays[data-container-id='push_to_erp'] .bf-badge-incident")
           ).to_have_count(1)
    expect(diagram.locator("g.djs-element.bf-incident[data-element-id='push_to_erp']")
           ).to_have_count(1)
    expect(diagram.locator(".bf-badge-incident")).to_have_count(1)
    expect(diagram.locator("g.djs-element.bf-visited[data-element-id='prepare_order']")
           ).to_have_count(1)
    visit.shot("3-instance-with-incident")

    server.erp.broken.discard("SO-9001")  # the ERP is fixed
    page.get_by_role("link", name="Retry…").click()
    expect(page.get_by_role("heading", name="Retry the failed step?")).to_be_visible()
    visit.shot("4-confirm-retry")
    page.get_by_role("button", name="Yes, retry").click()
    expect(page.get_by_role("status").first).to_contain_text("is being tried again")

    server.wait_until(lambda: server.engine.runtime.instance(instance.id).status == "completed",
                      "the retried instance to complete")
    page.reload()
    expect(page.locator(".subtitle .badge")).to_have_text("completed")
    expect(page.locator("#incidents")).to_have_count(0)
    visit.diagram_ready()
    expect(page.locator(".bf-badge-incident")).to_have_count(0)
    expect(page.locator("table.trail")).to_contain_text("incident retried")
    visit.shot("5-instance-completed")
    assert server.engine.runtime.instance(instance.id).variables["erp_order"] == {
        "number": "ERP-SO-9001"}


def test_support_user_cannot_open_a_finance_task(visit: Visit, server: Server) -> None:
    instance = server.engine.runtime.start("credit_review", "CT-3001",
                                   {"customer": "Globex", "amount": 9000})
    [task] = server.wait_until(lambda: server.engine.tasks.open_tasks_of(instance.id),
                               "the review task")
    page = visit.page

    visit.goto("/login")
    visit.sign_in("sue")
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="CT-3001")).to_have_count(0)
    visit.shot("1-inbox")

    response = visit.goto(f"/inbox/tasks/{task.id}")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", name="You may not do this")).to_be_visible()
    expect(page.get_by_text("Review the credit")).to_have_count(0)
    visit.shot("2-refused")
    assert server.engine.tasks.task(task.id).status == "ready"


def test_analyst_views_definitions_tries_a_decision_and_sees_upload_problems(
        visit: Visit, server: Server, tmp_path: Path) -> None:
    page = visit.page
    visit.goto("/admin/definitions")
    visit.sign_in("ana")
    expect(page.get_by_role("heading", name="Definitions", exact=True)).to_be_visible()
    visit.shot("1-definitions")

    page.get_by_role("link", name="Credit review", exact=True).click()
    diagram = visit.diagram_ready()
    expect(diagram.locator("g.djs-element[data-element-id='review_credit']")).to_have_count(1)
    visit.shot("2-process-diagram")

    visit.goto("/admin/definitions")
    page.get_by_role("link", name="Credit route").click()
    table = visit.diagram_ready()
    expect(table.locator("[data-row-id='rule_review']").first).to_be_visible()
    page.get_by_label("Contract amount").fill("5000")
    page.get_by_label("Customer rating").fill("B")
    page.get_by_role("button", name="Evaluate").click()
    expect(page.locator("#decision-output")).to_have_text('"auto-approve"')
    expect(page.get_by_role("status")).to_contain_text("Matched rule: 1 (rule_small)")
    table = visit.diagram_ready()
    expect(table.locator("td.bf-matched[data-row-id='rule_small']").first).to_be_visible()
    visit.shot("3-decision-tester")

    broken = tmp_path / "credit_review.bpmn"
    broken.write_bytes((FIXTURES / "credit_review.bpmn").read_bytes().replace(
        b'targetRef="is_approved"/>', b'targetRef="nowhere"/>'))
    visit.goto("/admin/definitions")
    page.get_by_label("BPMN, DMN, form and test files").set_input_files(str(broken))
    page.get_by_role("button", name="Deploy").click()
    problems = page.locator("#problems")
    expect(problems).to_contain_text("Nothing was deployed")
    expect(problems.locator("tbody tr").first).to_contain_text("credit_review.bpmn")
    visit.shot("4-upload-problems")
    assert len(server.engine.repository.definition_versions("credit_review")) == 1


@pytest.mark.parametrize("width", [1366, 1024, 800])
def test_long_variables_stay_inside_their_panel_on_the_instance_page(
        visit: Visit, server: Server, width: int) -> None:
    """An admin opening an instance with a long URL, a long name and nested JSON at a common
    laptop or tablet width reads them wrapped inside the Variables panel, not off its edge."""
    long_url = "https://crm.example/api/v1/accounts/" + "0123456789abcdef" * 12
    instance = server.engine.runtime.start("credit_review", "CT-4001", {
        "customer": "ACME GmbH", "amount": 48000, "callback_url": long_url,
        "a_rather_long_variable_name_that_an_integration_chose_for_itself_x": 1,
        "erp_payload": {"lines": [{"sku": "X" * 90, "qty": 3}], "note": "word " * 60}})
    server.wait_until(lambda: server.engine.tasks.open_tasks_of(instance.id), "the review task")
    page = visit.page
    page.set_viewport_size({"width": width, "height": 900})
    visit.goto(f"/admin/instances/{instance.id}")
    visit.sign_in("admin")
    panel = page.locator("section[aria-labelledby='variables-title']")
    expect(panel.get_by_text(long_url)).to_be_visible()
    overflow = panel.evaluate("""panel => {
        const box = panel.getBoundingClientRect();
        return [...panel.querySelectorAll('table, th, td, pre, td > span')]
            .map(el => el.getBoundingClientRect())
            .filter(r => r.right > box.right + 1 || r.left < box.left - 1).length;
    }""")
    assert overflow == 0, f"{overflow} parts of the variables table stick out of the panel"
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    visit.shot(f"variables-at-{width}")
