"""Deploy BPMN and DMN files (multipart parts named ``files``)."""

from __future__ import annotations

from typing import Any

from flask import request

from ..errors import ApiError
from . import bp
from .common import actor, dump, engine, load_args
from .schemas import DeployArgsSchema, DeploymentSchema, DryRunSchema


@bp.post("/deployments")
def deploy() -> tuple[dict[str, Any], int]:
    """Deploy the uploaded files; unchanged files create no new version.

    ``?dry_run=true`` runs the same checks and stores nothing: 200 with what would be
    deployed, or the same 422 with every problem. A form field ``comment`` is kept with
    every new version.
    """
    dry_run: bool = load_args(DeployArgsSchema)["dry_run"]
    uploads = request.files.getlist("files")
    if not uploads:
        raise ApiError(400, "send one or more files as multipart/form-data parts named 'files'")
    files = {}
    for upload in uploads:
        name = upload.filename or ""
        if not name:
            raise ApiError(400, "every uploaded part named 'files' needs a file name")
        files[name] = upload.read()
    comment = (request.form.get("comment") or "").strip() or None
    deployed = engine().repository.deploy(files, deployed_by=actor(), dry_run=dry_run,
                                          comment=comment)
    if dry_run:
        return dump(DryRunSchema, {"definitions": deployed}), 200
    return dump(DeploymentSchema, {"definitions": deployed}), 201
