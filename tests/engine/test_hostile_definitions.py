"""Files and expressions that used to break the engine: each is refused with a clear reason,
accepted properly, or made an incident an administrator can see and retry."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import select

from engine import DefinitionError, Engine
from engine.config import Settings
from engine.db import Database
from engine.models import Job
from engine.registry import OperationRegistry
from engine.timeutil import parse_duration, shortest_cycle_gap
from engine.xml_text import XmlFileError, as_utf8

DEFS = ('<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
        'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">\n')


def review(key: str, task_attrs: str = 'camunda:candidateGroups="finance"',
           name: str = "Prüfen") -> str:
    """A process with one user task, whose name and attributes the tests choose."""
    return DEFS + f"""<bpmn:process id="{key}" isExecutable="true">
  <bpmn:startEvent id="start"><bpmn:outgoing>a</bpmn:outgoing></bpmn:startEvent>
  <bpmn:userTask id="approve" name="{name}" {task_attrs}>
    <bpmn:incoming>a</bpmn:incoming><bpmn:outgoing>b</bpmn:outgoing></bpmn:userTask>
  <bpmn:endEvent id="end"><bpmn:incoming>b</bpmn:incoming></bpmn:endEvent>
  <bpmn:sequenceFlow id="a" sourceRef="start" targetRef="approve"/>
  <bpmn:sequenceFlow id="b" sourceRef="approve" targetRef="end"/>
</bpmn:process></bpmn:definitions>
"""


def ticking(cycle: str) -> bytes:
    return (DEFS + f"""<bpmn:process id="tick" isExecutable="true">
  <bpmn:startEvent id="start"><bpmn:outgoing>a</bpmn:outgoing>
    <bpmn:timerEventDefinition><bpmn:timeCycle>{cycle}</bpmn:timeCycle>
    </bpmn:timerEventDefinition></bpmn:startEvent>
  <bpmn:endEvent id="end"><bpmn:incoming>a</bpmn:incoming></bpmn:endEvent>
  <bpmn:sequenceFlow id="a" sourceRef="start" targetRef="end"/>
</bpmn:process></bpmn:definitions>
""").encode()


def versions(engine: Engine) -> list[tuple[str, int]]:
    return sorted((d.key, d.version) for d in engine.repository.list_definitions())


def refused(engine: Engine, files: dict[str, bytes]) -> list[str]:
    before = versions(engine)
    with pytest.raises(DefinitionError) as caught:
        engine.repository.deploy(files)
    assert versions(engine) == before  # nothing stored
    return [str(p) for p in caught.value.problems]


# -- encodings and entities -----------------------------------------------------------------

@pytest.mark.parametrize("encoding", ["ISO-8859-1", "UTF-16", "UTF-16LE", "windows-1252"])
def test_a_file_in_the_encoding_its_declaration_names_deploys_with_its_text_intact(
        engine: Engine, encoding: str) -> None:
    source = (f'<?xml version="1.0" encoding="{encoding}"?>\n'
              + review("encoded", name="Prüfen & Gegenzeichnen".replace("&", "&amp;")))
    [deployed] = engine.repository.deploy({"encoded.bpmn": source.encode(encoding)})
    assert deployed.key == "encoded" and deployed.new_version
    stored = engine.repository.definition("encoded").source
    assert 'encoding="UTF-8"' in stored and "Prüfen &amp; Gegenzeichnen" in stored
    inst = engine.runtime.start("encoded", wait=5)
    [task] = engine.tasks.open_tasks_of(inst.id)
    assert task.name == "Prüfen & Gegenzeichnen"


def test_a_byte_order_mark_without_a_declaration_is_enough(engine: Engine) -> None:
    [deployed] = engine.repository.deploy({"bom.bpmn": review("bom").encode("utf-16")})
    assert deployed.key == "bom"
    assert "Prüfen" in engine.repository.definition("bom").source


def test_latin1_bytes_without_a_declaration_are_refused_with_what_to_do(engine: Engine) -> None:
    [problem] = refused(engine, {"latin.bpmn": review("latin").encode("latin-1")})
    assert problem.startswith("latin.bpmn:4: the file is not valid UTF-8")
    assert 'encoding="ISO-8859-1"' in problem


def test_an_unknown_or_wrong_encoding_is_refused(engine: Engine) -> None:
    unknown = '<?xml version="1.0" encoding="klingon-8"?>\n' + review("unknown")
    [problem] = refused(engine, {"unknown.bpmn": unknown.encode()})
    assert "unknown encoding 'klingon-8'" in problem
    with pytest.raises(XmlFileError, match="not valid utf-16"):
        as_utf8(b"\xff\xfe<\x00?\x00\x00\xd8")  # a lone surrogate


def test_plain_utf8_is_left_byte_for_byte() -> None:
    source = ('<?xml version="1.0" encoding="UTF-8"?>\n' + review("same")).encode()
    assert as_utf8(source) is source


@pytest.mark.parametrize("doctype, text", [
    ('<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>', "&x;"),
    ('<!DOCTYPE d [<!ENTITY x "x">]>', "&x;"),  # unexpanded, it would change the script
    ('<!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>',
     "&b;"),
    ('<!DOCTYPE definitions SYSTEM "http://example.com/bpmn.dtd">', "x"),
])
def test_a_dtd_is_refused_whatever_its_entities_do(engine: Engine, doctype: str,
                                                   text: str) -> None:
    body = review("entity").replace('name="Prüfen"', f'name="{text}"')
    source = '<?xml version="1.0"?>\n' + doctype + "\n" + body
    [problem] = refused(engine, {"entity.bpmn": source.encode()})
    assert problem.startswith("entity.bpmn:2: the file declares a DOCTYPE")


def test_an_undefined_entity_is_refused_and_character_references_are_fine(
        engine: Engine) -> None:
    [problem] = refused(engine, {"entity.bpmn": review("entity", name="&nope;").encode()})
    assert "Entity 'nope' not defined" in problem
    engine.repository.deploy({"chars.bpmn": review("chars", name="A &amp; B &#233;").encode()})
    inst = engine.runtime.start("chars", wait=5)
    assert [t.name for t in engine.tasks.open_tasks_of(inst.id)] == ["A & B é"]


# -- due dates and durations ----------------------------------------------------------------

def test_a_due_date_beyond_any_calendar_is_refused_at_deploy(engine: Engine) -> None:
    [problem] = refused(engine, {"due.bpmn": review(
        "due", 'camunda:candidateGroups="finance" camunda:dueDate="P999999999Y"').encode()})
    assert "[approve]" in problem
    assert "due date 'P999999999Y' cannot be used" in problem and "1000 years" in problem


def test_a_due_date_expression_far_ahead_leaves_the_task_without_one(engine: Engine) -> None:
    engine.repository.deploy({"far.bpmn": review(
        "far", 'camunda:candidateGroups="finance" camunda:dueDate="${far}"').encode()})
    inst = engine.runtime.start("far", variables={"far": "P999999999Y"}, wait=5)
    [task] = engine.tasks.open_tasks_of(inst.id)
    assert task.due_at is None and task.candidate_groups == ["finance"]


def test_durations_longer_than_a_thousand_years_are_refused() -> None:
    assert parse_duration("P999Y").days == 999 * 365
    for text in ("P1001Y", "P999999999Y", "PT" + "9" * 400 + "S"):
        with pytest.raises(ValueError, match="longer than 1000 years"):
            parse_duration(text)


# -- timer start cycles ---------------------------------------------------------------------

def test_cycle_gaps_of_iso_and_cron_expressions() -> None:
    from datetime import datetime, timedelta

    now = datetime(2026, 1, 1)
    assert shortest_cycle_gap("R/PT0S", now) == timedelta(0)
    assert shortest_cycle_gap("R5/2026-01-01T00:00:00Z/PT2M", now) == timedelta(minutes=2)
    assert shortest_cycle_gap("R1/PT1S", now) is None  # fires once
    assert shortest_cycle_gap("*/5 * * * * ?", now) == timedelta(seconds=5)  # Quartz seconds
    assert shortest_cycle_gap("0,1 2 * * *", now) == timedelta(minutes=1)


@pytest.fixture
def strict_engine(database: Database, registry: OperationRegistry) -> Engine:
    """An engine with the default settings (the shared fixture allows one-second cycles)."""
    return Engine(database, Settings(), registry)


@pytest.mark.parametrize("cycle, every", [("R/PT0S", "0"), ("R/PT59S", "59"),
                                          ("*/10 * * * * ?", "10")])
def test_a_start_cycle_shorter_than_a_minute_is_refused(strict_engine: Engine, cycle: str,
                                                        every: str) -> None:
    [problem] = refused(strict_engine, {"tick.bpmn": ticking(cycle)})
    assert f"would start an instance every {every} s" in problem
    assert "shortest cycle allowed is 60 s" in problem
    assert "BRIDGEFLOW_MIN_START_CYCLE_SECONDS" in problem
    with strict_engine._core.db.read() as s:
        assert list(s.scalars(select(Job).where(Job.kind == "start_timer"))) == []


def test_a_cycle_of_a_minute_deploys_and_the_minimum_is_a_setting(
        strict_engine: Engine, database: Database, registry: OperationRegistry) -> None:
    [deployed] = strict_engine.repository.deploy({"tick.bpmn": ticking("R/PT1M")})
    assert deployed.key == "tick"
    hourly = Engine(database, Settings(min_start_cycle_seconds=3600), registry)
    [problem] = refused(hourly, {"tick.bpmn": ticking("R/PT30M")})
    assert "every 1800 s; the shortest cycle allowed is 3600 s" in problem


# -- failing assignment expressions ---------------------------------------------------------

def test_a_failing_candidate_groups_expression_is_an_incident_on_the_task(
        engine: Engine, drain: Callable[..., None]) -> None:
    engine.repository.deploy({"route.bpmn": review(
        "route", 'camunda:candidateGroups="${team.name}" camunda:assignee="${owner[0]}"')
        .encode()})
    inst = engine.runtime.start("route", variables={"owner": []}, wait=5)
    assert engine.runtime.instance(inst.id).status == "incident"
    [task] = engine.tasks.open_tasks_of(inst.id)
    assert task.candidate_groups == [] and task.assignee is None and task.status == "ready"
    incidents = sorted(engine.management.incidents_of(inst.id), key=lambda i: i.message)
    assert [(i.element_id, i.spiff_task_id, i.error_type) for i in incidents] == [
        ("approve", task.spiff_task_id, "expression_error")] * 2
    assignee, groups = incidents
    assert assignee.message.startswith(
        "the assignee expression ${owner[0]} of user task 'approve' failed: ")
    assert "IndexError" in assignee.details["error"]
    assert groups.details["expression"] == "${team.name}"
    assert groups.details["attribute"] == "candidateGroups"
    assert "'team' is not defined" in groups.message


def test_retrying_the_incident_evaluates_the_assignment_again(
        engine: Engine, drain: Callable[..., None]) -> None:
    engine.repository.deploy({"route.bpmn": review(
        "route", 'camunda:candidateGroups="${team}"').encode()})
    inst = engine.runtime.start("route", wait=5)
    [incident] = engine.management.incidents_of(inst.id)
    engine.management.retry_incident(incident.id, actor="admin")
    drain()
    # still failing: a new incident, the task still unassigned
    assert engine.runtime.instance(inst.id).status == "incident"
    [task] = engine.tasks.open_tasks_of(inst.id)
    assert task.candidate_groups == []
    assert [i.status for i in engine.management.incidents_of(inst.id)].count("open") == 1
