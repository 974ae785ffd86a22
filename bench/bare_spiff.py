"""Bare SpiffWorkflow with the same advantage Bridgeflow has: scripts compiled once, cached.

SpiffWorkflow's ``TaskDataEnvironment`` hands the source text to ``eval`` / ``exec``, which
compile it again on every evaluation; Bridgeflow's sandbox caches compiled code. This
environment does what the library's does, with a compile cache, so a comparison measures the
engines rather than the missing cache.
"""

from __future__ import annotations

import copy
from typing import Any

from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine, TaskDataEnvironment


class CachedEnvironment(TaskDataEnvironment):  # type: ignore[misc]
    """``TaskDataEnvironment`` with each expression and script compiled once."""

    def __init__(self) -> None:
        super().__init__()
        self._code: dict[tuple[str, str], Any] = {}

    def _compiled(self, source: str, mode: str) -> Any:
        code = self._code.get((source, mode))
        if code is None:
            code = self._code[(source, mode)] = compile(source, "<script>", mode)
        return code

    def evaluate(self, expression: str, context: Any, external_context: Any = None) -> Any:
        my_globals = copy.copy(self.globals)
        self._prepare_context(context)
        my_globals.update(external_context or {})
        my_globals.update(context)
        return eval(self._compiled(expression, "eval"), my_globals)  # noqa: S307

    def execute(self, script: str, context: Any, external_context: Any = None) -> bool:
        self.check_for_overwrite(context, external_context or {})
        my_globals = copy.copy(self.globals)
        self._prepare_context(context)
        my_globals.update(external_context or {})
        context.update(my_globals)
        try:
            exec(self._compiled(script, "exec"), context)  # noqa: S102
        finally:
            self._remove_globals_and_functions_from_context(context, external_context)
        return True


def cached_script_engine() -> PythonScriptEngine:
    """A script engine over ``CachedEnvironment``."""
    return PythonScriptEngine(environment=CachedEnvironment())
