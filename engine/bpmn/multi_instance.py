"""Multi-instance activities as Camunda runs them: the Camunda 7 and Zeebe attributes become
BPMN's own loop data at deploy time, and every instance sees Camunda's loop counters."""

from __future__ import annotations

import re
from collections.abc import Callable
from copy import deepcopy
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.exceptions import WorkflowDataException
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import (
    MultiInstanceTask,
    ParallelMultiInstanceTask,
    SequentialMultiInstanceTask,
)
from SpiffWorkflow.spiff.parser.task_spec import ScriptTaskParser, SubWorkflowParser
from SpiffWorkflow.spiff.specs.spiff_task import SpiffBpmnTask
from SpiffWorkflow.util.task import TaskState

from .dialects import BPMN_NS, CAMUNDA_NS, NSMAP, juel_to_python

COUNTERS = ("nrOfInstances", "nrOfActiveInstances", "nrOfCompletedInstances", "loopCounter")
_NAME = re.compile(r"^\s*(?:[$#]\{\s*|=\s*)?([A-Za-z_]\w*)\s*\}?\s*$")
# the order bpmn:tMultiInstanceLoopCharacteristics gives its children
_ORDER = ("loopCardinality", "loopDataInputRef", "loopDataOutputRef", "inputDataItem",
          "outputDataItem", "complexBehaviorDefinition", "completionCondition")

Report = Callable[[Any, str], None]


def rewrite_loop(loop: Any, report: Report) -> None:
    """Turn one ``multiInstanceLoopCharacteristics`` into the BPMN form SpiffWorkflow reads.

    ``report(node, message)`` records a problem against the activity.
    """
    activity = loop.getparent()
    for tag in ("loopCardinality", "completionCondition"):
        found = loop.find(f"{{{BPMN_NS}}}{tag}")
        if found is not None and (found.text or "").strip():
            found.text = juel_to_python(found.text.strip())
    collection = loop.attrib.pop(f"{{{CAMUNDA_NS}}}collection", None)
    element = loop.attrib.pop(f"{{{CAMUNDA_NS}}}elementVariable", None)
    output = output_element = None
    zeebe = loop.xpath("./bpmn:extensionElements/zeebe:loopCharacteristics", namespaces=NSMAP)
    if zeebe:
        collection = collection or zeebe[0].get("inputCollection")
        element = element or zeebe[0].get("inputElement")
        output, output_element = zeebe[0].get("outputCollection"), zeebe[0].get("outputElement")
    if collection is not None:
        name = _NAME.match(collection)
        if name is None:
            report(activity, f"multi-instance collection '{collection}' is not a variable name: "
                             "compute the list into a variable first (a script task) and name "
                             "that variable")
            return
        _child(loop, "loopDataInputRef", name.group(1))
    if element:
        _child(loop, "inputDataItem", None, id=element, name=element)
    if output or output_element:
        out_name = _NAME.match(output or "")
        item = _NAME.match(output_element or "")
        if out_name is None or item is None:
            report(activity, f"multi-instance output '{output_element}' → '{output}' must name "
                             "a variable for the element and one for the collection")
            return
        _child(loop, "loopDataOutputRef", out_name.group(1))
        _child(loop, "outputDataItem", None, id=item.group(1), name=item.group(1))
    if loop.find(f"{{{BPMN_NS}}}loopCardinality") is None \
            and loop.find(f"{{{BPMN_NS}}}loopDataInputRef") is None:
        report(activity, "multi-instance activity has neither a collection nor a cardinality: "
                         "set camunda:collection (or zeebe:loopCharacteristics inputCollection) "
                         "or a loop cardinality")


def _child(loop: Any, tag: str, text: str | None, **attrs: str) -> None:
    if loop.find(f"{{{BPMN_NS}}}{tag}") is not None:
        return
    node = etree.Element(f"{{{BPMN_NS}}}{tag}", attrib=attrs)
    node.text = text
    later = [c for c in loop if etree.QName(c).namespace == BPMN_NS
             and etree.QName(c).localname in _ORDER[_ORDER.index(tag) + 1:]]
    if later:
        later[0].addprevious(node)
    else:
        loop.append(node)


class _CamundaInstances(MultiInstanceTask):  # type: ignore[misc]
    """Give every instance Camunda's counters; keep them and the element variable local."""

    def _total(self, my_task: Any) -> int:
        total = my_task.internal_data.get("nr_of_instances")
        if total is None:
            if self.data_input is not None:
                total = len(self.data_input.get(my_task))
            else:
                total = my_task.internal_data.get("cardinality")
                if total is None:
                    total = my_task.workflow.script_engine.evaluate(my_task, self.cardinality)
            my_task.internal_data["nr_of_instances"] = total = int(total)
        return int(total)

    def _counters(self, my_task: Any, completed: int) -> dict[str, int]:
        total = self._total(my_task)
        active = 1 if isinstance(self, SequentialMultiInstanceTask) else total - completed
        return {"nrOfInstances": total, "nrOfCompletedInstances": completed,
                "nrOfActiveInstances": max(active if completed < total else 0, 0)}

    def _local_names(self) -> list[str]:
        names = list(COUNTERS)
        if self.input_item is not None:
            names.append(self.input_item.bpmn_id)
        return names

    def create_child(self, my_task: Any, item: Any, key_or_index: Any = None) -> None:
        # The library's create_child, with the counters set before the instance starts, so
        # that a called or embedded process receives them too.
        task_spec = my_task.workflow.spec.task_specs[self.task_spec]
        if not task_spec.completed_event.is_connected(self.merge_child):
            task_spec.completed_event.connect(self.merge_child)
        for ref in (self.input_item, self.output_item):
            if ref is not None and ref.exists(my_task):
                raise WorkflowDataException(f"Multi-instance item {ref.bpmn_id} already exists "
                                            "in the process variables.", my_task)
        index = len(list(self._instances(my_task)))
        child = my_task._add_child(task_spec, TaskState.WAITING)
        child.triggered = True
        if self.input_item is not None:
            self.input_item.set(child, deepcopy(item))
        if key_or_index is not None:
            child.internal_data["key_or_index"] = key_or_index
        else:
            child.internal_data["item"] = item
        merged = len(self._merged_children(my_task))
        child.data.update(self._counters(my_task, merged), loopCounter=index)
        child.task_spec._update(child)

    def merge_child(self, workflow: Any, child: Any) -> None:
        my_task = child.parent
        child.data.update(self._counters(my_task, len(self._merged_children(my_task)) + 1))
        local = {k: child.data.pop(k) for k in self._local_names() if k in child.data}
        try:
            super().merge_child(workflow, child)
        finally:
            child.data.update(local)  # the completion condition reads them


class CamundaParallelMultiInstanceTask(
        ParallelMultiInstanceTask, _CamundaInstances, SpiffBpmnTask,  # type: ignore[misc]
):
    """A parallel multi-instance activity with Camunda's loop variables."""


class CamundaSequentialMultiInstanceTask(
        SequentialMultiInstanceTask, _CamundaInstances, SpiffBpmnTask,  # type: ignore[misc]
):
    """A sequential multi-instance activity with Camunda's loop variables."""


class CamundaLoops:
    """Parser mixin: multi-instance activities get the Camunda loop variables."""

    PARALLEL_MI_CLASS = CamundaParallelMultiInstanceTask
    SEQUENTIAL_MI_CLASS = CamundaSequentialMultiInstanceTask


class LoopingScriptParser(CamundaLoops, ScriptTaskParser):  # type: ignore[misc]
    def create_task(self) -> Any:
        # SpiffWorkflow's own script task parser drops pre- and post-scripts (listeners)
        script = next((child.text for child in self.node
                       if isinstance(child.tag, str) and child.tag.endswith("}script")), None)
        ext = self.parse_extensions()
        return self.spec_class(self.spec, self.bpmn_id, script,
                               prescript=ext.get("preScript"), postscript=ext.get("postScript"),
                               **self.bpmn_attributes)


class LoopingSubProcessParser(CamundaLoops, SubWorkflowParser):  # type: ignore[misc]
    pass
