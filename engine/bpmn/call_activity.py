"""Call activities with Camunda 7's variable mappings (``camunda:in`` / ``camunda:out``).

A Camunda 7 model (one that declares the camunda namespace) passes only what its mappings
say, in both directions; a BPMN or Zeebe model without mappings passes all variables, as
SpiffWorkflow and Zeebe do. The called process runs inside the caller's instance.
"""

from __future__ import annotations

from copy import deepcopy
from typing import Any

from SpiffWorkflow.spiff.parser.task_spec import CallActivityParser
from SpiffWorkflow.spiff.serializer.task_spec import SubWorkflowTaskConverter
from SpiffWorkflow.spiff.specs.defaults import CallActivity

from .dialects import CAMUNDA_NS, NSMAP, juel_to_python
from .multi_instance import CamundaLoops

SAME_BUSINESS_KEY = ("${execution.processBusinessKey}", "#{execution.processBusinessKey}")
BINDINGS = ("latest", "deployment")


def read_mappings(node: Any) -> dict[str, Any]:
    """Read a call activity's ``camunda:in`` / ``camunda:out`` and its binding."""
    out: dict[str, Any] = {"mapped": CAMUNDA_NS in node.nsmap.values(), "inputs": [],
                           "outputs": [], "business_key": None,
                           "binding": node.get(f"{{{CAMUNDA_NS}}}calledElementBinding")}
    for direction in ("in", "out"):
        for item in node.xpath(f"./bpmn:extensionElements/camunda:{direction}",
                               namespaces=NSMAP):
            if direction == "in" and item.get("businessKey") is not None:
                out["business_key"] = item.get("businessKey")
                continue
            expression = item.get("sourceExpression")
            out["inputs" if direction == "in" else "outputs"].append({
                "all": item.get("variables") == "all",
                "source": item.get("source"),
                "expression": juel_to_python(expression) if expression else None,
                "target": item.get("target") or item.get("source"),
                "local": item.get("local") == "true",
            })
    return out


def mapping_problems(node: Any) -> list[str]:
    """What Bridgeflow cannot do with a call activity's mappings and binding."""
    problems: list[str] = []
    facts = read_mappings(node)
    binding = facts["binding"] or "latest"
    called = node.get("calledElement")
    if binding not in BINDINGS:
        problems.append(f"camunda:calledElementBinding=\"{binding}\" is not supported: the "
                        "called process is fixed when the caller is deployed (the latest "
                        "version then); remove the binding or deploy the caller again")
    elif binding == "deployment" and not node.getroottree().xpath(
            "//bpmn:process[@id=$id]", namespaces=NSMAP, id=called):
        problems.append(f"camunda:calledElementBinding=\"deployment\" needs the process "
                        f"'{called}' in the same file; put it there or use \"latest\"")
    key = facts["business_key"]
    if key is not None and "".join(key.split()) not in SAME_BUSINESS_KEY:
        problems.append(f"camunda:in businessKey=\"{key}\" is not supported: the called "
                        "process runs inside this instance and keeps its business key "
                        "(only ${execution.processBusinessKey} is accepted)")
    for mapping in facts["inputs"] + facts["outputs"]:
        if not (mapping["all"] or mapping["target"]):
            problems.append("a camunda:in or camunda:out mapping needs variables=\"all\", or a "
                            "source or sourceExpression with a target")
    return problems


class MappedCallActivity(CallActivity):  # type: ignore[misc]
    """A call activity that passes variables as Camunda 7's ``in`` and ``out`` mappings say."""

    def __init__(self, wf_spec: Any, bpmn_id: str, subworkflow_spec: Any,
                 mapped: bool = False, in_mappings: list[dict[str, Any]] | None = None,
                 out_mappings: list[dict[str, Any]] | None = None, **kwargs: Any) -> None:
        super().__init__(wf_spec, bpmn_id, subworkflow_spec, **kwargs)
        self.mapped = mapped
        self.in_mappings = in_mappings or []
        self.out_mappings = out_mappings or []

    def copy_data(self, my_task: Any, subworkflow: Any) -> None:
        if not self.mapped:
            super().copy_data(my_task, subworkflow)
            return
        start = subworkflow.get_next_task(subworkflow.task_tree, skip_subprocesses=True,
                                          spec_name="Start")
        start.set_data(**deepcopy(_mapped(self.in_mappings, my_task)))

    def update_data(self, my_task: Any, subworkflow: Any) -> None:
        if not self.mapped:
            super().update_data(my_task, subworkflow)
            return
        my_task.data.update(deepcopy(_mapped(self.out_mappings, subworkflow.last_task)))


class MappedCallActivityParser(CamundaLoops, CallActivityParser):  # type: ignore[misc]
    def create_task(self) -> MappedCallActivity:
        task: MappedCallActivity = super().create_task()
        facts = read_mappings(self.node)
        task.mapped = facts["mapped"]
        task.in_mappings, task.out_mappings = facts["inputs"], facts["outputs"]
        return task


def _mapped(mappings: list[dict[str, Any]], source: Any) -> dict[str, Any]:
    """The variables ``mappings`` take from ``source`` (a task), by their target names."""
    values: dict[str, Any] = {}
    for mapping in mappings:
        if mapping["all"]:
            values.update(source.data)
        elif mapping["expression"]:
            values[mapping["target"]] = source.workflow.script_engine.evaluate(
                source, mapping["expression"])
        else:  # Camunda sets the target to null when the source does not exist
            values[mapping["target"]] = source.data.get(mapping["source"])
    return values


class MappedCallActivityConverter(SubWorkflowTaskConverter):  # type: ignore[misc]
    def to_dict(self, spec: MappedCallActivity) -> dict[str, Any]:
        dct: dict[str, Any] = super().to_dict(spec)
        dct["mapped"] = spec.mapped
        dct["in_mappings"] = spec.in_mappings
        dct["out_mappings"] = spec.out_mappings
        return dct
