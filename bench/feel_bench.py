"""How fast engine.dmn evaluates FEEL-heavy decisions (contexts, functions, loops, dates).

Run: .venv/bin/python bench/feel_bench.py [--seconds S] [--tck 0092-feel-lambda]

Two workloads, each checked before it is timed:

* an invoice decision written for this benchmark: one literal expression with a context of
  nine entries, an inline function, two ``for`` loops over five order lines, a filter, a path,
  ``sum``, ``string join``, and date and duration arithmetic;
* every test case of one DMN TCK level-3 model (default ``0092-feel-lambda``: business
  knowledge models, inline functions and closures), the file parsed once, the cases run in a
  loop as the TCK runner runs them.

Prints evaluations per second for each, of wall time and of CPU time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lxml import etree  # noqa: E402

from engine.dmn import parse_dmn  # noqa: E402
from engine.dmn.lenient import parse_dmn_lenient  # noqa: E402
from tests.conformance import tck  # noqa: E402

DMN_NS = "https://www.omg.org/spec/DMN/20191111/MODEL/"
INVOICE = """{
  rate: function(tier) if tier = "gold" then 0.1 else if tier = "silver" then 0.05 else 0,
  lines: for l in order.lines return {sku: l.sku, net: l.qty * l.price * (1 - rate(order.tier))},
  total: sum(lines.net),
  due: date(order.placed) + duration("P30D"),
  overdue: today > due,
  late days: if overdue then (today - due).days else 0,
  big lines: lines[net > 100].sku,
  summary: string join(for s in big lines return upper case(s), ", "),
  reminder: if overdue then date and time(due, time("09:00:00@Europe/Paris")) else null
}"""


def invoice_document() -> Any:
    xml = (
        f'<definitions xmlns="{DMN_NS}" id="defs" name="bench" namespace="http://bench">'
        '<decision id="invoice" name="Invoice"><literalExpression>'
        f"<text>{escape(INVOICE)}</text></literalExpression></decision></definitions>"
    ).encode()
    return parse_dmn(xml, "invoice.dmn")


def invoice_inputs(n: int) -> list[dict[str, Any]]:
    tiers = ["gold", "silver", "none"]
    return [
        {
            "order": {
                "tier": tiers[i % 3],
                "placed": f"2024-0{1 + i % 9}-1{i % 10}",
                "lines": [{"sku": f"sku-{i}-{k}", "qty": 1 + (i + k) % 4,
                           "price": Decimal(25 * (k + 1)) + Decimal(i % 7) / 4}
                          for k in range(5)],
            },
            "today": dt.date(2024, 6, 1),
        }
        for i in range(n)
    ]


def check_invoice(result: Any, variables: dict[str, Any]) -> None:
    """The decision's total and overdue flag, recomputed in plain Python."""
    order = variables["order"]
    rate = {"gold": Decimal("0.1"), "silver": Decimal("0.05")}.get(order["tier"], Decimal(0))
    total = sum(line["qty"] * line["price"] * (1 - rate) for line in order["lines"])
    due = dt.date.fromisoformat(order["placed"]) + dt.timedelta(days=30)
    assert result.errors == [], result.errors
    assert result.outputs["total"] == total, (result.outputs["total"], total)
    assert result.outputs["overdue"] is (variables["today"] > due)


def rate(fn: Callable[[], Any], seconds: float, per_call: int) -> tuple[float, float]:
    """Evaluations per second of wall time and per second of this process's CPU time (the
    second moves less when other processes share the cores)."""
    fn()  # warm-up
    done, start, cpu = 0, time.perf_counter(), time.process_time()
    while time.perf_counter() - start < seconds:
        fn()
        done += per_call
    return done / (time.perf_counter() - start), done / (time.process_time() - cpu)


def tck_model(name: str) -> tuple[Any, list[etree._Element]]:
    directory = tck.conformance_dir() / tck.SUITES[3] / name
    dmn_file = next(directory.glob("*.dmn"))
    document, _ = parse_dmn_lenient(dmn_file.read_bytes(), dmn_file.name)
    cases = [case for tf in sorted(directory.glob("*-test-*.xml"))
             for case in etree.parse(str(tf)).getroot().findall(f"{tck.TC}testCase")]
    return document, cases


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__)
    args.add_argument("--seconds", type=float, default=3.0, help="time per workload")
    args.add_argument("--tck", default="0092-feel-lambda", help="a TCK level-3 model directory")
    options = args.parse_args()

    document, inputs = invoice_document(), invoice_inputs(60)
    for variables in inputs:
        check_invoice(document.evaluate("invoice", variables), variables)

    def invoices() -> None:
        for variables in inputs:
            document.evaluate("invoice", variables)

    wall, cpu = rate(invoices, options.seconds, len(inputs))
    print(f"invoice (context, function, 2 loops over 5 lines, filter, dates): "
          f"{wall:8,.0f} evaluations/s ({cpu:,.0f} per CPU second)")

    model, cases = tck_model(options.tck)
    outcomes = [tck.run_case(model, options.tck, case) for case in cases]
    passed = sum(o.passed for o in outcomes)
    results = sum(len(case.findall(f"{tck.TC}resultNode")) for case in cases)

    def tck_cases() -> None:
        for case in cases:
            tck.run_case(model, options.tck, case)

    wall, cpu = rate(tck_cases, options.seconds, results)
    print(f"TCK {options.tck}: {len(cases)} cases ({passed} pass), {results} decision "
          f"results: {wall:8,.0f} evaluations/s ({cpu:,.0f} per CPU second; with the "
          "runner's checks)")


if __name__ == "__main__":
    main()
