"""The ``mapping.apply`` operation, for the connector registry."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..base import CallInfo, InvalidParameters, require
from .convert import _kind, json_ready
from .loading import MappingSet

Operation = Callable[[dict[str, Any], CallInfo], dict[str, Any]]


def operations(mappings: MappingSet) -> dict[str, Operation]:
    """The operations to register: ``mapping.apply`` {mapping, record} → {record}."""

    def apply(params: dict[str, Any], ctx: CallInfo) -> dict[str, Any]:
        name, record = require(params, "mapping", "record")
        if not isinstance(record, dict):
            raise InvalidParameters(f"'record' must be an object, not {_kind(record)}",
                                    {"record": _kind(record)})
        return {"record": json_ready(mappings.get(name).apply(record))}

    return {"mapping.apply": apply}
