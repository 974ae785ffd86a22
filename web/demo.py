"""``bridgeflow demo``: Bridgeflow with the demo ERP (Tryton), the CRM sandbox and a mail sink.

Every service is a child of this process and stops with it. The ERP database is a copy of a
template that is built once (about half a minute) and then reused.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

log = logging.getLogger(__name__)


def _wait_for_port(port: int, what: str, process: subprocess.Popen[bytes],
                   timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} stopped at start (exit {process.returncode})")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{what} did not answer on port {port} within {timeout:.0f} s")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def run_demo(host: str, port: int, *, erp_port: int, crm_port: int, smtp_port: int,
             workdir: Path, workers: int) -> None:
    """Start the ERP, the CRM and the mail sink, point Bridgeflow at them, and serve."""
    from service_tasks.tryton.demo import default_cache_dir, demo_server, prepare_template

    from .server import serve as run_server

    workdir = workdir.resolve()  # trytond reads its database path from its config file
    workdir.mkdir(parents=True, exist_ok=True)
    print("preparing the demo ERP (the first time takes about half a minute)…", flush=True)
    erp = demo_server(workdir / "erp", prepare_template(default_cache_dir()), port=erp_port)
    erp.start()
    webhook_secret = secrets.token_hex(16)
    crm = subprocess.Popen(
        [sys.executable, "-m", "crm_sandbox", "--host", "127.0.0.1", "--port", str(crm_port),
         "--db", str(workdir / "crm.db"),
         "--webhook-url", f"http://127.0.0.1:{port}/api/v1/webhooks/crm"],
        env={**os.environ, "SANDBOX_WEBHOOK_SECRET": webhook_secret})
    mail = subprocess.Popen([sys.executable, "-m", "aiosmtpd", "-n", "-l",
                             f"127.0.0.1:{smtp_port}", "-c", "aiosmtpd.handlers.Debugging"])
    try:
        _wait_for_port(crm_port, "the CRM sandbox", crm)
        _wait_for_port(smtp_port, "the mail sink", mail)
        os.environ.update({
            "BRIDGEFLOW_ERP_URL": erp.url, "BRIDGEFLOW_ERP_DATABASE": erp.database,
            "BRIDGEFLOW_ERP_USER": erp.user, "BRIDGEFLOW_ERP_PASSWORD": erp.password,
            "BRIDGEFLOW_CRM_URL": f"http://127.0.0.1:{crm_port}",
            "BRIDGEFLOW_CRM_CLIENT_SECRET": os.environ.get("SANDBOX_CLIENT_SECRET",
                                                           "demo-secret"),
            "BRIDGEFLOW_SMTP_HOST": "127.0.0.1", "BRIDGEFLOW_SMTP_PORT": str(smtp_port),
            "BRIDGEFLOW_SMTP_SENDER": "Bridgeflow <bridgeflow@demo.example>",
            "BRIDGEFLOW_WEBHOOK_SECRET": webhook_secret,
        })
        from engine import Settings

        from .bootstrap import StartupError, prepare

        settings = Settings.from_env()
        try:  # migrate, deploy processes/ once with the connectors known, add the demo users
            prepare(settings, deploy=True, demo_users=settings.environment == "development"
                    and settings.demo_users)
        except StartupError as exc:
            raise RuntimeError(str(exc)) from exc
        print(f"\n  Bridgeflow  http://{host}:{port}/   (demo users: password "
              f"'bridgeflow-demo')\n  CRM sandbox http://127.0.0.1:{crm_port}/\n"
              f"  Tryton ERP  {erp.url}/ (JSON-RPC; database {erp.database!r}, user "
              f"{erp.user!r}, password {erp.password!r})\n  e-mail      printed below "
              f"(SMTP 127.0.0.1:{smtp_port})\n", flush=True)
        run_server({}, host, port, workers, 8)
    finally:
        _stop(crm)
        _stop(mail)
        erp.stop()
