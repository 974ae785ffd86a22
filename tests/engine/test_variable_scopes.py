"""Camunda 7's local variables (``camunda:inputOutput``) on tasks and embedded subprocesses.

Each runs through the engine fixture: on SQLite and PostgreSQL, with the workflow saved and
restored between every step.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from engine import DefinitionError, Engine
from tests.engine.bpmn_files import process_file as _process
from tests.engine.conftest import FakeSystem


def _io(inputs: str = "", outputs: str = "") -> str:
    return (f"<bpmn:extensionElements><camunda:inputOutput>{inputs}{outputs}"
            "</camunda:inputOutput></bpmn:extensionElements>")


def _why(engine: Engine, instance_id: str) -> list[str]:
    return [i.message for i in engine.management.incidents_of(instance_id)]


def _flow(*ids: str) -> str:
    return "".join(f'<bpmn:sequenceFlow id="f_{a}_{b}" sourceRef="{a}" targetRef="{b}"/>'
                   for a, b in zip(ids, ids[1:], strict=False))


# -- script tasks -----------------------------------------------------------------------------

PRICED = _process("priced", """
  <bpmn:startEvent id="start"/>
  <bpmn:scriptTask id="price" scriptFormat="python">""" + _io(
    '<camunda:inputParameter name="greeting">  Hello  </camunda:inputParameter>'
    '<camunda:inputParameter name="doubled">${amount * 2}</camunda:inputParameter>'
    '<camunda:inputParameter name="big">=amount &gt; 100</camunda:inputParameter>'
    '<camunda:inputParameter name="label">Order ${order_id} for ${customer}'
    "</camunda:inputParameter>"
    '<camunda:inputParameter name="nothing"></camunda:inputParameter>'
    '<camunda:inputParameter name="sizes"><camunda:list><camunda:value>S</camunda:value>'
    "<camunda:value>${amount}</camunda:value></camunda:list></camunda:inputParameter>"
    '<camunda:inputParameter name="limits"><camunda:map>'
    '<camunda:entry key="low">=amount - 1</camunda:entry>'
    '<camunda:entry key="tags"><camunda:list><camunda:value>a</camunda:value></camunda:list>'
    "</camunda:entry></camunda:map></camunda:inputParameter>"
    '<camunda:inputParameter name="scripted"><camunda:script scriptFormat="python"'
    ">amount + 1</camunda:script></camunda:inputParameter>") + """
    <bpmn:script>seen = [greeting, doubled, big, label, nothing, sizes, limits, scripted]
note = "written in the script"</bpmn:script>
  </bpmn:scriptTask>
  <bpmn:endEvent id="end"/>""" + _flow("start", "price", "end"))


def test_input_parameters_are_seen_by_the_script_and_gone_after_the_task(
        engine: Engine) -> None:
    engine.repository.deploy({"priced.bpmn": PRICED})
    inst = engine.runtime.start("priced", None, {"amount": 150, "order_id": "O-7",
                                                 "customer": None}, wait=5)
    assert inst.status == "completed", _why(engine, inst.id)
    assert inst.variables["seen"] == [
        "Hello", 300, True, "Order O-7 for ", None, ["S", 150],
        {"low": 149, "tags": ["a"]}, 151]
    assert inst.variables["note"] == "written in the script"  # a new name reaches the process
    for name in ("greeting", "doubled", "big", "label", "nothing", "sizes", "limits"):
        assert name not in inst.variables


SHADOWED = _process("shadowed", """
  <bpmn:startEvent id="start"/>
  <bpmn:scriptTask id="work" scriptFormat="python">""" + _io(
    '<camunda:inputParameter name="amount">${amount + 5}</camunda:inputParameter>',
    '<camunda:outputParameter name="worked">${amount}</camunda:outputParameter>'
    '<camunda:outputParameter name="status">${"checked " + str(amount)}'
    "</camunda:outputParameter>") + """
    <bpmn:script>amount = amount * 2
inside = amount</bpmn:script>
  </bpmn:scriptTask>
  <bpmn:scriptTask id="after" scriptFormat="python">
    <bpmn:script>after = amount</bpmn:script>
  </bpmn:scriptTask>
  <bpmn:endEvent id="end"/>""" + _flow("start", "work", "after", "end"))


def test_a_local_shadows_the_process_variable_and_outputs_carry_the_local_result_out(
        engine: Engine) -> None:
    engine.repository.deploy({"shadowed.bpmn": SHADOWED})
    inst = engine.runtime.start("shadowed", None, {"amount": 10, "status": "new"}, wait=5)
    assert inst.status == "completed", _why(engine, inst.id)
    assert inst.variables["inside"] == 30  # the script saw (and changed) its local
    assert inst.variables["amount"] == 10 and inst.variables["after"] == 10  # outer unchanged
    assert inst.variables["worked"] == 30  # an output is evaluated over the local scope
    assert inst.variables["status"] == "checked 30"  # and overwrites the process variable


LISTENED = _process("listened", """
  <bpmn:startEvent id="start"/>
  <bpmn:scriptTask id="work" scriptFormat="python">""" + _io(
    '<camunda:inputParameter name="step">${step + 1}</camunda:inputParameter>',
    '<camunda:outputParameter name="last_step">${step}</camunda:outputParameter>'
    ).replace("</bpmn:extensionElements>", """
      <camunda:executionListener event="start"><camunda:script scriptFormat="python"
        >heard_at_start = step</camunda:script></camunda:executionListener>
      <camunda:executionListener event="end"><camunda:script scriptFormat="python"
        >step = step * 10</camunda:script></camunda:executionListener>
    </bpmn:extensionElements>""") + """
    <bpmn:script>step = step + 1</bpmn:script>
  </bpmn:scriptTask>
  <bpmn:endEvent id="end"/>""" + _flow("start", "work", "end"))


def test_listeners_see_the_locals_and_an_end_listener_runs_before_the_outputs(
        engine: Engine) -> None:
    engine.repository.deploy({"listened.bpmn": LISTENED})
    inst = engine.runtime.start("listened", None, {"step": 1}, wait=5)
    assert inst.status == "completed", _why(engine, inst.id)
    assert inst.variables["heard_at_start"] == 2
    assert inst.variables["last_step"] == 30 and inst.variables["step"] == 1


# -- user tasks -------------------------------------------------------------------------------

REVIEWED = _process("reviewed", """
  <bpmn:startEvent id="start"/>
  <bpmn:userTask id="review" camunda:assignee="${reviewer}">""" + _io(
    '<camunda:inputParameter name="reviewer">${team}-lead</camunda:inputParameter>'
    '<camunda:inputParameter name="suggested">${amount * 0.9}</camunda:inputParameter>',
    '<camunda:outputParameter name="approved_amount">${suggested}</camunda:outputParameter>'
    ).replace("</bpmn:extensionElements>", """<camunda:formData>
      <camunda:formField id="suggested" label="Amount" type="long"
          defaultValue="${suggested}"/></camunda:formData></bpmn:extensionElements>""") + """
  </bpmn:userTask>
  <bpmn:endEvent id="end"/>""" + _flow("start", "review", "end"))


def test_a_user_task_form_shows_its_local_and_a_submitted_local_stays_local(
        engine: Engine) -> None:
    engine.repository.deploy({"reviewed.bpmn": REVIEWED})
    inst = engine.runtime.start("reviewed", None, {"team": "finance", "amount": 100,
                                                    "suggested": "the CRM's"}, wait=5)
    [task] = engine.tasks.open_tasks_of(inst.id)
    assert task.assignee == "finance-lead"
    assert task.form is not None and task.form["properties"]["suggested"]["default"] == 90
    waiting = engine.runtime.instance(inst.id).variables  # the API shows the instance scope
    assert "reviewer" not in waiting and waiting["suggested"] == "the CRM's"
    engine.tasks.complete(task.id, "finance-lead", {"suggested": 80}, wait=5)
    done = engine.runtime.instance(inst.id)
    assert done.status == "completed"
    assert done.variables["approved_amount"] == 80  # the form wrote the local …
    assert done.variables["suggested"] == "the CRM's"  # … not the process variable
    assert "reviewer" not in done.variables


# -- service and business rule tasks ----------------------------------------------------------

RECORDED = _process("recorded", """
  <bpmn:startEvent id="start"/>
  <bpmn:serviceTask id="save" camunda:type="external" camunda:topic="test.record"
      camunda:resultVariable="record">""" + _io(
    '<camunda:inputParameter name="decision">${verdict.upper()}</camunda:inputParameter>',
    '<camunda:outputParameter name="saved_as">${record.decision + "/" + decision}'
    "</camunda:outputParameter>") + """
  </bpmn:serviceTask>
  <bpmn:endEvent id="end"/>""" + _flow("start", "save", "end"))


def test_a_service_call_receives_the_input_parameters_and_outputs_read_the_result(
        engine: Engine, system: FakeSystem, drain: Callable[..., None]) -> None:
    engine.repository.deploy({"recorded.bpmn": RECORDED})
    inst = engine.runtime.start("recorded", None, {"verdict": "yes"}, wait=5)
    drain(lambda: engine.runtime.instance(inst.id).status == "completed")
    [(_, params, _)] = system.calls
    assert params == {"decision": "YES"}
    done = engine.runtime.instance(inst.id).variables
    assert done["saved_as"] == "YES/YES" and done["record"]["saved"] is True
    assert "decision" not in done


SHIPPED = _process("shipped", """
  <bpmn:startEvent id="start"/>
  <bpmn:businessRuleTask id="choose" camunda:decisionRef="shipping"
      camunda:resultVariable="ship" camunda:mapDecisionResult="singleResult">""" + _io(
    '<camunda:inputParameter name="weight">${grams / 1000}</camunda:inputParameter>',
    '<camunda:outputParameter name="method">${ship.method}</camunda:outputParameter>') + """
  </bpmn:businessRuleTask>
  <bpmn:endEvent id="end"/>""" + _flow("start", "choose", "end"))


def test_a_decision_reads_the_local_input_and_an_output_takes_its_result(
        engine: Engine) -> None:
    engine.repository.deploy({"shipped.bpmn": SHIPPED})
    inst = engine.runtime.start("shipped", None, {"grams": 2500, "weight": "unknown"}, wait=5)
    assert inst.status == "completed", _why(engine, inst.id)
    assert inst.variables["method"] == "parcel"  # 2.5 kg, not the process's "unknown"
    assert inst.variables["weight"] == "unknown"


# -- embedded subprocesses --------------------------------------------------------------------

BOXED = _process("boxed", """
  <bpmn:startEvent id="start"/>
  <bpmn:subProcess id="box">""" + _io(
    '<camunda:inputParameter name="limit">${budget * 2}</camunda:inputParameter>'
    '<camunda:inputParameter name="budget">${budget + 1}</camunda:inputParameter>',
    '<camunda:outputParameter name="limit_used">${limit}</camunda:outputParameter>') + """
    <bpmn:startEvent id="box_start"/>
    <bpmn:scriptTask id="inner" scriptFormat="python">
      <bpmn:script>inner_saw = [limit, budget]
limit = limit - 1
found = "written inside"</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:userTask id="check" camunda:candidateGroups="finance"/>
    <bpmn:scriptTask id="inner_after" scriptFormat="python">
      <bpmn:script>later_saw = limit</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="box_end"/>""" + _flow("box_start", "inner", "check", "inner_after",
                                             "box_end") + """
  </bpmn:subProcess>
  <bpmn:scriptTask id="after" scriptFormat="python">
    <bpmn:script>outside_saw = [budget, found]</bpmn:script>
  </bpmn:scriptTask>
  <bpmn:endEvent id="end"/>""" + _flow("start", "box", "after", "end"))


def test_every_step_in_a_subprocess_sees_its_locals_and_only_new_names_leave_it(
        engine: Engine) -> None:
    engine.repository.deploy({"boxed.bpmn": BOXED})
    inst = engine.runtime.start("boxed", None, {"budget": 10}, wait=5)
    waiting = engine.runtime.instance(inst.id)
    assert waiting.variables["budget"] == 10 and "limit" not in waiting.variables
    assert waiting.variables["found"] == "written inside"  # Camunda: in the process scope
    [task] = engine.tasks.open_tasks_of(inst.id)
    engine.tasks.complete(task.id, "fiona", {}, wait=5)
    done = engine.runtime.instance(inst.id)
    assert done.status == "completed", _why(engine, inst.id)
    assert done.variables["inner_saw"] == [20, 11]  # inputs read the outer budget
    assert done.variables["later_saw"] == 19  # a write to a local is seen by later steps
    assert done.variables["outside_saw"] == [10, "written inside"]
    assert done.variables["limit_used"] == 19 and "limit" not in done.variables


SIDE_BY_SIDE = _process("side_by_side", """
  <bpmn:startEvent id="start"/>
  <bpmn:parallelGateway id="split"/>
  <bpmn:subProcess id="box">""" + _io(
    '<camunda:inputParameter name="note">local</camunda:inputParameter>',
    '<camunda:outputParameter name="box_note">${note}</camunda:outputParameter>') + """
    <bpmn:startEvent id="box_start"/>
    <bpmn:userTask id="check" camunda:candidateGroups="finance"/>
    <bpmn:scriptTask id="inner" scriptFormat="python">
      <bpmn:script>inner_saw = note</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="box_end"/>""" + _flow("box_start", "check", "inner", "box_end") + """
  </bpmn:subProcess>
  <bpmn:scriptTask id="other" scriptFormat="python">
    <bpmn:script>note = "from the other branch"</bpmn:script>
  </bpmn:scriptTask>
  <bpmn:parallelGateway id="join"/>
  <bpmn:scriptTask id="after" scriptFormat="python">
    <bpmn:script>after_saw = note</bpmn:script>
  </bpmn:scriptTask>
  <bpmn:endEvent id="end"/>""" + _flow("start", "split", "box", "join", "after", "end")
    + _flow("split", "other", "join"))


def test_a_local_never_undoes_what_another_branch_wrote_to_the_process(
        engine: Engine) -> None:
    engine.repository.deploy({"side_by_side.bpmn": SIDE_BY_SIDE})
    inst = engine.runtime.start("side_by_side", None, {"note": "at start"}, wait=5)
    assert engine.runtime.instance(inst.id).variables["note"] == "from the other branch"
    [task] = engine.tasks.open_tasks_of(inst.id)
    engine.tasks.complete(task.id, "fiona", {}, wait=5)
    done = engine.runtime.instance(inst.id)
    assert done.status == "completed", _why(engine, inst.id)
    assert done.variables["inner_saw"] == "local"
    assert done.variables["box_note"] == "local"  # the output read the local, not the write
    assert done.variables["after_saw"] == "from the other branch"
    assert done.variables["note"] == "from the other branch"


PER_COPY = _process("per_copy", """
  <bpmn:startEvent id="start"/>
  <bpmn:subProcess id="each">""" + _io(
    '<camunda:inputParameter name="desk">desk-${item}</camunda:inputParameter>') + """
    <bpmn:multiInstanceLoopCharacteristics camunda:collection="${items}"
        camunda:elementVariable="item"/>
    <bpmn:startEvent id="each_start"/>
    <bpmn:userTask id="sign" camunda:candidateGroups="${desk}"/>
    <bpmn:endEvent id="each_end"/>""" + _flow("each_start", "sign", "each_end") + """
  </bpmn:subProcess>
  <bpmn:endEvent id="end"/>""" + _flow("start", "each", "end"))


def test_each_instance_of_a_multi_instance_subprocess_has_its_own_locals(
        engine: Engine) -> None:
    engine.repository.deploy({"per_copy.bpmn": PER_COPY})
    inst = engine.runtime.start("per_copy", None, {"items": ["a", "b"], "desk": "front"},
                                wait=5)
    tasks = engine.tasks.open_tasks_of(inst.id)
    assert sorted(t.candidate_groups[0] for t in tasks) == ["desk-a", "desk-b"]
    for task in tasks:
        engine.tasks.complete(task.id, "fiona", {}, wait=5)
    done = engine.runtime.instance(inst.id)
    assert done.status == "completed", _why(engine, inst.id)
    assert done.variables["desk"] == "front"


# -- refused at deploy ------------------------------------------------------------------------

def _refused(engine: Engine, xml: bytes) -> list[tuple[int | None, str | None, str]]:
    with pytest.raises(DefinitionError) as caught:
        engine.repository.deploy({"bad.bpmn": xml})
    return [(p.line, p.element_id, p.message) for p in caught.value.problems]


def test_an_unreadable_parameter_is_refused_with_its_line_and_element(engine: Engine) -> None:
    xml = _process("bad_io", """
  <bpmn:startEvent id="start"/>
  <bpmn:userTask id="review">""" + _io(
        '\n<camunda:inputParameter name="x">${amount +}</camunda:inputParameter>',
        '\n<camunda:outputParameter name="y">=amount &gt;</camunda:outputParameter>') + """
  </bpmn:userTask>
  <bpmn:endEvent id="end"/>""" + _flow("start", "review", "end"))
    [(line_x, el_x, msg_x), (line_y, el_y, msg_y)] = _refused(engine, xml)
    assert (el_x, el_y) == ("review", "review")
    assert line_x == 8 and line_y == 9  # the parameters' own lines
    assert "camunda:inputParameter 'x'" in msg_x
    assert "camunda:outputParameter 'y'" in msg_y and "FEEL" in msg_y


def test_a_script_in_another_language_and_misplaced_outputs_are_refused(
        engine: Engine) -> None:
    xml = _process("bad_forms", """
  <bpmn:startEvent id="start"/>
  <bpmn:scriptTask id="work" scriptFormat="python">""" + _io(
        '<camunda:inputParameter name="x"><camunda:script scriptFormat="groovy"'
        ">amount * 2</camunda:script></camunda:inputParameter>") + """
    <bpmn:script>y = x</bpmn:script>
  </bpmn:scriptTask>
  <bpmn:userTask id="each">""" + _io(
        "", '<camunda:outputParameter name="z">${1}</camunda:outputParameter>') + """
    <bpmn:multiInstanceLoopCharacteristics><bpmn:loopCardinality>2</bpmn:loopCardinality>
    </bpmn:multiInstanceLoopCharacteristics>
  </bpmn:userTask>
  <bpmn:intermediateThrowEvent id="note">""" + _io(
        '<camunda:inputParameter name="x">1</camunda:inputParameter>') + """
  </bpmn:intermediateThrowEvent>
  <bpmn:endEvent id="end"/>""" + _flow("start", "work", "each", "note", "end"))
    problems = {element: message for _, element, message in _refused(engine, xml)}
    assert "'groovy' cannot run here" in problems["work"]
    assert "Python camunda:script" in problems["work"]
    assert "multi-instance" in problems["each"] and "output collection" in problems["each"]
    assert "an intermediate throw event is not supported" in problems["note"]
