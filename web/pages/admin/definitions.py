"""Definitions: every version of every process and decision, uploads, and the decision tester."""

from __future__ import annotations

import json
from typing import Any

from flask import Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from engine import (
    ConflictError,
    DecisionEvaluationError,
    DecisionInput,
    Definition,
    DefinitionError,
    FileResult,
    InvalidInputError,
    TestRun,
)
from web.api.common import json_safe
from web.auth import roles_required

from ..common import engine, error_page, me, page_number
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
                   status: int = 200) -> tuple[str, int]:
    inputs = engine().repository.decision_inputs(definition)
    return render_template("admin/definition.html", definition=definition, versions=versions,
                           inputs=inputs, values=values or {}, extra=extra, result=result,
                           error=error, **_tests_shown(definition)), status


def _run_asked(definition: Definition) -> TestRun | None:
    """The test run the page was opened for (``?run=``), if it is one of this version."""
    run_id = request.args.get("run")
    if not run_id:
        return None
    run = engine().repository.test_run(run_id)
    return run if run.definition_id == definition.id else None


def _tests_shown(definition: Definition) -> dict[str, Any]:
    """What the page shows of the stored tests: how many files, the run asked for (still
    running, stopped at a limit, or its results) with the elements (or rules) of the
    failures to mark on the diagram."""
    stored = sorted((definition.extra_files or {}).get("tests") or {})
    run = _run_asked(definition)
    tests: list[FileResult] | None = None if run is None or run.pending else run.results
    failed = sorted({f.element_id for r in tests or [] for c in r.cases for f in c.failures
                     if f.element_id})
    return {"test_files": stored, "tests": tests, "test_run": run, "failed_elements": failed}


@bp.get("/definitions/<key>")
@roles_required(*AUTHORS)
def show_definition(key: str) -> tuple[str, int]:
    """Show the versions of a definition and the diagram (or decision table) of one."""
    definition, versions = _version(key)
    if definition.kind == "decision":
        return _decision_page(definition, versions)
    return render_template("admin/definition.html", definition=definition,
                           versions=versions, **_tests_shown(definition)), 200


@bp.post("/definitions/<key>/<int:version>/tests")
@roles_required(*AUTHORS)
def run_tests(key: str, version: int) -> ResponseReturnValue:
    """Queue a run of the tests deployed with this version; the page then shows it running
    and, when a worker has run it in a private temporary database, each case green or red
    with its failures marked on the diagram."""
    definition = engine().repository.definition(key, version)
    try:
        run = engine().repository.start_test_run(definition, me().name)
    except ConflictError as exc:
        flash(f"The tests were not started: {exc.message}.", "error")
        return redirect(url_for("admin.show_definition", key=key, version=version,
                                _anchor="tests"))
    return redirect(url_for("admin.show_definition", key=key, version=version, run=run.id,
                            _anchor="tests"), 303)


@bp.get("/definitions/<key>/<int:version>/tests/<run_id>")
@roles_required(*AUTHORS)
def test_run_status(key: str, version: int, run_id: str) -> ResponseReturnValue:
    """While a run is queued or running, its status line (the page polls it); once it has
    ended, ask the page to load again with the results."""
    definition = engine().repository.definition(key, version)
    run = engine().repository.test_run(run_id)
    if run.definition_id != definition.id:
        return error_page(404, "Not found", f"'{run_id}' is not a test run of {key} "
                                            f"version {version}")
    body = render_template("admin/_test_run_pending.html", definition=definition, test_run=run)
    response = Response(body, mimetype="text/html")
    if not run.pending:
        response.headers["HX-Refresh"] = "true"
    return response


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

