"""Pages of SQLite's write-ahead log one automatic start writes, by table and index.

Run: .venv/bin/python bench/wal_pages.py [--warm 3000] [--starts 40]

The engine_bench process (tests/fixtures/processes/auto_steps.bpmn) on a fresh temp-file
SQLite database: ``--warm`` starts first (so the b-trees have their working depth), then
``--starts`` single starts, each after a truncating checkpoint, reading the log's frames
and naming the b-tree each page belongs to (SQLite's ``dbstat``). Instruction- and
noise-free: the same on any machine. Each page is 4 KiB plus a 24-byte frame header.
"""

from __future__ import annotations

import argparse
import sqlite3
import struct
import sys
import tempfile
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine import Engine  # noqa: E402
from engine.config import Settings  # noqa: E402
from engine.db import Database  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures" / "processes"
VARIABLES = {"lines": [{"qty": 3, "price": 500.0}]}
WAL_HEADER, FRAME_HEADER = 32, 24


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--warm", type=int, default=3000)
    ap.add_argument("--starts", type=int, default=40)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bf-wal-") as tmp:
        path = f"{tmp}/pages.db"
        db = Database(f"sqlite:///{path}")
        db.upgrade()
        engine = Engine(db, Settings(database_url=f"sqlite:///{path}"))
        engine.repository.deploy_directory(FIXTURES)
        for _ in range(args.warm):
            engine.runtime.start("auto_steps", None, VARIABLES, wait=5)
        reader = sqlite3.connect(path)
        page_size = int(reader.execute("PRAGMA page_size").fetchone()[0])
        pages: Counter[str] = Counter()
        for _ in range(args.starts):
            reader.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            owner = dict(reader.execute("SELECT pageno, name FROM dbstat"))
            inst = engine.runtime.start("auto_steps", None, VARIABLES, wait=5)
            assert inst.status == "completed", inst.status
            log = Path(f"{path}-wal").read_bytes()
            at = WAL_HEADER
            while at + FRAME_HEADER <= len(log):
                (page,) = struct.unpack(">I", log[at:at + 4])
                pages[owner.get(page, "(a new page)")] += 1
                at += FRAME_HEADER + page_size
        reader.close()
        db.dispose()
    total = sum(pages.values()) / args.starts
    print(f"{args.starts} starts after {args.warm}: {total:.1f} pages of the log a start "
          f"({total * (page_size + FRAME_HEADER) / 1024:.1f} KiB)")
    for name, count in pages.most_common():
        print(f"  {count / args.starts:5.2f}  {name}")


if __name__ == "__main__":
    main()
