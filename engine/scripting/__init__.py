"""Restricted evaluator for BPMN script tasks, gateway conditions and other expressions.

Script source written by analysts runs here instead of plain ``eval``/``exec``: it is checked
against an allow-list of syntax, rewritten to enforce time and size limits, and run with a
small set of safe builtins. ``Sandbox.check`` is for deploy time; ``evaluate`` and ``execute``
for run time. Every failure is a ``SandboxError`` that names the element and the line.
``IsolatedSandbox`` (what the engine uses) runs all but provably small code in worker
processes with a hard CPU and memory limit set by the operating system.
"""

from engine.scripting._checker import Mode
from engine.scripting._engine import Sandbox, SandboxError
from engine.scripting._isolated import IsolatedSandbox
from engine.scripting._pool import WorkerLimits

__all__ = ["IsolatedSandbox", "Mode", "Sandbox", "SandboxError", "WorkerLimits"]
