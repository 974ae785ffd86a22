"""An admin migrates a waiting instance to the new version of its process, in Chromium."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.engine.migration_files import chain, drawn, script, user_task

from .conftest import Server, Visit

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_admin_migrates_a_waiting_instance_to_the_new_version(visit: Visit,
                                                              server: Server) -> None:
    engine = server.engine
    engine.repository.deploy({"mig_browser.bpmn": drawn(
        "mig_browser", chain(user_task("review")))})
    instance = engine.runtime.start("mig_browser", "MIG-1", {}, wait=5)
    engine.repository.deploy({"mig_browser.bpmn": drawn(
        "mig_browser", chain(user_task("check"), script("after", "a = 1")))})
    page = visit.page

    visit.goto("/admin/definitions/mig_browser")
    visit.sign_in("admin")
    page.get_by_role("link", name="Migrate instances…").click()
    expect(page.get_by_role("heading", name="Migrate instances")).to_be_visible()
    expect(page.locator(".diagram[data-ready='true']")).to_have_count(2, timeout=10_000)
    row = page.get_by_role("row").filter(has_text="MIG-1")
    expect(row).to_contain_text("review")
    visit.shot("1-plan")

    page.get_by_role("button", name="Validate").click()
    expect(page.get_by_role("row").filter(has_text="MIG-1")).to_contain_text(
        "has no instruction")
    page.get_by_label("review").select_option("check")
    page.get_by_role("button", name="Validate").click()
    expect(page.get_by_role("row").filter(has_text="MIG-1")).to_contain_text("can migrate")
    visit.shot("2-validated")

    page.get_by_role("button", name="Migrate", exact=True).click()
    expect(page.get_by_role("status").first).to_contain_text(
        "1 instance(s) migrated to version 2")
    expect(page.locator("#migration-history")).to_contain_text("mig_browser")
    visit.shot("3-migrated")

    visit.goto(f"/admin/instances/{instance.id}")
    expect(page.get_by_role("link", name="version 2")).to_be_visible()
    diagram = visit.diagram_ready()
    expect(diagram.locator("g.djs-element.bf-active[data-element-id='check']")).to_have_count(1)
    visit.shot("4-instance-on-v2")
    assert engine.runtime.instance(instance.id).version == 2
    assert [t.element_id for t in engine.tasks.open_tasks_of(instance.id)] == ["check"]
