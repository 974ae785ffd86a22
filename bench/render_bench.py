"""Rendering a business report: a 10,000-row sales document to XLSX, PDF, CSV and HTML.

Run: .venv/bin/python bench/render_bench.py [--rows 10000] [--rounds 3]

Builds a sales report document with ``--rows`` customers (seven columns: text, integer,
money, money, percent, date, date-time; a bar chart of the top 10) and a small pie section,
then times, in rotating order over ``--rounds`` rounds: validating the document, the XLSX
(openpyxl, write-only), the PDF (reportlab, every row over many pages), the CSVs, and the
console's HTML (the page's own template, its first 500 rows, with the SVG charts). Prints
the median seconds of each, the output sizes, and each against the CSV as a ratio (one run:
the machine is shared).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jinja2 import Environment, FileSystemLoader, select_autoescape  # noqa: E402

from engine.report_render import validate, view_of  # noqa: E402
from engine.report_render.csv_files import render_csv  # noqa: E402
from engine.report_render.pdf import render_pdf  # noqa: E402
from engine.report_render.view import ROWS_SHOWN  # noqa: E402
from engine.report_render.xlsx import render_xlsx  # noqa: E402
from web.pages.report_charts import report_chart  # noqa: E402


def document(rows: int) -> dict[str, Any]:
    customers = [{"customer": f"Customer {i:05d} Müller & Søn", "orders": 1 + i % 9,
                  "revenue": 1000.5 + i * 3.25, "previous": 950.0 + i * 3,
                  "change": round((1000.5 + i * 3.25) / (950.0 + i * 3) - 1, 4),
                  "first": f"2026-11-{1 + i % 28:02d}", "updated": "2026-11-30T17:45:00Z"}
                 for i in range(rows)]
    money = {"format": "money"}
    return {"kind": "sales", "title": "Sales report", "currency": "EUR",
            "period": {"key": "2026-11", "label": "November 2026", "from": "2026-11-01",
                       "to": "2026-11-30"},
            "previous_period": {"key": "2026-10", "label": "October 2026",
                                "from": "2026-10-01", "to": "2026-10-31"},
            "data_as_of": "2026-12-01T02:00:05Z",
            "summary": [{"label": "Revenue", "value": sum(c["revenue"] for c in customers),
                         "previous": sum(c["previous"] for c in customers), **money},
                        {"label": "Orders", "value": sum(c["orders"] for c in customers),
                         "previous": rows * 4, "format": "integer"}],
            "sections": [
                {"key": "by_customer", "title": "Revenue by customer",
                 "columns": [{"key": "customer", "label": "Customer", "format": "text"},
                             {"key": "orders", "label": "Orders", "format": "integer"},
                             {"key": "revenue", "label": "Revenue", **money},
                             {"key": "previous", "label": "Previous period", **money},
                             {"key": "change", "label": "Change", "format": "percent"},
                             {"key": "first", "label": "First order", "format": "date"},
                             {"key": "updated", "label": "Updated", "format": "datetime"}],
                 "rows": customers, "totals": {"customer": "Total"},
                 "chart": {"type": "bar", "label": "customer",
                           "values": ["revenue", "previous"]}},
                {"key": "by_tier", "title": "Revenue by tier",
                 "columns": [{"key": "tier", "label": "Tier", "format": "text"},
                             {"key": "revenue", "label": "Revenue", **money}],
                 "rows": [{"tier": "Gold", "revenue": 7000}, {"tier": "Silver",
                                                              "revenue": 3000}],
                 "chart": {"type": "pie", "label": "tier", "values": ["revenue"]}}]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    raw = document(args.rows)
    doc = validate(raw)
    env = Environment(loader=FileSystemLoader(ROOT / "web" / "templates"),
                      autoescape=select_autoescape())
    template = env.get_template("admin/business_report.html")

    def html() -> bytes:
        return template.render(view=view_of(doc), report_chart=report_chart).encode()

    steps: dict[str, Callable[[], Any]] = {
        "validate": lambda: validate(raw),
        "xlsx": lambda: render_xlsx(doc),
        "pdf": lambda: render_pdf(doc),
        "csv": lambda: b"".join(render_csv(s) for s in doc["sections"]),
        "html": html}
    times: dict[str, list[float]] = {name: [] for name in steps}
    sizes: dict[str, int] = {}
    names = list(steps)
    for round_ in range(args.rounds):
        order = names[round_ % len(names):] + names[:round_ % len(names)]
        for name in order:
            start = time.perf_counter()
            out = steps[name]()
            times[name].append(time.perf_counter() - start)
            if isinstance(out, bytes):
                sizes[name] = len(out)
    csv_time = statistics.median(times["csv"])
    print(f"sales report, {args.rows:,} rows + a 2-row section, median of {args.rounds} "
          "rounds")
    print(f"{'step':10} {'seconds':>9} {'rows/s':>10} {'bytes':>11} {'x csv':>7}")
    for name in names:
        median = statistics.median(times[name])
        size = f"{sizes[name]:,}" if name in sizes else "-"
        rows = min(args.rows, ROWS_SHOWN) if name == "html" else args.rows
        print(f"{name:10} {median:9.3f} {rows / median:10,.0f} {size:>11} "
              f"{median / csv_time:7.1f}")
    print(f"(html: the page shows the first {ROWS_SHOWN} rows of a section)")
    total = sum(statistics.median(times[n]) for n in ("validate", "xlsx", "pdf", "csv"))
    print(f"all files reports.store renders (validate + xlsx + pdf + csv): {total:.2f} s")


if __name__ == "__main__":
    main()
