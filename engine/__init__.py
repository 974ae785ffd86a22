"""Bridgeflow's engine: the one door the web pages, the REST API and the CLI go through.

The names below are the whole public surface (tests/engine/test_public_surface.py pins
them); every module of this package is private to it. Start from ``Engine``: its services
``repository``, ``runtime``, ``tasks``, ``history``, ``management``, ``identity``,
``external_tasks`` and ``reports`` take and return the types exported here, never
SpiffWorkflow's.
"""

from .bpmn.migrate import MigrationElement
from .config import Settings
from .credentials import Principal
from .decision_inputs import DecisionInput
from .deployed import Deployed
from .dmn import DecisionEvaluationError
from .dmn_libraries import LibraryElement, LibraryImporter, library_id
from .erasure import ErasureReport
from .errors import (
    ConflictError,
    DefinitionError,
    EngineError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    Problem,
    StaleStateError,
    UnauthenticatedError,
)
from .external_tasks import ExternalTaskQuery, ExternalTaskService, LockedTask, TopicRequest
from .facade import Engine
from .figures import Figure
from .history_service import HistoryService
from .identity_service import IdentityService
from .inbound import InboundOutcome
from .management_service import ManagementService
from .messages import MessageResult
from .migration_plan import (
    MigrationCheck,
    MigrationInstruction,
    MigrationOutcome,
    MigrationPlan,
    MigrationProblem,
    MigrationValidation,
)
from .models import (
    ApiKey,
    Definition,
    Event,
    ExternalTask,
    HumanTask,
    Incident,
    Instance,
    MigrationBatch,
    MigrationRecord,
    User,
    utcnow,
)
from .paging import Page
from .period_figures import PeriodFigures
from .process_tests import run_test_file
from .protect import ProtectionError
from .registry import CallContext, OperationRegistry, RetryPolicy
from .report_render import Chart as ReportChart
from .report_render import ReportDocumentError, ReportView
from .report_service import ReportService
from .reporting import ProcessFigures, VisitedElement
from .repository_service import RepositoryService
from .retention import CleanupReport
from .runtime_service import RuntimeService
from .stored_reports import NewReportFile, Report, ReportFile
from .task_queries import Queue, is_overdue
from .task_service import TaskService
from .test_files import (
    CaseResult,
    Failure,
    FileResult,
    TestFileError,
    is_test_file,
    report,
)
from .test_run_queue import TestRun
from .vocabulary import (
    FINAL_STATUSES,
    LIVE_STATUSES,
    OPEN_TASK_STATUSES,
    IncidentStatus,
    InstanceStatus,
    JobKind,
    ReportKind,
    ReportStatus,
    Scope,
    TaskStatus,
)
from .worker import Worker

__all__ = [
    "FINAL_STATUSES",
    "LIVE_STATUSES",
    "OPEN_TASK_STATUSES",
    "ApiKey",
    "CallContext",
    "CaseResult",
    "CleanupReport",
    "ConflictError",
    "DecisionEvaluationError",
    "DecisionInput",
    "Definition",
    "DefinitionError",
    "Deployed",
    "LibraryElement",
    "LibraryImporter",
    "library_id",
    "Engine",
    "EngineError",
    "ErasureReport",
    "Event",
    "ExternalTask",
    "ExternalTaskQuery",
    "ExternalTaskService",
    "Figure",
    "Failure",
    "FileResult",
    "ForbiddenError",
    "HistoryService",
    "HumanTask",
    "IdentityService",
    "InboundOutcome",
    "Incident",
    "IncidentStatus",
    "Instance",
    "InstanceStatus",
    "InvalidInputError",
    "JobKind",
    "LockedTask",
    "ManagementService",
    "MessageResult",
    "MigrationBatch",
    "MigrationCheck",
    "MigrationElement",
    "MigrationInstruction",
    "MigrationOutcome",
    "MigrationPlan",
    "MigrationProblem",
    "MigrationRecord",
    "MigrationValidation",
    "NewReportFile",
    "NotFoundError",
    "OperationRegistry",
    "Page",
    "PeriodFigures",
    "Principal",
    "Problem",
    "ProcessFigures",
    "ProtectionError",
    "Queue",
    "Report",
    "ReportChart",
    "ReportDocumentError",
    "ReportFile",
    "ReportKind",
    "ReportService",
    "ReportStatus",
    "ReportView",
    "RepositoryService",
    "RetryPolicy",
    "RuntimeService",
    "Scope",
    "Settings",
    "StaleStateError",
    "TaskService",
    "TaskStatus",
    "TestFileError",
    "TestRun",
    "TopicRequest",
    "UnauthenticatedError",
    "User",
    "VisitedElement",
    "Worker",
    "is_overdue",
    "is_test_file",
    "report",
    "run_test_file",
    "utcnow",
]
