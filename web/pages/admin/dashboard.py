"""The dashboard: instances by status, throughput and durations per process, what needs a look."""

from __future__ import annotations

from collections import Counter

from flask import render_template

from web.auth import roles_required

from ..charts import bar_chart, line_chart
from ..common import STATUSES, engine
from . import bp

REPORT_DAYS = 14


@bp.get("")
@roles_required("admin")
def dashboard() -> str:
    """Show how the processes are doing and what needs a person."""
    eng = engine()
    stats = eng.management.stats()
    by_status: Counter[str] = Counter()
    for _key, status, count in stats["instances"]:
        by_status[status] += count
    names = {d.key: d.name or d.key for d in eng.repository.list_definitions("process")}
    reports = []
    for figures in eng.history.process_figures(REPORT_DAYS):
        days = [d.day for d in figures.days]
        name = names.get(figures.process_key, figures.process_key)
        reports.append({
            "figures": figures, "name": name,
            "throughput": bar_chart(f"{name}: instances completed per day",
                                    days, [d.completed for d in figures.days]),
            "durations": line_chart(f"{name}: average and 95th percentile duration per day",
                                    days, [("average", "avg",
                                            [d.avg_seconds for d in figures.days]),
                                           ("95th percentile", "p95",
                                            [d.p95_seconds for d in figures.days])]),
        })
    return render_template(
        "admin/dashboard.html", statuses=STATUSES, by_status=by_status, stats=stats,
        reports=reports, report_days=REPORT_DAYS, process_names=names,
        incidents=eng.management.list_incidents("open", per_page=10),
        workers=eng.management.workers())
