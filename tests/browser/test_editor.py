"""Analysts edit processes and decisions in the browser: checked while editing, deployed."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import FIXTURES, Server, Visit

pytestmark = [pytest.mark.slow, pytest.mark.browser]


def test_an_analyst_adds_a_user_task_with_a_candidate_group_and_deploys_it(
        visit: Visit, server: Server) -> None:
    page = visit.page
    visit.goto("/admin/definitions/new?kind=process")
    visit.sign_in("ana")
    canvas = page.locator("#editor-canvas")
    expect(page.locator("#editor[data-ready='true']")).to_have_count(1, timeout=15_000)
    expect(page.locator("#editor-state")).to_have_text("Checked: ready to deploy")

    # drop a task from the palette onto the flow between start and end: it splits the flow
    flow = canvas.locator("g.djs-connection[data-element-id='flow_1']")
    box = flow.bounding_box()
    assert box is not None
    page.locator(".djs-palette .entry.bpmn-icon-task").click()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2, steps=8)
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    task = canvas.locator("g.djs-shape[data-element-id^='Activity_']")
    expect(task).to_have_count(1)

    # make it a user task, then name it and offer it to finance in the properties panel
    page.locator(".djs-context-pad .entry[data-action='replace']").click()
    page.locator(".djs-popup .entry", has_text="User task").click()
    expect(canvas.locator("g.djs-shape[data-element-id^='Activity_'] .djs-visual")
           ).to_have_count(1)
    panel = page.locator("#editor-properties")
    # until it has a name, bpmnlint flags it and the file cannot be deployed
    expect(page.locator("#editor-problems")).to_contain_text("Element is missing label/name")
    expect(page.locator("#editor-deploy")).to_be_disabled()
    panel.locator(".bio-properties-panel-group-header", has_text="General").click()
    panel.get_by_label("Name", exact=True).fill("Check the order")
    panel.locator(".bio-properties-panel-group-header", has_text="User assignment").click()
    panel.get_by_label("Candidate groups").fill("finance")
    page.locator("#editor-comment").fill("finance checks the order")
    expect(page.locator("#editor-state")).to_have_text("Checked: ready to deploy",
                                                       timeout=10_000)
    visit.shot("1-user-task-added")

    page.locator("#editor-deploy").click()
    expect(page).to_have_url(re.compile(r"/admin/definitions/new_process$"))
    expect(page.get_by_role("status").first).to_contain_text("Deployed new_process version 1")
    visit.shot("2-deployed")

    definition = server.engine.repository.definition("new_process")
    assert definition.deployed_by == "ana" and definition.comment == "finance checks the order"
    started = server.engine.runtime.start("new_process", "ED-1", {}, wait=5)
    [offered] = server.engine.tasks.open_tasks_of(started.id)
    assert offered.name == "Check the order" and offered.candidate_groups == ["finance"]


ROUTE_PROCESS = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs_route" targetNamespace="t">
  <bpmn:process id="routed_contract" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="route"/>
    <bpmn:businessRuleTask id="route" name="Route" camunda:decisionRef="route_edit"
        camunda:resultVariable="route" camunda:mapDecisionResult="singleEntry"/>
    <bpmn:sequenceFlow id="f2" sourceRef="route" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def test_an_analyst_fixes_a_broken_rule_cell_before_deploying_a_new_table(
        visit: Visit, server: Server) -> None:
    dmn = (FIXTURES / "credit_route.dmn").read_text().replace("credit_route", "route_edit") \
        .replace('name="Credit route"', 'name="Route edit"')  # the other stories' link stays one
    engine = server.engine
    engine.repository.deploy({"route_edit.dmn": dmn.encode(),
                              "routed_contract.bpmn": ROUTE_PROCESS.encode()}, "ana")
    contract = {"amount": 15000, "rating": "A"}
    before = engine.runtime.start("routed_contract", "R-1", contract, wait=5)
    assert engine.runtime.instance(before.id).variables["route"] == "finance review"
    page = visit.page

    visit.goto("/admin/definitions/route_edit")
    visit.sign_in("ana")
    page.get_by_role("link", name="Edit in the browser").click()
    expect(page.locator("#editor[data-ready='true']")).to_have_count(1, timeout=15_000)
    expect(page.locator("#editor-state")).to_have_text("Checked: ready to deploy")

    cell = page.locator("#editor-canvas td[data-element-id='rs_a']")  # rule 1's amount
    cell.locator("[contenteditable]").click()
    page.keyboard.press("Control+A")
    page.keyboard.type("< 20000 +")  # an expression left unfinished
    page.locator("#editor-comment").click()  # leave the cell
    problems = page.locator("#editor-problems")
    expect(problems).to_contain_text("rule 1, input 'Contract amount' (column 1)",
                                     timeout=10_000)
    expect(page.locator("#editor-canvas tr.bf-problem-row")).to_have_count(1)
    expect(page.locator("#editor-canvas td.bf-problem-cell[data-element-id='rs_a']")
           ).to_have_count(1)
    expect(page.locator("#editor-deploy")).to_be_disabled()
    visit.shot("1-broken-cell")

    cell.locator("[contenteditable]").click()
    page.keyboard.press("Control+A")
    page.keyboard.type("< 20000")
    page.locator("#editor-comment").fill("A and B contracts up to 20,000 go through")
    expect(page.locator("#editor-state")).to_have_text("Checked: ready to deploy",
                                                       timeout=10_000)
    expect(page.locator("#editor-canvas tr.bf-problem-row")).to_have_count(0)
    page.locator("#editor-deploy").click()
    expect(page).to_have_url(re.compile(r"/admin/definitions/route_edit$"))
    expect(page.get_by_role("status").first).to_contain_text("Deployed route_edit version 2")
    visit.shot("2-deployed")

    after = engine.runtime.start("routed_contract", "R-2", contract, wait=5)
    assert engine.runtime.instance(after.id).variables["route"] == "auto-approve"
    assert engine.runtime.instance(after.id).version == 1  # the process stayed; the table moved
    assert engine.repository.definition("route_edit").comment == \
        "A and B contracts up to 20,000 go through"
