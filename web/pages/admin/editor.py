"""The browser editor: BPMN in bpmn-js's Modeler (properties panel, Camunda moddle, bpmnlint),
DMN in dmn-js's; the server checks every change as a real deploy would, and deploys."""

from __future__ import annotations

import re
from typing import Any

from flask import Response, abort, flash, jsonify, render_template, request, url_for
from flask.typing import ResponseReturnValue

from engine import Definition, DefinitionError, NotFoundError
from web.auth import roles_required

from ..common import engine, me
from . import bp
from .definitions import AUTHORS

KINDS = {"process": ".bpmn", "decision": ".dmn"}
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]{0,199}")
_PROCESS_ID = re.compile(rb'<(?:\w+:)?process\b[^>]*?\bid="([^"]+)"')
_DEFINITIONS_ID = re.compile(rb'<(?:\w+:)?definitions\b[^>]*?\bid="([^"]+)"')


@bp.get("/definitions/<key>/edit")
@roles_required(*AUTHORS)
def edit_definition(key: str) -> tuple[str, int]:
    """Open the newest version of a process or decision in the editor."""
    definition = engine().repository.definition(key)
    return render_template(
        "admin/editor.html", kind=definition.kind, key=key, definition=definition,
        source_url=url_for("admin.definition_source", key=key, version=definition.version),
        forms=sorted(k for k in (definition.extra_files or {}) if k.endswith(".json"))), 200


@bp.get("/definitions/new")
@roles_required(*AUTHORS)
def new_definition() -> tuple[str, int]:
    """Start a new process (or decision) from a template."""
    kind = request.args.get("kind", "process")
    if kind not in KINDS:
        abort(404, "a new definition is a process or a decision")
    return render_template("admin/editor.html", kind=kind, key=None, definition=None,
                           source_url=url_for("admin.definition_template", kind=kind),
                           forms=[]), 200


@bp.get("/definitions/templates/<kind>")
@roles_required(*AUTHORS)
def definition_template(kind: str) -> Response:
    """The starting file of a new process or decision."""
    if kind not in KINDS:
        abort(404)
    return Response(render_template(f"admin/templates/new{KINDS[kind]}"),
                    mimetype="application/xml")


@bp.post("/editor/check")
@roles_required(*AUTHORS)
def check_edit() -> ResponseReturnValue:
    """Run every deploy check on the edited file; store nothing. JSON: the problems."""
    files, _ = _edited_files()
    try:
        would = engine().repository.deploy(files, me().name, dry_run=True)
    except DefinitionError as exc:
        return jsonify(problems=[p.as_dict() for p in exc.problems], definitions=[])
    return jsonify(problems=[], definitions=[_deployed(d) for d in would])


@bp.post("/editor/deploy")
@roles_required(*AUTHORS)
def deploy_edit() -> ResponseReturnValue:
    """Deploy the edited file as a new version (with the forms of the version it came from)."""
    files, body = _edited_files()
    comment = body.get("comment")
    if comment is not None and not isinstance(comment, str):
        return _bad("'comment' must be a text")
    try:
        deployed = engine().repository.deploy(files, me().name,
                                              comment=(comment or "").strip() or None)
    except DefinitionError as exc:
        return jsonify(problems=[p.as_dict() for p in exc.problems], definitions=[]), 422
    for d in deployed:
        flash(f"Deployed {d.key} version {d.version}." if d.new_version else
              f"{d.key} is unchanged: version {d.version} stays the newest.",
              "success" if d.new_version else "info")
        for warning in d.warnings:
            flash(f"{d.key}: {warning}", "warning")
    main = deployed[0]
    return jsonify(problems=[], definitions=[_deployed(d) for d in deployed],
                   location=url_for("admin.show_definition", key=main.key)), 201


def _edited_files() -> tuple[dict[str, bytes], dict[str, Any]]:
    """The files a check or a deploy of the edited XML takes: the XML under its file name
    and, when editing a process, the forms of the version it was opened from."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(_bad("send JSON: {\"kind\": \"process\", \"xml\": \"<definitions…>\"}"))
    kind, xml, base = body.get("kind"), body.get("xml"), body.get("base_key")
    if kind not in KINDS:
        abort(_bad("'kind' must be 'process' or 'decision'"))
    if not isinstance(xml, str) or not xml.strip():
        abort(_bad("'xml' must be the file's text"))
    if base is not None and (not isinstance(base, str) or not _KEY.fullmatch(base)):
        abort(_bad("'base_key' is not a definition key"))
    content = xml.encode()
    files: dict[str, bytes] = {}
    original: Definition | None = None
    if base is not None:
        try:
            original = engine().repository.definition(base)
        except NotFoundError:
            original = None
    if original is not None and original.kind == kind:
        files.update(engine().repository.files(original.key, original.version))
        name = original.filename
    else:
        name = _file_name(content, kind)
    files[name] = content
    return files, body


def _file_name(content: bytes, kind: str) -> str:
    """A new file's name, from its process id (BPMN) or its definitions id (DMN)."""
    found = (_PROCESS_ID if kind == "process" else _DEFINITIONS_ID).search(content)
    stem = found.group(1).decode(errors="replace") if found else "new"
    stem = stem if _KEY.fullmatch(stem) else "new"
    return stem + KINDS[kind]


def _bad(message: str) -> Response:
    response = jsonify(error="bad_request", message=message)
    response.status_code = 400
    return response


def _deployed(d: Any) -> dict[str, Any]:
    return {"key": d.key, "version": d.version, "kind": d.kind, "new_version": d.new_version,
            "warnings": list(d.warnings)}
