"""A fake ``requests.Session`` that answers from a script and records every request."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

Answer = requests.Response | Exception | Callable[[str, str, dict[str, Any]], requests.Response]


def response(status: int = 200, body: Any = None, headers: dict[str, str] | None = None,
             text: str | None = None) -> requests.Response:
    answer = requests.Response()
    answer.status_code = status
    if text is not None:
        answer._content = text.encode()
        answer.headers["Content-Type"] = "text/html"
    else:
        answer._content = b"" if body is None else json.dumps(body).encode()
        answer.headers["Content-Type"] = "application/json"
    answer.headers.update(headers or {})
    return answer


def token(access: str = "tok-1", instance: str = "https://crm.example") -> requests.Response:
    return response(200, {"access_token": access, "instance_url": instance,
                          "token_type": "Bearer", "issued_at": "1740819600000"})


def sf_error(status: int, code: str, message: str, fields: list[str] | None = None,
             headers: dict[str, str] | None = None) -> requests.Response:
    return response(status, [{"message": message, "errorCode": code, "fields": fields or []}],
                    headers)


@dataclass
class Call:
    method: str
    url: str
    kwargs: dict[str, Any]

    @property
    def bearer(self) -> str | None:
        auth = (self.kwargs.get("headers") or {}).get("Authorization")
        return auth.removeprefix("Bearer ") if auth else None


@dataclass
class FakeSession:
    """Answers requests in order from ``answers``; an exception in the list is raised."""

    answers: list[Answer] = field(default_factory=list)
    calls: list[Call] = field(default_factory=list)

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        self.calls.append(Call(method, url, kwargs))
        if not self.answers:
            raise AssertionError(f"unexpected request {method} {url}")
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        if callable(answer) and not isinstance(answer, requests.Response):
            return answer(method, url, kwargs)
        return answer

    def token_calls(self) -> list[Call]:
        return [c for c in self.calls if c.url.endswith("/services/oauth2/token")]

    def api_calls(self) -> list[Call]:
        return [c for c in self.calls if "/services/data/" in c.url]
