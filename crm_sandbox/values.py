"""Field values: checking what a client sends, storing it, and giving it back as JSON.

Date-times are stored as fixed-width text in Salesforce's own format
(``2024-05-01T10:00:00.000+0000``, UTC), so that text order is time order in SQL.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from typing import Any

from .errors import SalesforceError
from .schema import Field, normalize_id

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def format_datetime(moment: datetime) -> str:
    """``moment`` in Salesforce's format, in UTC with milliseconds."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def epoch_to_datetime(seconds: float) -> str:
    return format_datetime(datetime.fromtimestamp(seconds, UTC))


def epoch_to_iso(seconds: float) -> str:
    """ISO 8601 in UTC with a ``Z``, as the webhook payloads carry it."""
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_datetime(text: str) -> str | None:
    """An ISO 8601 date-time (``Z``, offset, or none for UTC) in the stored form, or None."""
    if not isinstance(text, str) or "T" not in text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return format_datetime(moment)


def parse_date(text: Any) -> str | None:
    if not isinstance(text, str) or not DATE_RE.match(text):
        return None
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        return None


def _type_error(field: Field, raw: Any, kind: str) -> SalesforceError:
    found = "VALUE_STRING" if isinstance(raw, str) else type(raw).__name__.upper()
    return SalesforceError(400, "JSON_PARSER_ERROR",
                           f"Cannot deserialize instance of {kind} from {found} value "
                           f"{raw!r} or request may be missing a required field",
                           [field.name])


def _number(field: Field, raw: Any) -> float | int:
    kind = "int" if field.type == "int" else "double"
    if isinstance(raw, bool):
        raise _type_error(field, raw, kind)
    value: float | int
    if isinstance(raw, int | float):
        value = raw
    elif isinstance(raw, str):
        try:
            value = float(raw.strip())
        except ValueError as exc:
            raise _type_error(field, raw, kind) from exc
    else:
        raise _type_error(field, raw, kind)
    if not math.isfinite(value):
        raise _type_error(field, raw, kind)
    if field.type == "int":
        if value != int(value):
            raise _type_error(field, raw, kind)
        return int(value)
    return round(float(value), 2) if field.type == "currency" else float(value)


def _text(field: Field, raw: Any) -> str:
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise _type_error(field, raw, "String")
    value = str(raw)
    if len(value) > field.length:
        raise SalesforceError(400, "STRING_TOO_LONG",
                              f"{field.name}: data value too large: {value[:40]}… "
                              f"(max length={field.length})", [field.name])
    if field.type == "email" and value and not EMAIL_RE.match(value):
        raise SalesforceError(400, "INVALID_EMAIL_ADDRESS",
                              f"{field.name}: invalid email address: {value}", [field.name])
    if field.type == "picklist" and value not in field.picklist:
        raise SalesforceError(400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                              f"{field.name}: bad value for restricted picklist field: {value}",
                              [field.name])
    if field.type == "reference":
        record_id = normalize_id(value)
        if record_id is None:
            raise SalesforceError(400, "MALFORMED_ID",
                                  f"{field.name}: id value of incorrect type: {value}",
                                  [field.name])
        return record_id
    return value


def coerce(field: Field, raw: Any) -> Any:
    """The stored form of ``raw`` for ``field``; a Salesforce error when it does not fit."""
    if raw is None or raw == "":   # Salesforce stores an empty text as null
        return None
    if field.type in ("double", "currency", "int"):
        return _number(field, raw)
    if field.type == "boolean":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        raise _type_error(field, raw, "boolean")
    if field.type == "date":
        value = parse_date(raw)
        if value is None:
            raise _type_error(field, raw, "date")
        return value
    if field.type == "datetime":
        value = parse_datetime(raw)
        if value is None:
            raise _type_error(field, raw, "dateTime")
        return value
    return _text(field, raw)


def to_db(field: Field, value: Any) -> Any:
    if field.type == "boolean" and value is not None:
        return 1 if value else 0
    return value


def from_db(field: Field, value: Any) -> Any:
    """The JSON form of a stored value."""
    if value is None:
        return None
    if field.type == "boolean":
        return bool(value)
    if field.type == "int":
        return int(value)
    if field.type in ("double", "currency"):
        return float(value)
    return value
