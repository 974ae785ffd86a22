"""Browser-facing protection: CSRF tokens on forms, session cookie flags, security headers.

Every POST, PUT, PATCH and DELETE must carry the session's token (form field ``csrf_token``
or header ``X-CSRF-Token``), except on blueprints that never read the session cookie (the
REST API authenticates with ``Authorization: Bearer`` keys or an HMAC signature).
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from typing import Any

from flask import Flask, Response, current_app, g, render_template, request, session

from engine import Settings

from .bootstrap import StartupError
from .errors import error_response

log = logging.getLogger(__name__)

DEFAULT_SECRET = Settings().secret_key
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Blueprints whose views never trust the session cookie, so a forged form cannot use it.
EXEMPT_BLUEPRINTS = frozenset({"api", "engine_rest"})
EXPIRED = "the form expired, reload the page"

# bpmn-js and dmn-js set inline styles on the diagram, so styles may be inline; scripts not.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
       "img-src 'self' data:; font-src 'self' data:; object-src 'none'; base-uri 'self'; "
       "form-action 'self'; frame-ancestors 'none'")
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}



def check_settings(settings: Settings) -> None:
    """Refuse to start outside development with the default secret key."""
    if settings.environment != "development" and settings.secret_key == DEFAULT_SECRET:
        raise StartupError(f"BRIDGEFLOW_SECRET_KEY is the development default, which signs "
                           f"sessions that anyone could forge; in '{settings.environment}' set "
                           "it to a long random value (python -c \"import secrets; "
                           "print(secrets.token_hex(32))\")")


def init_app(app: Flask, settings: Settings) -> None:
    """Configure the session cookie and register the CSRF check and the response headers."""
    secure = settings.environment == "production" or settings.session_cookie_secure
    app.config.update(
        SESSION_COOKIE_NAME="bridgeflow_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=settings.session_lifetime_minutes),
    )
    app.before_request(check_csrf)
    app.after_request(add_headers)
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.extensions["bridgeflow_hsts"] = secure


def csrf_token() -> str:
    """The token of this session, made on first use; forms put it in a hidden field."""
    token = session.get("csrf_token")
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session["csrf_token"] = token
    return token


def check_csrf() -> Response | None:
    """Refuse a state-changing browser request whose token is missing or wrong."""
    if request.method not in UNSAFE_METHODS or request.blueprint in EXEMPT_BLUEPRINTS:
        return None
    if request.routing_exception is not None:
        return None  # no view runs for an unknown URL or method: it answers 404 or 405
    expected = session.get("csrf_token")
    sent = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token")
    if isinstance(expected, str) and expected and isinstance(sent, str) \
            and secrets.compare_digest(expected.encode(), sent.encode()):
        return None
    log.warning("refused %s %s: %s CSRF token", request.method, request.path,
                "missing" if not sent else "wrong")
    return refusal(400, "csrf_failed", EXPIRED, "auth/refused.html")


def wants_json() -> bool:
    """Does the client expect the JSON error shape rather than a page?"""
    if request.path.startswith("/api/") or request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def refusal(status: int, code: str, message: str, template: str,
            **context: Any) -> Response:
    """An error as JSON for programs (the one error shape), as a page for people."""
    if wants_json():
        response, _ = error_response(status, code, message)
        response.status_code = status
        return response
    html = render_template(template, message=message, status=status, **context)
    return Response(html, status=status, mimetype="text/html")


def add_headers(response: Response) -> Response:
    """Put the security headers on every response (a view may set a stricter one)."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if current_app.extensions.get("bridgeflow_hsts"):
        response.headers.setdefault("Strict-Transport-Security",
                                    "max-age=31536000; includeSubDomains")
    if g.get("bf_user") is not None and request.endpoint != "static":
        response.headers.setdefault("Cache-Control", "no-store")  # pages show personal data
    return response
