"""DMN libraries: the versions of a file of business knowledge models that others import,
what it defines, who imports it, its download and roll back.

A library is keyed by its namespace (``http://…/loyalty``), so its pages are addressed by
``library_id(namespace)``, an opaque URL-safe name: no namespace can change the URL's path.
"""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from engine import ConflictError, Definition
from web.auth import roles_required

from ..common import engine, me, page_number
from . import bp
from .definitions import AUTHORS


def _page(definition: Definition, versions: list[Definition]) -> tuple[str, int]:
    repository = engine().repository
    return render_template("admin/library.html", definition=definition, versions=versions,
                           elements=repository.library_elements(definition),
                           importers=repository.library_importers(definition.key)), 200


@bp.get("/libraries/<library>")
@roles_required(*AUTHORS)
def show_library(library: str) -> tuple[str, int]:
    """Show a library's versions, what one version defines and who imports the library."""
    wanted = page_number(request.args.get("version")) if request.args.get("version") else None
    definition = engine().repository.library(library, wanted)
    return _page(definition, engine().repository.definition_versions(definition.key))


@bp.get("/libraries/<library>/<int:version>/source")
@roles_required(*AUTHORS)
def library_source(library: str, version: int) -> ResponseReturnValue:
    """The DMN file of one version of a library, as a download."""
    definition = engine().repository.library(library, version)
    filename = "".join(c for c in definition.filename if c.isalnum() or c in "._-") or "library.dmn"
    return Response(definition.source, mimetype="application/xml",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


@bp.post("/libraries/<library>/<int:version>/rollback")
@roles_required(*AUTHORS)
def rollback_library(library: str, version: int) -> ResponseReturnValue:
    """Deploy ``version`` of a library again as its newest version."""
    definition = engine().repository.library(library, version)
    try:
        deployed = engine().repository.rollback(definition.key, version, me().name)
    except ConflictError as exc:
        flash(exc.message, "info")
        return redirect(url_for("admin.show_library", library=library, version=version))
    for d in deployed:
        if d.key == definition.key:
            flash(f"Version {version} of the library is deployed again as version "
                  f"{d.version}; importers keep the version they were deployed with.",
                  "success")
    return redirect(url_for("admin.show_library", library=library))
