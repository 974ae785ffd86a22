"""Definitions: every version of every process and decision, uploads, and the decision tester."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from engine import (
    DecisionEvaluationError,
    DecisionInput,
    Definition,
    DefinitionError,
    FileResult,
    InvalidInputError,
)
from web.api.common import json_safe
from web.auth import roles_required

from ..common import engine, me, page_number
from . import bp

AUTHORS = ("admin", "analyst")


def _list_page(problems: list[dict[str, Any]] | None = None,
               status: int = 200) -> tuple[str, int]:
    eng = engine()
    latest = eng.repository.list_definitions()
    versions = {d.key: len(eng.repository.definition_versions(d.key)) for d in latest}
    return render_template("admin/definitions.html",
                           processes=[d for d in latest if d.kind == "process"],
                           decisions=[d for d in latest if d.kind == "decision"],
                           libraries=[d for d in latest if d.kind == "library"],
                           versions=versions, problems=problems or []), status


@bp.get("/definitions")
@roles_required(*AUTHORS)
def definitions() -> tuple[str, int]:
    """List the deployed processes and decisions, with the form to upload a new version."""
    return _list_page()


@bp.post("/definitions")
@roles_required(*AUTHORS)
def upload() -> ResponseReturnValue:
    """Deploy uploaded BPMN / DMN / form files; a broken file lists its problems."""
    uploads = [f for f in request.files.getlist("files") if f.filename]
    if not uploads:
        return _list_page([{"file": "(upload)", "line": None, "element_id": None,
                            "message": "choose one or more .bpmn, .dmn, form .json or "
                                       "test .test.yaml files"}],
                          400)
    files = {f.filename or "": f.read() for f in uploads}
    comment = (request.form.get("comment") or "").strip() or None
    try:
        deployed = engine().repository.deploy(files, deployed_by=me().name, comment=comment)
    except DefinitionError as exc:
        return _list_page([p.as_dict() for p in exc.problems], 422)
    for d in deployed:
        if d.new_version:
            flash(f"Deployed {d.key} version {d.version}.", "success")
        else:
            flash(f"{d.key} is unchanged: version {d.version} stays the newest.", "info")
        for warning in d.warnings:
            flash(f"{d.key}: {warning}", "warning")
    return redirect(url_for("admin.definitions"))


def _version(key: str) -> tuple[Definition, list[Definition]]:
    """The version asked for (the newest by default), with its files, and every version."""
    wanted = page_number(request.args.get("version")) if request.args.get("version") else None
    return (engine().repository.definition(key, wanted),
            engine().repository.definition_versions(key))


def _decision_page(definition: Definition, versions: list[Definition],
                   values: dict[str, str] | None = None, extra: str = "",
                   result: dict[str, Any] | None = None, error: str | None = None,
                   status: int = 200, tests: list[FileResult] | None = None
                   ) -> tuple[str, int]:
    inputs = engine().repository.decision_inputs(definition)
    return render_template("admin/definition.html", definition=definition, versions=versions,
                           inputs=inputs, values=values or {}, extra=extra, result=result,
                           error=error, **_tests_shown(definition, tests)), status


def _tests_shown(definition: Definition, tests: list[FileResult] | None) -> dict[str, Any]:
    """What the page shows of the stored tests: how many files, and the last run's results
    with the elements (or rules) of the failures to mark on the diagram."""
    stored = sorted((definition.extra_files or {}).get("tests") or {})
    failed = sorted({f.element_id for r in tests or [] for c in r.cases for f in c.failures
                     if f.element_id})
    return {"test_files": stored, "tests": tests, "failed_elements": failed}


@bp.get("/definitions/<key>")
@roles_required(*AUTHORS)
def show_definition(key: str) -> tuple[str, int]:
    """Show the versions of a definition and the diagram (or decision table) of one."""
    definition, versions = _version(key)
    if definition.kind == "decision":
        return _decision_page(definition, versions)
    return render_template("admin/definition.html", definition=definition,
                           versions=versions, **_tests_shown(definition, None)), 200


@bp.post("/definitions/<key>/<int:version>/tests")
@roles_required(*AUTHORS)
def run_tests(key: str, version: int) -> tuple[str, int]:
    """Run the tests deployed with this version, in a private temporary database, and show
    each case green or red with its failures marked on the diagram."""
    definition = engine().repository.definition(key, version)
    versions = engine().repository.definition_versions(key)
    results = engine().repository.run_tests(definition)
    if definition.kind == "decision":
        return _decision_page(definition, versions, tests=results)
    return render_template("admin/definition.html", definition=definition, versions=versions,
                           **_tests_shown(definition, results)), 200


@bp.get("/definitions/<key>/<int:version>/source")
@roles_required(*AUTHORS)
def definition_source(key: str, version: int) -> ResponseReturnValue:
    """The BPMN or DMN XML of one version, for the diagram viewers."""
    definition = engine().repository.definition(key, version)
    return Response(definition.source, mimetype="application/xml")


@bp.get("/decisions")
@roles_required(*AUTHORS)
def decisions() -> ResponseReturnValue:
    return redirect(url_for("admin.definitions", _anchor="decisions"))


@bp.post("/decisions/<key>/evaluate")
@roles_required(*AUTHORS)
def evaluate(key: str) -> tuple[str, int]:
    """Evaluate the newest version of a decision with the inputs typed in the tester."""
    definition = engine().repository.definition(key)
    versions = engine().repository.definition_versions(key)
    inputs = engine().repository.decision_inputs(definition)
    values = {i.path: request.form.get(f"in-{i.path}", "") for i in inputs}
    extra = request.form.get("extra", "")
    try:
        variables = _variables(inputs, values, extra)
        result = engine().repository.evaluate_decision(key, variables)
    except (InvalidInputError, DecisionEvaluationError) as exc:
        return _decision_page(definition, versions, values, extra, error=exc.message,
                              status=422)
    matched = [{"id": r.id, "number": r.number} for r in result.matched_rules]
    shown = {"outputs": json_safe(result.outputs), "matched_rules": matched,
             "variables": variables, "errors": result.errors}
    return _decision_page(definition, versions, values, extra, result=shown)


def _variables(inputs: list[DecisionInput], values: dict[str, str],
               extra: str) -> dict[str, Any]:
    """Build the decision's variables from the tester's fields (dotted paths nest)."""
    variables: dict[str, Any] = {}
    if extra.strip():
        try:
            loaded = json.loads(extra)
        except ValueError as exc:
            raise InvalidInputError(f"the other variables are not valid JSON: {exc}") from exc
        if not isinstance(loaded, dict):
            raise InvalidInputError("the other variables must be a JSON object, like "
                                    '{"region": "EU"}')
        variables.update(loaded)
    for item in inputs:
        raw = values.get(item.path, "").strip()
        value = _typed(raw, item) if raw else None
        target = variables
        *parents, last = item.path.split(".")
        for parent in parents:
            target = target.setdefault(parent, {})
            if not isinstance(target, dict):
                raise InvalidInputError(f"'{parent}' is given twice, once as a value")
        target[last] = value
    return variables


def _typed(raw: str, item: DecisionInput) -> Any:
    kind = (item.type_ref or "").lower()
    if kind in ("number", "integer", "long", "double", "int"):
        try:
            number = float(raw)
        except ValueError:
            raise InvalidInputError(f"{item.label} must be a number, not '{raw}'") from None
        return int(number) if number.is_integer() and "." not in raw else number
    if kind == "boolean":
        if raw.lower() not in ("true", "false"):
            raise InvalidInputError(f"{item.label} must be true or false, not '{raw}'")
        return raw.lower() == "true"
    if kind in ("string", "date", "time", "datetime", "date and time"):
        # people type B; FEEL writes "B": take either
        return raw[1:-1] if len(raw) >= 2 and raw[0] == raw[-1] == '"' else raw
    try:  # no type: a number, true/false or a quoted text as JSON, else the text itself
        return json.loads(raw)
    except ValueError:
        return raw

