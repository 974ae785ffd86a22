"""How the sales report's opportunity read scales: ``crm.accounts_and_orders`` over the CRM
sandbox with many opportunities.

The sandbox (a temporary SQLite file, served over HTTP on a free local port) is given
``--accounts`` accounts and ``--opportunities`` opportunities spread over them (a third
closed, some won in the period); the read is then timed, with the HTTP calls it makes
counted, at a tenth of the size and at the full size. The read is one paged query (2,000
records a page), so the calls grow with the pages, never with the accounts.

Run: ``.venv/bin/python bench/opportunity_read_bench.py [--accounts 500]
[--opportunities 20000]``
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests
from werkzeug.serving import make_server

from crm_sandbox import create_app, crm_of
from crm_sandbox.schema import OPPORTUNITY_STAGES, named
from service_tasks.crm import SalesforceClient, operations


class Ctx:
    instance_id, element_id, business_key, attempt = "bench", "read_crm", None, 1
    idempotency_key = "bench:read_crm"


def fill(app: Any, accounts: int, opportunities: int) -> None:
    with crm_of(app).write() as records:
        ids = [records.create(named("Account"), {"Name": f"Bench account {i}"})
               for i in range(accounts)]
        for n in range(opportunities):
            stage = OPPORTUNITY_STAGES[n % len(OPPORTUNITY_STAGES)] if n % 3 == 0 \
                else OPPORTUNITY_STAGES[n % 8]
            records.create(named("Opportunity"), {
                "Name": f"Deal {n}", "AccountId": ids[n % accounts], "StageName": stage,
                "Amount": 100.0 + n % 1000, "CloseDate": f"2026-11-{1 + n % 28:02d}"})


def measure(accounts: int, opportunities: int, directory: Path) -> tuple[float, int, int]:
    app = create_app({"DATABASE": str(directory / f"crm-{opportunities}.db"),
                      "WEBHOOK_SENDER": False, "API_DAILY_LIMIT": 10_000_000})
    fill(app, accounts, opportunities)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with requests.Session() as session:
            calls: list[str] = []
            session.hooks["response"].append(lambda r, *a, **k: calls.append(r.url))
            client = SalesforceClient(session, f"http://127.0.0.1:{server.server_port}",
                                      "bridgeflow", "demo-secret", timeout=120)
            read = operations(client)["crm.accounts_and_orders"]
            read({}, Ctx())    # log in, warm up
            calls.clear()
            start = time.perf_counter()
            answer = read({"won_from": "2026-11-01", "won_to": "2026-11-30"}, Ctx())
            seconds = time.perf_counter() - start
            return seconds, len(calls), len(answer["opportunities"])
    finally:
        server.shutdown()
        thread.join(5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=500)
    parser.add_argument("--opportunities", type=int, default=20_000)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    print(f"crm.accounts_and_orders with opportunities, {args.accounts} accounts "
          f"(the seed's 6 besides)")
    print(f"{'opportunities':>13} {'accounts read':>13} {'HTTP calls':>10} {'seconds':>8} "
          f"{'ms / 1,000 opps':>15}")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in (args.opportunities // 10, args.opportunities):
            seconds, calls, found = measure(args.accounts, size, Path(tmp))
            results.append(seconds)
            print(f"{size:>13,} {found:>13,} {calls:>10} {seconds:>8.2f} "
                  f"{seconds * 1e6 / size:>15.1f}")
    print(f"10x the opportunities took {results[1] / results[0]:.1f}x the time")


if __name__ == "__main__":
    main()
