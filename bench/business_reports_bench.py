"""How long the sales, inventory and customer reports take for 10,000 orders.

Seeding 10,000 confirmed sales in Tryton takes about an hour here (each is created, quoted
and confirmed over JSON-RPC), so the run has two parts:

1. build + render on 10,000 orders' worth of connector answers (synthetic, shaped exactly as
   ``erp.sales_in_period``, ``crm.accounts_and_orders`` and the others answer): the report
   builder (``service_tasks.reports``), then the engine's check and render (XLSX, PDF, CSV);
2. the connector reads against a real Tryton (the demo template) with ``--real-orders``
   sales seeded in one month: ``erp.sales_in_period`` and ``erp.customer_accounts`` time,
   per order, and the extrapolation to 10,000 orders (the reads are paged, 500 a call).

Run: ``.venv/bin/python bench/business_reports_bench.py [--orders 10000] [--real-orders 100]``
(``--real-orders 0`` skips part 2).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.report_render import render_files, validate  # noqa: E402
from service_tasks.reports import build_customer, build_inventory, build_sales  # noqa: E402

NOV = {"key": "2026-11", "label": "November 2026", "from": "2026-11-01", "to": "2026-11-30"}
OCT = {"key": "2026-10", "label": "October 2026", "from": "2026-10-01", "to": "2026-10-31"}
TIERS = ("gold", "silver", "bronze", None)


class Ctx:
    instance_id, business_key, element_id, attempt, idempotency_key = "bench", None, "b", 1, "k"


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    result = fn()
    return time.perf_counter() - started, result


def account(i: int) -> str:
    return f"001B{i:014d}"


def sales_answer(rng: random.Random, orders: int, customers: int,
                 products: int) -> dict[str, Any]:
    rows = []
    for n in range(orders):
        lines: list[dict[str, Any]] = []
        for _ in range(rng.randint(1, 5)):
            code = f"P-{rng.randrange(products):04d}"
            qty = rng.randint(1, 20)
            lines.append({"product_code": code, "product_name": f"Product {code}",
                          "quantity": float(qty),
                          "amount": str(Decimal(rng.randint(500, 50000)) / 100 * qty)})
        total = sum(Decimal(ln["amount"]) for ln in lines)
        c = rng.randrange(customers)
        rows.append({"sale_id": n, "number": f"S{n}", "crm_order_id": f"801B{n:014d}",
                     "date": "2026-11-15", "state": "done", "customer_code": account(c),
                     "customer_name": f"Customer {c}", "customer_tier": TIERS[c % 4],
                     "refund": False, "revenue": str(total), "lines": lines})
    return {"currency": "EUR", "orders": rows}


def part_one(orders: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    customers, products = 500, 300
    accounts = [{"id": account(i), "name": f"Customer {i}", "tier": TIERS[i % 4],
                 "owner": f"Owner {i % 12}", "erp_customer_id": None}
                for i in range(customers)]
    erp = sales_answer(rng, orders, customers, products)
    previous = sales_answer(rng, orders * 9 // 10, customers, products)
    waiting = {"instances": [{"waiting_on": "stock" if i % 3 else "credit",
                              "record_id": f"801W{i:014d}", "record_number": f"W{i}",
                              "account_name": f"Customer {i}", "owner": "Owner 1",
                              "amount": 1000.0 + i, "started_at": "2026-11-20T10:00:00Z",
                              "age_days": 3.5, "products": [{"product_code": "P-0001",
                                                             "quantity": 3}]}
                             for i in range(200)]}
    stages = ("Activated", "Synced to ERP", "Awaiting restock")
    crm = {"accounts": accounts, "orders": [{"id": o["crm_order_id"],
                                             "status": stages[i % 3]}
                                            for i, o in enumerate(erp["orders"])],
           "opportunities": [{"account_id": account(i), "open": 1 + i % 4,
                              "stage": "Qualification" if i % 2 else "Negotiation/Review",
                              "pipeline": 1000.0 * (1 + i % 7), "won": i % 3}
                             for i in range(customers)]}
    by_customer: dict[str, dict[str, Any]] = {}
    for o in erp["orders"]:
        c = by_customer.setdefault(o["customer_code"], {"orders": 0, "revenue": Decimal(0)})
        c["orders"] += 1
        c["revenue"] += Decimal(o["revenue"])
    reports: dict[str, tuple[Callable[..., dict[str, Any]], dict[str, Any]]] = {
        "sales": (build_sales, {"period": NOV, "previous_period": OCT, "erp": erp,
                                "erp_previous": previous, "crm": crm, "waiting": waiting}),
        "inventory": (build_inventory, {"period": NOV, "previous_period": OCT,
                                        "waiting": waiting, "erp": {
            "as_of": "2026-12-01T06:00:00Z", "stock_date": "2026-11-30",
            "previous_date": "2026-10-31",
            "locations": [{"id": i, "name": f"Zone {i}"} for i in range(3)],
            "products": [{"code": f"P-{p:04d}", "name": f"Product {p}",
                          "quantity": float(p % 90), "previous_quantity": float(p % 80),
                          "by_location": {f"Zone {i}": float(p % 30) for i in range(3)},
                          "reorder_point": 20} for p in range(products)]},
            "crm": {"orders": [{"id": f"801R{i:014d}", "order_number": f"R{i}",
                                "items": [{"product_code": f"P-{i % products:04d}",
                                           "quantity": 2}]} for i in range(orders // 10)]}}),
        "customer": (build_customer, {"period": NOV, "previous_period": OCT, "crm": {
            "accounts": accounts,
            "cases": [{"id": f"500{i}", "case_number": str(i),
                       "account_id": account(i % customers), "status": "New",
                       "open": i % 2 == 0, "created_at": "2026-11-02T09:00:00Z",
                       "age_days": 30.0, "refund_amount": 50.0 if i % 2 else None,
                       "modified_at": "2026-11-03T09:00:00Z"} for i in range(2000)]},
            "erp": {"currency": "EUR", "customers": [
                {"code": account(i), "name": f"Customer {i}", "credit_limit": "50000.00",
                 "exposure": str(by_customer.get(account(i), {}).get("revenue", 0)),
                 "orders": by_customer.get(account(i), {}).get("orders", 0),
                 "revenue": str(by_customer.get(account(i), {}).get("revenue", 0)),
                 "refunds": "0.00"} for i in range(customers)]}}),
    }
    print(f"Part 1: build + render, {orders:,} orders' worth of connector answers "
          f"({customers} customers, {products} products)")
    print(f"{'report':<10} {'answers':>9} {'build':>8} {'check':>8} {'render':>8} "
          f"{'total':>8}  files")
    for name, (build, params) in reports.items():
        size = len(json.dumps(params))
        t_build, built = timed(lambda b=build, p=params: b(p, Ctx()))  # type: ignore[misc]
        t_check, doc = timed(lambda d=built["report"]: validate(d))  # type: ignore[misc]
        t_render, files = timed(lambda d=doc: render_files(d))  # type: ignore[misc]
        total = t_build + t_check + t_render
        kinds = ", ".join(f"{f.name.rsplit('.', 1)[1]} {len(f.content) // 1024} KB"
                          for f in files if f.name.endswith((".xlsx", ".pdf")))
        print(f"{name:<10} {size / 1e6:>7.1f}MB {t_build:>7.2f}s {t_check:>7.2f}s "
              f"{t_render:>7.2f}s {total:>7.2f}s  {kinds}")


def part_two(real_orders: int) -> None:
    import requests

    from service_tasks.tryton.client import TrytonClient
    from service_tasks.tryton.demo import (
        DEMO_DATABASE,
        DEMO_PASSWORD,
        DEMO_USER,
        default_cache_dir,
        demo_server,
        prepare_template,
    )
    from service_tasks.tryton.erp_operations import TrytonOperations, operations
    from service_tasks.tryton.records import Line

    template = prepare_template(default_cache_dir())
    with tempfile.TemporaryDirectory() as work, demo_server(Path(work), template) as server, \
            requests.Session() as session:
        client = TrytonClient(session, server.url, DEMO_DATABASE, DEMO_USER, DEMO_PASSWORD,
                              timeout=300)
        ops = TrytonOperations(client)
        party = ops._party("001000000000005AAA")  # Evergreen: the highest credit limit
        assert party is not None
        wanted = [Line("BF-120", 1, Decimal("38.50")), Line("BF-110", 1, Decimal("65"))]
        lines = ops._sale_lines(wanted, ops._products(wanted))
        sales = client.model("sale.sale")
        started = time.perf_counter()
        ids = sales.create([ops._sale_values(party["id"], {
            "reference": f"801S{i:014d}", "sale_date": dt.date(2025, 3, 1 + i % 28),
            "lines": [["create", lines]]}) for i in range(real_orders)])
        for start in range(0, len(ids), 25):  # one confirm of hundreds outlasts any timeout
            sales.button("quote", ids[start:start + 25])
            sales.button("confirm", ids[start:start + 25])
        seeded = time.perf_counter() - started
        reads = operations(client)
        params = {"from": "2025-03-01", "to": "2025-03-31", "previous_to": "2025-02-28"}
        print(f"\nPart 2: connector reads on a real Tryton 8.2, {real_orders} sales seeded in "
              f"one month ({seeded:.1f} s to seed)")
        for name in ("erp.sales_in_period", "erp.customer_accounts", "erp.stock_levels"):
            runs = []
            for _ in range(3):
                took, result = timed(lambda n=name: reads[n](params, Ctx()))  # type: ignore[misc]
                runs.append(took)
            best = min(runs)
            if name == "erp.sales_in_period":
                assert len(result["orders"]) == real_orders, len(result["orders"])
            per = best / real_orders * 1000
            extra = {"erp.sales_in_period": f"  {per:.2f} ms/order -> ~{per * 10:.1f} s for "
                                            "10,000 orders (paged, 500 a call)",
                     "erp.customer_accounts": "  (the same sales read, plus every party's "
                                              "credit amount: grows with customers)",
                     "erp.stock_levels": "  (the period's end and the one before; does "
                                         "not grow with orders)"}[name]
            print(f"{name:<24} best of 3 {best:>6.2f} s{extra}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--real-orders", type=int, default=100)
    args = parser.parse_args()
    part_one(args.orders)
    if args.real_orders:
        part_two(args.real_orders)


if __name__ == "__main__":
    main()
