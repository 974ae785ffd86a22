"""``python -m crm_sandbox`` serves the CRM; the sandbox stays an outside system."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def test_python_m_sandbox_serves_the_crm(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "crm_sandbox", "--port", "0", "--db", str(db),
         "--client-secret", "cli-secret"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("Sandbox CRM on http://127.0.0.1:"), line
        base = line.split()[3].rstrip("/")
        with requests.Session() as http:
            token = http.post(f"{base}/services/oauth2/token", data={
                "grant_type": "client_credentials", "client_id": "bridgeflow",
                "client_secret": "cli-secret"}, timeout=5)
            assert token.status_code == 200
            assert token.json()["instance_url"] == base
            page = http.get(f"{base}/", timeout=5)
            assert "Acme Industrial GmbH" in page.text
    finally:
        proc.terminate()
        assert proc.wait(timeout=10) == 0
        if proc.stdout:
            proc.stdout.close()
    assert db.exists()


def test_a_webhook_url_without_a_secret_is_refused(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "crm_sandbox", "--db", str(tmp_path / "x.db"), "--webhook-url",
         "http://127.0.0.1:1/hook"], cwd=ROOT, capture_output=True, text=True, timeout=30,
        env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 2
    assert "--webhook-secret" in done.stderr


def test_the_sandbox_imports_nothing_of_bridgeflow() -> None:
    imported = set()
    for path in (ROOT / "crm_sandbox").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module.split(".")[0])
    assert "flask" in imported   # the walk sees imports
    assert imported.isdisjoint({"engine", "web", "service_tasks"})
