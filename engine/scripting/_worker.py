"""A script worker process: runs scripts and expressions under hard operating-system limits.

Started by ``_pool`` as ``python -I -S this_file`` (no site-packages, no environment), it
imports only ``engine.scripting`` and the modules named for extra globals, then:

* caps its address space with ``RLIMIT_AS`` (the memory limit: an allocation past it fails
  with ``MemoryError``, which is reported, and the worker is replaced);
* before each call arms ``ITIMER_PROF`` with the CPU limit; ``SIGPROF`` has no handler here,
  so the kernel ends the process even inside one long C call (a comparison of nested lists);
* answers each request with one JSON frame on stdout and exits when stdin closes.
"""

from __future__ import annotations

import importlib
import resource
import signal
import sys
import types
from pathlib import Path
from typing import Any


def _bootstrap() -> None:
    """Make ``engine.scripting`` importable without running ``engine/__init__`` (which loads
    SpiffWorkflow and SQLAlchemy: seconds and megabytes a script worker does not need)."""
    root = Path(__file__).resolve().parents[2]
    sys.path[0] = str(root)
    package = types.ModuleType("engine")
    package.__path__ = [str(root / "engine")]
    sys.modules["engine"] = package


def _serve(stdin: int, stdout: int) -> None:
    from engine.scripting._engine import Sandbox
    from engine.scripting._wire import decode, encode, read_frame, write_frame

    setup = decode(read_frame(stdin, 1 << 20) or b"{}")
    extras = {name: getattr(importlib.import_module(module), factory)(*args)
              for name, (module, factory, args) in setup["extras"].items()}
    sandbox = Sandbox(time_limit=setup["time_limit"], max_size=setup["max_size"],
                      extra_globals=extras)
    memory, max_output = setup["memory_bytes"], setup["max_output_bytes"]
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    write_frame(stdout, encode({"ready": True}))
    while True:
        frame = read_frame(stdin, 1 << 31)
        if frame is None:
            return
        request = decode(frame)
        signal.setitimer(signal.ITIMER_PROF, setup["cpu_seconds"])
        try:
            reply = _run(sandbox, request, memory)
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
        try:
            data = encode(reply)
        except (TypeError, ValueError, RecursionError) as exc:
            data = encode(_failed(f"the result cannot be handed back: {exc}", None, None))
        if len(data) > max_output:
            data = encode(_failed(f"the result is {len(data):,} bytes of data; at most "
                                  f"{max_output:,} may come back (the output size limit)",
                                  None, "output size limit"))
        del reply
        write_frame(stdout, data)


def _run(sandbox: Any, request: dict[str, Any], memory: int) -> dict[str, Any]:
    from engine.scripting._engine import SandboxError

    try:
        if request["op"] == "eval":
            value = sandbox.evaluate(request["source"], request["context"],
                                     element_id=request["element_id"])
            return {"ok": True, "value": value}
        context = request["context"]
        sandbox.execute(request["source"], context, element_id=request["element_id"])
        return {"ok": True, "value": context}
    except SandboxError as exc:
        if isinstance(exc.__cause__, MemoryError):
            return _failed(f"the script needed more than {memory // 2**20:,} MB of memory "
                           "(the memory limit); look for a loop that keeps every value it makes",
                           exc.line, "memory limit")
        return _failed(exc.message, exc.line, exc.limit)
    except MemoryError:
        return _failed(f"the script needed more than {memory // 2**20:,} MB of memory "
                       "(the memory limit)", None, "memory limit")


def _failed(reason: str, line: int | None, limit: str | None) -> dict[str, Any]:
    return {"ok": False, "reason": reason, "line": line, "limit": limit}


if __name__ == "__main__":
    _bootstrap()
    _serve(sys.stdin.fileno(), sys.stdout.fileno())
