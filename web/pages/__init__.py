"""The pages people use: the review inbox (``/inbox``) and the admin console (``/admin``)."""

from __future__ import annotations

from flask import Flask, redirect, request, url_for
from flask.typing import ResponseReturnValue

INSTANCE_PAGES = {"admin.instances", "admin.show_instance", "admin.instance_diagram",
                  "admin.confirm_action", "admin.act", "admin.confirm_retry", "admin.retry"}


def init_app(app: Flask) -> None:
    """Register the page blueprints, their template filters, and ``/`` leading to the inbox."""
    from .account import bp as account_bp
    from .admin import bp as admin_bp
    from .common import FILTERS
    from .inbox import bp as inbox_bp

    app.jinja_env.filters.update(FILTERS)
    app.register_blueprint(inbox_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(account_bp)
    app.add_url_rule("/", endpoint="home", view_func=home)
    app.context_processor(lambda: {"nav_section": nav_section(request.endpoint)})


def home() -> ResponseReturnValue:
    """Send people to their inbox (sign-in comes first when needed)."""
    return redirect(url_for("inbox.index"))


def nav_section(endpoint: str | None) -> str:
    """Which entry of the main navigation the page belongs to."""
    if not endpoint:
        return ""
    if endpoint.startswith("inbox."):
        return "inbox"
    if endpoint == "admin.dashboard":
        return "dashboard"
    if endpoint in INSTANCE_PAGES:
        return "instances"
    return "definitions" if endpoint.startswith("admin.") else ""
