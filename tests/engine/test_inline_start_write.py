"""A start that runs to its end is written in one transaction by two inserts straight to
SQLite's driver: a version deployed meanwhile by another process still wins, a driver error
is SQLAlchemy's and writes nothing, and round-trip counters still see both statements."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from engine import Engine, inline_start
from engine.config import Settings
from engine.db import Database
from engine.models import Event
from engine.models import Instance as InstanceRow
from engine.round_trips import count

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "processes"
LINES = {"lines": [{"qty": 3, "price": 500.0}]}


def _rows(db: Database, model: type, instance_id: str | None = None) -> int:
    with db.read() as s:
        query = select(func.count()).select_from(model)
        if instance_id is not None:
            column = model.id if model is InstanceRow else model.instance_id
            query = query.where(column == instance_id)
        return int(s.scalar(query) or 0)


def test_a_version_another_process_deployed_meanwhile_is_the_one_started(
        database: Database) -> None:
    url = str(database.sql_engine.url)
    ours = Engine(database, Settings(database_url=url))
    ours.repository.deploy_directory(FIXTURES)
    first = ours.runtime.start("auto_steps", None, LINES, wait=5)
    assert first.version == 1  # and this process now remembers version 1
    theirs = Engine(database, Settings(database_url=url))  # another process, same database
    source = (FIXTURES / "auto_steps.bpmn").read_text().replace("Compute total", "Sum up")
    theirs.repository.deploy({"auto_steps.bpmn": source.encode(),
                              "discount.dmn": (FIXTURES / "discount.dmn").read_bytes()})

    second = ours.runtime.start("auto_steps", None, LINES, wait=5)

    assert second.version == 2 and second.status == "completed"
    assert second.variables["net"] == 1425.0
    assert _rows(database, InstanceRow) == 2  # the refused insert on version 1 left nothing


def test_a_driver_error_is_sqlalchemys_and_writes_nothing(
        database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    engine = Engine(database, Settings(database_url=str(database.sql_engine.url)))
    engine.repository.deploy_directory(FIXTURES)
    monkeypatch.setattr(inline_start, "new_id", lambda: "0190a8e2-0000-7000-8000-000000000001")
    engine.runtime.start("auto_steps", None, LINES, wait=5)
    events = _rows(database, Event, "0190a8e2-0000-7000-8000-000000000001")

    with pytest.raises(IntegrityError):  # the same id again: the primary key refuses it
        engine.runtime.start("auto_steps", None, LINES, wait=5)

    assert _rows(database, InstanceRow) == 1
    assert _rows(database, Event, "0190a8e2-0000-7000-8000-000000000001") == events


def test_round_trip_counters_see_both_inserts(database: Database) -> None:
    engine = Engine(database, Settings(database_url=str(database.sql_engine.url)))
    engine.repository.deploy_directory(FIXTURES)
    engine.runtime.start("auto_steps", None, LINES, wait=5)  # the version is remembered
    with count(database.sql_engine) as seen:
        engine.runtime.start("auto_steps", None, LINES, wait=5)
    assert (seen.statements, seen.transactions, seen.commits) == (2, 1, 1), seen.sql
    assert seen.sql[0].startswith("INSERT INTO instances")
    assert seen.sql[1].startswith("INSERT INTO events")


def _step_names(engine: Engine, instance_id: str) -> list[str]:
    return [e.data["name"] for e in engine.history.events_of(instance_id) if e.type == "step"]


def test_step_data_is_converted_once_but_under_the_sealing_in_force(
        database: Database) -> None:
    """A step event's data is one shared value per element, converted once per insert; when
    another engine installs other personal-data names on this database, what was converted
    under the old ones is not reused."""
    url = str(database.sql_engine.url)
    masking = Engine(database, Settings(database_url=url, personal_variables="name"))
    masking.repository.deploy_directory(FIXTURES)
    first = masking.runtime.start("auto_steps", None, LINES, wait=5)
    masked = _step_names(masking, first.id)
    assert "Compute total" not in masked and masked  # "name" is personal here: masked

    plain = Engine(database, Settings(database_url=url))  # default names: "name" is not
    second = plain.runtime.start("auto_steps", None, LINES, wait=5)
    assert "Compute total" in _step_names(plain, second.id)


def test_a_shared_step_value_cannot_be_changed() -> None:
    from engine.advance import step_data

    data = step_data("ScriptTask", "Compute total")
    assert data is step_data("ScriptTask", "Compute total")
    with pytest.raises(TypeError):
        data["name"] = "changed"
    with pytest.raises(TypeError):
        data.update(name="changed")
    copy = dict(data)
    copy["name"] = "changed"  # a copy is an ordinary dict
    assert data["name"] == "Compute total"


def test_an_event_without_data_shares_one_value_and_reads_back_as_an_empty_object(
        database: Database) -> None:
    from engine.advance import NO_DATA

    with pytest.raises(TypeError):
        NO_DATA["x"] = 1  # shared by every such event: nobody may change it
    engine = Engine(database, Settings(database_url=str(database.sql_engine.url)))
    engine.repository.deploy_directory(FIXTURES)
    inst = engine.runtime.start("auto_steps", None, LINES, wait=5)
    completed = [e for e in engine.history.events_of(inst.id) if e.type == "instance_completed"]
    assert len(completed) == 1 and completed[0].data == {}
    completed[0].data["note"] = "a reader's own copy"  # what was read is the reader's to change
    assert NO_DATA == {}
