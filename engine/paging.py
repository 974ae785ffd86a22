"""What the parts of the Engine facade share: a page of a list, and the base of its mixins."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .db import Database

if TYPE_CHECKING:
    from .models import Instance


@dataclass
class Page:
    items: list[Any]
    total: int
    page: int
    per_page: int


class EnginePart:
    """Base of the Engine's mixins (tasks, repairs): what they use of the Engine itself."""

    db: Database

    if TYPE_CHECKING:  # provided by Engine
        def instance(self, instance_id: str) -> Instance: ...
        def run_now(self, job_id: int) -> None: ...
        def wait_for(self, instance_id: str, timeout: float) -> Instance: ...
