"""Reading an instance's variables on SQLite: the full path against the one without a walk.

A ``SealedJSON`` column (an instance's variables, a task's completion data) comes from
SQLite as text. The full path decodes it and walks the result for sealed values and
escaped keys; when the text holds no ``$enc"`` there are none, and ``SealedJSON``'s result
processor only decodes it. For orders of 1, 50 and 500 lines (about 0.2, 4 and 40 KB of
JSON), in one run, alternating: microseconds a read each way (medians of 7 rounds) and the
ratio. Both answers are checked equal first.

    .venv/bin/python bench/variables_read.py
"""

from __future__ import annotations

import base64
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine import Engine  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.db import Database  # noqa: E402
from engine.sealed_columns import SealedJSON  # noqa: E402

ROUNDS = 7


def order(lines: int) -> dict[str, Any]:
    return {"order": {"number": "SO-1001",
                      "customer": {"name": "ACME", "city": "Lyon", "vat": "FR123"},
                      "lines": [{"sku": f"SKU-{i}", "qty": i % 7 + 1, "price": 12.5 + i,
                                 "description": "Widget, blue, boxed"} for i in range(lines)]},
            "total": 1234.5, "approved": True, "notes": ["checked", "priority"]}


def per_read(read: Any, stored: str, reads: int) -> float:
    began = time.perf_counter()
    for _ in range(reads):
        read(stored)
    return (time.perf_counter() - began) / reads * 1e6


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bf-bench-") as tmp:
        db = Database(f"sqlite:///{tmp}/bench.db")
        key = base64.b64encode(os.urandom(32)).decode()
        Engine(db, Settings(encryption_keys=f"k1:{key}"))  # the database's protector
        dialect = db.sql_engine.dialect
        column: Any = SealedJSON().dialect_impl(dialect)
        fast = column.result_processor(dialect, None)

        def full(text: str) -> Any:  # what the column did before: decode, then walk
            return column.process_result_value(json.loads(text), dialect)

        print("lines  bytes  full path (us)  without the walk (us)  ratio")
        for lines in (1, 50, 500):
            stored = column.bind_processor(dialect)(order(lines))
            assert fast(stored) == full(stored) == order(lines)
            reads = max(20, 20_000 // lines)
            times: dict[str, list[float]] = {"full": [], "fast": []}
            for r in range(ROUNDS):
                for name in (("full", "fast") if r % 2 else ("fast", "full")):
                    times[name].append(per_read(full if name == "full" else fast, stored,
                                                reads))
            slow, quick = statistics.median(times["full"]), statistics.median(times["fast"])
            print(f"{lines:5}  {len(stored):5}  {slow:14.1f}  {quick:21.1f}  {slow / quick:5.1f}x")
        db.dispose()


if __name__ == "__main__":
    main()
