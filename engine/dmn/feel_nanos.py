"""Times and date-times to the nanosecond, which FEEL allows (``10:15:30.123456789``) and
Python's ``datetime`` does not: a value with digits past the microsecond is the Python value
(to the microsecond) and the ``nanos`` beyond it, 1 to 999.

They compare, print and take durations with all nine digits; a subtraction of two of them is
a Python ``timedelta``, to the microsecond (rounded down), as every FEEL duration here is.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


@dataclass(frozen=True, slots=True)
class NanoTime:
    """A time of day: ``base`` (to the microsecond) plus ``nanos`` nanoseconds (1..999)."""

    base: dt.time
    nanos: int

    def __getattr__(self, name: str) -> Any:  # hour, tzinfo, utcoffset()...
        return getattr(self.base, name)

    def isoformat(self) -> str:
        return with_fraction(self.base.isoformat(timespec="seconds"), 0, self.fraction)

    @property
    def fraction(self) -> int:
        """The fraction of a second, in nanoseconds."""
        return int(self.base.microsecond) * 1000 + self.nanos


@dataclass(frozen=True, slots=True)
class NanoDateTime:
    """A date and time: ``base`` (a datetime or a far one) plus ``nanos`` nanoseconds."""

    base: Any  # dt.datetime | FarDateTime
    nanos: int

    def __getattr__(self, name: str) -> Any:  # year, hour, tzinfo, date()...
        return getattr(self.base, name)

    def isoformat(self) -> str:
        text = self.base.isoformat()
        clock = text.index("T") + 1
        return with_fraction(without_fraction(text, clock), clock, self.fraction)

    @property
    def fraction(self) -> int:
        return int(self.base.microsecond) * 1000 + self.nanos

    def timetz(self) -> NanoTime:
        return NanoTime(self.base.timetz(), self.nanos)


NANO_TYPES: tuple[type, ...] = (NanoTime, NanoDateTime)
"""The types whose values carry nanoseconds beyond Python's microseconds."""


def with_nanos(base: Any, nanos: int) -> Any:
    """``base`` plus ``nanos`` (0..999) nanoseconds: a plain value when there are none."""
    if not nanos or base is None:
        return base
    return NanoTime(base, nanos) if type(base) is dt.time else NanoDateTime(base, nanos)


def split_nanos(value: Any) -> tuple[Any, int]:
    """A value and its nanoseconds past the microsecond (0 for any other value)."""
    if type(value) in NANO_TYPES:
        return value.base, value.nanos
    return value, 0


def parse_fraction(digits: str) -> tuple[int, int]:
    """The microseconds and the nanoseconds beyond them of a fraction's digits (after the
    point): "123456789" → (123456, 789); digits past the ninth are dropped."""
    padded = digits[:9].ljust(9, "0")
    return int(padded[:6]), int(padded[6:])


def fraction_seconds(seconds: Decimal) -> tuple[int, int, int]:
    """Whole seconds, microseconds and nanoseconds of a FEEL number of seconds."""
    whole = int(seconds)
    nanos_total = int((seconds - whole) * 1_000_000_000)
    return whole, nanos_total // 1000, nanos_total % 1000


def second_value(value: Any) -> Decimal:
    """FEEL's ``second`` of a time or date-time, with every digit it has."""
    base, nanos = split_nanos(value)
    fraction = base.microsecond * 1000 + nanos
    return Decimal(base.second) + Decimal(fraction) / 1_000_000_000


def with_fraction(text: str, clock_at: int, fraction: int) -> str:
    """Put ``fraction`` (nanoseconds) after the seconds of an ISO text whose clock starts at
    ``clock_at``, in groups of three digits as java.time writes them."""
    digits = f"{fraction:09d}"
    digits = digits[:3] if digits.endswith("000000") else (
        digits[:6] if digits.endswith("000") else digits)
    end = clock_at + 8  # hh:mm:ss
    return f"{text[:end]}.{digits}{text[end:]}" if fraction else text


def without_fraction(text: str, clock_at: int) -> str:
    """An ISO text whose clock starts at ``clock_at``, without its fraction of a second."""
    clock = clock_at + 8
    if clock < len(text) and text[clock] == ".":
        stop = clock + 1
        while stop < len(text) and text[stop].isdigit():
            stop += 1
        return text[:clock] + text[stop:]
    return text
