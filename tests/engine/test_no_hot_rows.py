"""No row that every job touches: what a worker writes for a job is that job's and its
instance's own rows, so N workers on one PostgreSQL never queue behind one another."""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from sqlalchemy import event, update

from engine import Engine
from engine.config import Settings
from engine.db import Database
from engine.models import Job, utcnow
from engine.registry import OperationRegistry
from engine.vocabulary import JobKind
from engine.worker import Worker
from tests.conftest import DATABASES

BPMN = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs" targetNamespace="t">
  <bpmn:process id="hot_rows" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="later"/>
    <bpmn:intermediateCatchEvent id="later">
      <bpmn:timerEventDefinition id="td">
        <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">PT1S</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="later" targetRef="call"/>
    <bpmn:serviceTask id="call" camunda:type="external" camunda:topic="hot.mark"/>
    <bpmn:sequenceFlow id="f3" sourceRef="call" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
"""
# a write that names its row by a key of its own (a job's id, an instance's id, the ended
# instance's own jobs by the indexed instance_id)
OWN_ROW = re.compile(r"WHERE (jobs\.id|instances\.id|jobs\.id IN|jobs\.instance_id = )")


@pytest.mark.parametrize("database_url", DATABASES, indirect=True)
def test_a_worker_s_writes_for_timer_jobs_touch_only_their_own_rows(
        database: Database, database_url: str) -> None:
    db, url = database, database_url
    calls: list[str] = []
    registry = OperationRegistry()
    registry.register("hot.mark", lambda _p, ctx: calls.append(ctx.instance_id) or {})
    engine = Engine(db, Settings(database_url=url), registry)
    engine.repository.deploy({"hot_rows.bpmn": BPMN})
    started = [engine.runtime.start("hot_rows", None, {}, wait=5).id for _ in range(3)]
    time.sleep(1.1)  # the timers are due by the clock the workflow reads
    with db.write() as s:
        s.execute(update(Job).where(Job.kind == JobKind.TIMER)
                  .values(due_at=utcnow() - timedelta(seconds=1)))
    worker = Worker(engine, "w1")
    seen: list[str] = []

    def on_statement(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(" ".join(statement.split()))

    event.listen(db.sql_engine, "before_cursor_execute", on_statement)
    try:
        worker.poll_once()
    finally:
        event.remove(db.sql_engine, "before_cursor_execute", on_statement)
    assert sorted(calls) == sorted(started)  # each instance's call ran once
    writes = [sql for sql in seen if sql.split()[0] in ("UPDATE", "DELETE")]
    assert writes, seen
    shared = [sql for sql in writes if not OWN_ROW.search(sql)]
    assert shared == [], "writes not keyed by the job's or instance's own id:\n" + \
        "\n".join(shared)
    for table in ("stat_counters", "stat_marks", "workers", "definitions"):
        assert not any(table in sql.split(" WHERE")[0] for sql in writes), table
    engine.close()
