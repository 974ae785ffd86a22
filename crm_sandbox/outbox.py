"""Outbound webhooks: events written with the change that raised them, then sent, signed.

Delivery is at least once: an event stays pending until the receiver answers 2xx, is
retried with exponential back-off, and waits for any earlier pending event of the same
record, so a receiver sees one record's events in order. The outbox is a table, so pending
events survive a restart.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import sqlite3
import threading
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .db import Store
from .values import epoch_to_iso

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Bridgeflow-Signature"


def enqueue(conn: sqlite3.Connection, event_type: str, object_name: str, record_id: str,
            data: dict[str, Any], now: float) -> str:
    """Add an event inside the caller's transaction; returns its id."""
    event_id = str(uuid.uuid4())
    payload = json.dumps({"id": event_id, "type": event_type, "occurred_at": epoch_to_iso(now),
                          "object": object_name, "record_id": record_id, "data": data},
                         ensure_ascii=False, separators=(",", ":"))
    conn.execute("INSERT INTO _outbox (id, type, object, record_id, occurred_at, payload,"
                 " next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                 (event_id, event_type, object_name, record_id, epoch_to_iso(now), payload, now))
    return event_id


def sign(secret: str, body: bytes) -> str:
    """The signature header's value: ``sha256=`` and the hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Event:
    """One outbox row, as the admin page shows it."""

    seq: int
    id: str
    type: str
    object: str
    record_id: str
    occurred_at: str
    payload: str
    status: str
    attempts: int
    next_attempt_at: float
    last_status: int | None
    last_error: str | None
    delivered_at: float | None


def list_events(store: Store, status: str, limit: int = 100) -> list[Event]:
    """Pending events oldest first, or delivered ones newest first."""
    order = "seq" if status == "pending" else "delivered_at DESC, seq DESC"
    with store.reading() as conn:
        rows = conn.execute(f"SELECT * FROM _outbox WHERE status = ? ORDER BY {order} LIMIT ?",
                            (status, limit)).fetchall()
    return [Event(**{k: row[k] for k in row.keys()}) for row in rows]


@dataclass(frozen=True)
class DeliveryReport:
    delivered: int
    failed: int


Poster = Callable[[str, bytes, dict[str, str], float], int]


def post_json(url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST ``body``; the HTTP status (an error status too). Raises OSError when unreachable."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        return int(exc.code)


class WebhookSender:
    """Sends due events; ``deliver_due()`` is one pass, ``start()`` runs passes in a thread."""

    def __init__(self, store: Store, url: str | None, secret: str | None, *,
                 clock: Callable[[], float], backoff_base: float = 2.0,
                 backoff_max: float = 300.0, timeout: float = 5.0,
                 poll_interval: float = 1.0, post: Poster = post_json) -> None:
        if url and not secret:
            raise ValueError("a webhook URL needs a webhook secret to sign the events with")
        self.store = store
        self.url = url
        self.secret = secret or ""
        self.clock = clock
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.post = post
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def backoff(self, attempts: int) -> float:
        """Seconds to wait after the ``attempts``-th failed delivery."""
        return float(min(self.backoff_base * 2 ** (attempts - 1), self.backoff_max))

    def deliver_due(self) -> DeliveryReport:
        """Send every event that is due and first in line for its record."""
        if not self.url:
            return DeliveryReport(0, 0)
        delivered = failed = 0
        with self._lock:
            tried: set[int] = set()
            while True:
                due = [e for e in self._due() if e["seq"] not in tried]
                if not due:
                    break
                for event in due:
                    tried.add(event["seq"])
                    if self._send(event):
                        delivered += 1
                    else:
                        failed += 1
        return DeliveryReport(delivered, failed)

    def _due(self) -> list[sqlite3.Row]:
        with self.store.reading() as conn:
            return conn.execute(
                "SELECT * FROM _outbox e WHERE e.status = 'pending' AND e.next_attempt_at <= ?"
                " AND NOT EXISTS (SELECT 1 FROM _outbox p WHERE p.record_id = e.record_id"
                " AND p.status = 'pending' AND p.seq < e.seq) ORDER BY e.seq LIMIT 100",
                (self.clock(),)).fetchall()

    def _send(self, event: sqlite3.Row) -> bool:
        body = str(event["payload"]).encode()
        headers = {"Content-Type": "application/json",
                   SIGNATURE_HEADER: sign(self.secret, body),
                   "X-Bridgeflow-Event-Id": str(event["id"]),
                   "User-Agent": "bridgeflow-sandbox-crm/1"}
        status: int | None = None
        try:
            status = self.post(str(self.url), body, headers, self.timeout)
            error = None if 200 <= status < 300 else f"HTTP {status}"
        except OSError as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
        attempts = int(event["attempts"]) + 1
        now = self.clock()
        with self.store.transaction() as conn:
            if error is None:
                conn.execute("UPDATE _outbox SET status = 'delivered', attempts = ?,"
                             " last_status = ?, last_error = NULL, delivered_at = ?"
                             " WHERE seq = ?", (attempts, status, now, event["seq"]))
            else:
                conn.execute("UPDATE _outbox SET attempts = ?, last_status = ?, last_error = ?,"
                             " next_attempt_at = ? WHERE seq = ?",
                             (attempts, status, error, now + self.backoff(attempts),
                              event["seq"]))
        if error is None:
            log.info("webhook %s (%s) delivered", event["id"], event["type"])
        else:
            log.warning("webhook %s (%s) not delivered (attempt %d): %s; retrying in %.1fs",
                        event["id"], event["type"], attempts, error, self.backoff(attempts))
        return error is None

    def retry_now(self, event_id: str) -> bool:
        """Make a pending event due at once; False when there is no such pending event."""
        with self.store.transaction() as conn:
            cursor = conn.execute("UPDATE _outbox SET next_attempt_at = ? WHERE id = ?"
                                  " AND status = 'pending'", (self.clock(), event_id))
        self.wake()
        return cursor.rowcount > 0

    # --- the background thread -----------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None or not self.url:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="sandbox-webhooks", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def wake(self) -> None:
        """Deliver soon: a change has just written an event."""
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()   # before the pass, so an event written during it wakes the next
            try:
                self.deliver_due()
            except Exception:  # the sender must outlive a bad pass; log it and go on
                log.exception("webhook delivery pass failed")
            self._wake.wait(self.poll_interval)
