"""Running a definition's test files in a child process under limits the OS enforces.

The child (``python -m engine.test_run_process``) sets its own CPU and address-space limits
before it reads a byte of the tests, takes the files on stdin and writes the results as one
JSON document on stdout. The parent kills the child's whole process group (the script
workers it started too) when the wall-clock limit passes or the output grows past its cap.
"""

from __future__ import annotations

import json
import os
import selectors
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import EngineError
from .test_files import FileResult, result_from_json, result_to_json


class TestRunLimitError(EngineError):
    """A test run went past one of its limits, or its process ended without results."""

    __test__ = False
    code = "test_run_limit"


@dataclass(frozen=True)
class RunLimits:
    """What one run may take: wall-clock seconds, address space, bytes of results."""

    seconds: float
    memory_mb: int
    max_output_bytes: int


def run_isolated(tests: dict[str, str], sources: dict[str, bytes],
                 limits: RunLimits) -> list[FileResult]:
    """Run every test file of ``tests`` (name → text) against ``sources`` in a child
    process; a breached limit is a ``TestRunLimitError`` that says which."""
    request = json.dumps({
        "tests": tests, "sources": {n: s.decode("utf-8", "replace") for n, s in sources.items()},
        "cpu_seconds": max(1, int(limits.seconds) + 1), "memory_mb": limits.memory_mb,
    }).encode()
    # the child imports this very engine package, wherever the parent was started from
    here = str(Path(__file__).resolve().parents[1])
    path = os.pathsep.join(p for p in (here, os.environ.get("PYTHONPATH")) if p)
    child = subprocess.Popen([sys.executable, "-m", "engine.test_run_process"],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, start_new_session=True,
                             env={**os.environ, "PYTHONPATH": path})
    try:
        output = _read_bounded(child, request, limits)
    finally:
        _end(child)
    if not output.endswith(b"\n"):
        raise TestRunLimitError(_death(child.returncode, limits))
    reply = json.loads(output)
    if "error" in reply:
        raise TestRunLimitError(f"the tests could not run: {reply['error']}")
    return [result_from_json(r) for r in reply["results"]]


def _read_bounded(child: subprocess.Popen[bytes], request: bytes,
                  limits: RunLimits) -> bytes:
    assert child.stdin is not None and child.stdout is not None
    deadline = time.monotonic() + limits.seconds
    try:
        child.stdin.write(request)
        child.stdin.close()
    except BrokenPipeError:
        pass  # it died at once: its exit status says why
    output = bytearray()
    with selectors.DefaultSelector() as selector:
        selector.register(child.stdout, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TestRunLimitError(f"the tests ran longer than {limits.seconds:g} seconds "
                                        "and were stopped")
            if not selector.select(left):
                continue
            chunk = os.read(child.stdout.fileno(), 65536)
            output += chunk
            if len(output) > limits.max_output_bytes:
                raise TestRunLimitError(f"the tests' results are larger than "
                                        f"{limits.max_output_bytes} bytes and were dropped")
            if not chunk or chunk.endswith(b"\n"):  # one line of JSON ends the answer
                break
    try:
        child.wait(max(0.1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        pass  # it answered: what it does after is ended below
    return bytes(output)


def _end(child: subprocess.Popen[bytes]) -> None:
    """Kill the child and every process it started (its own session), then reap it."""
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    child.wait()
    if child.stdout is not None:
        child.stdout.close()


def _death(returncode: int | None, limits: RunLimits) -> str:
    if returncode in (-signal.SIGXCPU, -signal.SIGKILL):
        return f"the tests used more than {limits.seconds:g} seconds of CPU and were stopped"
    if returncode is not None and returncode < 0:
        return f"the tests' process was ended by signal {-returncode}"
    return (f"the tests' process ended without results (exit status {returncode}); it may "
            f"have needed more than {limits.memory_mb} MB of memory")


def _child() -> int:
    """The child's side: limit ourselves, read the tests, run them, write the results."""
    import resource
    import sqlite3  # noqa: F401 - our own code is loaded before the limits; the tests' after

    from .process_tests import run_test_file

    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # what the tests' code prints must not mix with the results
    request = json.loads(sys.stdin.buffer.read())
    cpu = int(request["cpu_seconds"])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    # the soft limit only: the script workers this run starts set their own, and may not
    # raise a hard one (the tests are data; no code of theirs runs here to raise it)
    memory = int(request["memory_mb"]) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, resource.getrlimit(resource.RLIMIT_AS)[1]))
    try:
        sources = {n: s.encode() for n, s in request["sources"].items()}
        results = [run_test_file(name, text.encode(), sources)
                   for name, text in sorted(request["tests"].items())]
        answer = json.dumps({"results": [result_to_json(r) for r in results]}, default=str)
    except Exception as exc:  # noqa: BLE001 - the parent shows it to the analyst
        # at the memory limit any allocation fails, in whatever error its caller makes of it
        if isinstance(exc, MemoryError) or _peak_bytes() >= memory * 0.9:
            answer = json.dumps({"error": f"the tests needed more than {request['memory_mb']} "
                                          "MB of memory"})
        else:
            answer = json.dumps({"error": f"{type(exc).__name__}: {exc}"})
    out.write(answer.encode() + b"\n")
    out.close()
    return 0


def _peak_bytes() -> int:
    """The most address space this process has held (Linux), 0 where that is unknown."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmPeak:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(_child())
