"""CRM webhooks: ``POST /api/v1/webhooks/crm``, authenticated by an HMAC signature.

The CRM sends ``{"id", "type", "occurred_at", "object", "record_id", "data"}`` with
``X-Bridgeflow-Signature: sha256=<hex HMAC-SHA256 of the raw body>`` keyed with the shared
secret (setting ``webhook_secret``, ``BRIDGEFLOW_WEBHOOK_SECRET``); no API key. It retries
until it gets a 2xx, so the answers are:

- 202 ``{"event_id", "outcome", "message", "instance_ids", "duplicate": false, "detail"}``:
  recorded now; ``outcome`` is ``started``, ``delivered`` or ``ignored`` (nothing starts
  with or waits for the message: recorded so the CRM stops retrying);
- 200 ``{..., "duplicate": true}``: this event id was received before; nothing new happened;
- 401 signature missing or wrong, 400 body not JSON, 422 fields missing or wrong, 503 no
  secret configured — nothing is stored, in the one error shape.

The event is delivered as message ``type`` with ``.`` → ``_`` (``order_activated``), business
key ``record_id``, variables ``crm_event`` (id, type, object, record_id, occurred_at),
``record_id`` and ``crm_record`` (the event's ``data``). See ``engine.inbound``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from datetime import datetime
from typing import Any

from flask import request
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from ..errors import ApiError
from . import bp
from .common import engine

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Bridgeflow-Signature"
SOURCE = "crm"


def _iso_datetime(value: str) -> None:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError("must be an ISO 8601 date and time") from None


class CrmEventSchema(Schema):
    """A CRM event; fields the CRM adds later are ignored."""

    class Meta:
        unknown = EXCLUDE

    id = fields.String(required=True, validate=validate.Length(1, 200))
    type = fields.String(required=True, validate=validate.Regexp(
        r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$",
        error="must be words joined by dots, such as order.activated"))
    occurred_at = fields.String(required=True, validate=_iso_datetime)
    object = fields.String(required=True, validate=validate.Length(1, 80))
    record_id = fields.String(required=True, validate=validate.Length(1, 200))
    data = fields.Dict(keys=fields.String(), load_default=dict, allow_none=True)


def signature_of(secret: str, body: bytes) -> str:
    """The header value a sender computes for ``body``: ``sha256=<hex digest>``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _signed(secret: str, body: bytes, header: str | None) -> bool:
    sent = (header or "").strip().lower().encode("utf-8", "replace")
    return hmac.compare_digest(sent, signature_of(secret, body).encode())


@bp.post("/webhooks/crm")
def receive_crm_event() -> tuple[dict[str, Any], int]:
    """Record a signed CRM event once and deliver it as a message."""
    secret = engine().settings.webhook_secret
    if not secret:
        log.error("a CRM webhook arrived but BRIDGEFLOW_WEBHOOK_SECRET is not set")
        raise ApiError(503, "webhooks are not configured on this server (no shared secret)",
                       code="webhooks_not_configured")
    body = request.get_data(cache=True)
    if not _signed(secret, body, request.headers.get(SIGNATURE_HEADER)):
        log.warning("CRM webhook refused: missing or wrong signature (from %s)",
                    request.remote_addr)
        raise ApiError(401, f"the {SIGNATURE_HEADER} header is missing or does not match the "
                            "body; sign the raw body with HMAC-SHA256 and the shared secret")
    try:
        raw = json.loads(body)
    except ValueError as exc:
        raise ApiError(400, "the body is not valid JSON") from exc
    if not isinstance(raw, dict):
        raise ApiError(422, "the body must be a JSON object",
                       {"fields": {"_schema": ["must be a JSON object"]}})
    event: dict[str, Any] = CrmEventSchema().load(raw)
    variables = {
        "crm_event": {k: event[k] for k in ("id", "type", "object", "record_id",
                                            "occurred_at")},
        "record_id": event["record_id"],
        "crm_record": event["data"] or {},
    }
    outcome = engine().runtime.accept_event(source=SOURCE, event_id=event["id"],
                                            event_type=event["type"],
                                            record_id=event["record_id"], variables=variables)
    answer = {"event_id": outcome.event_id, "outcome": outcome.outcome,
              "message": outcome.message_name, "instance_ids": outcome.instance_ids,
              "duplicate": outcome.duplicate, "detail": outcome.detail}
    return answer, 200 if outcome.duplicate else 202
