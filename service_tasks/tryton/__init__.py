"""The Tryton 8.x ERP connector: a JSON-RPC client, the ``erp.*`` operations, the demo ERP."""

from service_tasks.tryton.client import Model, TrytonClient
from service_tasks.tryton.erp_operations import TrytonOperations, operations

__all__ = ["Model", "TrytonClient", "TrytonOperations", "operations"]
