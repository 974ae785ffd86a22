"""One JSON error shape for every failure: ``{"error", "message", "details"}``."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, current_app, jsonify, request
from markupsafe import escape
from marshmallow import ValidationError
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException

from engine import (
    ConflictError,
    DecisionEvaluationError,
    DefinitionError,
    EngineError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    UnauthenticatedError,
)

log = logging.getLogger(__name__)

HTTP_CODES = {
    400: "malformed_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "malformed_request",
    422: "invalid_input",
    503: "service_unavailable",
}
# What a client waits before it tries again when the database does not answer.
RETRY_AFTER_SECONDS = 5
# The database is away (refused, dropped, locked, timed out), not our code wrong.
UNAVAILABLE = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError,
               sa_exc.TimeoutError)
ENGINE_STATUS: list[tuple[type[EngineError], int]] = [
    (UnauthenticatedError, 401),
    (ForbiddenError, 403),
    (NotFoundError, 404),
    (ConflictError, 409),
    (InvalidInputError, 422),
    (DefinitionError, 422),
    (DecisionEvaluationError, 422),
]


class ApiError(Exception):
    """An error the web layer raises itself, with the status and code a client reads."""

    def __init__(self, status: int, message: str, details: dict[str, Any] | None = None,
                 code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details or {}
        self.code = code or HTTP_CODES.get(status, "error")


def error_response(status: int, code: str, message: str,
                   details: dict[str, Any] | None = None) -> tuple[Response, int]:
    return jsonify(error=code, message=message, details=details or {}), status


def init_app(app: Flask) -> None:
    """Register the handlers that turn every exception into the one error shape."""
    app.register_error_handler(ApiError, _api_error)
    app.register_error_handler(EngineError, _engine_error)
    app.register_error_handler(ValidationError, _validation_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(sa_exc.SQLAlchemyError, _database_error)
    app.register_error_handler(Exception, _unexpected)


def _api_error(exc: ApiError) -> tuple[Response, int]:
    return error_response(exc.status, exc.code, exc.message, exc.details)


def _engine_error(exc: EngineError) -> tuple[Response, int]:
    status = next((s for kind, s in ENGINE_STATUS if isinstance(exc, kind)), 422)
    return error_response(status, exc.code, exc.message, exc.details)


def _validation_error(exc: ValidationError) -> tuple[Response, int]:
    messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
    names = ", ".join(sorted(str(k) for k in messages))
    return error_response(422, "invalid_input", f"invalid field(s): {names}",
                          {"fields": messages})


def _http_error(exc: HTTPException) -> tuple[Response, int]:
    status = exc.code or 500
    code = HTTP_CODES.get(status) or (exc.name or "error").lower().replace(" ", "_")
    message = exc.description or exc.name or "error"
    if status == 413:
        limit = current_app.config.get("MAX_CONTENT_LENGTH")
        message = f"the request body is larger than the limit of {limit} bytes"
    return error_response(status, code, message)


def _database_error(exc: sa_exc.SQLAlchemyError) -> tuple[Response, int]:
    if not (isinstance(exc, UNAVAILABLE) or getattr(exc, "connection_invalidated", False)):
        return _unexpected(exc)
    log.error("database unavailable while serving a request: %s", type(exc).__name__,
              exc_info=exc)
    message = (f"the database is not available at the moment; try again in "
               f"{RETRY_AFTER_SECONDS} seconds")
    if _is_page_request():
        return _unavailable_page(message)
    return unavailable(message)


def _is_page_request() -> bool:
    """A person's browser asking for a page (not the API, a probe or a webhook)."""
    machine = request.path.startswith(("/api/", "/engine-rest", "/healthz", "/readyz",
                                       "/webhooks", "/static/"))
    return not machine and request.accept_mimetypes.accept_html


def _unavailable_page(message: str) -> tuple[Response, int]:
    """A 503 page that needs nothing from the database (not even who is signed in)."""
    page = ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta http-equiv=\"refresh\" content=\"{RETRY_AFTER_SECONDS * 2}\">"
            "<title>Bridgeflow is unavailable</title></head><body style=\"font-family: "
            "system-ui, sans-serif; max-width: 40rem; margin: 3rem auto\">"
            "<h1>Bridgeflow cannot reach its database</h1>"
            f"<p>{escape(message[0].upper() + message[1:])}. What was saved before stays "
            "saved; a form sent just now was not saved: send it again once this page, which "
            "reloads by itself, is back.</p>"
            "<p style=\"color: #666\">Error 503.</p></body></html>")
    response = Response(page, status=503, mimetype="text/html")
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response, 503


def unavailable(message: str, **body: Any) -> tuple[Response, int]:
    """A 503 in the one error shape, with ``Retry-After``; ``body`` adds top-level fields."""
    response = jsonify(error="service_unavailable", message=message,
                       details={"retry_after_seconds": RETRY_AFTER_SECONDS}, **body)
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response, 503


def _unexpected(exc: Exception) -> tuple[Response, int]:
    log.exception("unhandled error while serving a request")
    return error_response(500, "internal_error",
                          "an unexpected error happened on the server; it has been logged")
