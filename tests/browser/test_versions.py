"""An analyst compares two versions of a process: the change is highlighted on the diagram."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import FIXTURES, Server, Visit

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_a_diff_of_two_versions_highlights_the_change(visit: Visit, server: Server) -> None:
    # a process of its own, so the other stories' processes stay at their versions
    v1 = (FIXTURES / "order_push.bpmn").read_text().replace('"order_push"', '"order_diff"') \
        .replace('name="Order push"', 'name="Order diff"')
    v2 = v1.replace('name="Prepare the order"', 'name="Prepare and check the order"')
    engine = server.engine
    engine.repository.deploy({"order_diff.bpmn": v1.encode()}, "ana", comment="first cut")
    engine.repository.deploy({"order_diff.bpmn": v2.encode()}, "ana",
                             comment="say that the order is checked")
    page = visit.page

    visit.goto("/admin/definitions/order_diff")
    visit.sign_in("ana")
    expect(page.get_by_text("say that the order is checked")).to_be_visible()
    page.get_by_role("button", name="Compare").click()
    expect(page).to_have_url(re.compile(r"/admin/definitions/order_diff/diff\?from=1&to=2$"))
    expect(page.get_by_role("heading", name="Order diff: version 1 → 2")).to_be_visible()
    expect(page.get_by_text("0 added · 1 changed · 0 removed")).to_be_visible()

    for diagram in (page.locator(".diagram").nth(0), page.locator(".diagram").nth(1)):
        diagram.locator("g.djs-element").first.wait_for(timeout=10_000)  # drawn
        expect(diagram.locator("g.djs-element.bf-changed[data-element-id='prepare_order']")
               ).to_have_count(1)
        expect(diagram.locator("g.djs-element.bf-changed")).to_have_count(1)
    row = page.locator("table.changes tr[data-element-id='prepare_order']")
    expect(row.locator("del")).to_have_text("Prepare the order")
    expect(row.locator("ins")).to_have_text("Prepare and check the order")
    visit.shot("diff")
