"""The ``Sandbox``: compile (once), then run script source under the checker's rules and limits."""

from __future__ import annotations

import ast
import builtins
import copy
import functools
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from types import CodeType, TracebackType
from typing import Any, Literal

from engine.errors import EngineError
from engine.scripting._bounded import classify
from engine.scripting._checker import Mode, Rejected, check_tree
from engine.scripting._instrument import HELPER_PREFIX, instrument
from engine.scripting._runtime import Abort, Limits, math_namespace

#: How many distinct (source, mode) pairs keep their compiled code.
CACHE_SIZE = 4096
#: Calls of script-defined functions that may be active at once (each uses two Python frames).
MAX_CALL_DEPTH = 100
_FILENAME = "<bpmn script>"
_SCALARS = frozenset({bool, int, float, str, type(None), Decimal, date, datetime, timedelta})
_ABSENT = object()  # a name the variables given to a script did not have
_EXCEPTIONS = (Exception, ValueError, KeyError, TypeError, ZeroDivisionError, IndexError)
_SAFE_BUILTINS = (
    abs, all, any, bool, dict, divmod, enumerate, filter, float, int, len, list, map, max, min,
    reversed, set, frozenset, sorted, tuple, zip,
)
#: Modules C code may import on a script's behalf (``datetime.strptime`` loads ``_strptime``).
_IMPORTABLE = frozenset({"_strptime"})
_MAX_REASON = 500
_OUTSIDE_RUN = ("functions and generators made by a script can only run while the script runs; "
                "return data (lists, dicts) instead")


class SandboxError(EngineError):
    """A script or expression was refused, failed, or hit a limit; says where and why."""

    code = "script_error"

    def __init__(
        self,
        message: str,
        *,
        element_id: str | None = None,
        line: int | None = None,
        source: str = "",
        kind: str = "script",
        limit: str | None = None,
    ) -> None:
        where = kind + (f" '{element_id}'" if element_id else "")
        where += f" line {line}" if line is not None else ""
        super().__init__(f"{where}: {message}", {"element_id": element_id, "line": line})
        self.message = message
        self.element_id = element_id
        self.line = line
        self.source = source
        self.limit = limit  # the limit that stopped it ("time limit", "memory limit"…), if any


@dataclass(frozen=True)
class _Compiled:
    code: CodeType
    needs_run: bool  # has loops or functions: needs a deadline and a call depth
    helpers: frozenset[str]  # names of the sandbox helpers the code calls
    bounded: bool = False  # in the subset whose cost is provably small (see _bounded)
    container_safe: bool = False  # ...even when a script reads lists and dicts
    reads: tuple[str, ...] = ()  # the names the code reads


@dataclass
class _Run:
    deadline: float
    depth: int = 0


class Sandbox:
    """Check, compile and run BPMN script tasks and expressions with restricted builtins."""

    def __init__(
        self,
        *,
        time_limit: float = 1.0,
        max_size: int = 1_000_000,
        extra_globals: Mapping[str, Any] | None = None,
    ) -> None:
        self.time_limit = time_limit
        self.max_size = max_size
        self._limits = Limits(max_size)
        self._local = threading.local()
        self._timeout = (f"the script took longer than {time_limit} s (the time limit); "
                         "look for a loop that never ends")
        self._builtins = self._make_builtins(dict(extra_globals or {}))
        self._globals: dict[str, Any] = {"__builtins__": self._builtins}
        self._compile = functools.lru_cache(maxsize=CACHE_SIZE)(self._compile_uncached)

    # Public API ----------------------------------------------------------------------------

    def check(
        self, source: str, *, mode: Literal["eval", "exec"], element_id: str | None = None
    ) -> None:
        """Parse and validate without running; raise SandboxError for syntax errors and
        forbidden constructs. Used at deploy time."""
        self._compiled(source, mode, element_id)

    def evaluate(self, expression: str, context: Mapping[str, Any], *,
                 element_id: str | None = None) -> Any:
        """Return the value of ``expression`` with ``context`` as its variables."""
        compiled = self._compiled(expression, "eval", element_id)
        if compiled.helpers:
            self._refuse_reserved(compiled, context, expression, "expression", element_id)
        try:
            if not compiled.needs_run:  # the fast path taken by ordinary conditions
                result = eval(compiled.code, self._globals, context)
            else:
                namespace = {**context, "__builtins__": self._builtins}
                result = self._run(compiled, namespace)
            if type(result) not in _SCALARS:
                self._check_result(result)
        except (Exception, Abort) as exc:
            raise self._failure(exc, expression, "expression", element_id) from exc
        return result

    def execute(self, script: str, context: dict[str, Any], *,
                element_id: str | None = None) -> None:
        """Run the script with `context` as its variables; names the script assigns end up in
        `context` (like exec(script, context)), but never __builtins__, modules, functions or
        lambdas it defined, nor the sandbox's own helpers."""
        compiled = self._compiled(script, "exec", element_id)
        if compiled.helpers:
            self._refuse_reserved(compiled, context, script, "script", element_id)
        try:  # a failing script must leave `context` untouched; bounded code cannot change a
            # value in place (no method calls, no item assignment), so a shallow copy does
            given = dict(context) if compiled.bounded else copy.deepcopy(context)
        except Exception as exc:
            raise SandboxError(f"the process variables cannot be copied for the script: {exc}",
                               element_id=element_id, source=script) from exc
        namespace = {**given, "__builtins__": self._builtins}
        try:
            self._run(compiled, namespace)
            variables = self._variables(namespace, given)
        except (Exception, Abort) as exc:
            raise self._failure(exc, script, "script", element_id) from exc
        context.clear()
        context.update(variables)

    # Compiling -----------------------------------------------------------------------------

    @staticmethod
    def _refuse_reserved(compiled: _Compiled, context: Mapping[str, Any], source: str,
                         kind: str, element_id: str | None) -> None:
        """Refuse process variables that would shadow the helpers this code calls."""
        for name in compiled.helpers:
            if name in context:
                raise SandboxError(f"process variable '{name}' uses a name reserved for the "
                                   "sandbox", element_id=element_id, source=source, kind=kind)

    def _compiled(self, source: str, mode: Mode, element_id: str | None) -> _Compiled:
        try:
            return self._compile(source, mode)
        except Rejected as exc:
            kind = "expression" if mode == "eval" else "script"
            raise SandboxError(exc.reason, element_id=element_id, line=exc.line,
                               source=source, kind=kind) from None

    def _compile_uncached(self, source: str, mode: Mode) -> _Compiled:
        if len(source) > self.max_size:
            raise Rejected(f"the source is longer than {self.max_size:,} characters", None)
        try:
            tree = ast.parse(source, _FILENAME, mode)
            assert isinstance(tree, ast.Module | ast.Expression)
            check_tree(tree, mode)
            bound = classify(tree)
            names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
            reads = tuple(sorted(names))
            rewritten, needs_run = instrument(tree)
            code = compile(rewritten, _FILENAME, mode)
        except SyntaxError as exc:
            raise Rejected(f"syntax error: {exc.msg}", exc.lineno) from None
        except ValueError as exc:  # e.g. a NUL character in the source
            raise Rejected(f"syntax error: {exc}", None) from None
        except (RecursionError, MemoryError):
            raise Rejected("the source is nested too deeply to check", None) from None
        return _Compiled(code, needs_run, _helper_names(code), bound.bounded,
                         bound.container_safe, reads)

    # Running -------------------------------------------------------------------------------

    def _run(self, compiled: _Compiled, namespace: dict[str, Any]) -> Any:
        previous = getattr(self._local, "run", None)  # a helper may run a nested script
        run = self._local.run = _Run(time.monotonic() + self.time_limit)
        try:
            result = eval(compiled.code, namespace)
        finally:
            self._local.run = previous
        if time.monotonic() > run.deadline:  # one long step the ticks could not interrupt
            raise Abort(self._timeout, "time limit")
        return result

    def _tick(self) -> bool:
        run: _Run | None = getattr(self._local, "run", None)
        if run is None:
            raise SandboxError(_OUTSIDE_RUN)  # in engine code: no script to stop
        if time.monotonic() > run.deadline:
            raise Abort(self._timeout, "time limit")
        return True

    def _guard(self, function: Callable[..., Any]) -> Callable[..., Any]:
        """Wrap a script-defined function so that calling it counts against the limits."""
        local, timeout = self._local, self._timeout

        def guarded(*args: Any, **kwargs: Any) -> Any:
            run: _Run | None = getattr(local, "run", None)
            if run is None:
                raise SandboxError(_OUTSIDE_RUN)
            if run.depth >= MAX_CALL_DEPTH:
                raise Abort(f"function calls are nested more than {MAX_CALL_DEPTH} deep "
                            "(the recursion limit); look for a recursion that never ends")
            if time.monotonic() > run.deadline:
                raise Abort(timeout, "time limit")
            run.depth += 1
            try:
                return function(*args, **kwargs)
            finally:
                run.depth -= 1

        return guarded

    def _variables(self, namespace: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
        """Pick the variables to hand back: no builtins, functions or oversized new values."""
        variables: dict[str, Any] = {}
        for name, value in namespace.items():
            if name == "__builtins__":
                continue
            before = given.get(name, _ABSENT)
            if before is value:  # a variable the script did not change: kept as it was
                variables[name] = value
                continue
            if before is _ABSENT and name.startswith("_"):
                continue
            if callable(value) or isinstance(value, Iterator):
                continue  # code, not data: like exec() in SpiffWorkflow, drop it
            if type(value) not in _SCALARS:
                self._limits.refuse_heavy(value, f"keeping variable '{name}'")
            variables[name] = value
        return variables

    def _check_result(self, result: Any) -> None:
        if isinstance(result, Iterator) or callable(result):
            raise Abort(f"the expression's value is a {type(result).__name__}, which cannot "
                        "leave the sandbox; return data (wrap an iterator in list(...))")
        self._limits.refuse_heavy(result, "returning the expression's value")

    # Builtins and errors -------------------------------------------------------------------

    def _make_builtins(self, extra: dict[str, Any]) -> dict[str, Any]:
        limits = self._limits
        script_str, script_int = limits.make_types()
        names: dict[str, Any] = {f.__name__: f for f in (*_SAFE_BUILTINS, *_EXCEPTIONS)}
        names.update(
            str=script_str, int=script_int, range=limits.range,
            sum=limits.sum, round=limits.round, datetime=datetime, date=date,
            timedelta=timedelta, Decimal=Decimal, math=math_namespace(limits),
        )
        types = {v for v in names.values() if isinstance(v, type)} | {str, int}
        names["isinstance"] = _make_isinstance(types, {script_str: str, script_int: int})
        names.update(extra)
        helpers: dict[str, Any] = {
            "tick": self._tick, "guard": self._guard, "mul": limits.mul, "pow": limits.pow,
            "lshift": limits.lshift, "add": limits.add, "mod": limits.mod,
            "in_place": limits.in_place, "in_place_item": limits.in_place_item,
            "method": limits.method, "format": limits.format_value, "slice": slice,
        }
        names.update({HELPER_PREFIX + name: helper for name, helper in helpers.items()})
        names["__import__"] = _import_for_c_code
        return names

    def _failure(self, exc: BaseException, source: str, kind: str,
                 element_id: str | None) -> SandboxError:
        if isinstance(exc, Abort):
            reason = exc.reason
        elif isinstance(exc, SandboxError):
            reason = exc.message
        elif isinstance(exc, RecursionError):
            reason = "function calls are nested too deeply (the recursion limit)"
        elif isinstance(exc, NameError) and exc.name:
            reason = (f"name '{exc.name}' is not defined: it is neither a process variable nor "
                      "a function available to scripts")
        else:
            reason = f"{type(exc).__name__}: {exc}"
        if len(reason) > _MAX_REASON:
            reason = reason[: _MAX_REASON - 3] + "..."
        line = _script_line(exc.__traceback__)
        limit = exc.limit if isinstance(exc, Abort | SandboxError) else None
        return SandboxError(reason, element_id=element_id, line=line, source=source, kind=kind,
                            limit=limit)


def _helper_names(code: CodeType) -> frozenset[str]:
    names = {name for name in code.co_names if name.startswith(HELPER_PREFIX)}
    for const in code.co_consts:
        if isinstance(const, CodeType):
            names |= _helper_names(const)
    return frozenset(names)


def _script_line(traceback: TracebackType | None) -> int | None:
    """Return the line of the innermost frame that belongs to the script, if any."""
    line = None
    while traceback is not None:
        if traceback.tb_frame.f_code.co_filename == _FILENAME:
            line = traceback.tb_lineno
        traceback = traceback.tb_next
    return line


def _make_isinstance(allowed: set[type], real: dict[type, type]) -> Callable[[Any, Any], bool]:
    def script_isinstance(value: Any, types: Any) -> bool:
        wanted = types if isinstance(types, tuple) else (types,)
        wanted = tuple(real.get(t, t) for t in wanted)
        if not all(isinstance(t, type) and t in allowed for t in wanted):
            raise TypeError("isinstance() only accepts the types available in scripts")
        return isinstance(value, wanted)

    return script_isinstance


def _import_for_c_code(name: str, *args: Any, **kwargs: Any) -> Any:
    if name not in _IMPORTABLE:
        raise ImportError(f"imports are not available in scripts (tried '{name}')")
    return builtins.__import__(name, *args, **kwargs)
