"""A small JSON-RPC client for Tryton 8.x: login, user context, value encoding, one error map.

Every Tryton failure is translated here, once, into the connector error tree of
``service_tasks.base``; nothing above this module sees ``requests`` exceptions or Tryton's
error tuples.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import time
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, Protocol

import requests

from service_tasks.base import (
    AuthenticationError,
    BusinessRuleError,
    ConnectorError,
    TransientError,
)

log = logging.getLogger(__name__)

#: Prefixes of the RPC methods that take the user context as their last parameter.
_CONTEXT_METHODS = ("model.", "wizard.", "report.")


class HttpResponse(Protocol):
    """The part of ``requests.Response`` the client reads."""

    status_code: int

    @property
    def text(self) -> str: ...


class HttpSession(Protocol):
    """The part of ``requests.Session`` the client uses; tests pass a fake."""

    def post(self, url: str, *, data: bytes, headers: dict[str, str],
             timeout: float) -> HttpResponse: ...


# --- values ------------------------------------------------------------------------------

def _encode_value(obj: Any) -> Any:
    """Tryton's ``__class__`` form for the values plain JSON cannot carry."""
    if isinstance(obj, Decimal):
        return {"__class__": "Decimal", "decimal": str(obj)}
    if isinstance(obj, dt.datetime):
        if obj.tzinfo is not None:
            # Tryton keeps naive UTC datetimes.
            obj = obj.astimezone(dt.UTC).replace(tzinfo=None)
        return {"__class__": "datetime", "year": obj.year, "month": obj.month,
                "day": obj.day, "hour": obj.hour, "minute": obj.minute,
                "second": obj.second, "microsecond": obj.microsecond}
    if isinstance(obj, dt.date):
        return {"__class__": "date", "year": obj.year, "month": obj.month, "day": obj.day}
    if isinstance(obj, dt.time):
        return {"__class__": "time", "hour": obj.hour, "minute": obj.minute,
                "second": obj.second, "microsecond": obj.microsecond}
    if isinstance(obj, dt.timedelta):
        return {"__class__": "timedelta", "seconds": obj.total_seconds()}
    if isinstance(obj, bytes | bytearray):
        return {"__class__": "bytes", "base64": base64.b64encode(obj).decode("ascii")}
    if isinstance(obj, set | frozenset):
        return list(obj)
    raise TypeError(f"cannot send a {type(obj).__name__} to Tryton")


def _decode_object(obj: dict[str, Any]) -> Any:
    kind = obj.get("__class__")
    if kind == "Decimal":
        return Decimal(obj["decimal"])
    if kind == "datetime":
        return dt.datetime(obj["year"], obj["month"], obj["day"], obj["hour"],
                           obj["minute"], obj["second"], obj["microsecond"])
    if kind == "date":
        return dt.date(obj["year"], obj["month"], obj["day"])
    if kind == "time":
        return dt.time(obj["hour"], obj["minute"], obj["second"], obj["microsecond"])
    if kind == "timedelta":
        return dt.timedelta(seconds=obj["seconds"])
    if kind == "bytes":
        return base64.b64decode(obj["base64"])
    return obj


def dumps(value: Any) -> str:
    """Encode ``value`` as Tryton's JSON-RPC expects it (Decimal, dates, bytes included)."""
    return json.dumps(value, default=_encode_value, separators=(",", ":"))


def loads(text: str) -> Any:
    """Decode Tryton's JSON, turning its ``__class__`` objects back into Python values."""
    return json.loads(text, object_hook=_decode_object)


# --- errors ------------------------------------------------------------------------------

def _warning_code(name: str) -> str:
    """The BPMN error code for a Tryton warning, from the warning's name."""
    if name.startswith("stock_quantity_warning_"):
        return "insufficient_stock"
    if name.endswith((".credit_limit_amount", ".credit_limit_dunning")):
        return "credit_limit_exceeded"
    return "erp_warning"


def _join(message: str, description: str) -> str:
    return f"{message}\n{description}" if description else message


def _tryton_error(method: str, error: Any) -> ConnectorError:
    """Translate the ``error`` member of a JSON-RPC answer."""
    kind, args = (error[0], error[1]) if isinstance(error, list) and len(error) == 2 \
        else (str(error), None)
    if kind == "UserError" and isinstance(args, list) and args:
        message = str(args[0])
        description = str(args[1] or "") if len(args) > 1 else ""
        return BusinessRuleError("erp_user_error", _join(message, description),
                                 {"method": method, "description": description})
    if kind == "UserWarning" and isinstance(args, list) and len(args) >= 2:
        name, message = str(args[0]), str(args[1])
        description = str(args[2] or "") if len(args) > 2 else ""
        # Never accepted on the user's behalf: a warning is a decision for a person.
        return BusinessRuleError(_warning_code(name), _join(message, description),
                                 {"method": method, "warning": name,
                                  "description": description})
    if kind == "LoginException":
        return AuthenticationError("Tryton asks for more login parameters than a password",
                                   {"method": method})
    if kind == "ConcurrencyException":
        return TransientError(f"Tryton reported a concurrent change during {method}",
                              {"method": method})
    if "database is locked" in kind:
        return TransientError(f"the Tryton database was busy during {method}",
                              {"method": method})
    trace = str(args or "").strip().splitlines()[-3:]
    return ConnectorError(f"Tryton failed in {method}: {kind}",
                          {"method": method, "traceback_tail": trace})


class _SessionExpiredError(Exception):
    """Tryton answered 401 to a call: the session is gone (internal signal)."""


# --- the client --------------------------------------------------------------------------

class TrytonClient:
    """One Tryton database over JSON-RPC, as one user.

    Logs in on first use, logs in again once when the session has expired, and sends the
    user's preferences as the context of every ``model.*`` / ``wizard.*`` call. A client is
    not meant to be shared between threads: give each worker thread its own.
    """

    def __init__(self, session: HttpSession, url: str, database: str, user: str,
                 password: str, *, timeout: float = 10, language: str = "en") -> None:
        self._http = session
        self.url = url.rstrip("/")
        self.database = database
        self.user = user
        self._password = password
        self.timeout = timeout
        self.language = language
        self._endpoint = f"{self.url}/{database}/rpc/"
        self._authorization: str | None = None
        self._context: dict[str, Any] | None = None
        self._next_id = 0

    def __repr__(self) -> str:
        return f"TrytonClient({self._endpoint!r}, user={self.user!r})"

    # -- session ------------------------------------------------------------------------

    def login(self) -> None:
        """Open a session; ``AuthenticationError`` when the credentials are refused."""
        result = self._post("common.db.login",
                            [self.user, {"password": self._password}, self.language],
                            login=True)
        try:
            user_id, token = int(result[0]), str(result[1])
        except (TypeError, ValueError, IndexError, KeyError) as exc:
            raise ConnectorError("Tryton answered the login with an unexpected value",
                                 {"database": self.database}) from exc
        raw = f"{self.user}:{user_id}:{token}".encode()
        self._authorization = "Session " + base64.b64encode(raw).decode("ascii")

    def logout(self) -> None:
        """Close the session if one is open (errors are logged, not raised)."""
        if self._authorization is None:
            return
        try:
            self._post("common.db.logout", [])
        except _SessionExpiredError:
            pass  # nothing left to close
        except ConnectorError as exc:
            log.info("Tryton logout failed: %s", exc.message)
        self._authorization = None

    @property
    def context(self) -> dict[str, Any]:
        """The user's preferences (company, language, …), fetched once and cached."""
        if self._context is None:
            prefs = self._rpc("model.res.user.get_preferences", [True, {}])
            self._context = dict(prefs) if isinstance(prefs, Mapping) else {}
        return dict(self._context)

    def refresh_context(self) -> None:
        """Forget the cached preferences (after changing the user's company, say)."""
        self._context = None

    # -- calls --------------------------------------------------------------------------

    def call(self, method: str, *params: Any,
             context: Mapping[str, Any] | None = None) -> Any:
        """Call ``method`` with ``params``; model and wizard calls get the context appended.

        ``context`` adds to (and overrides) the user's preferences for this call only,
        e.g. ``{"locations": [warehouse_id]}`` for stock quantities.
        """
        args = list(params)
        if method.startswith(_CONTEXT_METHODS):
            args.append({**self.context, **(context or {})})
        return self._rpc(method, args)

    def model(self, name: str) -> Model:
        """Typed helpers for the model ``name`` (``"sale.sale"``)."""
        return Model(self, name)

    def _rpc(self, method: str, params: list[Any]) -> Any:
        for attempt in (1, 2):
            if self._authorization is None:
                self.login()
            try:
                return self._post(method, params)
            except _SessionExpiredError:
                self._authorization = None
                if attempt == 2:
                    break
                log.info("Tryton session expired during %s; logging in again", method)
        raise AuthenticationError(
            f"Tryton refused the session for {method} even after a fresh login",
            {"method": method, "database": self.database, "user": self.user})

    def _post(self, method: str, params: list[Any], *, login: bool = False) -> Any:
        self._next_id += 1
        body = dumps({"id": self._next_id, "method": method, "params": params})
        headers = {"Content-Type": "application/json"}
        if self._authorization and not login:
            headers["Authorization"] = self._authorization
        where = {"method": method, "url": self._endpoint}
        started = time.monotonic()
        try:
            response = self._http.post(self._endpoint, data=body.encode("utf-8"),
                                       headers=headers, timeout=self.timeout)
        except requests.Timeout as exc:
            raise TransientError(f"Tryton did not answer {method} within {self.timeout} s",
                                 {**where, "error": str(exc)}) from exc
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            raise TransientError(
                f"Tryton at {self.url} is not reachable ({type(exc).__name__}): "
                "it may be down or restarting", {**where, "error": str(exc)}) from exc
        except requests.RequestException as exc:
            raise ConnectorError(f"the request to Tryton failed ({type(exc).__name__})",
                                 {**where, "error": str(exc)}) from exc
        log.debug("tryton %s: HTTP %s in %.0f ms", method, response.status_code,
                  (time.monotonic() - started) * 1000)
        self._check_status(method, response.status_code, login, where)
        try:
            answer = loads(response.text)
        except ValueError as exc:
            raise ConnectorError(f"Tryton answered {method} with something that is not JSON",
                                 where) from exc
        if not isinstance(answer, dict):
            raise ConnectorError(f"Tryton answered {method} with an unexpected shape", where)
        if answer.get("error") is not None:
            raise _tryton_error(method, answer["error"])
        return answer.get("result")

    def _check_status(self, method: str, status: int, login: bool,
                      where: dict[str, Any]) -> None:
        if status == 200:
            return
        if status == 401:
            if login:
                raise AuthenticationError(
                    f"Tryton refused the login of {self.user!r} on {self.database!r}: "
                    "check the ERP user name and password", where)
            raise _SessionExpiredError(method)
        if status == 429:
            raise TransientError("Tryton is rate-limiting this client (429)", where)
        if status >= 500:
            raise TransientError(f"Tryton failed with HTTP {status} on {method}", where)
        if status == 403:
            raise ConnectorError(
                f"Tryton does not allow {method} for {self.user!r} (403): "
                "the method is not callable over RPC or the user lacks access", where)
        if status == 404:
            raise ConnectorError(f"Tryton has no database {self.database!r} (404)", where)
        raise ConnectorError(f"Tryton answered {method} with HTTP {status}", where)


class Model:
    """The usual RPC methods of one Tryton model; ``context`` extends the user context."""

    def __init__(self, client: TrytonClient, name: str) -> None:
        self.client = client
        self.name = name

    def call(self, method: str, *params: Any,
             context: Mapping[str, Any] | None = None) -> Any:
        """Call any RPC method of the model (``model.<name>.<method>``)."""
        return self.client.call(f"model.{self.name}.{method}", *params, context=context)

    def search(self, domain: Sequence[Any], *, offset: int = 0, limit: int | None = None,
               order: Sequence[tuple[str, str]] | None = None,
               context: Mapping[str, Any] | None = None) -> list[int]:
        return [int(i) for i in self.call("search", list(domain), offset, limit,
                                          _order(order), context=context)]

    def search_read(self, domain: Sequence[Any], fields: Sequence[str], *, offset: int = 0,
                    limit: int | None = None, order: Sequence[tuple[str, str]] | None = None,
                    context: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        rows = self.call("search_read", list(domain), offset, limit, _order(order),
                         list(fields), context=context)
        return [dict(r) for r in rows]

    def search_count(self, domain: Sequence[Any], *,
                     context: Mapping[str, Any] | None = None) -> int:
        return int(self.call("search_count", list(domain), context=context))

    def read(self, ids: Sequence[int], fields: Sequence[str], *,
             context: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        return [dict(r) for r in self.call("read", list(ids), list(fields), context=context)]

    def create(self, values: Sequence[Mapping[str, Any]], *,
               context: Mapping[str, Any] | None = None) -> list[int]:
        return [int(i) for i in self.call("create", [dict(v) for v in values],
                                          context=context)]

    def write(self, ids: Sequence[int], values: Mapping[str, Any], *,
              context: Mapping[str, Any] | None = None) -> None:
        self.call("write", list(ids), dict(values), context=context)

    def delete(self, ids: Sequence[int], *, context: Mapping[str, Any] | None = None) -> None:
        self.call("delete", list(ids), context=context)

    def button(self, name: str, ids: Sequence[int], *,
               context: Mapping[str, Any] | None = None) -> Any:
        """Press the workflow button ``name`` (``quote``, ``confirm``, …) on ``ids``."""
        return self.call(name, list(ids), context=context)


def _order(order: Sequence[tuple[str, str]] | None) -> list[list[str]] | None:
    return [list(o) for o in order] if order is not None else None
