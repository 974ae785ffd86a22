"""Health and metrics for load balancers and Prometheus (no authentication)."""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

from flask import Blueprint, Response, current_app, jsonify

from engine.service import Engine

log = logging.getLogger(__name__)

bp = Blueprint("ops", __name__)


def _engine() -> Engine:
    eng: Engine = current_app.extensions["bridgeflow"]
    return eng


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """Say whether the database answers and how many workers are alive."""
    try:
        stats = _engine().stats()
    except Exception:  # noqa: BLE001 - any failure here means the database is away
        log.exception("health check: the database did not answer")
        return jsonify(status="unavailable", database="unreachable", workers_alive=0), 503
    return jsonify(status="ok", database="ok", workers_alive=stats["workers_alive"]), 200


@bp.get("/metrics")
def metrics() -> Response:
    """Return the engine's figures in the Prometheus text format."""
    return Response(render_metrics(_engine().stats()),
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
    calls: dict[str, list[float]] = defaultdict(lambda: [0, 0.0])
    for _element, operation, duration in stats["service_calls"]:
        entry = calls[str(operation)]
        entry[0] += 1
        entry[1] += float(duration or 0)
    lines += ["# HELP bridgeflow_service_call_duration_ms Service call durations "
              "(recent calls).",
              "# TYPE bridgeflow_service_call_duration_ms summary"]
    for operation, (count, total) in sorted(calls.items()):
        label = f'{{operation="{_label(operation)}"}}'
        lines += [f"bridgeflow_service_call_duration_ms_count{label} {int(count)}",
                  f"bridgeflow_service_call_duration_ms_sum{label} {total}"]
    return "\n".join(lines) + "\n"


def _label(value: Any) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
