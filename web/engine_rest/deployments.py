"""Deploy BPMN and DMN files the way Camunda's ``POST /deployment/create`` takes them."""

from __future__ import annotations

import uuid
from collections import defaultdict
from typing import Any

from flask import request

from engine import DefinitionError, Deployed, utcnow

from . import bp
from .common import CamundaError, actor, engine, format_date

# the form fields Camunda reads; every other part is a file to deploy
_FIELDS = {"deployment-name", "deployment-source", "deployment-activation-time",
           "enable-duplicate-filtering", "deploy-changed-only", "tenant-id"}


@bp.post("/deployment/create")
def create_deployment() -> dict[str, Any]:
    """Check and deploy every file part; an unchanged file makes no new version."""
    if request.form.get("tenant-id") or request.form.get("deployment-activation-time"):
        raise CamundaError(400, "Bridgeflow has no tenants and activates a deployment at "
                                "once; leave out tenant-id and deployment-activation-time")
    files: dict[str, bytes] = {}
    for part, upload in request.files.items(multi=True):
        if part in _FIELDS:
            continue
        files[upload.filename or part] = upload.read()
    if not files:
        raise CamundaError(400, "send the BPMN and DMN files as multipart/form-data parts "
                                "(any part name other than Camunda's deployment fields)")
    try:
        deployed = engine().repository.deploy(files, deployed_by=actor())
    except DefinitionError as exc:
        raise CamundaError(400, exc.message, "ParseException", _parse_details(exc)) from exc
    deployment_id = str(uuid.uuid4())
    new = [d for d in deployed if d.new_version]
    return {
        "id": deployment_id, "name": request.form.get("deployment-name"),
        "source": request.form.get("deployment-source"),
        "deploymentTime": format_date(utcnow()), "tenantId": None,
        "links": [],
        "deployedProcessDefinitions": {d.id: _definition(d, deployment_id)
                                       for d in new if d.kind == "process"} or None,
        "deployedDecisionDefinitions": {d.id: _definition(d, deployment_id)
                                        for d in new if d.kind == "decision"} or None,
        "deployedCaseDefinitions": None, "deployedDecisionRequirementsDefinitions": None,
    }


def _definition(deployed: Deployed, deployment_id: str) -> dict[str, Any]:
    """Camunda's ProcessDefinitionDto (or DecisionDefinitionDto) for a new version."""
    row = engine().repository.definition(deployed.key, deployed.version)
    out: dict[str, Any] = {
        "id": deployed.id, "key": deployed.key, "category": None, "name": deployed.name,
        "version": deployed.version, "resource": row.filename,
        "deploymentId": deployment_id, "tenantId": None, "versionTag": None,
        "historyTimeToLive": row.history_ttl_days,
    }
    if deployed.kind == "process":
        out.update(description=None, diagram=None, suspended=False, startableInTasklist=True)
    else:
        out.update(decisionRequirementsDefinitionId=None,
                   decisionRequirementsDefinitionKey=None)
    return out


def _parse_details(exc: DefinitionError) -> dict[str, Any]:
    """Camunda's ``details``: per file, its errors with line and element."""
    per_file: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(
        lambda: {"errors": [], "warnings": []})
    for problem in exc.problems:
        per_file[problem.file]["errors"].append({
            "message": problem.message, "line": problem.line, "column": None,
            "mainElementId": problem.element_id,
            "elementIds": [problem.element_id] if problem.element_id else []})
    return dict(per_file)
