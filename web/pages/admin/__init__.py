"""The admin console: dashboard, instances and their repairs, definitions and decisions."""

from __future__ import annotations

from flask import Blueprint

from ..common import register_error_pages

bp = Blueprint("admin", __name__, url_prefix="/admin")
register_error_pages(bp)

from . import dashboard, definitions, editor, instances, libraries, migrations, reports, versions  # noqa: E402,I001

__all__ = ["bp", "dashboard", "definitions", "editor", "instances", "libraries", "migrations",
           "reports", "versions"]
