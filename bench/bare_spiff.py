"""Bare SpiffWorkflow with the same advantage Bridgeflow has: scripts compiled once, cached.

SpiffWorkflow's ``TaskDataEnvironment`` hands the source text to ``eval`` / ``exec``, which
compile it again on every evaluation, and its DMN engine checks every input and rule
expression with ``PythonScriptEngine.validate`` (``ast.parse``) on every evaluation too;
Bridgeflow's sandbox and DMN engine compile each expression once. This environment and
script engine do what the library's do, with those compilations cached, so a comparison
measures the engines rather than the missing caches.
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


class CachedScriptEngine(PythonScriptEngine):  # type: ignore[misc]
    """``PythonScriptEngine`` whose ``validate`` parses each text once.

    The DMN engine calls ``validate`` to learn whether a rule's text parses as is (else it
    prefixes a name and tries again): a ``SyntaxError`` is an answer, so it is kept too and
    raised again for the same text.
    """

    def __init__(self, environment: Any = None) -> None:
        super().__init__(environment=environment)
        self._parsed: dict[str, SyntaxError | None] = {}

    def validate(self, expression: str) -> None:
        if expression not in self._parsed:
            try:
                super().validate(expression)
            except SyntaxError as exc:
                self._parsed[expression] = exc
            else:
                self._parsed[expression] = None
        error = self._parsed[expression]
        if error is not None:
            raise SyntaxError(*error.args)


def cached_script_engine() -> PythonScriptEngine:
    """A script engine that compiles each script, condition and DMN text once."""
    return CachedScriptEngine(environment=CachedEnvironment())
