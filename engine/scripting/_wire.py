"""What crosses the pipe to a script worker: length-prefixed JSON, never pickle.

Process variables are JSON values; dates, times, durations, Decimals and sets (which scripts
can make) travel as ``{"__bf": kind, "v": text}``. A reply is data the parent decodes with
``json``, so a worker that was taken over still cannot make the engine run code.
"""

from __future__ import annotations

import json
import os
import select
import struct
import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

_HEADER = struct.Struct(">I")
_TAG = "__bf"


class WireError(Exception):
    """The other side went away, answered too late, or sent too much."""

    def __init__(self, reason: str, limit: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.limit = limit


def _encode_other(value: Any) -> Any:
    if isinstance(value, datetime):
        return {_TAG: "datetime", "v": value.isoformat()}
    if isinstance(value, date):
        return {_TAG: "date", "v": value.isoformat()}
    if isinstance(value, timedelta):
        return {_TAG: "timedelta", "v": [value.days, value.seconds, value.microseconds]}
    if isinstance(value, Decimal):
        return {_TAG: "decimal", "v": str(value)}
    if isinstance(value, set | frozenset):
        return {_TAG: "set", "v": list(value)}
    raise TypeError(f"a {type(value).__name__} is not a value a process variable can hold")


def _decode_tagged(obj: dict[str, Any]) -> Any:
    if len(obj) != 2 or _TAG not in obj or "v" not in obj:
        return obj
    kind, raw = obj[_TAG], obj["v"]
    if kind == "datetime":
        return datetime.fromisoformat(raw)
    if kind == "date":
        return date.fromisoformat(raw)
    if kind == "timedelta":
        return timedelta(days=raw[0], seconds=raw[1], microseconds=raw[2])
    if kind == "decimal":
        return Decimal(raw)
    if kind == "set":
        return set(raw)
    return obj


def encode(message: Any) -> bytes:
    """Return ``message`` as JSON bytes; raise TypeError for values JSON cannot carry."""
    return json.dumps(message, default=_encode_other, separators=(",", ":")).encode("utf-8")


def decode(data: bytes) -> Any:
    return json.loads(data, object_hook=_decode_tagged)


def write_frame(fd: int, payload: bytes) -> None:
    view = memoryview(_HEADER.pack(len(payload)) + payload)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def read_frame(fd: int, max_bytes: int, deadline: float | None = None) -> bytes | None:
    """Read one frame; None at end of file. ``deadline`` is a ``time.monotonic()`` value."""
    header = _read_exact(fd, _HEADER.size, deadline)
    if header is None:
        return None
    (size,) = _HEADER.unpack(header)
    if size > max_bytes:
        raise WireError(f"the script's result is {size:,} bytes of data; at most {max_bytes:,} "
                        "may come back (the output size limit)", "output size limit")
    body = _read_exact(fd, size, deadline)
    if body is None:
        raise WireError("the script worker stopped in the middle of its answer")
    return body


def _read_exact(fd: int, size: int, deadline: float | None) -> bytes | None:
    chunks: list[bytes] = []
    missing = size
    while missing:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise WireError("no answer in time", "wall-clock limit")
        chunk = os.read(fd, min(missing, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        missing -= len(chunk)
    return b"".join(chunks)
