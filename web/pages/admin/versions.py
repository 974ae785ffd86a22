"""Versions an analyst can trust: compare two versions on their diagrams, roll back."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from engine import ConflictError
from web.auth import roles_required

from ..common import engine, me, page_number
from . import bp
from .definitions import AUTHORS


@bp.get("/definitions/<key>/diff")
@roles_required(*AUTHORS)
def diff_versions(key: str) -> tuple[str, int]:
    """Two versions side by side: what was added, removed and changed, on the diagrams."""
    repository = engine().repository
    versions = repository.definition_versions(key)
    newest = versions[0].version
    new = page_number(request.args.get("to")) if request.args.get("to") else newest
    old = page_number(request.args.get("from")) if request.args.get("from") else \
        next((v.version for v in versions if v.version < new), new)
    known = {v.version for v in versions}
    if old not in known or new not in known:
        abort(404, f"'{key}' has versions {', '.join(str(v) for v in sorted(known))}")
    before, after = repository.definition(key, old), repository.definition(key, new)
    diff = repository.diff(key, old, new)
    return render_template("admin/diff.html", before=before, after=after, diff=diff,
                           versions=versions, key=key), 200


@bp.post("/definitions/<key>/<int:version>/rollback")
@roles_required(*AUTHORS)
def rollback(key: str, version: int) -> ResponseReturnValue:
    """Deploy ``version`` again as the newest version."""
    try:
        deployed = engine().repository.rollback(key, version, me().name)
    except ConflictError as exc:
        flash(exc.message, "info")
        return redirect(url_for("admin.show_definition", key=key, version=version))
    for d in deployed:
        if d.key == key:
            flash(f"Version {version} of {key} is deployed again as version {d.version}.",
                  "success")
    return redirect(url_for("admin.show_definition", key=key))
