"""Call activities: the called process runs as an instance of its own, linked to its caller
both ways, with Camunda 7's ``camunda:in`` / ``camunda:out`` variable mappings and
``calledElementBinding``."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from engine import Engine, Instance
from engine.errors import DefinitionError

CHILD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="dc" targetNamespace="http://t">
  <bpmn:process id="pack" isExecutable="true">
    <bpmn:startEvent id="ps"><bpmn:outgoing>p1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="pack_it" camunda:candidateGroups="warehouse">
      <bpmn:incoming>p1</bpmn:incoming><bpmn:outgoing>p2</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:scriptTask id="note" scriptFormat="python">
      <bpmn:incoming>p2</bpmn:incoming><bpmn:outgoing>p3</bpmn:outgoing>
      <bpmn:script>seen = []
try:
    seen.append(("order_id", order_id))
except Exception:  # the variable was not passed
    pass
try:
    seen.append(("item", item))
except Exception:  # the variable was not passed
    pass
try:
    seen.append(("secret", secret))
except Exception:  # the variable was not passed
    pass
try:
    seen.append(("order", order))
except Exception:  # the variable was not passed
    pass
parcel = "P-" + str(dict(seen).get("order_id"))
scratch = 1</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="pe"><bpmn:incoming>p3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="p1" sourceRef="ps" targetRef="pack_it"/>
    <bpmn:sequenceFlow id="p2" sourceRef="pack_it" targetRef="note"/>
    <bpmn:sequenceFlow id="p3" sourceRef="note" targetRef="pe"/>
  </bpmn:process>
</bpmn:definitions>
"""

PARENT = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="dp" targetNamespace="http://t">
  <bpmn:process id="ship" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:callActivity id="call_pack" calledElement="pack" {attrs}>
      <bpmn:extensionElements>{mappings}</bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:callActivity>
    <bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="call_pack"/>
    <bpmn:sequenceFlow id="f2" sourceRef="call_pack" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>
"""
START = {"order": {"id": 42, "weight": 3}, "secret": "s3cr3t"}


def _called(engine: Engine, caller_id: str) -> Instance:
    [called] = engine.runtime.called_instances(caller_id)
    return called


def _run(engine: Engine, mappings: str, attrs: str = "") -> dict[str, object]:
    engine.repository.deploy({"pack.bpmn": CHILD.encode()})
    engine.repository.deploy({"ship.bpmn": PARENT.format(mappings=mappings,
                                                         attrs=attrs).encode()})
    inst = engine.runtime.start("ship", "order-42", START, wait=5)
    assert inst.status == "waiting" and inst.active_elements == ["call_pack"]
    assert engine.tasks.open_tasks_of(inst.id) == []  # the task belongs to the called instance
    child = _called(engine, inst.id)
    assert (child.process_key, child.parent_instance_id, child.parent_element_id) == (
        "pack", inst.id, "call_pack")
    [row] = engine.tasks.open_tasks_of(child.id)
    assert row.element_id == "pack_it" and row.process_key == "pack"
    engine.tasks.complete(row.id, "wendy", {"weight": 7}, wait=5)
    assert engine.runtime.instance(child.id).status == "completed"
    done = engine.runtime.wait_for(inst.id, 5)
    assert done.status == "completed", engine.management.incidents_of(inst.id)
    return done.variables


def test_the_child_sees_only_mapped_variables_and_the_parent_gets_only_the_out_ones(
        engine: Engine) -> None:
    variables = _run(engine, """
        <camunda:in businessKey="#{execution.processBusinessKey}"/>
        <camunda:in sourceExpression="${order.id}" target="order_id"/>
        <camunda:in source="missing" target="item"/>
        <camunda:out source="parcel" target="parcel_no"/>
        <camunda:out source="seen" target="seen"/>""")
    assert variables["seen"] == [["order_id", 42], ["item", None]]  # no secret, no order
    assert variables["parcel_no"] == "P-42"
    assert "parcel" not in variables and "scratch" not in variables
    assert variables["order"] == START["order"]  # the child's weight did not come back


def test_variables_all_passes_everything_both_ways(engine: Engine) -> None:
    variables = _run(engine, '<camunda:in variables="all"/><camunda:out variables="all"/>')
    assert variables["seen"] == [["secret", "s3cr3t"], ["order", START["order"]]]
    assert variables["scratch"] == 1 and variables["weight"] == 7


def test_a_camunda_model_passes_nothing_in_without_a_camunda_in(engine: Engine) -> None:
    variables = _run(engine, '<camunda:out source="seen" target="seen"/>')
    assert variables["seen"] == []
    assert "parcel" not in variables and variables["order"] == START["order"]


def test_both_instances_are_linked_and_audited(engine: Engine) -> None:
    engine.repository.deploy({"pack.bpmn": CHILD.encode()})
    engine.repository.deploy({"ship.bpmn": PARENT.format(mappings="", attrs="").encode()})
    inst = engine.runtime.start("ship", "order-42", START, wait=5)
    child = _called(engine, inst.id)
    assert child.business_key is None  # Camunda 7: no camunda:in businessKey, no key
    assert child.started_by == f"instance:{inst.id}"
    started = [e for e in engine.history.events_of(inst.id) if e.type == "call_started"]
    assert [(e.element_id, e.data["called_instance"]) for e in started] == [
        ("call_pack", child.id)]
    [created] = [e for e in engine.history.events_of(child.id) if e.type == "instance_created"]
    assert created.data["called_by"] == inst.id


def test_a_business_key_expression_names_the_called_instance(engine: Engine) -> None:
    engine.repository.deploy({"pack.bpmn": CHILD.encode()})
    engine.repository.deploy({"ship.bpmn": PARENT.format(
        mappings='<camunda:in businessKey="parcel-${order.id}"/>', attrs="").encode()})
    inst = engine.runtime.start("ship", "order-42", START, wait=5)
    assert _called(engine, inst.id).business_key == "parcel-42"


@pytest.mark.parametrize(("attrs", "words"), [
    ('camunda:calledElementBinding="versionTag" camunda:calledElementVersionTag="v1"',
     'calledElementBinding="versionTag" is not supported'),
    ('camunda:calledElementBinding="version"', "needs camunda:calledElementVersion"),
    ('camunda:calledElementBinding="newest"', "is not a binding"),
])
def test_what_cannot_be_honoured_is_refused_at_deploy(engine: Engine, attrs: str,
                                                      words: str) -> None:
    engine.repository.deploy({"pack.bpmn": CHILD.encode()})
    with pytest.raises(DefinitionError) as caught:
        engine.repository.deploy({"ship.bpmn": PARENT.format(mappings="",
                                                             attrs=attrs).encode()})
    [problem] = caught.value.problems
    assert problem.element_id == "call_pack" and words in problem.message
    assert "ship" not in {d.key for d in engine.repository.list_definitions()}


# -- which version is called ------------------------------------------------------------

SIMPLE_CHILD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"
    targetNamespace="http://t">
  <bpmn:process id="pack" isExecutable="true">
    <bpmn:startEvent id="ps"/>
    <bpmn:sequenceFlow id="p1" sourceRef="ps" targetRef="mark"/>
    <bpmn:scriptTask id="mark" scriptFormat="python"><bpmn:script>packed_by = "{who}"</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="p2" sourceRef="mark" targetRef="pe"/>
    <bpmn:endEvent id="pe"/>
  </bpmn:process>
</bpmn:definitions>
"""


def _deploy_child(engine: Engine, who: str) -> None:
    engine.repository.deploy({"pack.bpmn": SIMPLE_CHILD.replace("{who}", who).encode()})


@pytest.mark.parametrize(("attrs", "packed_by"), [
    ("", "v2"),  # latest: resolved when the call happens, not when the caller was deployed
    ('camunda:calledElementBinding="latest"', "v2"),
    ('camunda:calledElementBinding="version" camunda:calledElementVersion="1"', "v1"),
    ('camunda:calledElementBinding="deployment"', "v1"),
])
def test_the_binding_picks_the_called_version(engine: Engine, attrs: str,
                                              packed_by: str) -> None:
    _deploy_child(engine, "v1")
    engine.repository.deploy({"ship.bpmn": PARENT.format(
        mappings='<camunda:out source="packed_by" target="packed_by"/>', attrs=attrs).encode()})
    _deploy_child(engine, "v2")
    inst = engine.runtime.start("ship", None, {}, wait=5)
    assert inst.status == "completed", engine.management.incidents_of(inst.id)
    assert inst.variables["packed_by"] == packed_by


def test_a_process_deployed_with_its_caller_is_its_deployment_binding(engine: Engine) -> None:
    files = {"pack.bpmn": SIMPLE_CHILD.replace("{who}", "together").encode(),
             "ship.bpmn": PARENT.format(
                 mappings='<camunda:out source="packed_by" target="packed_by"/>',
                 attrs='camunda:calledElementBinding="deployment"').encode()}
    engine.repository.deploy(files)
    _deploy_child(engine, "later")
    inst = engine.runtime.start("ship", None, {}, wait=5)
    assert inst.variables["packed_by"] == "together"


def test_a_missing_version_is_an_incident_that_a_retry_repairs(engine: Engine) -> None:
    _deploy_child(engine, "v1")
    engine.repository.deploy({"ship.bpmn": PARENT.format(
        mappings='<camunda:out source="packed_by" target="packed_by"/>',
        attrs='camunda:calledElementBinding="version" camunda:calledElementVersion="2"'
    ).encode()})
    inst = engine.runtime.start("ship", None, {}, wait=5)
    assert inst.status == "incident"
    [incident] = engine.management.incidents_of(inst.id)
    assert incident.element_id == "call_pack"
    assert incident.error_type == "called_process_missing"
    assert "version 2 of process 'pack' is not deployed" in incident.message
    assert engine.runtime.called_instances(inst.id) == []
    _deploy_child(engine, "v2")
    engine.management.retry_incident(incident.id)
    done = engine.runtime.wait_for(inst.id, 5)
    assert done.status == "completed" and done.variables["packed_by"] == "v2"


# -- ending: errors, interruptions, repairs -----------------------------------------------

FAILING_CHILD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"
    targetNamespace="http://t">
  <bpmn:error id="no_stock" errorCode="NO_STOCK"/>
  <bpmn:process id="pack" isExecutable="true">
    <bpmn:startEvent id="ps"/>
    <bpmn:sequenceFlow id="p1" sourceRef="ps" targetRef="short"/>
    <bpmn:endEvent id="short"><bpmn:errorEventDefinition errorRef="no_stock"/></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""

GUARDED_PARENT = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="dp" targetNamespace="http://t">
  <bpmn:error id="no_stock" errorCode="NO_STOCK"/>
  <bpmn:message id="m_cancel" name="cancel_order"/>
  <bpmn:process id="ship" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="call_pack"/>
    <bpmn:callActivity id="call_pack" calledElement="pack"/>
    <bpmn:sequenceFlow id="f2" sourceRef="call_pack" targetRef="e"/>
    <bpmn:endEvent id="e"/>
    <bpmn:boundaryEvent id="out_of_stock" attachedToRef="call_pack">
      <bpmn:errorEventDefinition errorRef="no_stock"/>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f3" sourceRef="out_of_stock" targetRef="backorder"/>
    <bpmn:scriptTask id="backorder" scriptFormat="python">
      <bpmn:script>outcome = "backorder"</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f4" sourceRef="backorder" targetRef="e2"/>
    <bpmn:endEvent id="e2"/>
    <bpmn:boundaryEvent id="cancelled" attachedToRef="call_pack">
      <bpmn:messageEventDefinition messageRef="m_cancel"/>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f5" sourceRef="cancelled" targetRef="e3"/>
    <bpmn:endEvent id="e3"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_an_error_the_called_instance_ends_with_is_caught_on_the_call_activity(
        engine: Engine) -> None:
    engine.repository.deploy({"pack.bpmn": FAILING_CHILD.encode(),
                              "ship.bpmn": GUARDED_PARENT.encode()})
    inst = engine.runtime.start("ship", "order-7", {}, wait=5)
    assert inst.status == "completed", engine.management.incidents_of(inst.id)
    assert inst.variables["outcome"] == "backorder"
    assert [e.type for e in engine.history.events_of(inst.id)
            if e.type.startswith("call_")] == ["call_started", "call_ended"]


def test_an_error_nothing_catches_is_an_incident_on_the_caller(engine: Engine) -> None:
    unguarded = PARENT.format(mappings="", attrs="")
    engine.repository.deploy({"pack.bpmn": FAILING_CHILD.encode(),
                              "ship.bpmn": unguarded.encode()})
    inst = engine.runtime.start("ship", None, {}, wait=5)
    assert inst.status == "incident"
    [incident] = engine.management.incidents_of(inst.id)
    assert incident.element_id == "call_pack" and "error 'NO_STOCK'" in incident.message


def test_an_interrupted_call_activity_terminates_the_called_instance(
        engine: Engine, drain: Callable[..., None]) -> None:
    engine.repository.deploy({"pack.bpmn": CHILD.encode(), "ship.bpmn": GUARDED_PARENT.encode()})
    inst = engine.runtime.start("ship", "order-8", {}, wait=5)
    child = _called(engine, inst.id)
    [task] = engine.tasks.open_tasks_of(child.id)
    engine.runtime.send_message("cancel_order", "order-8")
    drain(lambda: engine.runtime.instance(inst.id).status == "completed")
    assert engine.runtime.instance(child.id).status == "terminated"
    assert engine.tasks.task(task.id).status == "cancelled"  # gone from the inbox


def test_terminating_the_caller_terminates_what_it_called(engine: Engine) -> None:
    engine.repository.deploy({"pack.bpmn": CHILD.encode()})
    engine.repository.deploy({"ship.bpmn": PARENT.format(mappings="", attrs="").encode()})
    inst = engine.runtime.start("ship", None, START, wait=5)
    child = _called(engine, inst.id)
    engine.management.terminate(inst.id, "admin")
    assert engine.runtime.instance(child.id).status == "terminated"
    assert engine.tasks.open_tasks_of(child.id) == []


def test_a_terminated_called_instance_leaves_an_incident_a_retry_calls_again(
        engine: Engine, drain: Callable[..., None]) -> None:
    engine.repository.deploy({"pack.bpmn": CHILD.encode()})
    engine.repository.deploy({"ship.bpmn": PARENT.format(mappings="", attrs="").encode()})
    inst = engine.runtime.start("ship", None, START, wait=5)
    first = _called(engine, inst.id)
    engine.management.terminate(first.id, "admin")
    drain(lambda: engine.runtime.instance(inst.id).status == "incident")
    [incident] = engine.management.incidents_of(inst.id)
    assert incident.error_type == "called_instance_terminated" and first.id in incident.message
    engine.management.retry_incident(incident.id, "admin")
    engine.runtime.wait_for(inst.id, 5)
    second = _called(engine, inst.id)
    assert second.id != first.id and second.status == "waiting"
    assert len(engine.runtime.called_instances(inst.id, live_only=False)) == 2


# -- a multi-instance call activity -------------------------------------------------------

@pytest.mark.parametrize("sequential", ["false", "true"])
def test_a_multi_instance_call_activity_calls_one_instance_per_element(
        engine: Engine, sequential: str) -> None:
    engine.repository.deploy({"pack.bpmn": CHILD.encode()})
    loop = (f'<bpmn:multiInstanceLoopCharacteristics isSequential="{sequential}" '
            'camunda:collection="${parcels}" camunda:elementVariable="parcel"/>')
    caller = PARENT.format(mappings='<camunda:in source="parcel" target="order_id"/>'
                                    '<camunda:out source="parcel" target="label"/>', attrs="")
    caller = caller.replace("<bpmn:outgoing>f2</bpmn:outgoing>\n    </bpmn:callActivity>",
                            f"<bpmn:outgoing>f2</bpmn:outgoing>{loop}</bpmn:callActivity>")
    engine.repository.deploy({"ship.bpmn": caller.encode()})
    inst = engine.runtime.start("ship", None, {"parcels": [5, 6]}, wait=5)
    seen = []
    for _ in range(2):
        called = engine.runtime.called_instances(inst.id)
        assert len(called) == (1 if sequential == "true" else 2 - len(seen))
        for child in called[:1]:
            [task] = engine.tasks.open_tasks_of(child.id)
            engine.tasks.complete(task.id, "wendy", {}, wait=5)
            seen.append(engine.runtime.instance(child.id).variables["parcel"])
        engine.runtime.wait_for(inst.id, 5)  # hands back, and starts the next one
    assert sorted(seen) == ["P-5", "P-6"]
    done = engine.runtime.wait_for(inst.id, 5)
    assert done.status == "completed", engine.management.incidents_of(inst.id)
    assert len(engine.runtime.called_instances(inst.id, live_only=False)) == 2


def test_input_parameters_of_the_call_activity_are_locals_its_mappings_may_pass(
        engine: Engine) -> None:
    io = ('<camunda:inputOutput><camunda:inputParameter name="ref">${order.id * 10}'
          '</camunda:inputParameter></camunda:inputOutput>')
    variables = _run(engine, io + '<camunda:in source="ref" target="order_id"/>'
                                  '<camunda:out source="parcel" target="parcel_no"/>')
    assert variables["parcel_no"] == "P-420"  # the child saw the local
    assert "ref" not in variables  # and it did not outlive the call activity


# -- an escalation from the called instance ---------------------------------------------

ESCALATING_CHILD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"
    targetNamespace="http://t">
  <bpmn:escalation id="late" escalationCode="LATE"/>
  <bpmn:process id="pack" isExecutable="true">
    <bpmn:startEvent id="ps"/>
    <bpmn:sequenceFlow id="p1" sourceRef="ps" targetRef="tell"/>
    <bpmn:intermediateThrowEvent id="tell">
      <bpmn:escalationEventDefinition escalationRef="late"/>
    </bpmn:intermediateThrowEvent>
    <bpmn:sequenceFlow id="p2" sourceRef="tell" targetRef="pack_it"/>
    <bpmn:userTask id="pack_it"/>
    <bpmn:sequenceFlow id="p3" sourceRef="pack_it" targetRef="pe"/>
    <bpmn:endEvent id="pe"/>
  </bpmn:process>
</bpmn:definitions>
"""

ESCALATION_PARENT = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="dp"
    targetNamespace="http://t">
  <bpmn:escalation id="late" escalationCode="LATE"/>
  <bpmn:process id="ship" isExecutable="true">
    <bpmn:startEvent id="s"/>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="call_pack"/>
    <bpmn:callActivity id="call_pack" calledElement="pack"/>
    <bpmn:sequenceFlow id="f2" sourceRef="call_pack" targetRef="e"/>
    <bpmn:endEvent id="e"/>
    <bpmn:boundaryEvent id="is_late" attachedToRef="call_pack" cancelActivity="{cancel}">
      <bpmn:escalationEventDefinition escalationRef="late"/>
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f3" sourceRef="is_late" targetRef="tell_customer"/>
    <bpmn:scriptTask id="tell_customer" scriptFormat="python">
      <bpmn:script>customer_told = True</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f4" sourceRef="tell_customer" targetRef="e2"/>
    <bpmn:endEvent id="e2"/>
  </bpmn:process>
</bpmn:definitions>
"""


@pytest.mark.parametrize("cancel", ["false", "true"])
def test_an_escalation_of_the_called_instance_reaches_the_call_activity(
        engine: Engine, drain: Callable[..., None], cancel: str) -> None:
    engine.repository.deploy({"pack.bpmn": ESCALATING_CHILD.encode(),
                              "ship.bpmn": ESCALATION_PARENT.replace("{cancel}", cancel).encode()})
    inst = engine.runtime.start("ship", None, {}, wait=5)
    [child] = engine.runtime.called_instances(inst.id, live_only=False)
    drain(lambda: any(e.type == "escalation_from_called_instance"
                      for e in engine.history.events_of(inst.id)))
    drain()
    now = engine.runtime.instance(inst.id)
    assert now.variables.get("customer_told") is True
    if cancel == "true":  # interrupting: the call activity and the called instance end
        assert now.status == "completed"
        assert engine.runtime.instance(child.id).status == "terminated"
    else:  # non-interrupting: both go on, and the caller waits for the called instance
        assert now.status == "waiting" and now.active_elements == ["call_pack"]
        [task] = engine.tasks.open_tasks_of(child.id)
        engine.tasks.complete(task.id, "wendy", {}, wait=5)
        assert engine.runtime.wait_for(inst.id, 5).status == "completed"


def test_an_escalation_no_caller_catches_is_ignored(engine: Engine,
                                                    drain: Callable[..., None]) -> None:
    engine.repository.deploy({"pack.bpmn": ESCALATING_CHILD.encode()})
    engine.repository.deploy({"ship.bpmn": PARENT.format(mappings="", attrs="").encode()})
    inst = engine.runtime.start("ship", None, {}, wait=5)
    drain()
    [event] = [e for e in engine.history.events_of(inst.id)
               if e.type == "escalation_from_called_instance"]
    assert event.data["caught"] is False and event.data["code"] == "LATE"
    assert engine.runtime.instance(inst.id).status == "waiting"  # no incident: Camunda 7


def test_a_waiting_callers_detail_lists_the_instance_it_called_after_that_one_ended(
        engine: Engine) -> None:
    # what an administrator opening the caller sees: the finished call is still linked
    engine.repository.deploy({"pack.bpmn": CHILD.encode()})
    waits_after = PARENT.format(mappings="", attrs="").replace(
        '<bpmn:endEvent id="e"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>',
        '<bpmn:userTask id="confirm" camunda:candidateGroups="sales"><bpmn:incoming>f2'
        '</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing></bpmn:userTask>'
        '<bpmn:endEvent id="e"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>'
        '<bpmn:sequenceFlow id="f3" sourceRef="confirm" targetRef="e"/>').replace(
        'targetRef="e"/>\n  </bpmn:process>', 'targetRef="confirm"/>\n  </bpmn:process>')
    engine.repository.deploy({"ship.bpmn": waits_after.encode()})
    inst = engine.runtime.start("ship", "order-43", START, wait=5)
    child = _called(engine, inst.id)
    [row] = engine.tasks.open_tasks_of(child.id)
    engine.tasks.complete(row.id, "wendy", {}, wait=5)
    assert engine.runtime.wait_for(inst.id, 5).active_elements == ["confirm"]

    detail = engine.runtime.instance_detail(inst.id)
    assert detail.instance.status == "waiting"
    assert [(c.id, c.status) for c in detail.called_instances] == [(child.id, "completed")]
    assert [t.element_id for t in detail.open_tasks] == ["confirm"]
