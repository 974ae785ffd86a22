"""Writing values into SOQL safely: every value a query carries goes through ``literal``."""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime

from ..base import InvalidParameters

_ID_RE = re.compile(r"^[A-Za-z0-9]{15}(?:[A-Za-z0-9]{3})?$")
_ESCAPES = {"\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b",
            "\f": "\\f", '"': '\\"'}

Scalar = str | int | float | bool | None


def literal(value: Scalar) -> str:
    """``value`` as a SOQL literal: quoted and escaped text, a number, true/false or null."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InvalidParameters(f"{value!r} cannot be used in a CRM query")
        return repr(value)
    return "'" + "".join(_ESCAPES.get(ch, ch) for ch in value) + "'"


def record_id(value: object, what: str = "record id") -> str:
    """``value`` checked to be a 15- or 18-character CRM id (so it is safe in URLs and SOQL)."""
    if not isinstance(value, str) or not _ID_RE.match(value):
        raise InvalidParameters(f"{what} {value!r} is not a CRM record id "
                                "(15 or 18 letters and digits)", {"parameter": what})
    return value


def datetime_literal(value: object, what: str = "since") -> str:
    """An ISO 8601 date or date-time as a SOQL date-time literal in UTC, to the second.

    A value without a time zone is taken as UTC; a date means its midnight (UTC). Seconds
    are truncated, so ``>=`` comparisons never miss a record.
    """
    moment: datetime
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError as exc:
            raise InvalidParameters(f"{what} {value!r} is not an ISO 8601 date or date-time",
                                    {"parameter": what}) from exc
    else:
        raise InvalidParameters(f"{what} must be an ISO 8601 date-time text, not "
                                f"{type(value).__name__}", {"parameter": what})
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
