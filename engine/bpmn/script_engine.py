"""SpiffWorkflow's script engine, backed by Bridgeflow's sandbox and DMN engine."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine

from ..dmn.expressions import FeelSyntaxError, compile_feel, is_feel
from ..scripting import Sandbox, SandboxError

DecisionEvaluator = Callable[[str, dict[str, Any], str | None], Any]


class SandboxScriptEngine(PythonScriptEngine):  # type: ignore[misc]
    """Evaluate every expression and script of a BPMN file inside the sandbox.

    An expression that starts with ``=`` is FEEL (as Camunda 8 writes conditions) and runs in
    Bridgeflow's FEEL engine instead; it never runs as Python.
    """

    def __init__(self, sandbox: Sandbox, decide: DecisionEvaluator) -> None:
        super().__init__()
        self.sandbox = sandbox
        self.decide = decide

    def validate(self, expression: str) -> None:
        if is_feel(expression):
            compile_feel(expression)
        else:
            self.sandbox.check(expression, mode="eval")

    def evaluate(self, task: Any, expression: str, external_context: Any = None) -> Any:
        context = task.data if not external_context else {**external_context, **task.data}
        if is_feel(expression):
            try:
                return compile_feel(expression)(context)
            except FeelSyntaxError as exc:
                raise WorkflowTaskException(f"the FEEL expression {expression!r} cannot be "
                                            f"read {exc.describe()}", task=task,
                                            exception=exc) from exc
            except Exception as exc:  # noqa: BLE001 - a FEEL run-time failure: an incident
                raise WorkflowTaskException(f"the FEEL expression {expression!r} failed: {exc}",
                                            task=task, exception=exc) from exc
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
