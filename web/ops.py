"""Health and metrics for load balancers and Prometheus (no authentication)."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from flask import Blueprint, Response, current_app, jsonify

from engine import Engine

from .errors import unavailable

log = logging.getLogger(__name__)

bp = Blueprint("ops", __name__)


def _engine() -> Engine:
    eng: Engine = current_app.extensions["bridgeflow"]
    return eng


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """Liveness: the process serves and the database answers (no statistics: cheap)."""
    try:
        live = _engine().management.liveness()
    except Exception:  # noqa: BLE001 - any failure here means the database is away
        log.exception("health check: the database did not answer")
        return unavailable("the database does not answer", status="unavailable",
                           database="unreachable", workers_alive=0)
    return jsonify(status="ok", database="ok", workers_alive=live["workers_alive"]), 200


@bp.get("/readyz")
def readyz() -> tuple[Response, int]:
    """Readiness: the database answers, its schema is current, a worker beat lately."""
    try:
        ready = _engine().management.readiness()
    except Exception:  # noqa: BLE001 - any failure here means the database is away
        log.exception("readiness check: the database did not answer")
        return unavailable("the database does not answer", status="unavailable",
                           database="unreachable", ready=False)
    if not ready["ready"]:
        why = ("the database schema is behind the code: run `bridgeflow db upgrade`"
               if ready["migrations"] != "current" else
               "no worker has sent a heartbeat lately: start `bridgeflow worker`")
        return unavailable(why, status="not_ready", **ready)
    return jsonify(status="ok", **ready), 200


@bp.get("/metrics")
def metrics() -> Response:
    """Return the engine's figures in the Prometheus text format."""
    return Response(render_metrics(_engine().management.stats()),
                    content_type="text/plain; version=0.0.4; charset=utf-8")


def render_metrics(stats: dict[str, Any]) -> str:
    lines = ["# HELP bridgeflow_instances Process instances by process and status.",
             "# TYPE bridgeflow_instances gauge"]
    for key, status, count in stats["instances"]:
        lines.append(f'bridgeflow_instances{{process_key="{_label(key)}",'
                     f'status="{_label(status)}"}} {count}')
    for name, help_text in (("open_incidents", "Incidents waiting for a person."),
                            ("due_jobs", "Jobs that are due and not yet taken."),
                            ("workers_alive", "Workers with a recent heartbeat.")):
        lines += [f"# HELP bridgeflow_{name} {help_text}", f"# TYPE bridgeflow_{name} gauge",
                  f"bridgeflow_{name} {stats[name]}"]
    started: dict[str, int] = defaultdict(int)
    completed: dict[str, int] = defaultdict(int)
    for key, status, count in stats["instances"]:
        started[key] += count
        completed[key] += count if status == "completed" else 0
    lines += _counter("instances_started_total", "Process instances started.", "process_key",
                      started.items())
    lines += _counter("instances_completed_total", "Process instances completed.",
                      "process_key", completed.items())
    lines += _counter("incidents_total", "Incidents opened (instances that failed).",
                      "process_key", stats["incidents"])
    lines += ["# HELP bridgeflow_instance_duration_seconds Start to end of completed instances.",
              "# TYPE bridgeflow_instance_duration_seconds summary"]
    for key, count, total in stats["completed_durations"]:
        label = f'{{process_key="{_label(key)}"}}'
        lines += [f"bridgeflow_instance_duration_seconds_count{label} {count}",
                  f"bridgeflow_instance_duration_seconds_sum{label} {round(total, 3)}"]
    lines += ["# HELP bridgeflow_service_calls_total Service calls by operation and outcome.",
              "# TYPE bridgeflow_service_calls_total counter"]
    per_operation: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    for operation, outcome, count, total_ms in stats["service_calls"]:
        lines.append(f'bridgeflow_service_calls_total{{operation="{_label(operation)}",'
                     f'outcome="{_label(outcome)}"}} {count}')
        per_operation[str(operation)][0] += count
        per_operation[str(operation)][1] += total_ms
    lines += ["# HELP bridgeflow_service_call_duration_ms Service call durations.",
              "# TYPE bridgeflow_service_call_duration_ms summary"]
    for operation, (count, total) in sorted(per_operation.items()):
        label = f'{{operation="{_label(operation)}"}}'
        lines += [f"bridgeflow_service_call_duration_ms_count{label} {int(count)}",
                  f"bridgeflow_service_call_duration_ms_sum{label} {round(total, 1)}"]
    return "\n".join(lines) + "\n"


def _counter(name: str, help_text: str, label: str,
             values: Iterable[tuple[str, int]]) -> list[str]:
    lines = [f"# HELP bridgeflow_{name} {help_text}", f"# TYPE bridgeflow_{name} counter"]
    for key, count in sorted(values):
        lines.append(f'bridgeflow_{name}{{{label}="{_label(key)}"}} {count}')
    return lines


def _label(value: Any) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
