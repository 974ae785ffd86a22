"""Small BPMN files written inline by the construct tests, and what they read back."""

from __future__ import annotations

from engine import Engine

HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs" targetNamespace="t">
"""


def process_file(key: str, body: str, head: str = HEAD) -> bytes:
    """One executable process ``key`` made of ``body``, in a file that starts with ``head``."""
    return (head + f'<bpmn:process id="{key}" isExecutable="true">{body}</bpmn:process>'
            "</bpmn:definitions>").encode()


def steps(engine: Engine, instance_id: str) -> list[str]:
    """The elements the instance went through, in order (from the audit trail)."""
    return [e.element_id for e in engine.history.events_of(instance_id)
            if e.type == "step" and e.element_id]
