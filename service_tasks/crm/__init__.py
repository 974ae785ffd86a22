"""The CRM connector: a Salesforce REST client and the ``crm.*`` operations built on it.

Wiring (in the app factory)::

    session = requests.Session()
    client = SalesforceClient(session, "http://127.0.0.1:8081", "bridgeflow", secret)
    for name, fn in operations(client).items():
        registry.register(name, fn, description=fn.__doc__ or "")
"""

from .client import ApiUsage, SalesforceClient, UpsertResult
from .crm_operations import CrmOperations, Operation, operations
from .soql import datetime_literal, literal

__all__ = ["ApiUsage", "CrmOperations", "Operation", "SalesforceClient", "UpsertResult",
           "datetime_literal", "literal", "operations"]
