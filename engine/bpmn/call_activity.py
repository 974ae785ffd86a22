"""Call activities: the called process runs as an instance of its own, as in Camunda 7.

The call activity waits in the caller (like a service task waiting for its operation) while
the engine starts the called process as a separate instance, linked to the caller both
ways. When that instance ends, the engine hands the call activity its variables back.

Variables pass as Camunda 7's ``camunda:in`` / ``camunda:out`` mappings say: a Camunda 7
model (one that declares the camunda namespace) passes only what its mappings name, in both
directions; a BPMN or Zeebe model without mappings passes all variables, as SpiffWorkflow
and Zeebe do.
"""

from __future__ import annotations

import re
from copy import deepcopy
from typing import Any

from SpiffWorkflow.spiff.parser.task_spec import SpiffTaskParser
from SpiffWorkflow.spiff.serializer.task_spec import SpiffBpmnTaskConverter
from SpiffWorkflow.spiff.specs.spiff_task import SpiffBpmnTask

from .dialects import CAMUNDA_NS, NSMAP, juel_to_python
from .multi_instance import CamundaLoops

SAME_BUSINESS_KEY = ("${execution.processBusinessKey}", "#{execution.processBusinessKey}")
CALLER_KEY = "@caller"  # the business key mapping that passes the caller's own key
BINDINGS = ("latest", "deployment", "version")


def read_mappings(node: Any) -> dict[str, Any]:
    """Read a call activity's ``camunda:in`` / ``camunda:out``, business key and binding."""
    camunda = f"{{{CAMUNDA_NS}}}"
    out: dict[str, Any] = {"mapped": CAMUNDA_NS in node.nsmap.values(), "inputs": [],
                           "outputs": [], "business_key": None,
                           "binding": node.get(f"{camunda}calledElementBinding") or "latest",
                           "version": node.get(f"{camunda}calledElementVersion"),
                           "version_tag": node.get(f"{camunda}calledElementVersionTag")}
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
    binding = facts["binding"]
    if binding == "versionTag":
        problems.append("camunda:calledElementBinding=\"versionTag\" is not supported: "
                        "Bridgeflow numbers versions but keeps no version tags; use "
                        "\"version\" with camunda:calledElementVersion, or \"latest\"")
    elif binding not in BINDINGS:
        problems.append(f"camunda:calledElementBinding=\"{binding}\" is not a binding: use "
                        "\"latest\", \"deployment\" or \"version\"")
    elif binding == "version" and not str(facts["version"] or "").strip().isdigit():
        problems.append("camunda:calledElementBinding=\"version\" needs "
                        "camunda:calledElementVersion set to a version number (such as 3)")
    key = facts["business_key"]
    if key is not None and not key.strip():
        problems.append("camunda:in businessKey is empty: give an expression such as "
                        "${execution.processBusinessKey}, or remove it")
    for mapping in facts["inputs"] + facts["outputs"]:
        if not (mapping["all"] or mapping["target"]):
            problems.append("a camunda:in or camunda:out mapping needs variables=\"all\", or a "
                            "source or sourceExpression with a target")
    return problems


def business_key_expression(key: str | None) -> str | None:
    """The Python expression a ``camunda:in businessKey`` becomes (``CALLER_KEY``: the
    caller's own key; None: no mapping)."""
    if key is None:
        return None
    if "".join(key.split()) in SAME_BUSINESS_KEY:
        return CALLER_KEY
    parts = re.split(r"([$#]\{.*?\})", key)  # JUEL's composite: text and ${…} in turn
    terms = [f"str({juel_to_python(part)})" if index % 2 else repr(part)
             for index, part in enumerate(parts) if part]
    return " + ".join(terms) if len(terms) > 1 else terms[0].removeprefix("str")


class CallActivityTask(SpiffBpmnTask):  # type: ignore[misc]
    """A call activity: it waits, STARTED, until the instance it called has ended."""

    def __init__(self, wf_spec: Any, bpmn_id: str, subworkflow_spec: str = "",
                 binding: str = "latest", version: int | None = None, mapped: bool = False,
                 in_mappings: list[dict[str, Any]] | None = None,
                 out_mappings: list[dict[str, Any]] | None = None,
                 business_key: str | None = None, **kwargs: Any) -> None:
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.called_element = subworkflow_spec
        self.binding = binding
        self.version = version
        self.mapped = mapped
        self.in_mappings = in_mappings or []
        self.out_mappings = out_mappings or []
        self.business_key = business_key  # a Python expression over the caller's variables

    def _run_hook(self, my_task: Any) -> bool | None:
        # Leave the task STARTED; the engine starts the called instance and completes the
        # task when that instance ends.
        return None

    def business_key_of(self, my_task: Any, caller_key: str | None) -> str | None:
        """The called instance's business key: as ``camunda:in businessKey`` says; without
        it none in a Camunda 7 model (as Camunda), else the caller's."""
        if self.business_key == CALLER_KEY or (self.business_key is None and not self.mapped):
            return caller_key
        if self.business_key is None:
            return None
        value = my_task.workflow.script_engine.evaluate(my_task, self.business_key)
        return None if value is None else str(value)

    def variables_in(self, my_task: Any) -> dict[str, Any]:
        """What the called instance starts with."""
        values = (dict(my_task.data) if not self.mapped
                  else _mapped(self.in_mappings, my_task, my_task.data))
        # only names an instance may hold (a start over the API is held to the same rule)
        return deepcopy({name: value for name, value in values.items()
                         if isinstance(name, str) and name.isidentifier()
                         and not name.startswith("_")})

    def variables_out(self, my_task: Any, called: dict[str, Any]) -> dict[str, Any]:
        """What the caller takes back from the variables the called instance ended with."""
        if not self.mapped:
            return deepcopy(called)
        return deepcopy(_mapped(self.out_mappings, my_task, called))


class CallActivityParser(CamundaLoops, SpiffTaskParser):  # type: ignore[misc]
    def create_task(self) -> CallActivityTask:
        facts = read_mappings(self.node)
        extensions = self.parse_extensions()
        version = facts["version"] if facts["binding"] == "version" else None
        spec_class: type[CallActivityTask] = self.spec_class
        return spec_class(
            self.spec, self.bpmn_id, subworkflow_spec=self.node.get("calledElement") or "",
            binding=facts["binding"],
            version=int(version) if version and version.strip().isdigit() else None,
            mapped=facts["mapped"], in_mappings=facts["inputs"],
            out_mappings=facts["outputs"],
            business_key=business_key_expression(facts["business_key"]),
            prescript=extensions.get("preScript"), postscript=extensions.get("postScript"),
            **self.bpmn_attributes)


class _Scope:
    """A task's spec over other data: to evaluate an ``out`` expression in the called scope."""

    def __init__(self, task: Any, data: dict[str, Any]) -> None:
        self.task_spec = task.task_spec
        self.workflow = task.workflow
        self.data = data


def _mapped(mappings: list[dict[str, Any]], task: Any, source: dict[str, Any]) -> dict[str, Any]:
    """The variables ``mappings`` take from ``source``, by their target names."""
    values: dict[str, Any] = {}
    for mapping in mappings:
        if mapping["all"]:
            values.update(source)
        elif mapping["expression"]:
            values[mapping["target"]] = task.workflow.script_engine.evaluate(
                _Scope(task, source), mapping["expression"])
        else:  # Camunda sets the target to null when the source does not exist
            values[mapping["target"]] = source.get(mapping["source"])
    return values


class CallActivityConverter(SpiffBpmnTaskConverter):  # type: ignore[misc]
    def to_dict(self, spec: CallActivityTask) -> dict[str, Any]:
        dct: dict[str, Any] = super().to_dict(spec)
        dct["subworkflow_spec"] = spec.called_element
        for name in ("binding", "version", "mapped", "in_mappings", "out_mappings",
                     "business_key"):
            dct[name] = getattr(spec, name)
        return dct
