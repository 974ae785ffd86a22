"""Report periods, and the start form that refuses a report's bad period before anything
is created; the engine's own ``reports.period`` and ``reports.waiting_orders`` reads."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from engine import Engine, InvalidInputError, OperationRegistry
from engine.models import utcnow
from engine.periods import PeriodError, PeriodKind, complete, last_complete, parse

PROCESSES = Path(__file__).resolve().parents[2] / "processes"
TODAY = date(2026, 12, 3)


@pytest.mark.parametrize(("key", "first", "last", "label", "previous"), [
    ("2026-11", "2026-11-01", "2026-11-30", "November 2026", "2026-10"),
    ("2024-02", "2024-02-01", "2024-02-29", "February 2024", "2024-01"),
    ("2026-01", "2026-01-01", "2026-01-31", "January 2026", "2025-12"),
    ("2026-W47", "2026-11-16", "2026-11-22", "Week 47, 2026 (16 Nov - 22 Nov 2026)", "2026-W46"),
    ("2026-W01", "2025-12-29", "2026-01-04", "Week 1, 2026 (29 Dec - 04 Jan 2026)", "2025-W52"),
    ("2026-Q4", "2026-10-01", "2026-12-31", "Q4 2026", "2026-Q3"),
    ("2026-Q1", "2026-01-01", "2026-03-31", "Q1 2026", "2025-Q4"),
    ("2025", "2025-01-01", "2025-12-31", "2025", "2024"),
])
def test_a_period_key_gives_its_dates_label_and_the_period_before(
        key: str, first: str, last: str, label: str, previous: str) -> None:
    period = parse(key)
    assert period.as_dict() == {"key": key, "label": label, "from": first, "to": last}
    assert period.previous().key == previous


@pytest.mark.parametrize("key", ["2026-13", "2026-00", "2026-W54", "2026-Q5", "2026-Q0",
                                 "26-11", "November", "", "2026-11-01", None, 202611])
def test_a_malformed_period_is_refused_with_the_accepted_forms(key: Any) -> None:
    with pytest.raises(PeriodError) as caught:
        parse(key)
    assert "is not a period; use a month like 2026-11, an ISO week like 2026-W47, a quarter " \
           "like 2026-Q4 or a year like 2026" in caught.value.message
    assert "period" in caught.value.details["fields"]


@pytest.mark.parametrize(("key", "why"), [("2026-12", "has not ended yet"),
                                          ("2026-W49", "has not ended yet"),
                                          ("2026", "has not ended yet"),
                                          ("2027-01", "is in the future")])
def test_a_period_that_is_not_over_is_refused(key: str, why: str) -> None:
    with pytest.raises(PeriodError, match=why):
        complete(key, TODAY)
    assert complete("2026-W48", TODAY).last == date(2026, 11, 29)


def test_the_last_complete_period_of_each_kind() -> None:
    assert [last_complete(k, TODAY).key for k in PeriodKind] == [
        "2026-W48", "2026-11", "2026-Q3", "2025"]


# --- the start form of the shipped sales report ------------------------------------------

@pytest.fixture
def registry(registry: OperationRegistry) -> OperationRegistry:
    for name in ("erp.sales_in_period", "crm.accounts_and_orders"):
        registry.register(name, lambda p, c: {"orders": [], "accounts": []})
    registry.register("reports.build_sales", lambda p, c: {"report": {}, "empty": True})
    return registry


@pytest.fixture
def reports(engine: Engine) -> Engine:
    engine.repository.deploy({name: (PROCESSES / path).read_bytes() for name, path in (
        ("sales_report.bpmn", "sales_report.bpmn"),
        ("report_period.json", "forms/report_period.json"))})
    return engine


def this_month() -> str:
    return f"{utcnow():%Y-%m}"


@pytest.mark.parametrize(("period", "says"), [
    ("2026-13", "'2026-13' is not a period; use a month like 2026-11"),
    ("next month", "'next month' is not a period"),
    ("2999-01", "is in the future"),
    (None, "has not ended yet"),  # None: this month, filled in below
])
@pytest.mark.parametrize("wait", [0.0, 2.0])
def test_a_report_start_with_a_bad_period_is_refused_and_creates_nothing(
        reports: Engine, period: str | None, says: str, wait: float) -> None:
    with pytest.raises(InvalidInputError) as caught:
        reports.runtime.start("sales_report", variables={"period": period or this_month()},
                              wait=wait)
    assert caught.value.message.startswith("sales_report cannot start with these variables: "
                                           "'period': ")
    assert says in caught.value.message
    assert list(caught.value.details["fields"]) == ["period"]
    assert reports.runtime.list_instances(process_key="sales_report").total == 0


def test_a_report_start_with_a_past_period_or_none_is_taken(reports: Engine) -> None:
    last_month = (utcnow().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    asked = reports.runtime.start("sales_report", variables={"period": last_month})
    assert asked.variables["period"] == last_month
    plain = reports.runtime.start("sales_report")
    assert plain.variables == {"period": None}  # the form's default: the last complete week


def test_reports_period_answers_the_period_and_the_one_before(
        reports: Engine, drain: Callable[..., None]) -> None:
    inst = reports.runtime.start("sales_report", variables={"period": "2025-Q4"})
    drain()
    done = reports.runtime.instance(inst.id)
    assert done.variables["periods"] == {
        "period": {"key": "2025-Q4", "label": "Q4 2025", "from": "2025-10-01",
                   "to": "2025-12-31"},
        "previous_period": {"key": "2025-Q3", "label": "Q3 2025", "from": "2025-07-01",
                            "to": "2025-09-30"}}
    assert done.variables["waiting"] == {"as_of": done.variables["waiting"]["as_of"],
                                         "instances": []}
    week = reports.runtime.start("sales_report")
    drain()
    expected = last_complete(PeriodKind.WEEK, utcnow().date()).key
    assert reports.runtime.instance(week.id).variables["periods"]["period"]["key"] == expected


# --- reports.waiting_orders --------------------------------------------------------------

WAITING = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="w" targetNamespace="http://t">
  <bpmn:message id="restocked" name="restocked" />
  <bpmn:process id="order_sync" isExecutable="true">
    <bpmn:startEvent id="order_in"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:receiveTask id="wait_for_restock" messageRef="restocked">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing></bpmn:receiveTask>
    <bpmn:endEvent id="done"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="order_in" targetRef="wait_for_restock" />
    <bpmn:sequenceFlow id="f2" sourceRef="wait_for_restock" targetRef="done" />
  </bpmn:process>
  <bpmn:process id="credit_approval" isExecutable="true">
    <bpmn:startEvent id="contract_in"><bpmn:outgoing>g1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="review_credit" camunda:candidateGroups="finance">
      <bpmn:incoming>g1</bpmn:incoming><bpmn:outgoing>g2</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="decided"><bpmn:incoming>g2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="g1" sourceRef="contract_in" targetRef="review_credit" />
    <bpmn:sequenceFlow id="g2" sourceRef="review_credit" targetRef="decided" />
  </bpmn:process>
</bpmn:definitions>
"""


def test_waiting_orders_are_the_order_syncs_and_credit_approvals_that_wait(
        engine: Engine, drain: Callable[..., None]) -> None:
    from engine.report_reads import waiting_operation

    engine.repository.deploy({"waiting.bpmn": WAITING.encode()})
    order = {"order_id": "801A", "order_number": "00000104", "total_amount": 2180.0,
             "account": {"id": "001A", "name": "Acme"}, "owner": {"name": "Sam Seller"},
             "items": [{"product_code": "BF-100", "quantity": 4}]}
    contract = {"contract_id": "800A", "contract_number": "00000100", "amount": 9000.0,
                "account": {"id": "001B", "name": "Borealis"}, "owner": {"name": "Sam Seller"}}
    stock = engine.runtime.start("order_sync", "801A", {"order": order})
    credit = engine.runtime.start("credit_approval", "800A", {"contract": contract})
    drain()
    found = waiting_operation(engine._core.db)({}, None)["instances"]
    rows = {r["instance_id"]: r for r in found}
    assert rows[stock.id] | {"started_at": None, "age_days": None} == {
        "instance_id": stock.id, "process_key": "order_sync", "business_key": "801A",
        "waiting_on": "stock", "waiting_at": ["wait_for_restock"], "record_id": "801A",
        "record_number": "00000104", "account_id": "001A", "account_name": "Acme",
        "owner": "Sam Seller", "amount": 2180.0,
        "products": [{"product_code": "BF-100", "quantity": 4}],
        "started_at": None, "age_days": None}
    assert rows[credit.id]["waiting_on"] == "credit" and rows[credit.id]["amount"] == 9000.0
    assert 0 <= rows[stock.id]["age_days"] < 0.01
    only = waiting_operation(engine._core.db)({"processes": ["credit_approval"]}, None)
    assert [r["instance_id"] for r in only["instances"]] == [credit.id]
