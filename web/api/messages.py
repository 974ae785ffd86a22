"""Messages reach the instance waiting for them (or start a process); signals reach all."""

from __future__ import annotations

from typing import Any

from . import bp
from .common import actor, dump, engine, load_args, load_body
from .schemas import MessageResultSchema, MessageSchema, NoArgsSchema, SignalSchema


@bp.post("/messages")
def send_message() -> dict[str, Any]:
    """Deliver a message by name, business key and correlation keys."""
    load_args(NoArgsSchema)
    body = load_body(MessageSchema)
    result = engine().runtime.send_message(body["name"], body.get("business_key"),
                                           body.get("correlation_keys"), body.get("variables"),
                                           all_=body["all_"], sender=actor())
    return dump(MessageResultSchema, result)


@bp.post("/signals")
def send_signal() -> tuple[dict[str, Any], int]:
    """Broadcast a signal to every catch waiting for it and every process it starts.

    Like Camunda, a signal nobody waits for is no error: it is answered with empty lists.
    """
    load_args(NoArgsSchema)
    body = load_body(SignalSchema)
    result = engine().runtime.send_signal(body["name"], body.get("variables"), sender=actor())
    return dump(MessageResultSchema, result), 202
