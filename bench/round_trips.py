"""Print the SQL statements and transactions each engine operation costs (issue 14, item 3).

Run: .venv/bin/python bench/round_trips.py [--url postgresql://…] [--sql]

Each operation runs once to warm the caches (parsed specs, latest versions), then once
counted with ``engine.round_trips.count``. ``tests/engine/test_round_trips.py`` pins the same
figures, so a change that adds a round trip fails there on any machine.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import select, update  # noqa: E402

from engine import Engine, TopicRequest  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.db import Database  # noqa: E402
from engine.models import Job, User, utcnow  # noqa: E402
from engine.round_trips import RoundTrips, count  # noqa: E402
from engine.worker import Worker  # noqa: E402

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs" targetNamespace="t">
<bpmn:message id="m_go" name="go"/>
"""


def _process(key: str, body: str) -> bytes:
    return (HEAD + f'<bpmn:process id="{key}" isExecutable="true">{body}</bpmn:process>'
            "</bpmn:definitions>").encode()


PROCESSES = {
    # start -> review -> approve -> end: completing review moves the token to the next wait
    "rt_review.bpmn": _process("rt_review", """
      <bpmn:startEvent id="start"/>
      <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
      <bpmn:userTask id="review" name="Review" camunda:candidateGroups="finance"/>
      <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="approve"/>
      <bpmn:userTask id="approve" name="Approve" camunda:candidateGroups="finance"/>
      <bpmn:sequenceFlow id="f3" sourceRef="approve" targetRef="end"/>
      <bpmn:endEvent id="end"/>"""),
    "rt_auto.bpmn": _process("rt_auto", """
      <bpmn:startEvent id="start"/>
      <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="add"/>
      <bpmn:scriptTask id="add" scriptFormat="python"><bpmn:script>y = x + 1</bpmn:script>
      </bpmn:scriptTask>
      <bpmn:sequenceFlow id="f2" sourceRef="add" targetRef="double"/>
      <bpmn:scriptTask id="double" scriptFormat="python"><bpmn:script>z = y * 2</bpmn:script>
      </bpmn:scriptTask>
      <bpmn:sequenceFlow id="f3" sourceRef="double" targetRef="end"/>
      <bpmn:endEvent id="end"/>"""),
    "rt_message.bpmn": _process("rt_message", """
      <bpmn:startEvent id="start"/>
      <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="wait_go"/>
      <bpmn:intermediateCatchEvent id="wait_go">
        <bpmn:messageEventDefinition id="md" messageRef="m_go"/>
      </bpmn:intermediateCatchEvent>
      <bpmn:sequenceFlow id="f2" sourceRef="wait_go" targetRef="end"/>
      <bpmn:endEvent id="end"/>"""),
    "rt_timer.bpmn": _process("rt_timer", """
      <bpmn:startEvent id="start"/>
      <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="later"/>
      <bpmn:intermediateCatchEvent id="later">
        <bpmn:timerEventDefinition id="td">
          <bpmn:timeDuration xsi:type="bpmn:tFormalExpression">PT1H</bpmn:timeDuration>
        </bpmn:timerEventDefinition>
      </bpmn:intermediateCatchEvent>
      <bpmn:sequenceFlow id="f2" sourceRef="later" targetRef="end"/>
      <bpmn:endEvent id="end"/>"""),
    "rt_external.bpmn": _process("rt_external", """
      <bpmn:startEvent id="start"/>
      <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="charge"/>
      <bpmn:serviceTask id="charge" camunda:type="external" camunda:topic="rt.charge"/>
      <bpmn:sequenceFlow id="f2" sourceRef="charge" targetRef="end"/>
      <bpmn:endEvent id="end"/>"""),
}

USER = "fiona"


def prepare(engine: Engine) -> None:
    """Deploy the processes and add the person who acts on the tasks."""
    engine.repository.deploy(PROCESSES)
    db = engine._core.db  # noqa: SLF001 - a bench reaches the database it measures
    with db.write() as s:
        if s.scalar(select(User).where(User.name == USER)) is None:
            s.add(User(name=USER, role="user", groups=["finance"], password_hash="!",
                       active=True))


def _open_task(engine: Engine, instance_id: str) -> str:
    return str(engine.tasks.open_tasks_of(instance_id)[0].id)


def _make_due(engine: Engine, instance_id: str) -> None:
    with engine._core.db.write() as s:  # noqa: SLF001
        s.execute(update(Job).where(Job.instance_id == instance_id)
                  .values(due_at=utcnow() - timedelta(seconds=1)))


def operations(engine: Engine) -> dict[str, tuple[Callable[[], Any], Callable[[Any], None]]]:
    """Each operation as (set-up, the counted call): the set-up's result goes to the call."""
    worker = Worker(engine, "rt-worker")
    topic = TopicRequest("rt.charge", 10_000)

    def started(key: str) -> Callable[[], str]:
        return lambda: engine.runtime.start(key, "bk-1", {}, wait=5).id

    def fetched() -> str:
        engine.runtime.start("rt_external", None, {}, wait=5)
        [locked] = engine.external_tasks.fetch_and_lock("rt-ext", [topic])
        return str(locked.task.id)

    def timer_due() -> None:
        inst = engine.runtime.start("rt_timer", None, {}, wait=5)
        _make_due(engine, inst.id)

    return {
        "start, all automatic (wait)": (lambda: None, lambda _: engine.runtime.start(
            "rt_auto", None, {"x": 1}, wait=5)),
        "start to a user task (wait)": (lambda: None, lambda _: engine.runtime.start(
            "rt_review", None, {}, wait=5)),
        "claim": (lambda: _open_task(engine, started("rt_review")()),
                  lambda task: engine.tasks.claim(task, USER)),
        "complete, no wait": (lambda: _open_task(engine, started("rt_review")()),
                              lambda task: engine.tasks.complete(task, USER, {})),
        "  then the worker's advance": (
            lambda: engine.tasks.complete(_open_task(engine, started("rt_review")()), USER, {}),
            lambda _: worker.poll_once()),
        "complete (wait), to the next user task": (
            lambda: _open_task(engine, started("rt_review")()),
            lambda task: engine.tasks.complete(task, USER, {}, wait=5)),
        "message correlation (wait)": (started("rt_message"), lambda _: engine.runtime
                                       .send_message("go", "bk-1", wait=5)),
        "timer firing (worker poll)": (timer_due, lambda _: worker.poll_once()),
        "external task fetch_and_lock": (
            lambda: engine.runtime.start("rt_external", None, {}, wait=5),
            lambda _: engine.external_tasks.fetch_and_lock("rt-ext", [topic])),
        "external task complete": (fetched, lambda task: engine.external_tasks.complete(
            task, "rt-ext", {"paid": True})),
    }


def measure(engine: Engine) -> dict[str, RoundTrips]:
    """Run every operation warm, then counted; return what each cost."""
    sql_engine = engine._core.db.sql_engine  # noqa: SLF001
    out: dict[str, RoundTrips] = {}
    for name, (set_up, call) in operations(engine).items():
        call(set_up())  # warm: specs parsed, latest versions remembered
        arg = set_up()
        with count(sql_engine) as seen:
            call(arg)
        out[name] = seen
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", help="a database URL (default: a temporary SQLite file); "
                                  "PostgreSQL: its tables are replaced")
    ap.add_argument("--sql", action="store_true", help="print every statement")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bf-rt-") as tmp:
        url = args.url or f"sqlite:///{tmp}/rt.db"
        db = Database(url)
        if args.url:
            from tests.conftest import reset_postgres

            reset_postgres(url)
        db.upgrade()
        engine = Engine(db, Settings(database_url=url))
        prepare(engine)
        print(f"database: {db.sql_engine.dialect.name}")
        print(f"{'operation':42} {'statements':>10} {'transactions':>12}")
        for name, seen in measure(engine).items():
            print(f"{name:42} {seen.statements:10d} {seen.transactions:12d}")
            if args.sql:
                for sql in seen.sql:
                    print(f"    {sql}")
        db.dispose()


if __name__ == "__main__":
    main()
