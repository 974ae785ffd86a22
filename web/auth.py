"""Signing in and out, the signed-in user, and the decorators that guard pages by role."""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable
from typing import Any, NoReturn, TypeVar
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from engine import Engine, User

from .errors import error_response
from .security import refusal, wants_json

log = logging.getLogger(__name__)

bp = Blueprint("auth", __name__)

F = TypeVar("F", bound=Callable[..., Any])
DEFAULT_AFTER_LOGIN = "/inbox"
WRONG = "wrong name or password"
_UNSET = object()


def init_app(app: Flask) -> None:
    """Register the sign-in pages and the template globals (demo users: ``bridgeflow users
    demo``, never the app factory)."""
    app.register_blueprint(bp)
    app.jinja_env.globals["current_user"] = current_user
    app.jinja_env.globals["visible_variables"] = visible_variables


def _engine() -> Engine:
    eng: Engine = current_app.extensions["bridgeflow"]
    return eng


# -- the signed-in user -----------------------------------------------------------------------

def current_user() -> User | None:
    """The user of this request's session, loaded once per request; None when signed out."""
    cached = g.get("bf_user", _UNSET)
    if cached is not _UNSET:
        loaded: User | None = cached
        return loaded
    user = None
    user_id = session.get("user_id")
    if isinstance(user_id, str):
        found = _engine().identity.user(user_id)
        # Deactivation, a password change or signing out (anywhere) ends the session:
        # the stamp covers the password hash and the user's session version.
        if found is not None and found.active and session.get("pw") == _stamp(found):
            user = found
        else:
            session.clear()
    g.bf_user = user
    return user


def _stamp(user: User) -> str:
    seed = f"{user.password_hash}\x00{user.session_version or 0}"
    return hashlib.sha256(seed.encode()).hexdigest()[:16]


def visible_variables(variables: dict[str, Any] | None,
                      user: User | None = None) -> dict[str, Any]:
    """The variables as ``user`` (default: the signed-in one) may see them on a page.

    Admins and members of ``personal_data_groups`` see personal values; others see them masked.
    """
    masked: dict[str, Any] = _engine().identity.masked_for(user or current_user(),
                                                          dict(variables or {}))
    return masked


# -- guards -----------------------------------------------------------------------------------

def login_required(view: F) -> F:
    """Send a signed-out person to the sign-in page (a program gets a JSON 401)."""
    @functools.wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if current_user() is None:
            return _sign_in_first()
        return view(*args, **kwargs)
    return guarded  # type: ignore[return-value]


def roles_required(*roles: str) -> Callable[[F], F]:
    """Let only users with one of ``roles`` in; others get a 403 that is audited."""
    def decorate(view: F) -> F:
        @functools.wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                return _sign_in_first()
            if user.role not in roles:
                forbid(f"this needs the role {' or '.join(roles)}; you are {user.role}")
            return view(*args, **kwargs)
        guarded.bf_roles = roles  # type: ignore[attr-defined]  # read by _landing
        return guarded  # type: ignore[return-value]
    return decorate


def _landing(user: User, target: str | None) -> str:
    """Where a user goes after signing in: ``target`` if she may open it, else her inbox.

    A ``next`` she may not open (a finance user sent to ``/admin`` by an old link) would only
    show her a 403 page; she is told why and sent to her inbox instead.
    """
    if not target:
        return DEFAULT_AFTER_LOGIN
    adapter = current_app.url_map.bind("")
    path = urlsplit(target).path
    try:
        try:
            endpoint, _ = adapter.match(path, method="GET")
        except RequestRedirect as moved:  # "/admin" is "/admin/"
            path = urlsplit(moved.new_url).path
            endpoint, _ = adapter.match(path, method="GET")
    except HTTPException:  # not found, or not a page: let the page answer for itself
        return target
    roles = getattr(current_app.view_functions.get(endpoint), "bf_roles", None)
    if roles is not None and user.role not in roles:
        flash(f"{path} needs the role {' or '.join(roles)}; "
              "here is your inbox instead.", "info")
        return DEFAULT_AFTER_LOGIN
    return target


def forbid(reason: str) -> NoReturn:
    """Refuse the request with a 403 page (or JSON) and record the refusal in the audit trail."""
    user = current_user()
    name = user.name if user is not None else None
    log.warning("access denied to %s for %s: %s", request.path, name or "anonymous", reason)
    _engine().identity.audit("access_denied", name, path=request.path,
                method=request.method, reason=reason)
    abort(refusal(403, "forbidden", reason, "auth/refused.html"))


def _sign_in_first() -> ResponseReturnValue:
    if wants_json():
        return error_response(401, "unauthorized", "sign in first")
    target = request.full_path if request.method == "GET" else request.path
    target = target[:-1] if target.endswith("?") else target
    login_url = url_for("auth.login", next=target)
    if request.headers.get("HX-Request"):  # htmx swaps fragments: make it load the page
        response = Response(status=401)
        response.headers["HX-Redirect"] = login_url
        return response
    return redirect(login_url)


# -- views ------------------------------------------------------------------------------------

@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Show the sign-in form; check a name and password and start a session."""
    target = safe_next(request.values.get("next"))
    if request.method == "GET":
        signed_in = current_user()
        if signed_in is not None:
            return redirect(_landing(signed_in, target))
        return render_template("auth/login.html", next=target or "", name="")
    engine = _engine()
    name = (request.form.get("name") or "").strip()
    password = request.form.get("password") or ""
    address = request.remote_addr or "-"
    identity = engine.identity
    wait = identity.blocked_for(name, address)
    if wait:
        return _too_many(name, wait)
    user = identity.authenticate(name, password, address)
    if user is None:
        locked = identity.sign_in_failed(name, address)
        # Only a known name is recorded: people type passwords into the name field, too.
        known = bool(name) and identity.user_by_name(name) is not None
        identity.audit("sign_in_failed", name if known else None, locked=locked,
                       known_user=known)
        if locked:
            return _too_many(name, identity.lockout_seconds)
        return render_template("auth/login.html", next=target or "", name=name,
                               error=WRONG), 401
    session.clear()  # a fresh session (and CSRF token) for the signed-in user
    session.permanent = True
    session["user_id"], session["pw"] = user.id, _stamp(user)
    g.bf_user = user
    identity.audit("signed_in", user.name)
    log.info("user %s signed in", user.name)
    return redirect(_landing(user, target))


@bp.post("/logout")
def logout() -> Any:
    """End the session, server-side too: a copy of the cookie no longer signs anyone in."""
    user = current_user()
    if user is not None:
        _engine().identity.end_sessions(user)
        _engine().identity.audit("signed_out", user.name)
    session.clear()
    g.bf_user = None
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


def _too_many(name: str, seconds: int) -> tuple[Response, int]:
    minutes = max(1, (seconds + 59) // 60)
    message = (f"too many failed sign-ins; try again in {minutes} minute"
               f"{'s' if minutes != 1 else ''}")
    log.warning("a sign-in was refused for %d s after repeated failures", seconds)
    html = render_template("auth/login.html", next="", name=name, error=message)
    response = Response(html, status=429, mimetype="text/html")
    response.headers["Retry-After"] = str(seconds)
    return response, 429


def safe_next(target: str | None) -> str | None:
    """``target`` when it is a path on this site; never another site (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    if any(ord(c) < 32 or c == "\\" for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
