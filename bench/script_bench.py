"""Cost of one script call and one expression call: in-process (before) vs isolated (after).

Run: .venv/bin/python bench/script_bench.py [--calls N] [--n N]

For each case, microseconds per call of:
  in-process  the plain ``Sandbox`` (how every script ran before issue 12);
  isolated    ``IsolatedSandbox`` as the engine uses it: bounded code in-process, the rest in
              a script worker process;
  worker      the same call forced through a worker (the round trip every unbounded call pays).
Then the all-automatic engine bench (bench/engine_bench.py) for this tree: its median ratio
Bridgeflow/bare. Compare trees by running this script in each, in the same time window.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.scripting import IsolatedSandbox, Sandbox, WorkerLimits  # noqa: E402

CONTEXT = {"lines": [{"qty": 3, "price": 500.0}], "total": 1500.0, "count": 1, "discount": 5}
CASES = [  # (what, mode, source)
    ("condition", "eval", "total > 1000 and count >= 1"),
    ("script, straight line", "exec", "net = round(total * (100 - discount) / 100, 2)"),
    ("script, generator", "exec", 'total = sum(line["qty"] * line["price"] for line in lines)'),
    ("script, loop", "exec", "total = 0\nfor line in lines:\n    total += line['qty'] * 2"),
]


def per_call_us(call: Callable[[], Any], calls: int) -> float:
    """Median of 5 rounds of ``calls`` calls, in microseconds per call."""
    call()
    rounds = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(calls):
            call()
        rounds.append((time.perf_counter() - start) / calls * 1e6)
    return statistics.median(rounds)


def runner(sandbox: Sandbox, mode: str, source: str, remote: bool) -> Callable[[], Any]:
    if remote:
        assert isinstance(sandbox, IsolatedSandbox)
        return lambda: sandbox._remote(mode, source, dict(CONTEXT), "bench")
    if mode == "eval":
        return lambda: sandbox.evaluate(source, CONTEXT, element_id="bench")
    return lambda: sandbox.execute(source, dict(CONTEXT), element_id="bench")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--calls", type=int, default=400, help="calls per round (default 400)")
    ap.add_argument("--n", type=int, default=700, help="instances for the engine bench")
    args = ap.parse_args()

    plain = Sandbox()
    isolated = IsolatedSandbox(WorkerLimits())
    print(f"{'case':<24}{'in-process':>12}{'isolated':>12}{'worker':>12}   (us per call)")
    for what, mode, source in CASES:
        bounded = isolated._compiled(source, mode, None).bounded
        figures = [per_call_us(runner(plain, mode, source, False), args.calls),
                   per_call_us(runner(isolated, mode, source, False), args.calls),
                   per_call_us(runner(isolated, mode, source, True), args.calls)]
        print(f"{what:<24}" + "".join(f"{f:12.1f}" for f in figures)
              + ("   bounded: in-process" if bounded else "   unbounded: in a worker"))
    isolated.pool.close()

    import engine_bench  # bench/ is on sys.path as this script's directory

    sys.argv = [sys.argv[0], "--n", str(args.n)]
    engine_bench.main()


if __name__ == "__main__":
    main()
