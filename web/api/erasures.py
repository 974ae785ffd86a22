"""Erase one customer's personal data by business key (an administrator's request)."""

from __future__ import annotations

from typing import Any

from . import bp
from .common import actor, dump, engine, load_args, load_body
from .schemas import EraseSchema, ErasureSchema, NoArgsSchema


@bp.post("/erasures")
def erase() -> dict[str, Any]:
    """Remove every instance of a business key and all kept about it; 409 while one runs,
    unless ``terminate`` is true."""
    load_args(NoArgsSchema)
    body = load_body(EraseSchema)
    report = engine().management.erase(body["business_key"], actor(), body["terminate"])
    return dump(ErasureSchema, report)
