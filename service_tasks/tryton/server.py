"""Run ``trytond`` on one SQLite database as a child process: start, wait, stop, restart.

trytond is only ever run as a subprocess (``trytond`` from the running interpreter's bin
directory), never imported. The child goes away with this process, however it ends.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import requests

from service_tasks.base import ConnectorError
from service_tasks.tryton.client import TrytonClient

log = logging.getLogger(__name__)


class TrytonServerError(ConnectorError):
    """trytond or trytond-admin could not be run, or did not come up in time."""


def tryton_executable(name: str) -> Path:
    """``trytond`` / ``trytond-admin`` from the bin directory of the running interpreter."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        raise TrytonServerError(
            f"{path} not found: install the ERP extra (pip install -e '.[erp]')",
            {"executable": str(path)})
    return path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(path: Path, database_dir: Path, port: int) -> None:
    """A trytond configuration for SQLite files in ``database_dir``, listening on ``port``."""
    path.write_text(
        "[database]\nuri = sqlite://\n"
        f"path = {Path(database_dir).resolve()}\n\n"
        f"[web]\nlisten = 127.0.0.1:{port}\n", encoding="utf-8")


def child_env(**extra: str) -> dict[str, str]:
    """The environment for trytond processes: ours, less any ``TRYTOND_*``, plus ``extra``."""
    # Settings of an outer Tryton must not leak into ours.
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRYTOND_")}
    env.update(extra)
    return env


def log_tail(path: Path, lines: int = 30) -> str:
    """The last ``lines`` of a log file, for error messages."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


_WATCHDOG = """
import os, signal, subprocess, sys, threading, time
child = subprocess.Popen(sys.argv[1:], stdin=subprocess.DEVNULL)
stop = []
for sig in (signal.SIGTERM, signal.SIGINT):
    signal.signal(sig, lambda *_: stop.append(1))
# os.read returns b"" once every writer of the pipe is gone, i.e. when our parent died.
threading.Thread(target=lambda: (os.read(0, 1), stop.append(0)), daemon=True).start()
while not stop and child.poll() is None:
    time.sleep(0.2)
if child.poll() is None:
    child.terminate()
    try:
        child.wait(5)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
code = child.returncode
os._exit(code if code >= 0 else 128 - code)
"""

_RUNNING: set[TrytonServer] = set()


def _stop_all() -> None:
    for server in list(_RUNNING):
        server.stop()


atexit.register(_stop_all)


class TrytonServer:
    """``trytond`` on one SQLite database in ``workdir``, as a child of this process.

    With ``template``, the database file is copied from it on the first ``start()``;
    ``stop()`` and ``start()`` again keep the same files and port.
    """

    def __init__(self, workdir: Path, *, database: str, password: str, user: str = "admin",
                 template: Path | None = None, port: int | None = None,
                 start_timeout: float = 60.0) -> None:
        self.workdir = Path(workdir)
        self.template = template
        self.database = database
        self.port = port or free_port()
        self.user = user
        self.password = password
        self.start_timeout = start_timeout
        self.database_dir = self.workdir / "db"
        self.database_file = self.database_dir / f"{database}.sqlite"
        self.config_file = self.workdir / "trytond.conf"
        self.log_file = self.workdir / "trytond.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def client(self, session: requests.Session, *, timeout: float = 10) -> TrytonClient:
        """A client for this server's database, logged in as the server's user on first use."""
        return TrytonClient(session, self.url, self.database, self.user, self.password,
                            timeout=timeout)

    def start(self) -> None:
        """Start trytond and return once it answers a login (or raise, with its log)."""
        if self.running:
            return
        self.stop()  # reap a child that died on its own
        self.database_dir.mkdir(parents=True, exist_ok=True)
        if not self.database_file.exists():
            if self.template is None:
                raise TrytonServerError(f"no database file {self.database_file}")
            shutil.copyfile(self.template, self.database_file)
        write_config(self.config_file, self.database_dir, self.port)
        command = [str(tryton_executable("trytond")), "-c", str(self.config_file),
                   "-d", self.database, "-v"]
        with self.log_file.open("ab") as out:
            # The watchdog holds the read end of a pipe whose write end only we have:
            # when this process dies, however it dies, trytond goes with it.
            self._process = subprocess.Popen(
                [sys.executable, "-c", _WATCHDOG, *command],
                stdin=subprocess.PIPE, stdout=out, stderr=subprocess.STDOUT,
                env=child_env(), start_new_session=False)
        _RUNNING.add(self)
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise
        log.info("trytond serves %s at %s", self.database, self.url)

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        body = {"id": 0, "method": "common.db.login",
                "params": [self.user, {"password": self.password}, "en"]}
        endpoint = f"{self.url}/{self.database}/rpc/"
        process = self._process
        with requests.Session() as http:
            while process is not None and time.monotonic() < deadline:
                if process.poll() is not None:
                    raise TrytonServerError(
                        f"trytond exited with code {process.returncode}:\n"
                        f"{log_tail(self.log_file)}", {"log": str(self.log_file)})
                try:
                    answer = http.post(endpoint, json=body, timeout=5)
                    if answer.status_code == 200 and "result" in answer.json():
                        return
                except (requests.ConnectionError, requests.Timeout, ValueError):
                    pass
                else:
                    if answer.status_code == 401:
                        raise TrytonServerError(
                            f"trytond refused the login of {self.user!r} on "
                            f"{self.database!r}: is this the database's password?")
                time.sleep(0.2)
        raise TrytonServerError(
            f"trytond did not answer a login within {self.start_timeout:.0f} s:\n"
            f"{log_tail(self.log_file)}", {"log": str(self.log_file)})

    def stop(self, timeout: float = 10) -> None:
        """Terminate trytond (kill it if it does not go within ``timeout`` seconds)."""
        process, self._process = self._process, None
        _RUNNING.discard(self)
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout)
        if process.stdin is not None:
            process.stdin.close()

    def __enter__(self) -> TrytonServer:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()
