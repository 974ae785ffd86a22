"""A small pool of persistent script worker processes; a worker that hits a limit is replaced.

Each engine process keeps at most ``workers`` of them per set of limits (shared by every
``IsolatedSandbox`` with the same limits), started on first use. A call takes an idle worker,
sends one request and waits for one answer, at most a wall-clock backstop of
``4 × cpu_seconds + 5`` s; the worker's own CPU timer and address-space limit are the real
bounds (see ``_worker``).
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from engine.scripting._wire import WireError, decode, encode, read_frame, write_frame

_WORKER = Path(__file__).with_name("_worker.py")
_START_SECONDS = 30.0

#: A global a script may call, built in each worker by ``module.factory(*args)``.
ExtraGlobal = tuple[str, str, tuple[Any, ...]]


@dataclass(frozen=True)
class WorkerLimits:
    """The limits of one pool: the sandbox's own, plus the operating system's."""

    time_limit: float = 1.0
    max_size: int = 1_000_000
    cpu_seconds: float = 2.0
    memory_mb: int = 512
    max_output_bytes: int = 16_000_000
    workers: int = 2


class _Worker:
    def __init__(self, setup: dict[str, Any]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-I", "-S", str(_WORKER)], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, close_fds=True)
        assert self.process.stdin is not None and self.process.stdout is not None
        self._in, self._out = self.process.stdin.fileno(), self.process.stdout.fileno()
        try:
            write_frame(self._in, encode(setup))
            if read_frame(self._out, 1 << 10, time.monotonic() + _START_SECONDS) is None:
                raise WireError("the script worker could not start", "worker died")
        except BaseException:
            self.stop()
            raise

    @property
    def pid(self) -> int:
        return self.process.pid

    def ask(self, request: bytes, max_bytes: int, deadline: float) -> Any:
        try:
            write_frame(self._in, request)
            reply = read_frame(self._out, max_bytes, deadline)
        except BrokenPipeError:
            reply = None
        if reply is None:
            raise WireError(*self._death())
        return decode(reply)

    def _death(self) -> tuple[str, str]:
        try:
            code = self.process.wait(5)
        except subprocess.TimeoutExpired:
            return "the script worker stopped answering", "worker died"
        if code == -signal.SIGPROF:
            return "CPU", "CPU limit"
        how = f"signal {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
        return f"the script worker process died ({how})", "worker died"

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


class WorkerPool:
    """Run requests in worker processes, at most ``limits.workers`` at a time."""

    def __init__(self, limits: WorkerLimits, extras: dict[str, ExtraGlobal]) -> None:
        self.limits = limits
        self._setup = {
            "time_limit": limits.time_limit, "max_size": limits.max_size,
            "cpu_seconds": limits.cpu_seconds, "memory_bytes": limits.memory_mb * 2**20,
            "max_output_bytes": limits.max_output_bytes, "extras": extras,
        }
        self._idle: list[_Worker] = []
        self._live: dict[int, _Worker] = {}
        self._ready = threading.Condition()
        self._starting = 0
        self.replaced = 0  # workers stopped after a breach
        self.calls = 0  # requests sent

    def call(self, request: dict[str, Any]) -> dict[str, Any]:
        """Send one request; return the worker's answer. A breach raises ``WireError`` naming
        the limit; the worker involved is stopped and a new one starts on the next call."""
        payload = encode(request)
        worker = self._take()
        keep = False
        wall = 4 * self.limits.cpu_seconds + 5
        try:
            deadline = time.monotonic() + wall
            reply: dict[str, Any] = worker.ask(payload, self.limits.max_output_bytes, deadline)
            keep = reply.get("ok") or reply.get("limit") is None
            return reply
        except WireError as exc:
            if exc.reason == "CPU":
                exc.reason = (f"the script used more than {self.limits.cpu_seconds} s of CPU "
                              "time (the CPU limit); look for one step that does too much, "
                              "like comparing deeply nested lists")
            elif exc.limit == "wall-clock limit":
                exc.reason = f"the script gave no answer within {wall} s (the wall-clock limit)"
            raise
        finally:
            self._give_back(worker, keep)

    def pids(self) -> list[int]:
        """The process ids of the running workers (for operators and tests)."""
        with self._ready:
            return sorted(self._live)

    def close(self) -> None:
        with self._ready:
            workers, self._idle, self._live = list(self._live.values()), [], {}
        for worker in workers:
            worker.stop()

    def _take(self) -> _Worker:
        with self._ready:
            while not self._idle and len(self._live) + self._starting >= self.limits.workers:
                self._ready.wait()
            self.calls += 1
            if self._idle:
                return self._idle.pop()
            self._starting += 1  # hold the slot while the process starts
        worker: _Worker | None = None
        try:
            worker = _Worker(self._setup)
            return worker
        finally:
            with self._ready:
                self._starting -= 1
                if worker is not None:
                    self._live[worker.pid] = worker
                self._ready.notify()

    def _give_back(self, worker: _Worker, keep: bool) -> None:
        if not keep:
            worker.stop()
        with self._ready:
            if keep:
                self._idle.append(worker)
            else:
                self._live.pop(worker.pid, None)
                self.replaced += 1
            self._ready.notify()


_POOLS: dict[tuple[int, str], WorkerPool] = {}
_POOLS_LOCK = threading.Lock()


def pool_key(limits: WorkerLimits, extras: dict[str, ExtraGlobal]) -> str:
    return json.dumps([asdict(limits), extras], sort_keys=True)


def shared_pool(limits: WorkerLimits, extras: dict[str, ExtraGlobal], key: str) -> WorkerPool:
    """The pool of this process for these limits (``key`` from ``pool_key``). A process
    forked from this one gets its own: it must not share the parent's pipes."""
    pool = _POOLS.get((os.getpid(), key))
    if pool is not None:
        return pool
    with _POOLS_LOCK:
        return _POOLS.setdefault((os.getpid(), key), WorkerPool(limits, extras))


@atexit.register
def _close_all() -> None:
    for (pid, _), pool in list(_POOLS.items()):
        if pid == os.getpid():
            pool.close()
