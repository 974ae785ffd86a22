"""What a deployment answers for each definition it touched."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Deployed:
    """One definition touched by a deployment, and whether it made a new version."""

    id: str
    key: str
    version: int
    kind: str
    name: str | None
    new_version: bool
    external_topics: tuple[str, ...] = ()  # topics its external tasks wait on
    warnings: tuple[str, ...] = ()  # what deploys but may not work as meant
    unavailable_reason: str | None = None  # a decision that cannot be evaluated: why

    @property
    def available(self) -> bool:
        return self.unavailable_reason is None
