"""Times and date-times to the nanosecond: kept, compared, printed and moved by durations."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from engine.dmn.feel_types import plain_numbers
from tests.engine.dmn.test_literal_expressions import literal

T1 = 'time("10:30:00.000000001")'
T2 = 'time("10:30:00.000000002")'
DT = 'date and time("2011-12-31T10:15:30.123456789@Europe/Paris")'


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"string({DT})", "2011-12-31T10:15:30.123456789@Europe/Paris"),
        ('string(date and time("-999999999-12-31T23:59:59.999999999+02:00"))',
         "-999999999-12-31T23:59:59.999999999+02:00"),
        ('string(date and time(date("2017-01-01"), time("23:59:01.123456789@Europe/Paris")))',
         "2017-01-01T23:59:01.123456789@Europe/Paris"),
        ("string(time(10, 30, 1.123456789))", "10:30:01.123456789"),
        ('string(time("10:30:00.120000000"))', "10:30:00.120"),
        (f"{T1} = {T2}", False),
        (f"{T1} < {T2}", True),
        (f"{T1} = {T1}", True),
        ('time("10:30:00.000001") > time("10:30:00.000000999")', True),
        ('time("10:30:00.5") = time("10:30:00.500000000")', True),
        (f"is({T1}, {T1})", True),
        (f"{T1} instance of time", True),
        (f"{DT} instance of date and time", True),
        (f'{T1} in [time("10:30:00")..time("10:30:01")]', True),
        (f"string(sort([{T2}, {T1}])[1])", "10:30:00.000000001"),
        (f"count(distinct values([{T1}, {T1}, {T2}]))", Decimal(2)),
        ('time("10:30:00.123456789").second', Decimal("0.123456789")),
        (f'string({DT} + duration("P1DT1H"))', "2012-01-01T11:15:30.123456789@Europe/Paris"),
        (f'string({DT} - duration("P1Y"))', "2010-12-31T10:15:30.123456789@Europe/Paris"),
        # a duration holds microseconds: a difference of nanoseconds rounds down
        ('date and time("2020-01-01T00:00:00.000000002Z") - '
         'date and time("2020-01-01T00:00:00.000000001Z")', dt.timedelta(0)),
        ('date and time("2020-01-01T00:00:00.000000001Z") - '
         'date and time("2020-01-01T00:00:00.000000002Z")', dt.timedelta(microseconds=-1)),
        ('date and time("2020-01-01T24:00:00.000000001")', None),
    ],
)
def test_nanoseconds_are_kept(text: str, expected: Any) -> None:
    assert literal(text) == expected


def test_process_data_gets_python_values_to_the_microsecond() -> None:
    value = literal(f"[{T1}, {DT}]")
    plain = plain_numbers(value)
    assert plain[0] == dt.time(10, 30) and type(plain[0]) is dt.time
    assert type(plain[1]) is dt.datetime and plain[1].microsecond == 123456
