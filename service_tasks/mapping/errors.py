"""The errors of mapping files: one problem, every problem of a set of files, a refused value."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..base import ConnectorError


@dataclass(frozen=True)
class MappingProblem:
    """One thing wrong in a mapping file, precise enough for an analyst to find it."""

    file: str
    message: str
    line: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line is not None else "")
        where += f" [{self.field}]" if self.field else ""
        return f"{where}: {self.message}"

    def as_dict(self) -> dict[str, Any]:
        return {"file": self.file, "line": self.line, "field": self.field,
                "message": self.message}


class MappingFileError(ConnectorError):
    """Mapping files that cannot be used; ``problems`` lists every problem found."""

    def __init__(self, problems: list[MappingProblem]) -> None:
        lines = "\n".join(f"  {p}" for p in problems)
        super().__init__(f"{len(problems)} problem(s) in mapping files:\n{lines}",
                         {"problems": [p.as_dict() for p in problems]})
        self.problems = problems


class _Invalid(Exception):
    """A value that its field's type refuses (internal; collected into failures)."""
