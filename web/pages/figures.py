"""Showing a task's figures to a reviewer: money, dates, percentages and lists as people read
them (the engine works the values out; see ``engine.figures``)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from engine.figures import Figure

MISSING = "—"
_CURRENCY_SIGNS = {"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥"}


def show_figure(figure: Figure) -> str:
    """The figure's value as text for the page; ``—`` when it is missing."""
    value = figure.value
    if value is None or value == "":
        return MISSING
    try:
        return _FORMATTERS.get(figure.format, _text)(value, figure)
    except (ValueError, TypeError, InvalidOperation, OverflowError):
        return _text(value, figure)  # a value not of the declared kind is shown as it is


def _number(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise TypeError("a yes/no is not a number")
    number = Decimal(str(value).strip())
    if not number.is_finite():
        raise ValueError("not a finite number")
    return number


def _money(value: Any, figure: Figure) -> str:
    amount = f"{_number(value):,.2f}"
    code = figure.currency
    if code is None:
        return amount
    sign = _CURRENCY_SIGNS.get(code)
    if sign is None:
        return f"{amount} {code}"
    return f"-{sign}{amount[1:]}" if amount.startswith("-") else f"{sign}{amount}"


def _plain_number(value: Any, figure: Figure) -> str:
    number = _number(value)
    if number == number.to_integral_value():
        return f"{int(number):,}"
    return f"{number.normalize():,f}"


def _percent(value: Any, figure: Figure) -> str:
    """A share (0.25) shown as a percentage (25 %)."""
    share = _number(value) * 100
    shown = f"{share:.1f}".rstrip("0").rstrip(".")
    return f"{shown} %"


def _date(value: Any, figure: Figure) -> str:
    day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return f"{day.day} {day:%b %Y}"


def _datetime(value: Any, figure: Figure) -> str:
    moment = value if isinstance(value, datetime) else \
        datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    if moment.tzinfo is None:
        return f"{moment.day} {moment:%b %Y %H:%M}"
    moment = moment.astimezone(UTC)
    return f"{moment.day} {moment:%b %Y %H:%M} UTC"


def _list(value: Any, figure: Figure) -> str:
    if not isinstance(value, list | tuple):
        return _text(value, figure)
    return ", ".join(_item(item) for item in value) or MISSING


def _item(item: Any) -> str:
    if isinstance(item, dict):
        for key in ("name", "label", "title", "id"):
            if isinstance(item.get(key), str | int):
                return str(item[key])
    return _text(item, None)


def _boolean(value: Any, figure: Figure) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    return _text(value, figure)


def _text(value: Any, figure: Figure | None) -> str:
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, dict | list):
        import json

        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


_FORMATTERS = {"money": _money, "number": _plain_number, "percent": _percent, "date": _date,
               "datetime": _datetime, "list": _list, "boolean": _boolean, "text": _text}
