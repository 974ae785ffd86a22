"""The business calendar behind ${business_hours_from_now(n)}: working time only."""

from __future__ import annotations

from datetime import datetime

import pytest

from engine import Engine
from engine.calendar import BusinessCalendar

OFFICE = BusinessCalendar.parse("mon-fri", "09:00-17:00", "Europe/Berlin")


@pytest.mark.parametrize(("start", "hours", "due"), [
    # Tuesday 10:00 Berlin (08:00 UTC, winter) + 4 h → 14:00 Berlin, the same day
    (datetime(2026, 11, 24, 9, 0), 4, datetime(2026, 11, 24, 13, 0)),
    # Tuesday 15:00 Berlin + 4 h → 2 h left today, 2 h on Wednesday → 11:00 Berlin
    (datetime(2026, 11, 24, 14, 0), 4, datetime(2026, 11, 25, 10, 0)),
    # Friday 16:00 Berlin + 4 h → 1 h Friday, 3 h on Monday → 12:00 Berlin
    (datetime(2026, 11, 27, 15, 0), 4, datetime(2026, 11, 30, 11, 0)),
    # Saturday night → counts from Monday 09:00 Berlin
    (datetime(2026, 11, 28, 22, 0), 1, datetime(2026, 11, 30, 9, 0)),
    # a summer date: Berlin is UTC+2
    (datetime(2026, 7, 1, 6, 0), 1, datetime(2026, 7, 1, 8, 0)),
])
def test_only_working_hours_count(start: datetime, hours: float, due: datetime) -> None:
    assert OFFICE.add(start, hours) == due


@pytest.mark.parametrize(("days", "hours", "message"), [
    ("mon-fry", "09:00-17:00", "business days 'mon-fry'"),
    ("mon-fri", "9-17", "business hours '9-17'"),
    ("mon-fri", "17:00-09:00", "must end after it starts"),
])
def test_a_calendar_that_does_not_parse_says_what_to_write(days: str, hours: str,
                                                            message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BusinessCalendar.parse(days, hours, "UTC")


BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="http://t">
  <bpmn:process id="office_task" name="Office task" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="review" name="Review" camunda:candidateGroups="finance"
        camunda:dueDate="${business_hours_from_now(4)}">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="review"/>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_task_due_in_business_hours_gets_its_due_date_from_the_calendar(
        engine: Engine) -> None:
    engine.repository.deploy({"office.bpmn": BPMN.encode()})
    inst = engine.runtime.start("office_task", None, {}, wait=5)
    [task] = engine.tasks.open_tasks_of(inst.id)
    calendar = BusinessCalendar.parse("mon-fri", "09:00-17:00", "UTC")  # the default settings
    expected = calendar.add(task.created_at, 4)
    assert task.due_at is not None
    assert abs((task.due_at - expected).total_seconds()) < 5
