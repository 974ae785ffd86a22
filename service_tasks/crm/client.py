"""A Salesforce REST client: OAuth client credentials, records, upsert, SOQL with paging.

Every failure leaves as one of ``service_tasks.base``'s errors, mapped here once:

- no answer, a timeout, a 5xx, or the daily API limit used up → ``TransientError``;
- a 400/404 error array → ``BusinessRuleError`` (``crm_not_found`` for NOT_FOUND, else
  ``crm_rejected``) with Salesforce's ``errorCode``, ``fields`` and message in ``details``;
- credentials refused, or a fresh token refused again → ``AuthenticationError``;
- anything else (403 other than the limit, an answer that is not JSON…) → ``ConnectorError``.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import requests

from ..base import (
    AuthenticationError,
    BusinessRuleError,
    ConnectorError,
    InvalidParameters,
    TransientError,
)
from .soql import record_id as _checked_id

log = logging.getLogger(__name__)

_NAME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,79}$")
_USAGE_RE = re.compile(r"api-usage=(\d+)/(\d+)")


@dataclass(frozen=True)
class ApiUsage:
    """API calls used today and the daily limit, from the last ``Sforce-Limit-Info``."""

    used: int
    limit: int

    @property
    def remaining(self) -> int:
        return max(self.limit - self.used, 0)


@dataclass(frozen=True)
class UpsertResult:
    id: str
    created: bool


def _name(value: str, what: str) -> str:
    if not isinstance(value, str) or not _NAME_RE.match(value):
        raise InvalidParameters(f"{what} {value!r} is not a CRM object or field name",
                                {"parameter": what})
    return value


class SalesforceClient:
    """Calls one Salesforce (or the sandbox CRM) with a session it is given."""

    def __init__(self, session: requests.Session, base_url: str, client_id: str,
                 client_secret: str, *, api_version: str = "v60.0", token_url: str | None = None,
                 timeout: float = 10, max_query_records: int = 10_000) -> None:
        self.session = session
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self._client_secret = client_secret
        self.api_version = api_version
        self.token_url = token_url or f"{self.base_url}/services/oauth2/token"
        self.timeout = timeout
        self.max_query_records = max_query_records
        self._token: str | None = None
        self._instance_url = self.base_url
        self._lock = threading.Lock()
        self._usage: ApiUsage | None = None

    def __repr__(self) -> str:   # never the secret or the token
        return f"SalesforceClient({self.base_url!r}, client_id={self.client_id!r})"

    @property
    def usage(self) -> ApiUsage | None:
        """API usage as of the last answer, or None before the first call."""
        return self._usage

    # --- records --------------------------------------------------------------------------

    def _sobject_path(self, sobject: str, *parts: str) -> str:
        path = f"/services/data/{self.api_version}/sobjects/{_name(sobject, 'object')}"
        return path + "".join("/" + quote(p, safe="") for p in parts)

    def get(self, sobject: str, record_id: str,
            fields: Sequence[str] | None = None) -> dict[str, Any]:
        """The record, with all its fields or only ``fields``."""
        params = {"fields": ",".join(_name(f, "field") for f in fields)} if fields else None
        return self._json(self._call("GET", self._sobject_path(sobject, _checked_id(record_id)),
                                     params=params))

    def create(self, sobject: str, fields: Mapping[str, Any]) -> str:
        """Create a record; its new Id."""
        body = self._json(self._call("POST", self._sobject_path(sobject), json=dict(fields)))
        if not isinstance(body.get("id"), str):
            raise ConnectorError("the CRM created a record but did not say its id",
                                 {"object": sobject})
        return str(body["id"])

    def update(self, sobject: str, record_id: str, fields: Mapping[str, Any]) -> None:
        self._call("PATCH", self._sobject_path(sobject, _checked_id(record_id)),
                   json=dict(fields))

    def upsert(self, sobject: str, external_field: str, value: str,
               fields: Mapping[str, Any]) -> UpsertResult:
        """Update the record whose ``external_field`` is ``value``, or create it."""
        response = self._call("PATCH", self._sobject_path(
            sobject, _name(external_field, "external id field"), str(value)), json=dict(fields))
        if response.status_code == 300:
            raise BusinessRuleError(
                "crm_rejected", f"several {sobject} records have {external_field} = {value!r}",
                {"errorCode": "MULTIPLE_CHOICES", "object": sobject,
                 "records": _parsed(response) or []})
        body = self._json(response)
        return UpsertResult(str(body["id"]), bool(body.get("created", response.status_code
                                                                == 201)))

    def delete(self, sobject: str, record_id: str) -> None:
        self._call("DELETE", self._sobject_path(sobject, _checked_id(record_id)))

    # --- queries --------------------------------------------------------------------------

    def _pages(self, soql: str) -> Iterator[dict[str, Any]]:
        page = self._json(self._call("GET", f"/services/data/{self.api_version}/query",
                                     params={"q": soql}))
        while True:
            yield page
            next_url = page.get("nextRecordsUrl")
            if page.get("done", True) or not next_url:
                return
            if not str(next_url).startswith("/services/data/"):
                raise ConnectorError("the CRM gave a nextRecordsUrl outside its API",
                                     {"nextRecordsUrl": str(next_url)[:200]})
            page = self._json(self._call("GET", str(next_url)))

    def query_iter(self, soql: str) -> Iterator[dict[str, Any]]:
        """Every record the query selects, fetching the next page only when needed."""
        for page in self._pages(soql):
            yield from page.get("records", [])

    def query(self, soql: str, *, max_records: int | None = None) -> list[dict[str, Any]]:
        """Every record the query selects (all pages), refusing more than ``max_records``."""
        limit = self.max_query_records if max_records is None else max_records
        records: list[dict[str, Any]] = []
        for page in self._pages(soql):
            total = int(page.get("totalSize", 0))
            if total > limit:
                raise ConnectorError(f"the CRM query selects {total} records, more than the "
                                     f"{limit} allowed; narrow it",
                                     {"totalSize": total, "max_records": limit})
            records += page.get("records", [])
        return records

    # --- HTTP -----------------------------------------------------------------------------

    def _login(self) -> tuple[str, str]:
        data = {"grant_type": "client_credentials", "client_id": self.client_id,
                "client_secret": self._client_secret}
        try:
            response = self.session.request("POST", self.token_url, data=data,
                                            headers={"Accept": "application/json"},
                                            timeout=self.timeout)
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise TransientError(f"the CRM's token endpoint did not answer "
                                 f"({type(exc).__name__})", {"url": self.token_url}) from exc
        except requests.RequestException as exc:
            raise ConnectorError(f"could not ask the CRM for a token: {type(exc).__name__}",
                                 {"url": self.token_url}) from exc
        parsed = _parsed(response)
        body: dict[str, Any] = parsed if isinstance(parsed, dict) else {}
        if response.status_code >= 500:
            raise TransientError(f"the CRM's token endpoint answered {response.status_code}",
                                 {"status": response.status_code})
        if response.status_code in (400, 401, 403):
            raise AuthenticationError(
                f"the CRM refused the client credentials: {body.get('error', 'refused')}"
                f" ({body.get('error_description', response.status_code)})",
                {"status": response.status_code, "error": body.get("error"),
                 "error_description": body.get("error_description"),
                 "client_id": self.client_id})
        token = body.get("access_token")
        if response.status_code != 200 or not isinstance(token, str) or not token:
            raise ConnectorError(f"the CRM's token endpoint answered {response.status_code} "
                                 "without an access token", {"status": response.status_code})
        instance = body.get("instance_url")
        return token, (instance.rstrip("/") if isinstance(instance, str) and instance
                       else self.base_url)

    def _current_token(self, stale: str | None = None) -> tuple[str, str]:
        """The cached token, or a new one (also when the cached one is ``stale``)."""
        with self._lock:
            if self._token is None or self._token == stale:
                self._token, self._instance_url = self._login()
            return self._token, self._instance_url

    def _call(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
              json: Any = None) -> requests.Response:
        token, instance = self._current_token()
        response = self._send(method, instance + path, token, params, json)
        if response.status_code == 401:
            # Expired or revoked: one fresh token, one more try.
            log.info("CRM session expired; fetching a new token")
            token, instance = self._current_token(stale=token)
            response = self._send(method, instance + path, token, params, json)
            if response.status_code == 401:
                raise AuthenticationError("the CRM refused a freshly issued access token",
                                          {**_error_details(response), "method": method,
                                           "path": path})
        if response.status_code < 300 or (response.status_code == 300 and method == "PATCH"):
            return response
        raise _mapped_error(response, method, path)

    def _send(self, method: str, url: str, token: str, params: Mapping[str, str] | None,
              json: Any) -> requests.Response:
        started = time.monotonic()
        try:
            response = self.session.request(
                method, url, params=params, json=json, timeout=self.timeout,
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
        except (requests.Timeout, requests.ConnectionError) as exc:
            raise TransientError(f"the CRM did not answer {method} in time or refused the "
                                 f"connection ({type(exc).__name__})",
                                 {"method": method, "url": url.split("?")[0]}) from exc
        except requests.RequestException as exc:
            raise ConnectorError(f"the call to the CRM failed: {type(exc).__name__}",
                                 {"method": method, "url": url.split("?")[0]}) from exc
        log.debug("CRM %s %s -> %s in %.0f ms", method, url.split("?")[0],
                  response.status_code, (time.monotonic() - started) * 1000)
        self._read_usage(response)
        return response

    def _read_usage(self, response: requests.Response) -> None:
        match = _USAGE_RE.search(response.headers.get("Sforce-Limit-Info", ""))
        if match:
            self._usage = ApiUsage(int(match.group(1)), int(match.group(2)))
            if self._usage.used >= 0.9 * self._usage.limit:
                log.warning("CRM API usage at %d of %d calls today", self._usage.used,
                            self._usage.limit)

    @staticmethod
    def _json(response: requests.Response) -> dict[str, Any]:
        body = _parsed(response)
        if not isinstance(body, dict):
            raise ConnectorError(f"the CRM answered {response.status_code} without the JSON "
                                 "object expected", {"status": response.status_code})
        return body


def _parsed(response: requests.Response) -> Any:
    """The JSON body, or None when there is none."""
    try:
        return response.json()
    except ValueError:
        return None


def _error_details(response: requests.Response) -> dict[str, Any]:
    """Salesforce's first error (errorCode, message, fields) and the status, when present."""
    details: dict[str, Any] = {"status": response.status_code}
    body = _parsed(response)
    if isinstance(body, list) and body and isinstance(body[0], dict):
        first = body[0]
        details.update(errorCode=first.get("errorCode"),
                       message=str(first.get("message", "")).strip(),
                       fields=list(first.get("fields") or []))
        if len(body) > 1:
            details["errors"] = body
    return details


def _mapped_error(response: requests.Response, method: str, path: str) -> ConnectorError:
    status = response.status_code
    details = {**_error_details(response), "method": method, "path": path}
    code = details.get("errorCode")
    text = details.get("message") or f"HTTP {status}"
    if status >= 500 or status == 429:
        return TransientError(f"the CRM failed with {status}: {text}", details)
    if status == 403 and code == "REQUEST_LIMIT_EXCEEDED":
        return TransientError(f"the CRM's daily API limit is used up: {text}", details)
    if status == 404 or code == "NOT_FOUND":
        return BusinessRuleError("crm_not_found", text, details)
    if status == 400:
        return BusinessRuleError("crm_rejected", text, details)
    return ConnectorError(f"the CRM answered {status} to {method} {path}: {text}", details)
