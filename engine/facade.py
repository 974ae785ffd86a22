"""The Engine: one object that owns the internals and hands out its services."""

from __future__ import annotations

from sqlalchemy import Engine as SqlEngine

from .config import Settings
from .core import Core
from .db import Database
from .external_tasks import ExternalTaskService
from .history_service import HistoryService
from .identity_service import IdentityService
from .management_service import ManagementService
from .registry import OperationRegistry
from .report_service import ReportService
from .repository_service import RepositoryService
from .runtime_service import RuntimeService
from .task_service import TaskService


class Engine:
    """Bridgeflow's engine over one database; cheap to create, safe to share across threads.

    Everything is done through its services, named as in Camunda 7:

    - ``repository``: deploy files, read definitions, try decisions;
    - ``runtime``: start instances, read them, send messages and inbound events;
    - ``tasks``: list, claim, unclaim and complete human tasks, the inbox queue;
    - ``history``: audit events, the path an instance took, figures per process;
    - ``management``: suspend, resume, terminate, incidents, moving tokens, workers, health;
    - ``identity``: users, sign-in, API keys, what a person may see;
    - ``external_tasks``: what workers outside Bridgeflow fetch, lock and complete;
    - ``reports``: stored reports and their files, the process figures of a period.
    """

    def __init__(self, database: Database | SqlEngine | str, settings: Settings | None = None,
                 registry: OperationRegistry | None = None) -> None:
        self.settings = settings or Settings()
        db = database if isinstance(database, Database) else Database(
            database, self.settings.postgres_connect_args(),
            self.settings.listen_database_url or None)
        self._core = Core(db, self.settings, registry or OperationRegistry())
        self.repository = RepositoryService(self._core)
        self.runtime = RuntimeService(self._core)
        self.tasks = TaskService(self._core)
        self.history = HistoryService(self._core)
        self.management = ManagementService(self._core)
        self.identity = IdentityService(self._core)
        self.external_tasks = ExternalTaskService(self._core)
        self.reports = ReportService(self._core)

    @classmethod
    def from_settings(cls, settings: Settings,
                      registry: OperationRegistry | None = None) -> Engine:
        """An engine over the database ``settings.database_url`` names."""
        return cls(settings.database_url, settings, registry)

    @property
    def operations(self) -> list[str]:
        """The service-task operations connectors provide to this engine."""
        return self._core.registry.names()

    def close(self) -> None:
        """Close the database connections (the engine is not used afterwards)."""
        self._core.db.dispose()
