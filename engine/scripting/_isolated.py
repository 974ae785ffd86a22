"""The sandbox the engine uses: checks in-process, runs in worker processes under OS limits.

Every script and expression is first checked and compiled here (the AST rules are the first
line of defence, and a refusal needs no worker). Code in the bounded subset (``_bounded``)
then runs in-process, where its cost is provably small; everything else goes to a worker of
``_pool``, where the operating system enforces a CPU limit (``ITIMER_PROF``) and a memory
limit (``RLIMIT_AS``), and the answer's size is capped. A breach is a ``SandboxError`` that
names the limit (``.limit``) and the element; the worker is then replaced.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from engine.scripting._bounded import reads_only_scalars
from engine.scripting._engine import Sandbox, SandboxError
from engine.scripting._pool import ExtraGlobal, WorkerLimits, WorkerPool, pool_key, shared_pool
from engine.scripting._wire import WireError


class IsolatedSandbox(Sandbox):
    """A ``Sandbox`` whose unbounded scripts and expressions run in worker processes."""

    def __init__(self, limits: WorkerLimits,
                 extras: Mapping[str, ExtraGlobal] | None = None) -> None:
        extras = dict(extras or {})
        built = {name: getattr(importlib.import_module(module), factory)(*args)
                 for name, (module, factory, args) in extras.items()}
        super().__init__(time_limit=limits.time_limit, max_size=limits.max_size,
                         extra_globals=built)
        self._worker_limits, self._extras = limits, extras
        self._pool_key = pool_key(limits, extras)

    @property
    def pool(self) -> WorkerPool:
        """This process's pool of script workers for these limits."""
        return shared_pool(self._worker_limits, self._extras, self._pool_key)

    def evaluate(self, expression: str, context: Mapping[str, Any], *,
                 element_id: str | None = None) -> Any:
        """Return the value of ``expression``; in-process if it is bounded, else in a worker."""
        if self._compiled(expression, "eval", element_id).bounded:
            return super().evaluate(expression, context, element_id=element_id)
        return self._remote("eval", expression, context, element_id)

    def execute(self, script: str, context: dict[str, Any], *,
                element_id: str | None = None) -> None:
        """Run ``script``; in-process if it is bounded for the data it reads, else in a worker."""
        compiled = self._compiled(script, "exec", element_id)
        if compiled.bounded and (compiled.container_safe
                                 or reads_only_scalars(compiled.reads, context)):
            super().execute(script, context, element_id=element_id)
            return
        variables = self._remote("exec", script, context, element_id)
        context.clear()
        context.update(variables)

    def _remote(self, op: str, source: str, context: Mapping[str, Any],
                element_id: str | None) -> Any:
        kind = "expression" if op == "eval" else "script"
        request = {"op": op, "source": source, "context": dict(context), "element_id": element_id}
        try:
            reply = self.pool.call(request)
        except (TypeError, ValueError, RecursionError) as exc:
            raise SandboxError(f"the process variables cannot be passed to the {kind}: {exc}",
                               element_id=element_id, source=source, kind=kind) from exc
        except WireError as exc:
            raise SandboxError(f"{exc.reason}; the script worker was replaced",
                               element_id=element_id, source=source, kind=kind,
                               limit=exc.limit) from exc
        if not reply["ok"]:
            raise SandboxError(reply["reason"], element_id=element_id, line=reply["line"],
                               source=source, kind=kind, limit=reply["limit"])
        return reply["value"]
