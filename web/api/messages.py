"""Correlate a message to the instance waiting for it, or start the process it starts."""

from __future__ import annotations

from typing import Any

from . import bp
from .common import actor, dump, engine, load_args, load_body
from .schemas import MessageResultSchema, MessageSchema, NoArgsSchema


@bp.post("/messages")
def send_message() -> dict[str, Any]:
    """Deliver a message by name, business key and correlation keys."""
    load_args(NoArgsSchema())
    body = load_body(MessageSchema())
    result = engine().runtime.send_message(body["name"], body.get("business_key"),
                                   body.get("correlation_keys"), body.get("variables"),
                                   all_=body["all_"], sender=actor())
    return dump(MessageResultSchema(), result)
