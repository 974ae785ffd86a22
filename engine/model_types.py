"""Values every table shares: row ids (UUIDs version 7) and times (naive UTC), with the
column type that stores times alike on SQLite and PostgreSQL (``engine.models`` re-exports
them)."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator


def utcnow() -> datetime:
    """Return the current time as a naive UTC datetime (how every table stores time)."""
    return datetime.now(UTC).replace(tzinfo=None)


# A UUID version 7 (RFC 9562): 48 bits of Unix time in milliseconds, then 74 random bits
_RANDOM_BITS = ((1 << 80) - 1) & ~(0xF << 76) & ~(0b11 << 62)
_VERSION_7 = (0x7 << 76) | (0b10 << 62)  # the version nibble and the RFC variant


def new_id() -> str:
    """Return a fresh identifier for a row that outsiders will see: a UUID version 7.

    Ids made later sort later, so each index keyed by an id (the primary keys, an
    instance's events) is written at its end instead of at a random page: fewer pages split
    and written per start, on SQLite and PostgreSQL. An id shows when its row was made, to
    the millisecond; ids are not secrets (every read is checked against the caller's rights)
    and 74 random bits keep them unguessable.
    """
    value = (time.time_ns() // 1_000_000) << 80 | (
        int.from_bytes(os.urandom(10), "big") & _RANDOM_BITS | _VERSION_7)
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class UTCDateTime(TypeDecorator[datetime]):
    """Store naive UTC on every backend; accept aware datetimes and convert them."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def bind_processor(self, dialect: Any) -> Any:
        """On SQLite, the text SQLAlchemy's ``DATETIME`` writes, made by ``isoformat`` (a
        third of the time, on every row's dates); anything but a datetime goes its way."""
        general = super().bind_processor(dialect)
        if dialect.name != "sqlite" or general is None:
            return general

        def process(value: Any) -> Any:
            if type(value) is datetime:
                utc = cast(datetime, self.process_bind_param(value, dialect))  # not None
                return utc.isoformat(" ", "microseconds")
            return general(value)

        return process
