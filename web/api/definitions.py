"""Read deployed process (and decision) definitions and their XML."""

from __future__ import annotations

from typing import Any

from flask import Response

from . import bp
from .common import actor, dump, engine, load_args, load_body
from .schemas import (
    DefinitionArgsSchema,
    DefinitionPageSchema,
    DefinitionVersionsSchema,
    DeploymentSchema,
    DiffArgsSchema,
    ModelDiffSchema,
    NoArgsSchema,
    RollbackSchema,
    VersionArgsSchema,
)


@bp.get("/process-definitions")
def list_definitions() -> dict[str, Any]:
    """List the latest version of every definition, a page at a time."""
    args = load_args(DefinitionArgsSchema)
    kind = None if args["kind"] == "all" else args["kind"]
    rows = engine().repository.list_definitions(kind)
    page, per_page = args["page"], args["per_page"]
    items = rows[(page - 1) * per_page: page * per_page]
    return dump(DefinitionPageSchema, {"items": items, "total": len(rows), "page": page})


@bp.get("/process-definitions/<key>")
def show_definition(key: str) -> dict[str, Any]:
    """List every deployed version of one definition, newest first."""
    load_args(NoArgsSchema)
    rows = engine().repository.definition_versions(key)
    return dump(DefinitionVersionsSchema, {"key": key, "versions": rows})


@bp.get("/process-definitions/<key>/xml")
def definition_xml(key: str) -> Response:
    """Return the source XML of the latest version, or of ``?version=``."""
    args = load_args(VersionArgsSchema)
    row = engine().repository.definition(key, args["version"])
    return Response(row.source, mimetype="application/xml")


@bp.get("/process-definitions/<key>/diff")
def diff_versions(key: str) -> dict[str, Any]:
    """What changed from ``?from=`` to ``?to=`` (default: the newest version): elements
    added, removed and changed with their attributes, decision rules row by row."""
    args = load_args(DiffArgsSchema())
    repository = engine().repository
    new = args["to"] or repository.definition(key).version
    diff = repository.diff(key, args["from_"], new)
    return dump(ModelDiffSchema(), {"key": key, "from_": args["from_"], "to": new,
                                    "changes": diff.changes, "moved": diff.moved})


@bp.post("/process-definitions/<key>/rollback")
def rollback(key: str) -> tuple[dict[str, Any], int]:
    """Deploy an earlier version again as the newest: ``{"version": 2}``."""
    body = load_body(RollbackSchema())
    deployed = engine().repository.rollback(key, body["version"], actor())
    return dump(DeploymentSchema(), {"definitions": deployed}), 201
