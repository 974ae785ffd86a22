"""Wire the connectors of ``service_tasks`` into the engine's registry: the only such place.

Connectors raise the one error tree of ``service_tasks.base``, which the engine reads as it
is (``retryable``, ``bpmn_error_code``). Tryton and CRM clients keep a login or a token and
are not shared between threads, so every thread that runs jobs gets its own client.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import requests

from engine import OperationRegistry, RetryPolicy, Settings

if TYPE_CHECKING:
    from service_tasks.mapping import MappingSet

log = logging.getLogger(__name__)

Factory = Callable[[], dict[str, Callable[..., Any]]]

# External systems get more patience than the engine's default: five tries over ~5 minutes.
CONNECTOR_RETRY = RetryPolicy(attempts=5, backoff_seconds=10.0, factor=2.0,
                              max_backoff_seconds=600.0)


# Which settings connect each family of operations (for the start-up error that lists the
# operations the deployed processes use and no connector provides).
SETTINGS_FOR: dict[str, str] = {
    "erp": "BRIDGEFLOW_ERP_URL (with BRIDGEFLOW_ERP_DATABASE, _USER and _PASSWORD)",
    "crm": "BRIDGEFLOW_CRM_URL with BRIDGEFLOW_CRM_CLIENT_ID and BRIDGEFLOW_CRM_CLIENT_SECRET",
    "notify": "BRIDGEFLOW_SMTP_HOST (with BRIDGEFLOW_SMTP_PORT and BRIDGEFLOW_SMTP_SENDER)",
    "reconcile": "both BRIDGEFLOW_ERP_URL and BRIDGEFLOW_CRM_URL (see erp.* and crm.*)",
    "mapping": "BRIDGEFLOW_MAPPINGS_DIR (a folder of field mapping files)",
}


def register_per_thread(registry: OperationRegistry, factory: Factory,
                        retry: RetryPolicy | None = CONNECTOR_RETRY) -> list[str]:
    """Register every operation ``factory`` makes, with one set of clients per thread."""
    local = threading.local()

    def ops() -> dict[str, Callable[..., Any]]:
        made: dict[str, Callable[..., Any]] | None = getattr(local, "ops", None)
        if made is None:
            made = local.ops = factory()
        return made

    names = sorted(factory())  # building clients does no I/O: logins happen on first call
    for name in names:
        def call(params: dict[str, Any], ctx: Any, _name: str = name) -> Any:
            return ops()[_name](params, ctx)

        registry.register(name, call, retry=retry)
    return names


def build_registry(settings: Settings) -> OperationRegistry:
    """The operations this deployment's settings connect; unset systems are left out."""
    # Operations of these families are the built-in connectors': one missing means a setting
    # is missing, never an external task for some worker to pick up.
    registry = OperationRegistry(reserved=tuple(SETTINGS_FOR))
    timeout = settings.connector_timeout
    if settings.erp_url:
        from service_tasks.tryton.client import TrytonClient
        from service_tasks.tryton.erp_operations import operations as erp_operations

        def erp_ops() -> dict[str, Callable[..., Any]]:
            client = TrytonClient(requests.Session(), settings.erp_url, settings.erp_database,
                                  settings.erp_user, settings.erp_password, timeout=timeout)
            return dict(erp_operations(client, warehouse_code=settings.erp_warehouse))

        register_per_thread(registry, erp_ops)
    if settings.crm_url:
        from service_tasks.crm.client import SalesforceClient
        from service_tasks.crm.crm_operations import operations as crm_operations

        def crm_ops() -> dict[str, Callable[..., Any]]:
            client = SalesforceClient(requests.Session(), settings.crm_url,
                                      settings.crm_client_id, settings.crm_client_secret,
                                      token_url=settings.crm_token_url or None, timeout=timeout)
            return dict(crm_operations(client))

        register_per_thread(registry, crm_ops)
    if settings.smtp_host:
        from service_tasks import notify

        def mail_ops() -> dict[str, Callable[..., Any]]:
            notifier = notify.EmailNotifier(
                settings.smtp_host, settings.smtp_port,
                security=cast(notify.Security, settings.smtp_security),
                username=settings.smtp_username or None,
                password=settings.smtp_password or None,
                sender=settings.smtp_sender or "bridgeflow@example.org",
                timeout=settings.smtp_timeout)
            return dict(notify.operations(notifier))

        register_per_thread(registry, mail_ops)
    from service_tasks import reports  # pure Python: always there

    for name, fn in reports.operations().items():
        registry.register(name, fn, retry=RetryPolicy(attempts=1))
    if Path(settings.mappings_dir).is_dir():
        from service_tasks import mapping

        mappings = mapping.MappingSet(Path(settings.mappings_dir))  # checked at start-up
        for name, fn in mapping.operations(mappings).items():
            registry.register(name, fn, retry=RetryPolicy(attempts=1))
        if settings.erp_url and settings.crm_url:
            register_reconciliation(registry, settings, mappings)
    return registry


def register_reconciliation(registry: OperationRegistry, settings: Settings,
                            mappings: MappingSet) -> None:
    """``reconcile.*``: read, compare and repair both systems (the reconciliation process)."""
    from service_tasks import reconcile
    from service_tasks.crm.client import SalesforceClient
    from service_tasks.crm.crm_operations import CrmOperations
    from service_tasks.tryton.client import TrytonClient
    from service_tasks.tryton.erp_operations import TrytonOperations

    def reconcile_ops() -> dict[str, Callable[..., Any]]:
        timeout = settings.connector_timeout
        erp = TrytonClient(requests.Session(), settings.erp_url, settings.erp_database,
                           settings.erp_user, settings.erp_password, timeout=timeout)
        crm = SalesforceClient(requests.Session(), settings.crm_url, settings.crm_client_id,
                               settings.crm_client_secret,
                               token_url=settings.crm_token_url or None, timeout=timeout)
        return dict(reconcile.operations(reconcile.Reconciler(
            TrytonOperations(erp, warehouse_code=settings.erp_warehouse),
            CrmOperations(crm), mappings)))

    register_per_thread(registry, reconcile_ops)
