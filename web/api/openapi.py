"""The OpenAPI 3 document of the API, built from the marshmallow schemas."""

from __future__ import annotations

from functools import cache
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin

from . import bp
from . import migration_schemas as m
from . import report_schemas as r
from . import schemas as s

# (path, method, summary, query schema, body schema, status, response schema)
OPERATIONS: list[tuple[str, str, str, Any, Any, int, Any]] = [
    ("/deployments", "post", "Deploy BPMN and DMN files", s.DeployArgsSchema, "multipart", 201,
     s.DeploymentSchema),
    ("/process-definitions", "get", "List definitions", s.DefinitionArgsSchema, None, 200,
     s.DefinitionPageSchema),
    ("/process-definitions/{key}", "get", "List versions of a definition", None, None, 200,
     s.DefinitionVersionsSchema),
    ("/process-definitions/{key}/xml", "get", "Source XML of a definition",
     s.VersionArgsSchema, None, 200, "xml"),
    ("/process-definitions/{key}/diff", "get", "What changed between two versions",
     s.DiffArgsSchema, None, 200, s.ModelDiffSchema),
    ("/process-definitions/{key}/rollback", "post", "Deploy an earlier version as the newest",
     None, s.RollbackSchema, 201, s.DeploymentSchema),
    ("/process-instances", "post", "Start an instance", s.WaitArgsSchema,
     s.StartInstanceSchema, 201, s.InstanceSchema),
    ("/process-instances", "get", "List instances", s.InstanceArgsSchema, None, 200,
     s.InstancePageSchema),
    ("/process-instances/{id}", "get", "Show an instance", None, None, 200,
     s.InstanceDetailSchema),
    ("/process-instances/{id}/suspend", "post", "Suspend an instance", None, None, 200,
     s.InstanceSchema),
    ("/process-instances/{id}/resume", "post", "Resume an instance", None, None, 200,
     s.InstanceSchema),
    ("/process-instances/{id}/terminate", "post", "Terminate an instance", None, None, 200,
     s.InstanceSchema),
    ("/process-instances/{id}/events", "get", "Audit trail of an instance", None, None, 200,
     s.EventListSchema),
    ("/tasks", "get", "List tasks", s.TaskArgsSchema, None, 200, s.TaskPageSchema),
    ("/tasks/{id}", "get", "Show a task", None, None, 200, s.TaskSchema),
    ("/tasks/{id}/claim", "post", "Claim a task", None, s.ClaimSchema, 200, s.TaskSchema),
    ("/tasks/{id}/unclaim", "post", "Unclaim a task", None, s.UnclaimSchema, 200,
     s.TaskSchema),
    ("/tasks/{id}/complete", "post", "Complete a task", s.WaitArgsSchema,
     s.CompleteTaskSchema, 200, s.TaskSchema),
    ("/messages", "post", "Send a message", None, s.MessageSchema, 200,
     s.MessageResultSchema),
    ("/signals", "post", "Broadcast a signal", None, s.SignalSchema, 202,
     s.MessageResultSchema),
    ("/erasures", "post", "Erase one customer's data by business key", None, s.EraseSchema,
     200, s.ErasureSchema),
    ("/incidents", "get", "List incidents", s.IncidentArgsSchema, None, 200,
     s.IncidentPageSchema),
    ("/incidents/{id}/retry", "post", "Retry an incident", None, None, 200, s.IncidentSchema),
    ("/decisions/{key}/evaluate", "post", "Evaluate a decision", None,
     s.EvaluateDecisionSchema, 200, s.DecisionResultSchema),
    ("/migrations/plan", "post", "Generate a migration plan between two versions", None,
     m.GeneratePlanSchema, 200, m.GeneratedPlanSchema),
    ("/migrations/validate", "post", "Validate a migration plan for instances", None,
     m.SelectionSchema, 200, m.ValidationReportSchema),
    ("/migrations", "post", "Migrate instances (listed: now; filter or all: a batch)", None,
     m.MigrateSchema, 200, m.MigrationResultSchema),
    ("/migrations", "get", "Migrations done", m.HistoryArgsSchema, None, 200,
     m.RecordListSchema),
    ("/migrations/batches/{id}", "get", "Progress of a migration batch", None, None, 200,
     m.BatchSchema),
    ("/reports", "get", "List stored reports", r.ReportArgsSchema, None, 200,
     r.ReportPageSchema),
    ("/reports/{id}", "get", "Show a stored report and its files", None, None, 200,
     r.ReportSchema),
    ("/reports/{id}/files/{name}", "get", "Download a file of a report (ETag: its SHA-256)",
     None, None, 200, "binary"),
    ("/reports/reconciliation/{id}", "get",
     "A reconciliation run's report, by report id or instance id (JSON, or CSV)",
     r.FormatArgsSchema, None, 200, r.ReconciliationSchema),
    ("/reports/processes", "get", "Figures per process over a period (JSON, or CSV)",
     r.PeriodArgsSchema, None, 200, r.ProcessReportSchema),
]


def _operation(summary: str, query: Any, body: Any, status: int, response: Any,
               path: str) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "security": [{"apiKey": []}], "parameters": []}
    for name in ("key", "id", "name"):
        if "{" + name + "}" in path:
            op["parameters"].append({"in": "path", "name": name, "required": True,
                                     "schema": {"type": "string"}})
    if query is not None:
        op["parameters"].append({"in": "query", "schema": query})
    if body == "multipart":
        op["requestBody"] = {"content": {"multipart/form-data": {"schema": {
            "type": "object", "properties": {
                "files": {"type": "array", "items": {"type": "string", "format": "binary"}},
                "comment": {"type": "string", "maxLength": 2000}}}}}}
    elif body is not None:
        op["requestBody"] = {"content": {"application/json": {"schema": body}}}
    if response == "xml":
        content = {"application/xml": {"schema": {"type": "string"}}}
    elif response == "binary":
        content = {"application/octet-stream": {"schema": {"type": "string",
                                                            "format": "binary"}}}
    else:
        content = {"application/json": {"schema": response}}
        if query is not None and "format" in query._declared_fields:
            content["text/csv"] = {"schema": {"type": "string"}}
    error = {"content": {"application/json": {"schema": s.ErrorSchema}}}
    op["responses"] = {str(status): {"description": "success", "content": content},
                       "default": {"description": "error", **error}}
    return op


@cache
def build_spec() -> dict[str, Any]:
    """Build the document once; the schemas do not change while the process runs."""
    spec = APISpec(title="Bridgeflow API", version="1", openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()],
                   servers=[{"url": "/api/v1"}])
    spec.components.security_scheme("apiKey", {"type": "http", "scheme": "bearer"})
    by_path: dict[str, dict[str, Any]] = {}
    for path, method, summary, query, body, status, response in OPERATIONS:
        by_path.setdefault(path, {})[method] = _operation(summary, query, body, status,
                                                          response, path)
    by_path["/deployments"]["post"]["responses"]["200"] = {
        "description": "dry_run=true: what would be deployed; nothing is stored",
        "content": {"application/json": {"schema": s.DryRunSchema}}}
    by_path["/migrations"]["post"]["responses"]["202"] = {
        "description": "filter or all: the batch that workers run",
        "content": {"application/json": {"schema": m.BatchSchema}}}
    for path, operations in by_path.items():
        spec.path(path=path, operations=operations)
    document: dict[str, Any] = spec.to_dict()
    return document


@bp.get("/openapi.json")
def openapi_document() -> dict[str, Any]:
    """Return the OpenAPI 3 document (open to everyone)."""
    return build_spec()
