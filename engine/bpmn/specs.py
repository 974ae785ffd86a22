"""Bridgeflow's own task specs for service and business rule tasks, and their serializers.

Service tasks do not call anything while SpiffWorkflow runs engine steps: the spec leaves
the task STARTED and the runner performs the call itself, so that retries, back-off,
incidents and BPMN errors are the engine's decisions, not the library's.
"""

from __future__ import annotations

from typing import Any

from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.spiff.serializer.event_definition import (
    ErrorEscalationEventDefinitionConverter,
)
from SpiffWorkflow.spiff.serializer.task_spec import (
    SpiffBpmnTaskConverter,
    SpiffMultiInstanceConverter,
)
from SpiffWorkflow.spiff.specs.defaults import ScriptTask, SubWorkflowTask, UserTask
from SpiffWorkflow.spiff.specs.spiff_task import SpiffBpmnTask

from .call_activity import CallActivityConverter, CallActivityTask
from .compensation import CompensationConverter, CompensationEndEvent, CompensationThrowEvent
from .local_scope import LocalScope
from .multi_instance import CamundaParallelMultiInstanceTask, CamundaSequentialMultiInstanceTask
from .throwing import ScopedErrorEventDefinition, ScopedEscalationEventDefinition


class ServiceCallTask(SpiffBpmnTask):  # type: ignore[misc]
    """A service task: an operation name, parameter expressions and a result variable."""

    def __init__(
        self,
        wf_spec: Any,
        bpmn_id: str,
        operation: str = "",
        parameters: dict[str, str] | None = None,
        result_variable: str | None = None,
        retry: dict[str, Any] | None = None,
        external: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.operation = operation
        self.parameters = parameters or {}
        self.result_variable = result_variable
        self.retry = retry or {}
        # as an external task: camunda:taskPriority ("priority") and camunda:properties
        self.external = external or {}

    def _run_hook(self, my_task: Any) -> bool | None:
        # Leave the task STARTED; the runner sees it and performs the call.
        return None


class PassThroughTask(SpiffBpmnTask):  # type: ignore[misc]
    """A plain ``bpmn:task`` or a manual task: Camunda 7 completes it at once."""


class DecisionTask(SpiffBpmnTask):  # type: ignore[misc]
    """A business rule task evaluated by Bridgeflow's own DMN engine."""

    def __init__(
        self,
        wf_spec: Any,
        bpmn_id: str,
        decision_ref: str = "",
        result_variable: str | None = None,
        map_result: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.decision_ref = decision_ref
        self.result_variable = result_variable or f"{bpmn_id}_result"
        self.map_result = map_result

    def _run_hook(self, my_task: Any) -> bool:
        engine = my_task.workflow.script_engine
        result = engine.evaluate_decision(my_task, self.decision_ref, self.map_result)
        my_task.data[self.result_variable] = result
        return True


class ServiceCallTaskConverter(SpiffBpmnTaskConverter):  # type: ignore[misc]
    def to_dict(self, spec: ServiceCallTask) -> dict[str, Any]:
        dct: dict[str, Any] = super().to_dict(spec)
        dct["operation"] = spec.operation
        dct["parameters"] = spec.parameters
        dct["result_variable"] = spec.result_variable
        dct["retry"] = spec.retry
        dct["external"] = spec.external
        return dct


class DecisionTaskConverter(SpiffBpmnTaskConverter):  # type: ignore[misc]
    def to_dict(self, spec: DecisionTask) -> dict[str, Any]:
        dct: dict[str, Any] = super().to_dict(spec)
        dct["decision_ref"] = spec.decision_ref
        dct["result_variable"] = spec.result_variable
        dct["map_result"] = spec.map_result
        return dct


class ScopedUserTask(UserTask, LocalScope):  # type: ignore[misc]
    """A user task with local variables (``camunda:inputOutput``)."""


class ScopedScriptTask(ScriptTask, LocalScope):  # type: ignore[misc]
    """A script task with local variables."""


class ScopedSubWorkflowTask(SubWorkflowTask, LocalScope):  # type: ignore[misc]
    """An embedded subprocess with local variables."""


class ScopedServiceCallTask(ServiceCallTask, LocalScope):
    """A service task with local variables; the call receives the input parameters."""


class ScopedDecisionTask(DecisionTask, LocalScope):
    """A business rule task with local variables."""


class ScopedPassThroughTask(PassThroughTask, LocalScope):
    """A plain or manual task with local variables."""


class ScopedCallActivityTask(CallActivityTask, LocalScope):
    """A call activity with local variables, which its ``camunda:in`` mappings may pass."""


# The spec class an activity with ``camunda:inputOutput`` gets instead of its usual one;
# activities without it keep the usual class and pay nothing for scopes.
SCOPED: dict[type, type] = {
    UserTask: ScopedUserTask, ScriptTask: ScopedScriptTask,
    SubWorkflowTask: ScopedSubWorkflowTask, ServiceCallTask: ScopedServiceCallTask,
    DecisionTask: ScopedDecisionTask, PassThroughTask: ScopedPassThroughTask,
    CallActivityTask: ScopedCallActivityTask,
}


def serializer_config() -> dict[Any, Any]:
    """Return SpiffWorkflow's spiff serializer config extended with Bridgeflow's specs."""
    config = dict(SPIFF_CONFIG)
    config[ServiceCallTask] = ServiceCallTaskConverter
    config[DecisionTask] = DecisionTaskConverter
    config[PassThroughTask] = SpiffBpmnTaskConverter
    config[CallActivityTask] = CallActivityConverter
    config[CompensationThrowEvent] = CompensationConverter
    config[CompensationEndEvent] = CompensationConverter
    config[CamundaParallelMultiInstanceTask] = SpiffMultiInstanceConverter
    config[CamundaSequentialMultiInstanceTask] = SpiffMultiInstanceConverter
    for usual, scoped in SCOPED.items():
        config[scoped] = config[usual]
    config[ScopedErrorEventDefinition] = ErrorEscalationEventDefinitionConverter
    config[ScopedEscalationEventDefinition] = ErrorEscalationEventDefinitionConverter
    return config
