"""Write an instance's rows as a release leaves them, put them back, and drive it to its end.

Shared by ``tests/fixtures/stored_states/make.py`` (which writes the fixtures once, with the
engine of the day) and ``tests/engine/test_stored_states.py`` (which loads them with today's).
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from engine import Engine
from engine.db import Database
from engine.models import Base, HumanTask, Instance, Job, MessageSubscription
from engine.worker import Worker

STORED = Path(__file__).resolve().parent.parent / "fixtures" / "stored_states"

# What an instance waiting somewhere consists of, parents before children.
TABLES: tuple[type[Base], ...] = (Instance, HumanTask, MessageSubscription, Job)
# Row ids the database hands out: a fresh database hands out its own.
_GENERATED = {"message_subscriptions": "id", "jobs": "id"}
_DATETIME = "$datetime"


def dump_rows(db: Database, instance_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The rows of these instances as plain JSON, the state as the serializer wrote it."""
    rows: dict[str, list[dict[str, Any]]] = {}
    with db.read() as s:
        for model in TABLES:
            key = Instance.id if model is Instance else model.instance_id  # type: ignore[attr-defined]
            found = s.scalars(select(model).where(key.in_(instance_ids))
                              .order_by(*model.__table__.primary_key.columns))
            table = model.__tablename__
            rows[table] = [_plain(table, row) for row in found]
    return rows


def _plain(table: str, row: Base) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for column in row.__table__.columns:
        if column.name == _GENERATED.get(table):
            continue
        value = getattr(row, column.key)
        if isinstance(value, datetime):
            value = {_DATETIME: value.isoformat()}
        elif isinstance(value, bytes):  # the state: JSON text, as ``dump_state`` made it
            value = value.decode()
        out[column.key] = value
    return out


def insert_rows(engine: Engine, db: Database, rows: dict[str, list[dict[str, Any]]]) -> None:
    """Store the rows through the models, as the release that wrote them did."""
    with db.write() as s:
        for model in TABLES:
            # a calling instance before the instances it called
            ordered = sorted(rows.get(model.__tablename__, []),
                             key=lambda r: r.get("parent_instance_id") is not None)
            for row in ordered:
                values = {k: _restored(v) for k, v in row.items()}
                if model is Instance:
                    deployed = engine.repository.definition(values["process_key"])
                    values["definition_id"], values["version"] = deployed.id, deployed.version
                    values["state"] = values["state"].encode()
                    values["locked_by"] = values["locked_until"] = None
                s.add(model(**values))
                s.flush()


def _restored(value: Any) -> Any:
    if isinstance(value, dict) and set(value) == {_DATETIME}:
        return datetime.fromisoformat(value[_DATETIME])
    return value


def drive(engine: Engine, instance_id: str, steps: list[dict[str, Any]]) -> Instance:
    """Do what each step says through the public API, as people and systems would."""
    worker = Worker(engine, "stored-states")
    for step in steps:
        if step["do"] == "complete":
            target = instance_id
            if step.get("in_called"):
                [called] = engine.runtime.called_instances(instance_id)
                target = called.id
            [task] = [t for t in engine.tasks.open_tasks_of(target)
                      if t.element_id == step["element"]
                      and step.get("assignee") in (None, t.assignee)]
            engine.tasks.complete(task.id, step["user"], step.get("variables"), wait=5)
        elif step["do"] == "message":
            engine.runtime.send_message(step["name"], business_key=step.get("business_key"),
                                        variables=step.get("variables"))
        elif step["do"] == "timer":
            # time passes: the timer job, due by now, is run by a worker
            deadline = time.monotonic() + 10
            while (engine.runtime.instance(instance_id).status == "waiting"
                   and time.monotonic() < deadline):
                worker.poll_once()
                time.sleep(0.05)
        else:
            raise ValueError(f"unknown step {step['do']!r}")
        worker.drain()
    return engine.runtime.wait_for(instance_id, 5)


def fixtures() -> list[Path]:
    """Every stored instance, one JSON file each."""
    return sorted(STORED.glob("*.json"))


def read(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data
