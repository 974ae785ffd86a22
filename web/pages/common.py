"""What the inbox and the admin pages share: the engine, the signed-in user, HTML errors."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from markupsafe import Markup, escape
from werkzeug.exceptions import HTTPException

from engine import (
    ConflictError,
    Engine,
    EngineError,
    ForbiddenError,
    NotFoundError,
    User,
    library_id,
    utcnow,
)
from web.auth import current_user, visible_variables

log = logging.getLogger(__name__)

STATUSES = ("running", "waiting", "incident", "suspended", "completed", "terminated")


def engine() -> Engine:
    eng: Engine = current_app.extensions["bridgeflow"]
    return eng


def me() -> User:
    """The signed-in user; the views that call this are all behind ``login_required``."""
    user = current_user()
    if user is None:  # pragma: no cover - login_required runs first
        raise RuntimeError("a page view ran without a signed-in user")
    return user


def is_admin(user: User | None) -> bool:
    return bool(user is not None and user.role == "admin")


def display_variables(user: User, variables: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return the variables as ``user`` may see them: personal values masked without the right.

    Every page shows process variables through this, so that the one rule of who may read
    personal data (``web.auth.visible_variables``) applies everywhere.
    """
    return visible_variables(dict(variables or {}), user)


def safe_next(target: str | None, fallback: str) -> str:
    """A local URL to go back to after a POST; never another site."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") \
                and not target.startswith("//"):
            return target
    return fallback


def back(fallback: str) -> ResponseReturnValue:
    """Redirect to the page the form was on (its ``next`` field), or to ``fallback``."""
    return redirect(safe_next(request.form.get("next") or request.args.get("next"), fallback))


# -- formatting ---------------------------------------------------------------------------

def iso(value: datetime | None) -> str:
    if value is None:
        return ""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.isoformat(timespec="seconds") + "Z"


def relative(value: datetime | None, now: datetime | None = None) -> str:
    """Say how long ago (or from now) ``value`` is, in the largest unit that fits."""
    if value is None:
        return ""
    now = now or utcnow()
    seconds = (value - now).total_seconds()
    span = abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if span >= size:
            amount = f"{int(span // size)} {unit}"
            break
    else:
        return "just now"
    return f"in {amount}" if seconds > 0 else f"{amount} ago"


def when(value: datetime | None) -> Markup:
    """A ``<time>`` element showing the time relative to now, with the exact UTC time on hover."""
    if value is None:
        return Markup('<span class="muted">—</span>')
    exact = value.strftime("%Y-%m-%d %H:%M UTC")
    return Markup('<time datetime="{}" title="{}">{}</time>').format(iso(value), exact,
                                                                      relative(value))


def exact(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value is not None else "—"


def duration(seconds: float | None) -> str:
    """A duration for people: 42 s, 3.5 min, 2.1 h, 1.5 d."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"
    for unit, size in (("d", 86400.0), ("h", 3600.0), ("min", 60.0)):
        if seconds >= size:
            return f"{seconds / size:.1f} {unit}"
    return f"{seconds:.0f} s"  # pragma: no cover


def short_id(value: str | None) -> str:
    return (value or "")[:8]


def parse_day(raw: str | None) -> date | None:
    """A date from a date input; ``None`` when empty or not a date."""
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def day_start(value: date | None, plus_days: int = 0) -> datetime | None:
    if value is None:
        return None
    return datetime(value.year, value.month, value.day) + timedelta(days=plus_days)


def page_number(raw: str | None) -> int:
    try:
        return max(1, int(raw or 1))
    except ValueError:
        return 1


def pretty_json(value: Any) -> str:
    import json

    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str)


def status_badge(status: str | None) -> Markup:
    return Markup('<span class="badge status-{0}">{0}</span>').format(escape(status or "?"))


FILTERS = {"when": when, "exact": exact, "duration": duration, "short_id": short_id,
           "pretty_json": pretty_json, "status_badge": status_badge, "iso": iso,
           "library_id": library_id}


# -- errors on pages ----------------------------------------------------------------------

def error_page(status: int, title: str, message: str) -> tuple[str, int]:
    return render_template("errors/page.html", status=status, title=title,
                           message=message), status


def _not_found(exc: NotFoundError) -> tuple[str, int]:
    return error_page(404, "Not found", exc.message)


def _refused_action(exc: EngineError, status: int, title: str) -> ResponseReturnValue:
    """Tell the person why the engine refused, on the page they were on (its current state)."""
    if request.method == "POST":
        flash(f"That did not work: {exc.message}. The page shows the current state.", "error")
        return back(_page_of_the_post())
    return error_page(status, title, exc.message)


def _conflict(exc: ConflictError) -> ResponseReturnValue:
    return _refused_action(exc, 409, "Conflict")


def _page_of_the_post() -> str:
    """The page a refused form was on: its task, its instance, or the inbox."""
    args = request.view_args or {}
    if "task_id" in args:
        return url_for("inbox.show_task", task_id=args["task_id"])
    if "instance_id" in args:
        return url_for("admin.show_instance", instance_id=args["instance_id"])
    return url_for("inbox.index")


def _forbidden(exc: ForbiddenError) -> tuple[str, int]:
    return error_page(403, "Not allowed", exc.message)  # the engine has audited it


def _engine_error(exc: EngineError) -> ResponseReturnValue:
    return _refused_action(exc, 422, "That did not work")


def _http_error(exc: HTTPException) -> ResponseReturnValue:
    if exc.response is not None:  # a page made on purpose (sign-in, refusal)
        return exc.response
    titles = {400: "Bad request", 404: "Not found", 405: "Not allowed here",
              413: "Too large"}
    status = exc.code or 500
    message = exc.description or ""
    if status == 404:
        message = "There is no page at this address. It may have been moved or finished."
    return error_page(status, titles.get(status, exc.name), message)


def register_error_pages(bp: Blueprint) -> None:
    """Make errors inside ``bp`` HTML pages for people, instead of the API's JSON."""
    bp.register_error_handler(NotFoundError, _not_found)
    bp.register_error_handler(ConflictError, _conflict)
    bp.register_error_handler(ForbiddenError, _forbidden)
    bp.register_error_handler(EngineError, _engine_error)
    for code in (400, 404, 405, 413):
        bp.register_error_handler(code, _http_error)

