"""FEEL's context functions: context(), context put, context merge, get value, get entries."""

from __future__ import annotations

from typing import Any

from engine.dmn.feel_errors import report


def get_value(m: Any, key: Any) -> Any:
    if type(m) is not dict or type(key) not in (str, list):
        report("get value() takes a context and a key (or a list of keys): null")
        return None
    if type(key) is list:  # a path of keys into nested contexts
        return _get_path(m, key)
    return m.get(key) if type(key) is str else None


def _get_path(m: Any, keys: list[Any]) -> Any:
    for key in keys:
        if type(m) is not dict or type(key) is not str:
            return None
        m = m.get(key)
    return m


def get_entries(m: Any) -> Any:
    if type(m) is not dict:
        return None
    return [{"key": k, "value": v} for k, v in m.items()]


def context(entries: Any) -> Any:
    """Build a context from a list of ``{key: …, value: …}`` contexts (null on a repeated key)."""
    if type(entries) is dict:
        entries = [entries]
    if type(entries) is not list:
        return None
    out: dict[str, Any] = {}
    for entry in entries:
        if type(entry) is not dict or not {"key", "value"} <= set(entry):
            return None
        key = entry["key"]
        if type(key) is not str or key in out:
            return None
        out[key] = entry["value"]
    return out


def context_put(m: Any, key: Any, value: Any) -> Any:
    """A copy of ``m`` with ``key`` (or a path of keys into nested contexts) set to ``value``."""
    if type(m) is not dict:
        return None
    if type(key) is list:
        if not key or not all(type(k) is str for k in key):
            return None
        if len(key) == 1:
            return context_put(m, key[0], value)
        inner = context_put(m.get(key[0]), key[1:], value)
        return None if inner is None else {**m, key[0]: inner}
    if type(key) is not str:
        return None
    return {**m, key: value}


def context_merge(contexts: Any) -> Any:
    if type(contexts) is not list or not all(type(c) is dict for c in contexts):
        return None
    out: dict[str, Any] = {}
    for c in contexts:
        out.update(c)
    return out
