"""Prepared statements (``engine.prepared.Prepared``) run the hottest reads and writes on the
driver: what they write and read must be exactly what Core writes and reads (sealed
variables, JSON, dates), values written in the statement must stay as written, and a
statement that cannot be prepared is refused when it is first run, not run wrong."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import bindparam, literal, select, update

from engine import Engine
from engine.advance import INSTANCES
from engine.db import Database
from engine.models import Instance, utcnow
from engine.prepared import Prepared
from engine.round_trips import count
from tests.conftest import DATABASES

_BY_ID = Prepared(select(INSTANCES.c.id, INSTANCES.c.variables, INSTANCES.c.created_at,
                         INSTANCES.c.active_elements, INSTANCES.c.ended_at)
                  .where(INSTANCES.c.id == bindparam("id")))
# a value written in the statement (the status), and an IN over written values
_FINISH = Prepared(update(Instance).where(
    Instance.id == bindparam("id"),
    Instance.status.in_([literal("running"), literal("waiting")]),
).values(status="completed", ended_at=bindparam("now"), variables=bindparam("variables")))


PROCESS = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"
    targetNamespace="t">
  <bpmn:process id="p" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
    <bpmn:userTask id="review"/>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


def _instance(engine: Engine, status: str, variables: dict[str, Any]) -> str:
    if not any(d.key == "p" for d in engine.repository.list_definitions()):
        engine.repository.deploy({"p.bpmn": PROCESS})
    instance_id = engine.runtime.start("p", None, variables, wait=5).id
    with engine._core.db.write() as s:
        s.get_one(Instance, instance_id).status = status
    return instance_id


@pytest.mark.parametrize("database_url", DATABASES, indirect=True)
def test_a_read_answers_what_core_answers(database: Database, engine: Engine) -> None:
    instance_id = _instance(engine, "waiting", {"customer": "Ada Ltd", "amount": 12.5,
                                                  "lines": [{"sku": "A-1", "qty": 3}]})
    with database.read_plain() as connection:
        [row] = _BY_ID.fetch(connection, {"id": instance_id})
        assert _BY_ID.fetch(connection, {"id": "nobody"}) == []
    with database.read() as s:
        core = dict(s.execute(_BY_ID.statement, {"id": instance_id}).one()._mapping)
    assert row == core
    assert row["variables"]["lines"] == [{"sku": "A-1", "qty": 3}]
    assert isinstance(row["created_at"], datetime) and row["created_at"].tzinfo is None
    assert row["active_elements"] == ["review"] and row["ended_at"] is None


@pytest.mark.parametrize("database_url", DATABASES, indirect=True)
def test_a_write_converts_as_core_and_keeps_the_written_values(database: Database,
                                                              engine: Engine) -> None:
    waiting = _instance(engine, "waiting", {})
    ended = _instance(engine, "failed", {})
    now = utcnow()
    writer = database.write_core() if database.is_postgres else database.write_driver()
    with writer as connection:
        done = _FINISH.execute(connection, [{"id": waiting, "now": now,
                                             "variables": {"approved": True}},
                                            {"id": ended, "now": now, "variables": {}}])
    assert done == 1  # the failed one is not among the written statuses: left alone
    with database.read() as s:
        rows = {r.id: r for r in s.scalars(select(Instance).where(
            Instance.id.in_([waiting, ended])))}
    assert rows[waiting].status == "completed" and rows[waiting].ended_at == now
    assert rows[waiting].variables == {"approved": True}
    assert rows[ended].status == "failed" and rows[ended].ended_at is None


def test_a_statement_that_cannot_be_prepared_is_refused_naming_why(
        database: Database) -> None:
    expanding = Prepared(select(INSTANCES.c.id).where(
        INSTANCES.c.status.in_(bindparam("statuses", expanding=True))))
    with database.read_plain() as connection:
        with pytest.raises(ValueError, match="expanding IN cannot be prepared: .*statuses"):
            expanding.fetch(connection, {"statuses": ["waiting"]})


def test_a_plain_read_is_one_transaction(database: Database, engine: Engine) -> None:
    instance_id = _instance(engine, "waiting", {})
    with count(database.sql_engine) as seen:
        with database.read_plain() as connection:
            assert _BY_ID.fetch(connection, {"id": instance_id})[0]["id"] == instance_id
    assert (seen.statements, seen.transactions, seen.commits) == (1, 1, 0)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_plain_read_inside_a_driver_write_of_its_thread_is_refused(
        database: Database, engine: Engine) -> None:
    instance_id = _instance(engine, "waiting", {})
    # SQLite has no nested transactions: the thread's one connection is busy
    with database.write_driver(), pytest.raises(RuntimeError, match="in a transaction"):
        with database.read_plain():
            pass
    with database.read_plain() as connection:  # the thread's connection still serves
        assert len(_BY_ID.fetch(connection, {"id": instance_id})) == 1
