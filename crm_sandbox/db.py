"""The CRM's own SQLite file: one table per object, plus its tokens, usage, cursors and outbox.

Every unit of work opens its own connection; writes run under ``BEGIN IMMEDIATE`` so that
they queue instead of failing, and the webhook sender never holds a write lock while it
waits on the network.
"""

from __future__ import annotations

import secrets
import sqlite3
import string
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from .schema import OBJECTS, Field, SObject

_SQL_TYPES = {"boolean": "INTEGER", "int": "INTEGER", "double": "REAL", "currency": "REAL"}

_META_DDL = (
    "CREATE TABLE IF NOT EXISTS _meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS _sequence (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS _token (hash TEXT PRIMARY KEY, client_id TEXT NOT NULL,"
    " user_id TEXT NOT NULL, issued_at REAL NOT NULL, expires_at REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS _usage (day TEXT PRIMARY KEY, count INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS _cursor (id TEXT PRIMARY KEY, records TEXT NOT NULL,"
    " created_at REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS _outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " id TEXT NOT NULL UNIQUE, type TEXT NOT NULL, object TEXT NOT NULL,"
    " record_id TEXT NOT NULL, occurred_at TEXT NOT NULL, payload TEXT NOT NULL,"
    " status TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,"
    " next_attempt_at REAL NOT NULL, last_status INTEGER, last_error TEXT,"
    " delivered_at REAL)",
    "CREATE INDEX IF NOT EXISTS _outbox_due ON _outbox (status, next_attempt_at)",
    "CREATE INDEX IF NOT EXISTS _outbox_record ON _outbox (record_id, status, seq)",
)


def quote(name: str) -> str:
    """An SQL identifier; names come from the schema, never from a request."""
    return '"' + name.replace('"', '""') + '"'


def column_type(field: Field) -> str:
    return _SQL_TYPES.get(field.type, "TEXT")


class Store:
    """The database file and how to work with it."""

    def __init__(self, path: str | Path) -> None:
        if str(path) in ("", ":memory:"):
            # Every unit of work opens its own connection: they must share one file.
            raise ValueError("the sandbox CRM needs a database file, not an in-memory database")
        self.path = str(path)
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.created = False
        self._create_schema()

    def connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                               check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA busy_timeout = 30000")
        # With WAL this still never corrupts the file; it only skips an fsync per commit.
        conn.execute("PRAGMA synchronous = NORMAL")
        return conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: committed when the block ends, rolled back if it raises."""
        conn = self.connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """A read-only snapshot."""
        conn = self.connect()
        try:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("COMMIT")
        finally:
            conn.close()

    def _create_schema(self) -> None:
        conn = self.connect()
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("BEGIN IMMEDIATE")
            self.created = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE name = '_meta'").fetchone() is None
            for ddl in _META_DDL:
                conn.execute(ddl)
            for obj in OBJECTS:
                self._create_table(conn, obj)
            if self.created:
                conn.execute("INSERT INTO _meta (key, value) VALUES ('pod', ?)", (_new_pod(),))
            conn.execute("COMMIT")
        finally:
            conn.close()

    @staticmethod
    def _create_table(conn: sqlite3.Connection, obj: SObject) -> None:
        table = quote(obj.name)
        columns = ", ".join(f"{quote(f.name)} {column_type(f)}" for f in obj.fields[1:])
        conn.execute(f"CREATE TABLE IF NOT EXISTS {table} (\"Id\" TEXT PRIMARY KEY, {columns})")
        # A database made by an older sandbox gains the fields added since.
        have = {row["name"] for row in conn.execute(f"PRAGMA table_info({table})")}
        for field in obj.fields:
            if field.name not in have:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {quote(field.name)} "
                             f"{column_type(field)}")
        for field in obj.fields:
            if field.type == "reference" or field.external_id or field.name == "SystemModstamp":
                conn.execute(f"CREATE INDEX IF NOT EXISTS {quote(obj.name + '_' + field.name)} "
                             f"ON {table} ({quote(field.name)})")


def _new_pod() -> str:
    # Ids made by this database differ from the seed ids (pod "00") and from those of
    # another sandbox database, so a reset CRM never reuses an id the ERP still remembers.
    return "".join(secrets.choice(string.ascii_uppercase) for _ in range(2))


def meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM _meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row["value"])


def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute("INSERT INTO _meta (key, value) VALUES (?, ?) ON CONFLICT (key) "
                 "DO UPDATE SET value = excluded.value", (key, value))


def next_value(conn: sqlite3.Connection, name: str, start: int = 1) -> int:
    """The next number of sequence ``name`` (inside the caller's write transaction)."""
    row = conn.execute("SELECT value FROM _sequence WHERE name = ?", (name,)).fetchone()
    value = start if row is None else int(row["value"])
    conn.execute("INSERT INTO _sequence (name, value) VALUES (?, ?) ON CONFLICT (name) "
                 "DO UPDATE SET value = excluded.value", (name, value + 1))
    return value
