"""The CRM behind the HTTP layer: settings, database, tokens, API usage, webhook sender."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any

from .db import Store
from .errors import SalesforceError
from .outbox import WebhookSender
from .records import Records

DEMO_USER = "005000000000001AAA"
ORG_ID = "00D000000000001AAA"


@dataclass(frozen=True)
class Settings:
    """Configuration; each field is read from the Flask config key of its upper-case name."""

    database: str = "instance/sandbox-crm.db"
    client_id: str = "bridgeflow"
    client_secret: str = "demo-secret"
    run_as_user: str = DEMO_USER
    token_lifetime: float = 2 * 3600.0
    api_daily_limit: int = 5000
    query_batch_size: int = 2000
    webhook_url: str | None = None
    webhook_secret: str | None = None
    webhook_backoff_base: float = 2.0
    webhook_backoff_max: float = 300.0
    webhook_timeout: float = 5.0
    webhook_poll_interval: float = 1.0
    webhook_sender: bool = True
    seed: bool = True
    clock: Callable[[], float] = time.time

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Settings:
        return cls(**{f.name: config[f.name.upper()] for f in fields(cls)
                      if f.name.upper() in config})


class OAuthError(Exception):
    """A refused token request, answered as ``{"error", "error_description"}``."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(f"{error}: {description}")
        self.status = status
        self.error = error
        self.description = description


@dataclass(frozen=True)
class Usage:
    used: int
    limit: int

    def header(self) -> str:
        return f"api-usage={self.used}/{self.limit}"


class Faults:
    """Failures a test or a demo asks for: the next ``count`` API calls answer ``status``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: list[int] = []

    def inject(self, status: int = 503, count: int = 1) -> None:
        with self._lock:
            self._pending += [status] * count

    def take(self) -> int | None:
        with self._lock:
            return self._pending.pop(0) if self._pending else None


class Crm:
    """One CRM: its database and everything that is not HTTP."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.clock = settings.clock
        self.store = Store(settings.database)
        self.faults = Faults()
        self.sender = WebhookSender(
            self.store, settings.webhook_url, settings.webhook_secret, clock=self.clock,
            backoff_base=settings.webhook_backoff_base,
            backoff_max=settings.webhook_backoff_max, timeout=settings.webhook_timeout,
            poll_interval=settings.webhook_poll_interval)

    @contextmanager
    def write(self, user_id: str | None = None) -> Iterator[Records]:
        """Records in one write transaction; the webhook sender is woken after commit."""
        with self.store.transaction() as conn:
            records = Records(conn, self.clock(), user_id or self.settings.run_as_user)
            yield records
        if records.emitted:
            self.sender.wake()

    @contextmanager
    def read(self) -> Iterator[Records]:
        with self.store.reading() as conn:
            yield Records(conn, self.clock(), self.settings.run_as_user)

    # --- OAuth 2.0 client credentials ------------------------------------------------------

    def issue_token(self, client_id: str, client_secret: str,
                    instance_url: str) -> dict[str, Any]:
        s = self.settings
        if not client_id or not hmac.compare_digest(client_id, s.client_id):
            raise OAuthError(400, "invalid_client_id", "client identifier invalid")
        if not hmac.compare_digest(client_secret.encode(), s.client_secret.encode()):
            raise OAuthError(400, "invalid_client", "invalid client credentials")
        token = f"{ORG_ID[:15]}!{secrets.token_urlsafe(40)}"
        now = self.clock()
        with self.store.transaction() as conn:
            conn.execute("DELETE FROM _token WHERE expires_at < ?", (now,))
            conn.execute("INSERT INTO _token (hash, client_id, user_id, issued_at, expires_at)"
                         " VALUES (?, ?, ?, ?, ?)",
                         (_digest(token), client_id, s.run_as_user, now,
                          now + s.token_lifetime))
        identity = f"{instance_url}/id/{ORG_ID}/{s.run_as_user}"
        issued_at = str(int(now * 1000))
        signature = hmac.new(s.client_secret.encode(), (identity + issued_at).encode(),
                             hashlib.sha256).digest()
        return {"access_token": token, "instance_url": instance_url, "id": identity,
                "token_type": "Bearer", "issued_at": issued_at,
                "signature": base64.b64encode(signature).decode()}

    def authenticate(self, authorization: str | None) -> str:
        """The user a ``Bearer`` token acts for; 401 INVALID_SESSION_ID when it is not valid."""
        scheme, _, token = (authorization or "").partition(" ")
        row = None
        if scheme.lower() in ("bearer", "oauth") and token.strip():
            with self.store.reading() as conn:
                row = conn.execute("SELECT user_id, expires_at FROM _token WHERE hash = ?",
                                   (_digest(token.strip()),)).fetchone()
        if row is None or row["expires_at"] <= self.clock():
            raise SalesforceError(401, "INVALID_SESSION_ID", "Session expired or invalid")
        return str(row["user_id"])

    # --- API usage -------------------------------------------------------------------------

    def _day(self) -> str:
        return datetime.fromtimestamp(self.clock(), UTC).date().isoformat()

    def count_call(self) -> Usage:
        """Count one API call today; 403 REQUEST_LIMIT_EXCEEDED once the daily limit is used."""
        limit = self.settings.api_daily_limit
        day = self._day()
        with self.store.transaction() as conn:
            row = conn.execute("SELECT count FROM _usage WHERE day = ?", (day,))
            used = (row.fetchone() or [0])[0]
            if used >= limit:
                raise SalesforceError(403, "REQUEST_LIMIT_EXCEEDED",
                                      f"TotalRequests Limit exceeded. ({used}/{limit} API "
                                      "requests used today)")
            conn.execute("INSERT INTO _usage (day, count) VALUES (?, 1) ON CONFLICT (day)"
                         " DO UPDATE SET count = count + 1", (day,))
        return Usage(used + 1, limit)

    def usage(self) -> Usage:
        with self.store.reading() as conn:
            row = conn.execute("SELECT count FROM _usage WHERE day = ?",
                               (self._day(),)).fetchone()
        return Usage(row[0] if row else 0, self.settings.api_daily_limit)


def _digest(token: str) -> str:
    # Tokens are kept hashed: a copy of the database does not hand out sessions.
    return hashlib.sha256(token.encode()).hexdigest()
