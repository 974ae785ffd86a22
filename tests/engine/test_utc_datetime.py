"""Dates are written to SQLite as exactly the text SQLAlchemy's own DATETIME writes (the
fast path must not change what range filters and sorting compare), aware dates as UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import DateTime
from sqlalchemy.dialects import postgresql, sqlite

from engine.models import UTCDateTime

SQLITE = sqlite.dialect()

VALUES = [
    datetime(2026, 12, 3, 20, 50, 26, 308759),
    datetime(2026, 12, 3, 20, 50, 26),  # no microseconds: still written with six digits
    datetime(1, 1, 1),
    datetime(999, 5, 6, 7, 8, 9, 10),  # a year of three digits: padded to four
    datetime(9999, 12, 31, 23, 59, 59, 999999),
]


@pytest.mark.parametrize("value", VALUES, ids=str)
def test_a_naive_date_is_written_as_sqlalchemy_writes_it(value: datetime) -> None:
    ours = UTCDateTime().dialect_impl(SQLITE).bind_processor(SQLITE)
    theirs = DateTime().dialect_impl(SQLITE).bind_processor(SQLITE)
    assert ours is not None and theirs is not None
    assert ours(value) == theirs(value)


def test_an_aware_date_is_written_as_the_same_instant_in_utc() -> None:
    ours = UTCDateTime().dialect_impl(SQLITE).bind_processor(SQLITE)
    theirs = DateTime().dialect_impl(SQLITE).bind_processor(SQLITE)
    assert ours is not None and theirs is not None
    berlin = datetime(2026, 12, 3, 21, 0, 0, 5, tzinfo=timezone(timedelta(hours=1)))
    assert ours(berlin) == theirs(datetime(2026, 12, 3, 20, 0, 0, 5)) \
        == "2026-12-03 20:00:00.000005"
    assert ours(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01 00:00:00.000000"


def test_none_and_wrong_types_are_answered_as_before() -> None:
    ours = UTCDateTime().dialect_impl(SQLITE).bind_processor(SQLITE)
    assert ours is not None
    assert ours(None) is None
    for wrong in ("2026-12-03 20:00:00", datetime(2026, 12, 3).date()):
        with pytest.raises(AttributeError, match="tzinfo"):  # refused, as it was
            ours(wrong)


def test_other_databases_keep_sqlalchemys_processing() -> None:
    dialect = postgresql.dialect()
    processor = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    aware = datetime(2026, 12, 3, 21, 0, tzinfo=timezone(timedelta(hours=1)))
    converted = processor(aware) if processor is not None else aware
    assert converted == datetime(2026, 12, 3, 20, 0)  # a naive UTC datetime for the driver
