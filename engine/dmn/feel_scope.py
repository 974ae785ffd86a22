"""Reading names during a FEEL evaluation: the variables passed in (converted to FEEL values
once per evaluation), and the entries of a context inside a filter."""

from __future__ import annotations

from typing import Any

from engine.dmn.feel_limits import converted_values
from engine.dmn.feel_types import ATOMIC_TYPES, to_feel

Env = dict[str, Any]


class UnknownNameError(Exception):
    """An expression used a name that is neither passed in nor defined in the model."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class ItemScope(dict[str, Any]):
    """The names inside a filter on a list of contexts: a context lacking an entry gives null
    (``orders[status = "open"]`` where one order has no status)."""

    def __missing__(self, key: str) -> None:
        return None


def lookup(env: Env, name: str) -> Any:
    try:
        value = env[name]
    except KeyError:
        raise UnknownNameError(name) from None
    if type(value) in ATOMIC_TYPES:
        return value
    converted = converted_values()
    if converted is None:
        return to_feel(value)
    if converted.get(id(value)) is value:
        return value
    value = env[name] = _to_feel_once(value, converted)
    return value


def _to_feel_once(value: Any, converted: dict[int, Any]) -> Any:
    """``to_feel``, noting the lists and contexts it builds: a name read again (a loop over an
    input's lines, the same context in several entries) is not walked again."""
    t = type(value)
    if t is dict:
        out: Any = {str(k): _to_feel_once(v, converted) for k, v in value.items()}
    elif t is list:
        out = [_to_feel_once(v, converted) for v in value]
    else:
        return to_feel(value)
    converted[id(out)] = out
    return out
