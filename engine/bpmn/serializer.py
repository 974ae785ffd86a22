"""Turn process specs and workflow state into bytes and back; state never embeds the spec."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any
from uuid import UUID

from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter
from SpiffWorkflow.bpmn.serializer.helpers.encoder import create_encoder
from SpiffWorkflow.bpmn.serializer.helpers.registry import DefaultRegistry
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow

from ..errors import StateFormatError
from .specs import serializer_config

# The version of what ``dump_state`` and ``dump_spec`` write, as the top-level "format" key.
# Every release so far wrote 1. Raise it when the layout changes, teach ``_check_format``
# (or a converter) the old one, and add stored states to tests/fixtures/stored_states.
STATE_FORMAT = 1
# A blob without the key is read as format 1: the layout did not change when it got one.
_UNVERSIONED = 1


class _StateConverter(BpmnWorkflowConverter):  # type: ignore[misc]
    """The library's workflow converter without the spec, which lives on the definition."""

    def to_dict(self, workflow: Any) -> dict[str, Any]:
        dct: dict[str, Any] = super(BpmnWorkflowConverter, self).to_dict(workflow)
        dct["subprocesses"] = self.mapping_to_dict(workflow.subprocesses)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def restore_with(self, dct: dict[str, Any], spec: Any, subprocess_specs: Any) -> Any:
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        workflow.tasks = self.mapping_from_dict(dct["tasks"], UUID, workflow=workflow)
        workflow.task_tree = workflow.tasks.get(UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _build_registry() -> tuple[DefaultRegistry, _StateConverter]:
    registry = BpmnWorkflowSerializer.configure(serializer_config())
    registry.register(Decimal, lambda v: {"value": str(v)}, lambda v: Decimal(v["value"]))
    registry.register(date, lambda v: {"value": v.isoformat()},
                      lambda v: date.fromisoformat(v["value"]))
    converter = _StateConverter(BpmnWorkflow, registry)
    # Encoder mode converts lazily inside json.dumps, which also reaches task data deltas.
    # It stays on for this private registry, so concurrent threads never see it flip.
    registry._encoder_mode = True
    return registry, converter


_REGISTRY, _STATE = _build_registry()
_ENCODER = create_encoder(_REGISTRY)


def _dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), cls=_ENCODER).encode()


def dump_spec(spec: Any, subprocess_specs: dict[str, Any]) -> bytes:
    """Serialize a process spec and the specs of its subprocesses and call activities."""
    return _dumps({
        "format": STATE_FORMAT,
        "spec": _REGISTRY.convert(spec),
        "subprocess_specs": {k: _REGISTRY.convert(v) for k, v in subprocess_specs.items()},
    })


def load_spec(blob: bytes) -> tuple[Any, dict[str, Any]]:
    """Restore what ``dump_spec`` wrote."""
    dct = json.loads(blob)
    _check_format(dct, "process spec")
    spec = _REGISTRY.restore(dct["spec"])
    subs = {k: _REGISTRY.restore(v) for k, v in dct["subprocess_specs"].items()}
    return spec, subs


def dump_state(workflow: Any) -> bytes:
    """Serialize a workflow's state (tasks, data, subprocesses) without its spec."""
    return _dumps({"format": STATE_FORMAT, "state": _REGISTRY.convert(workflow)})


def load_state(blob: bytes, spec: Any, subprocess_specs: dict[str, Any]) -> Any:
    """Restore a workflow from ``dump_state`` output and its (cached) spec."""
    dct = json.loads(blob)
    _check_format(dct, "instance state")
    return _STATE.restore_with(dct["state"], spec, subprocess_specs)


def _check_format(dct: Any, what: str) -> None:
    """Refuse a blob this engine cannot read, saying which release can."""
    found = dct.get("format", _UNVERSIONED) if isinstance(dct, dict) else None
    if found == STATE_FORMAT:
        return
    if isinstance(found, int) and found > STATE_FORMAT:
        raise StateFormatError(
            f"the stored {what} has format {found}, written by a newer Bridgeflow; this "
            f"engine reads format {STATE_FORMAT}. Run the release that wrote it (or a "
            "later one) on every worker, then retry the incident; nothing was changed",
            {"format": found, "supported": STATE_FORMAT})
    raise StateFormatError(
        f"the stored {what} has no format this engine knows ({found!r}); it was not "
        "written by Bridgeflow or is damaged. Restore it from a backup; nothing was changed",
        {"format": found, "supported": STATE_FORMAT})


def to_json_value(value: Any) -> Any:
    """Convert task data into plain JSON (dates as ISO strings, decimals as strings)."""
    return json.loads(json.dumps(value, default=_json_default))


def _json_default(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    return repr(value)
