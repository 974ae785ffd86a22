"""Trace the path of a REST start to a completed user task through Bridgeflow's own code.

Starts a one-task process with ``POST /api/v1/process-instances?wait=5``, completes its task
with ``POST /api/v1/tasks/{id}/complete?wait=5``, and prints, per request, the files of
``engine/``, ``web/`` and ``service_tasks/`` that ran and the hops between them: distinct
calls from a function in one file to a function in another. Framework, library and
standard-library frames are left out (a call through them counts from our last frame).

    .venv/bin/python bench/request_path.py
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OURS = tuple(str(ROOT / p) + "/" for p in ("engine", "web", "service_tasks"))

PROCESS = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d" targetNamespace="t">
  <bpmn:process id="one_review" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="review"/>
    <bpmn:userTask id="review" name="Review" camunda:candidateGroups="finance"/>
    <bpmn:sequenceFlow id="f2" sourceRef="review" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>
"""


class PathTracer:
    """Collects the files and the cross-file call edges of our own code."""

    def __init__(self) -> None:
        self.files: set[str] = set()
        self.hops: set[tuple[str, str]] = set()

    def _ours(self, frame: FrameType | None) -> FrameType | None:
        while frame is not None and not frame.f_code.co_filename.startswith(OURS):
            frame = frame.f_back
        return frame

    def __call__(self, frame: FrameType, event: str, _arg: Any) -> None:
        if event != "call" or not frame.f_code.co_filename.startswith(OURS):
            return
        callee = _name(frame)
        self.files.add(callee.split(":")[0])
        caller_frame = self._ours(frame.f_back)
        if caller_frame is not None:
            caller = _name(caller_frame)
            if caller.split(":")[0] != callee.split(":")[0]:
                self.hops.add((caller, callee))

    def run(self, fn: Callable[[], Any]) -> Any:
        sys.setprofile(self)
        try:
            return fn()
        finally:
            sys.setprofile(None)


def _name(frame: FrameType) -> str:
    return f"{Path(frame.f_code.co_filename).relative_to(ROOT)}:{frame.f_code.co_name}"


def main() -> None:
    import os

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/path.db"
        os.environ["BRIDGEFLOW_DATABASE_URL"] = url
        os.environ["BRIDGEFLOW_PROCESSES_DIR"] = f"{tmp}/none"
        from web import create_app

        try:  # an explicit migration (create_app only builds)
            from engine import Engine

            Engine(url).management.upgrade_database()
        except ImportError:  # an older tree: its create_app migrated
            pass
        config = {"database_url": url, "run_worker_in_web": False,
                  "processes_dir": f"{tmp}/none", "mappings_dir": f"{tmp}/none"}
        app = create_app(config)
        engine = app.extensions["bridgeflow"]
        identity = getattr(engine, "identity", engine)
        key = identity.create_api_key(
            "path", ["processes:start", "tasks:read", "tasks:act", "admin"])
        identity.create_user("fiona", "a long bench password", groups=["finance"],
                             role="user")  # the person the task is for
        repository = getattr(engine, "repository", engine)
        repository.deploy({"one_review.bpmn": PROCESS})
        client = app.test_client()
        headers = {"Authorization": f"Bearer {key}"}
        for _ in range(2):  # warm: the first round loads specs and caches
            started = client.post("/api/v1/process-instances?wait=5", headers=headers,
                                  json={"process_key": "one_review"}).get_json()
            task = client.get(f"/api/v1/process-instances/{started['id']}",
                              headers=headers).get_json()["open_tasks"][0]
            client.post(f"/api/v1/tasks/{task['id']}/complete?wait=5", headers=headers,
                        json={"user": "fiona", "variables": {}})
        start, complete = PathTracer(), PathTracer()
        started = start.run(lambda: client.post(
            "/api/v1/process-instances?wait=5", headers=headers,
            json={"process_key": "one_review"}).get_json())
        task = client.get(f"/api/v1/process-instances/{started['id']}",
                          headers=headers).get_json()["open_tasks"][0]
        done = complete.run(lambda: client.post(
            f"/api/v1/tasks/{task['id']}/complete?wait=5", headers=headers,
            json={"user": "fiona", "variables": {}}))
        assert done.status_code == 200, done.get_data(as_text=True)
        final = client.get(f"/api/v1/process-instances/{started['id']}",
                           headers=headers).get_json()
        assert final["status"] == "completed", final
        engine.close() if hasattr(engine, "close") else engine.db.dispose()
    for title, tracer in (("start (wait)", start), ("complete (wait)", complete)):
        print(f"{title}: {len(tracer.files)} files, {len(tracer.hops)} hops")
        for caller, callee in sorted(tracer.hops):
            print(f"  {caller} -> {callee}")
    files = start.files | complete.files
    hops = start.hops | complete.hops
    print(f"together: {len(files)} files, {len(hops)} hops")
    # the same without the calls into the database layer (sessions, column types, utcnow),
    # which every service makes and which say nothing about the path's shape
    plumbing = ("engine/db.py", "engine/models.py", "engine/protect.py")
    path = {(a, b) for a, b in hops if not b.startswith(plumbing)}
    print(f"without the database layer: {len(files - set(plumbing))} files, "
          f"{len(path)} hops")
    for name in sorted(files):
        print(f"  {name}")


if __name__ == "__main__":
    main()
