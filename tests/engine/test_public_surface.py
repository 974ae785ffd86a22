"""The engine's public surface is pinned: a change to it is a decision, never an accident."""

from __future__ import annotations

import inspect

import engine
from engine import Engine

EXPORTED = {
    "ApiKey", "CallContext", "CleanupReport", "ConflictError", "DecisionEvaluationError",
    "DecisionInput", "Definition", "DefinitionError", "Deployed", "Engine", "EngineError",
    "ErasureReport", "Event", "ExternalTask", "ExternalTaskQuery", "ExternalTaskService", "Figure",
    "FINAL_STATUSES", "ForbiddenError", "HistoryService",
    "HumanTask", "IdentityService",
    "InboundOutcome", "Incident", "IncidentStatus", "Instance", "InstanceStatus",
    "InvalidInputError", "JobKind", "LIVE_STATUSES", "LockedTask", "ManagementService",
    "MessageResult",
    "MigrationBatch", "MigrationCheck", "MigrationElement", "MigrationInstruction",
    "MigrationOutcome", "MigrationPlan", "MigrationProblem", "MigrationRecord",
    "MigrationValidation",
    "NotFoundError", "OPEN_TASK_STATUSES", "OperationRegistry", "Page", "Principal",
    "Problem", "ProcessFigures", "ProtectionError", "Queue", "RepositoryService",
    "RetryPolicy", "RuntimeService", "Scope", "Settings", "StaleStateError", "TaskService",
    "TaskStatus", "TopicRequest", "UnauthenticatedError", "User", "VisitedElement", "Worker",
    "is_overdue",
    "utcnow",
    # DMN libraries' console pages
    "LibraryElement", "LibraryImporter", "library_id",
    # analysts' tests (bridgeflow test, the console's "Run tests")
    "CaseResult", "Failure", "FileResult", "TestFileError", "TestRun", "is_test_file",
    "report", "run_test_file",
    # stored reports (engine.reports)
    "NewReportFile", "PeriodFigures", "Report", "ReportFile", "ReportKind", "ReportService",
    "ReportStatus",
    # business reports: the document's error, and what the console page shows
    "ReportChart", "ReportDocumentError", "ReportView",
}

SERVICES = {
    "repository": {"deploy", "deploy_directory", "list_definitions", "definition_versions",
                   "definition", "evaluate_decision", "decision_inputs", "rollback", "diff",
                   "export", "run_tests", "start_test_run", "test_run", "files", "library",
                   "library_elements", "library_importers"},
    "runtime": {"start", "instance", "instance_detail", "wait_for", "called_instances",
                "list_instances",
                "send_message", "send_signal", "accept_event"},
    "tasks": {"task", "list_tasks", "open_tasks_of", "queue", "history", "add_comment",
              "check_submission", "claim", "unclaim", "complete", "figures"},
    "history": {"events_of", "path_taken", "earlier_tasks", "search_instances",
                "process_figures", "cleanup"},
    "management": {"suspend", "resume", "terminate", "incident", "incidents_of",
                   "list_incidents", "retry_incident", "move_token", "set_variables", "erase",
                   "upgrade_database",
                   "database_is_current", "heartbeat", "workers", "stats", "liveness",
                   "readiness",
                   "migration_elements", "generate_migration_plan", "validate_migration",
                   "migrate", "migration_candidates", "start_migration_batch",
                   "migration_batch", "migration_batches", "migrations",
                   "reverse_migration_plan"},
    "identity": {"create_user", "list_users", "user", "user_by_name", "set_password",
                 "deactivate", "ensure_demo_users", "blocked_for", "authenticate",
                 "sign_in_failed", "lockout_seconds", "audit", "security_events",
                 "can_see_task", "masked_for",
                 "end_sessions", "create_api_key", "list_api_keys", "revoke_api_key",
                 "rotate_api_key", "create_personal_token", "personal_tokens",
                 "revoke_personal_token", "authenticate_key", "require_scope", "acting_as"},
    "external_tasks": {"fetch_and_lock", "complete", "handle_failure", "handle_bpmn_error",
                       "extend_lock", "unlock", "set_retries", "get", "list_tasks", "count"},
    "reports": {"store", "list_reports", "get", "file", "reconciliation", "process_figures",
                "document", "view"},
}


def _public(obj: object) -> set[str]:
    return {name for name in dir(obj) if not name.startswith("_")}


def test_the_package_exports_exactly_the_pinned_names() -> None:
    assert set(engine.__all__) == EXPORTED
    assert all(hasattr(engine, name) for name in EXPORTED)


def test_each_service_offers_exactly_its_pinned_operations() -> None:
    for attribute, operations in SERVICES.items():
        cls = {"repository": engine.RepositoryService, "runtime": engine.RuntimeService,
               "tasks": engine.TaskService, "history": engine.HistoryService,
               "management": engine.ManagementService,
               "identity": engine.IdentityService,
               "external_tasks": engine.ExternalTaskService,
               "reports": engine.ReportService}[attribute]
        assert _public(cls) == operations, attribute


def test_the_engine_itself_only_hands_out_services(tmp_path: object) -> None:
    eng = Engine(f"sqlite:///{tmp_path}/surface.db")
    try:
        assert _public(eng) == {*SERVICES, "settings", "operations", "from_settings", "close"}
        for attribute in SERVICES:
            assert _public(getattr(eng, attribute)) >= SERVICES[attribute]
    finally:
        eng.close()


def test_services_return_the_engines_own_types_never_spiffworkflows() -> None:
    for cls in (engine.RepositoryService, engine.RuntimeService, engine.TaskService,
                engine.HistoryService, engine.ManagementService, engine.IdentityService):
        for name, fn in inspect.getmembers(cls, inspect.isfunction):
            if not name.startswith("_"):
                assert "SpiffWorkflow" not in str(inspect.signature(fn)), (cls, name)
