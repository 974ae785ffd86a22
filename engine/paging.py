"""A page of a list, as every list of the engine answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Page:
    """``total_capped``: the count stopped at ``total`` (there are at least that many), as
    a list over a long history says "10,000+" rather than counting a million rows."""

    items: list[Any]
    total: int
    page: int
    per_page: int
    total_capped: bool = False
