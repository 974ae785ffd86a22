"""The plan of a migration and what checking and running it report, as plain data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class MigrationInstruction:
    """A token on ``source`` (an element id of the old version) moves to ``target``."""

    source: str
    target: str


@dataclass(frozen=True)
class MigrationPlan:
    """From one definition (version) to another, element by element."""

    source_definition_id: str
    target_definition_id: str
    instructions: tuple[MigrationInstruction, ...] = ()

    @property
    def mapping(self) -> dict[str, str]:
        return {i.source: i.target for i in self.instructions}

    def as_dict(self) -> dict[str, Any]:
        """The plan as plain JSON (what the API returns and the record keeps)."""
        return {"source_definition_id": self.source_definition_id,
                "target_definition_id": self.target_definition_id,
                "instructions": [{"source": i.source, "target": i.target}
                                 for i in self.instructions]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MigrationPlan:
        return cls(str(data["source_definition_id"]), str(data["target_definition_id"]),
                   tuple(MigrationInstruction(str(i["source"]), str(i["target"]))
                         for i in data.get("instructions") or []))

    def reversed(self) -> MigrationPlan:
        """The plan back: target to source, every instruction turned round."""
        return MigrationPlan(self.target_definition_id, self.source_definition_id,
                             tuple(MigrationInstruction(i.target, i.source)
                                   for i in self.instructions))


@dataclass(frozen=True)
class MigrationProblem:
    """Why a plan or an instance cannot migrate: a code, a sentence, the element concerned."""

    code: str
    message: str
    element_id: str | None = None


@dataclass
class MigrationCheck:
    """What stands in the way of one instance (nothing: it can migrate)."""

    instance_id: str
    problems: list[MigrationProblem] = field(default_factory=list)
    active_elements: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class MigrationValidation:
    """The plan's own problems, and each instance's."""

    plan: MigrationPlan
    plan_problems: list[MigrationProblem]
    instances: list[MigrationCheck]

    @property
    def ok(self) -> bool:
        return not self.plan_problems and all(i.ok for i in self.instances)


@dataclass
class MigrationOutcome:
    """What happened to one instance: ``migrated``, ``would_migrate`` (dry run),
    ``skipped`` (already on the target) or ``refused`` (with the problems)."""

    instance_id: str
    outcome: str
    problems: list[MigrationProblem] = field(default_factory=list)
    from_version: int | None = None
    to_version: int | None = None
