"""The sales, inventory and customer reports, built from what the connectors read.

``reports.build_sales``, ``reports.build_inventory`` and ``reports.build_customer`` turn the
ERP's and the CRM's answers (and Bridgeflow's waiting instances) into a report document:
period, summary figures with the previous period's, and sections of rows with totals and a
chart where one reads better; ``reports.store`` renders and keeps it. Standard library only;
money is added up as ``Decimal`` and leaves as a number with two decimals.
"""

from __future__ import annotations

from service_tasks.reports.common import Operation
from service_tasks.reports.customers import build_customer
from service_tasks.reports.inventory import build_inventory
from service_tasks.reports.sales import build_sales


def operations() -> dict[str, Operation]:
    """The report builders by the names BPMN service tasks use."""
    return {"reports.build_sales": build_sales, "reports.build_inventory": build_inventory,
            "reports.build_customer": build_customer}


__all__ = ["build_customer", "build_inventory", "build_sales", "operations"]
