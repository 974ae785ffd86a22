"""A small CRM that speaks the Salesforce REST API subset Bridgeflow uses, for demos and tests.

It plays an outside system: it imports nothing of Bridgeflow's. ``create_app(config)``
builds it; ``python -m crm_sandbox`` serves it.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any

from flask import Flask

from .core import Crm, Settings

__all__ = ["create_app", "crm_of", "Crm", "Settings"]


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the CRM app: defaults, then ``config`` (see ``Settings`` for the keys)."""
    app = Flask(__name__)
    app.json.sort_keys = False   # type: ignore[attr-defined]  # Salesforce puts attributes first
    app.config.from_mapping({f.name.upper(): f.default for f in fields(Settings)})
    app.config["SECRET_KEY"] = secrets.token_hex(32)
    app.config.update(config or {})
    crm = Crm(Settings.from_config(app.config))
    app.extensions["sandbox_crm"] = crm
    if crm.store.created and crm.settings.seed:
        from .seed import seed

        with crm.write() as records:
            seed(records)

    from . import api, oauth, ui

    api.init_app(app)
    app.register_blueprint(oauth.bp)
    ui.init_app(app)
    app.jinja_env.filters.update(money=_money, when=_when, epoch=_epoch, qty=_qty)
    if crm.settings.webhook_sender:
        crm.sender.start()
    return app


def crm_of(app: Flask) -> Crm:
    """The CRM behind ``app``: its store, settings, webhook sender and fault switch."""
    crm: Crm = app.extensions["sandbox_crm"]
    return crm


def _money(value: float | None) -> str:
    return "—" if value is None else f"{value:,.2f}"


def _qty(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _when(value: str | None) -> str:
    return "—" if not value else value[:19].replace("T", " ") + " UTC"


def _epoch(value: float | None) -> str:
    if value is None:
        return "—"
    return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
