"""A refused deployment names every problem of every file: file, line, element, plain words."""

from __future__ import annotations

import pytest

from engine import DefinitionError, Engine
from engine.errors import Problem

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs" targetNamespace="t">
<bpmn:process id="{key}" isExecutable="{executable}">
"""
FIRST_BODY_LINE = 5  # the process body starts on the line after the process element


def _bpmn(key: str, body: str, executable: str = "true") -> bytes:
    return (HEAD.format(key=key, executable=executable) + body.strip("\n")
            + "\n</bpmn:process>\n</bpmn:definitions>\n").encode()


def _refused(engine: Engine, files: dict[str, bytes]) -> list[Problem]:
    with pytest.raises(DefinitionError) as caught:
        engine.repository.deploy(files)
    for problem in caught.value.problems:
        assert "0x" not in problem.message
        assert "<Element" not in problem.message
        assert "SpiffWorkflow" not in problem.message
        assert "Exception" not in problem.message and "TypeError" not in problem.message
    return caught.value.problems


def _at(body_line: int) -> int:
    return FIRST_BODY_LINE + body_line


START = '<bpmn:startEvent id="begin"/>'
CASES = {
    "flow_to_missing_element": (
        f"""{START}
<bpmn:sequenceFlow id="f1" sourceRef="begin" targetRef="nowhere"/>""",
        1, "f1", "leads to 'nowhere', which is not an element"),
    "flow_from_missing_element": (
        f"""{START}
<bpmn:endEvent id="stop"/>
<bpmn:sequenceFlow id="f1" sourceRef="begin" targetRef="stop"/>
<bpmn:sequenceFlow id="f2" sourceRef="ghost" targetRef="stop"/>""",
        3, "f2", "starts at 'ghost', which is not an element"),
    "gateway_without_outgoing_flow": (
        f"""{START}
<bpmn:exclusiveGateway id="choose"/>
<bpmn:sequenceFlow id="f1" sourceRef="begin" targetRef="choose"/>""",
        1, "choose", "no sequence flow leaves this gateway"),
    "call_to_unknown_process": (
        f"""{START}
<bpmn:callActivity id="call" calledElement="ghost_process"/>
<bpmn:endEvent id="stop"/>
<bpmn:sequenceFlow id="f1" sourceRef="begin" targetRef="call"/>
<bpmn:sequenceFlow id="f2" sourceRef="call" targetRef="stop"/>""",
        1, "call", "calls process 'ghost_process', which is neither in this deployment"),
    "unsupported_element": (
        f"""{START}
<bpmn:complexGateway id="complex"/>
<bpmn:endEvent id="stop"/>
<bpmn:sequenceFlow id="f1" sourceRef="begin" targetRef="complex"/>
<bpmn:sequenceFlow id="f2" sourceRef="complex" targetRef="stop"/>""",
        1, "complex", "a complex gateway is not supported by Bridgeflow; use an inclusive"),
    "unsupported_event_definition": (
        f"""{START}
<bpmn:intermediateCatchEvent id="undo">
  <bpmn:compensateEventDefinition/></bpmn:intermediateCatchEvent>
<bpmn:endEvent id="stop"/>
<bpmn:sequenceFlow id="f1" sourceRef="begin" targetRef="undo"/>
<bpmn:sequenceFlow id="f2" sourceRef="undo" targetRef="stop"/>""",
        1, "undo", "compensation on an intermediate catch event is not supported: throw"),
    "timer_end_event": (
        f"""{START}
<bpmn:endEvent id="stop"><bpmn:timerEventDefinition/></bpmn:endEvent>
<bpmn:sequenceFlow id="f1" sourceRef="begin" targetRef="stop"/>""",
        1, "stop", "a timer event definition on an end event is not supported; use an"),
    "duplicate_id": (
        f"""{START}
<bpmn:userTask id="begin"/>""",
        1, "begin", "the id 'begin' is used by more than one element"),
    "default_flow_that_does_not_leave_the_gateway": (
        f"""{START}
<bpmn:exclusiveGateway id="choose" default="elsewhere"/>
<bpmn:endEvent id="stop"/>
<bpmn:sequenceFlow id="f1" sourceRef="begin" targetRef="choose"/>
<bpmn:sequenceFlow id="f2" sourceRef="choose" targetRef="stop">
  <bpmn:conditionExpression>1 == 1</bpmn:conditionExpression></bpmn:sequenceFlow>""",
        1, "choose", "the default flow 'elsewhere' is not a sequence flow leaving"),
    "flow_without_condition_that_is_not_the_default": (
        f"""{START}
<bpmn:exclusiveGateway id="choose"/>
<bpmn:endEvent id="a"/>
<bpmn:endEvent id="b"/>
<bpmn:sequenceFlow id="f1" sourceRef="begin" targetRef="choose"/>
<bpmn:sequenceFlow id="f2" sourceRef="choose" targetRef="a">
  <bpmn:conditionExpression>1 == 1</bpmn:conditionExpression></bpmn:sequenceFlow>
<bpmn:sequenceFlow id="f3" sourceRef="choose" targetRef="b"/>""",
        7, "f3", "without a condition and is not the gateway's default flow"),
    "task_with_two_outgoing_flows": (
        f"""{START}
<bpmn:userTask id="work"/>
<bpmn:endEvent id="a"/>
<bpmn:endEvent id="b"/>
<bpmn:sequenceFlow id="f1" sourceRef="begin" targetRef="work"/>
<bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="a"/>
<bpmn:sequenceFlow id="f3" sourceRef="work" targetRef="b"/>""",
        1, "work", "put a parallel gateway (take all paths) or an exclusive gateway"),
    "process_without_start_event": (
        '<bpmn:userTask id="work"/>', -1, "broken", "this process has no start event"),
    "timer_without_definition": (
        f"""{START}
<bpmn:intermediateCatchEvent id="wait"><bpmn:timerEventDefinition/></bpmn:intermediateCatchEvent>
<bpmn:endEvent id="stop"/>
<bpmn:sequenceFlow id="f1" sourceRef="begin" targetRef="wait"/>
<bpmn:sequenceFlow id="f2" sourceRef="wait" targetRef="stop"/>""",
        1, "wait", "this timer event has no timer"),
    "message_that_is_not_defined": (
        """<bpmn:startEvent id="begin"><bpmn:messageEventDefinition messageRef="nomsg"/>
</bpmn:startEvent>
<bpmn:endEvent id="stop"/>
<bpmn:sequenceFlow id="f1" sourceRef="begin" targetRef="stop"/>""",
        0, "begin", "refers to message 'nomsg', which is not defined in the file"),
    "loop_without_condition": (
        f"""{START}
<bpmn:userTask id="work"><bpmn:standardLoopCharacteristics/></bpmn:userTask>
<bpmn:endEvent id="stop"/>
<bpmn:sequenceFlow id="f1" sourceRef="begin" targetRef="work"/>
<bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="stop"/>""",
        1, "work", "neither a loop condition nor a loopMaximum"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_kind_of_broken_file_is_refused_at_its_element(engine: Engine, case: str) -> None:
    body, line, element, words = CASES[case]
    problems = _refused(engine, {"broken.bpmn": _bpmn("broken", body)})
    assert [(p.file, p.line, p.element_id) for p in problems if words in p.message] == [
        ("broken.bpmn", _at(line), element)], problems


JAVA = f"""{START}
<bpmn:serviceTask id="java_service" camunda:class="com.acme.Charge"/>
<bpmn:serviceTask id="bean_service" camunda:delegateExpression="${{charger}}"/>
<bpmn:sendTask id="java_send" camunda:class="com.acme.Mail"/>
<bpmn:businessRuleTask id="java_rule" camunda:delegateExpression="${{rules}}"/>
<bpmn:userTask id="listened">
  <bpmn:extensionElements><camunda:taskListener class="com.acme.OnCreate" event="create"/>
  </bpmn:extensionElements></bpmn:userTask>
<bpmn:scriptTask id="groovy" scriptFormat="groovy"><bpmn:script>x = 1</bpmn:script>
</bpmn:scriptTask>
<bpmn:endEvent id="stop"><bpmn:extensionElements>
  <camunda:executionListener delegateExpression="${{audit}}" event="end"/>
</bpmn:extensionElements></bpmn:endEvent>
<bpmn:sequenceFlow id="f1" sourceRef="begin" targetRef="java_service"/>
<bpmn:sequenceFlow id="f2" sourceRef="java_service" targetRef="bean_service"/>
<bpmn:sequenceFlow id="f3" sourceRef="bean_service" targetRef="java_send"/>
<bpmn:sequenceFlow id="f4" sourceRef="java_send" targetRef="java_rule"/>
<bpmn:sequenceFlow id="f5" sourceRef="java_rule" targetRef="listened"/>
<bpmn:sequenceFlow id="f6" sourceRef="listened" targetRef="groovy"/>
<bpmn:sequenceFlow id="f7" sourceRef="groovy" targetRef="stop"/>
"""


def test_what_cannot_run_here_is_refused_with_what_to_use_instead(engine: Engine) -> None:
    problems = _refused(engine, {"java.bpmn": _bpmn("java", JAVA)})
    said = {(p.element_id, p.line): p.message for p in problems}
    assert "camunda:class on a service task is Java" in said["java_service", _at(1)]
    assert 'camunda:type="external"' in said["java_service", _at(1)]
    assert "camunda:delegateExpression on a service task is Java" in said["bean_service", _at(2)]
    assert "camunda:class on a send task is Java" in said["java_send", _at(3)]
    assert "connector operation" in said["java_send", _at(3)]
    assert ("camunda:delegateExpression on a business rule task is Java"
            in said["java_rule", _at(4)])
    assert "camunda:taskListener with class='com.acme.OnCreate' is Java" in said[
        "listened", _at(5)]
    assert "scripts run here as Python; rewrite it in Python" in said["groovy", _at(8)]
    assert "camunda:executionListener with delegateExpression" in said["stop", _at(10)]


def test_an_external_task_with_a_topic_still_deploys(engine: Engine) -> None:
    body = f"""{START}
<bpmn:serviceTask id="save" camunda:type="external" camunda:topic="test.record"/>
<bpmn:endEvent id="stop"/>
<bpmn:sequenceFlow id="f1" sourceRef="begin" targetRef="save"/>
<bpmn:sequenceFlow id="f2" sourceRef="save" targetRef="stop"/>"""
    [deployed] = engine.repository.deploy({"external.bpmn": _bpmn("external", body)})
    assert deployed.key == "external"


def test_problems_of_every_file_and_process_come_in_one_answer(engine: Engine) -> None:
    files = {
        "one.bpmn": _bpmn("one", CASES["flow_to_missing_element"][0]),
        "two.bpmn": _bpmn("two", CASES["task_with_two_outgoing_flows"][0]),
        "three.bpmn": _bpmn("three", CASES["unsupported_element"][0]),
        "four.bpmn": b"<bpmn:definitions",
    }
    problems = _refused(engine, files)
    assert {p.file for p in problems} == set(files)
    assert ("two.bpmn", _at(1), "work") in {(p.file, p.line, p.element_id) for p in problems}


def test_the_same_problem_found_twice_reads_as_one_line() -> None:
    same = Problem("a.bpmn", "this process has no start event: add one", 3, "p")
    error = DefinitionError([same, Problem("a.bpmn", "other", 4, "q"), same])
    assert error.problems == [same, Problem("a.bpmn", "other", 4, "q")]
    assert error.details["problems"][0]["line"] == 3


def test_a_data_store_is_reported_once_though_two_checks_find_it(engine: Engine) -> None:
    body = f"""{START}
<bpmn:endEvent id="stop"/>
<bpmn:sequenceFlow id="f1" sourceRef="begin" targetRef="stop"/>"""
    source = _bpmn("stored", body).replace(
        b"<bpmn:process", b'<bpmn:dataStore id="ledger" name="Ledger"/>\n<bpmn:process')
    problems = _refused(engine, {"stored.bpmn": source})
    assert [(p.line, p.element_id) for p in problems if "data store 'Ledger'" in p.message] == [
        (4, "ledger")]


def test_an_object_repr_never_reaches_a_person() -> None:
    error = DefinitionError([Problem("a.bpmn", "cannot resolve <Element {x}y at 0x7f3a2b> here")])
    assert error.problems[0].message == "cannot resolve here"


def test_a_model_that_is_not_executable_is_refused_with_the_reason(engine: Engine) -> None:
    body = CASES["flow_to_missing_element"][0]
    [problem] = _refused(engine, {"doc.bpmn": _bpmn("doc", body, executable="false")})
    assert problem.file == "doc.bpmn"
    assert "process 'doc' is marked isExecutable=\"false\"" in problem.message


def test_nothing_is_stored_after_a_refused_deploy(engine: Engine) -> None:
    before = [(d.key, d.version) for d in engine.repository.list_definitions()]
    good = _bpmn("fine", f"""{START}<bpmn:endEvent id="stop"/>
<bpmn:sequenceFlow id="f1" sourceRef="begin" targetRef="stop"/>""")
    files = {"fine.bpmn": good, "broken.bpmn": _bpmn("broken", CASES["duplicate_id"][0])}
    _refused(engine, files)
    with pytest.raises(DefinitionError):
        engine.repository.deploy(files, dry_run=True)
    assert [(d.key, d.version) for d in engine.repository.list_definitions()] == before
