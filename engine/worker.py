"""A worker: takes due jobs from the shared table and runs them; APScheduler drives the polls."""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import uuid
from typing import Any

from apscheduler.schedulers.background import BackgroundScheduler

from . import jobs, retention
from .facade import Engine

log = logging.getLogger(__name__)


class Worker:
    """Polls for due jobs (instance steps, timers, retries, timer starts) and runs them."""

    def __init__(self, engine: Engine, worker_id: str | None = None) -> None:
        self._core = engine._core
        self._management = engine.management
        self.settings = engine.settings
        self.id = worker_id or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.jobs_done = 0
        self._stop = threading.Event()
        self._scheduler: BackgroundScheduler | None = None
        self._drain_lock = threading.Lock()

    def poll_once(self) -> int:
        """Take one batch of due jobs and run them; return how many there were."""
        ids = jobs.acquire(self._core.db, self.id, self.settings.worker_batch_size,
                           self.settings.job_lease_seconds)
        for job_id in ids:
            if self._stop.is_set():
                jobs.put_back(self._core.db, job_id, self.id, 0.0)
                continue
            self._core.executor.run_job(job_id, self.id)
            self.jobs_done += 1
        return len(ids)

    def drain(self) -> None:
        """Run batches until nothing is due (one drain at a time per worker)."""
        if not self._drain_lock.acquire(blocking=False):
            return
        try:
            while not self._stop.is_set() and self.poll_once():
                pass
        except Exception:  # noqa: BLE001 - the database may be briefly away; poll again
            log.exception("worker %s could not poll for jobs", self.id)
        finally:
            self._drain_lock.release()

    def beat(self) -> None:
        try:
            self._management.heartbeat(self.id, self.jobs_done)
        except Exception:  # noqa: BLE001
            log.exception("worker %s could not record its heartbeat", self.id)

    def start(self) -> None:
        """Start polling in background threads (used by ``serve`` and by ``run``)."""
        self.beat()
        try:
            retention.schedule_cleanup(self._core.db, self.settings)
        except Exception:  # noqa: BLE001 - the next start queues it; jobs must still run
            log.exception("worker %s could not queue the history cleanup", self.id)
        scheduler = BackgroundScheduler(timezone="UTC")
        scheduler.add_job(self.drain, "interval", seconds=self.settings.worker_poll_seconds,
                          id="poll", max_instances=1, coalesce=True)
        scheduler.add_job(self.beat, "interval", seconds=self.settings.worker_heartbeat_seconds,
                          id="heartbeat", max_instances=1, coalesce=True)
        scheduler.start()
        self._scheduler = scheduler
        log.info("worker %s started", self.id)

    def stop(self) -> None:
        self._stop.set()
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=True)
            self._scheduler = None
        log.info("worker %s stopped after %d jobs", self.id, self.jobs_done)

    def run(self) -> None:
        """Run until SIGINT or SIGTERM, then finish the job at hand and stop."""

        def _signal(_signum: int, _frame: Any) -> None:
            self._stop.set()

        signal.signal(signal.SIGTERM, _signal)
        signal.signal(signal.SIGINT, _signal)
        self.start()
        self._stop.wait()
        self.stop()
