"""The engine's one error tree: every failure a caller can act on is an ``EngineError``."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

_REPR = re.compile(r"\s*<[^<>]*\bat 0x[0-9a-fA-F]+>")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a deployed file, precise enough for an analyst to find it."""

    file: str
    message: str
    line: int | None = None
    element_id: str | None = None

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
        if self.element_id:
            where += f" [{self.element_id}]"
        return f"{where}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "line": self.line,
            "element_id": self.element_id,
            "message": self.message,
        }


def scrub_repr(message: str) -> str:
    """Remove object reprs (``<Element … at 0x…>``) from a message: the last resort."""
    return _REPR.sub("", message).strip() or "the file could not be read here"


class EngineError(Exception):
    """Base of every error the engine raises on purpose."""

    code = "engine_error"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details: dict[str, Any] = details or {}


class NotFoundError(EngineError):
    """The named definition, instance, task, incident or message target does not exist."""

    code = "not_found"


class ConflictError(EngineError):
    """The request clashes with the current state (task already done, claimed by another...)."""

    code = "conflict"


class InvalidInputError(EngineError):
    """Input that is well-formed but wrong: bad variables, failed form validation."""

    code = "invalid_input"


class DefinitionError(EngineError):
    """A BPMN or DMN file that cannot be deployed, with every problem found in it."""

    code = "invalid_definition"

    def __init__(self, problems: list[Problem]) -> None:
        # the same problem found twice (by our checks and by the parser) reads as one line;
        # a library's object repr never reaches a person
        problems = list(dict.fromkeys(replace(p, message=scrub_repr(p.message)) for p in problems))
        lines = "; ".join(str(p) for p in problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__(
            f"{len(problems)} problem(s) in the deployed files: {lines}{more}",
            {"problems": [p.as_dict() for p in problems]},
        )
        self.problems = problems


class StaleStateError(ConflictError):
    """Another writer advanced the instance first; the caller must reload and retry."""

    code = "stale_state"


class StateFormatError(EngineError):
    """Stored state or a stored spec was written in a format this engine does not read."""

    code = "state_format"


class UnauthenticatedError(EngineError):
    """The credential is unknown, expired or revoked: the caller is nobody (HTTP 401)."""

    code = "unauthorized"


class ForbiddenError(EngineError):
    """The caller is known but may not do this (HTTP 403); the refusal is audited."""

    code = "forbidden"
