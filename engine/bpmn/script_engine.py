"""SpiffWorkflow's script engine, backed by Bridgeflow's sandbox and DMN engine."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine

from ..scripting import Sandbox, SandboxError

DecisionEvaluator = Callable[[str, dict[str, Any], str | None], Any]


class SandboxScriptEngine(PythonScriptEngine):  # type: ignore[misc]
    """Evaluate every expression and script of a BPMN file inside the sandbox."""

    def __init__(self, sandbox: Sandbox, decide: DecisionEvaluator) -> None:
        super().__init__()
        self.sandbox = sandbox
        self.decide = decide

    def validate(self, expression: str) -> None:
        self.sandbox.check(expression, mode="eval")

    def evaluate(self, task: Any, expression: str, external_context: Any = None) -> Any:
        context = task.data if not external_context else {**external_context, **task.data}
        try:
            return self.sandbox.evaluate(expression, context, element_id=task.task_spec.bpmn_id)
        except SandboxError as exc:
            raise _task_error(task, exc) from exc

    def execute(self, task: Any, script: str, external_context: Any = None) -> bool:
        try:
            self.sandbox.execute(script, task.data, element_id=task.task_spec.bpmn_id)
        except SandboxError as exc:
            raise _task_error(task, exc) from exc
        return True

    def evaluate_decision(self, task: Any, decision_ref: str, mapping: str | None = None) -> Any:
        try:
            return self.decide(decision_ref, task.data, mapping)
        except Exception as exc:
            raise WorkflowTaskException(str(exc), task=task, exception=exc) from exc


def _task_error(task: Any, exc: SandboxError) -> WorkflowTaskException:
    err = WorkflowTaskException(str(exc), task=task, exception=exc,
                                line_number=exc.line or 0, error_line="")
    return err
