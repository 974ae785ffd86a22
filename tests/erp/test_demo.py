"""The demo ERP: the cached template, the ``erp setup`` command and the trytond child."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from service_tasks.tryton import demo
from service_tasks.tryton.server import TrytonServerError


def test_the_template_is_reused_while_the_dataset_is_unchanged(erp_template: Path) -> None:
    modified = erp_template.stat().st_mtime_ns
    started = time.monotonic()

    again = demo.prepare_template(erp_template.parent)

    assert again == erp_template
    assert again.stat().st_mtime_ns == modified
    assert time.monotonic() - started < 1


def test_a_changed_dataset_gets_another_template(monkeypatch: pytest.MonkeyPatch) -> None:
    before = demo.fingerprint()
    monkeypatch.setattr(demo, "PRODUCTS", (*demo.PRODUCTS,
                                           demo.DemoProduct("BF-700", "Dock leveller",
                                                            "3100.00", 1)))

    assert demo.fingerprint() != before


def test_a_failed_build_leaves_no_template_behind(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(workdir: Path) -> Path:
        (workdir / "db").mkdir()
        (workdir / "db" / "half.sqlite").write_bytes(b"half a database")
        raise TrytonServerError("trytond-admin failed")

    monkeypatch.setattr(demo, "_build", crash)

    with pytest.raises(TrytonServerError):
        demo.prepare_template(tmp_path)

    assert sorted(p.name for p in tmp_path.iterdir()) == [".tryton-demo.lock"]


def test_leftovers_of_a_killed_build_are_cleared_by_the_next(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".build-killed" / "db").mkdir(parents=True)

    def build(workdir: Path) -> Path:
        (workdir / "built.sqlite").write_bytes(b"a database")
        return workdir / "built.sqlite"

    monkeypatch.setattr(demo, "_build", build)

    template = demo.prepare_template(tmp_path)

    assert template.read_bytes() == b"a database"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".tryton-demo.lock", template.name]


def test_erp_setup_copies_the_template_to_the_target(
        erp_template: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "erp" / "bridgeflow_erp.sqlite"

    code = demo.main(["--cache-dir", str(erp_template.parent), "--target", str(target)])

    assert code == 0
    assert target.read_bytes() == erp_template.read_bytes()
    out = capsys.readouterr().out
    assert str(target) in out and demo.DEMO_PASSWORD in out


def test_erp_setup_replaces_an_existing_database_only_when_forced(
        erp_template: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "bridgeflow_erp.sqlite"
    target.write_bytes(b"someone's data")
    stale_log = tmp_path / "bridgeflow_erp.sqlite-wal"
    stale_log.write_bytes(b"an old write-ahead log")
    args = ["--cache-dir", str(erp_template.parent), "--target", str(target)]

    refused = demo.main(args)
    assert target.read_bytes() == b"someone's data"
    forced = demo.main([*args, "--force"])

    assert (refused, forced) == (2, 0)
    assert "--force" in capsys.readouterr().err
    assert target.read_bytes() == erp_template.read_bytes()
    assert not stale_log.exists()


def test_erp_setup_refuses_a_target_trytond_could_not_serve(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = demo.main(["--cache-dir", str(tmp_path), "--target", str(tmp_path / "erp.db")])

    assert code == 2
    assert ".sqlite" in capsys.readouterr().err


@pytest.mark.slow
def test_a_server_that_cannot_start_says_why(erp_template: Path, tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        server = demo.demo_server(tmp_path, erp_template, port=busy.getsockname()[1])

        with pytest.raises(TrytonServerError) as caught:
            server.start()

    assert "exited" in caught.value.message
    assert "in use" in caught.value.message  # from trytond's own log
    assert not server.running


CHILD = """
import sys
from pathlib import Path
from service_tasks.tryton.demo import demo_server
server = demo_server(Path(sys.argv[1]), Path(sys.argv[2]))
server.start()
print(server.url, flush=True)
sys.stdin.read()
"""


@pytest.mark.slow
def test_trytond_goes_away_when_its_parent_is_killed(erp_template: Path,
                                                     tmp_path: Path) -> None:
    parent = subprocess.Popen([sys.executable, "-c", CHILD, str(tmp_path), str(erp_template)],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        url = parent.stdout.readline().strip()
        assert requests.post(f"{url}/{demo.DEMO_DATABASE}/rpc/", timeout=5,
                             json={"id": 1, "method": "system.listMethods",
                                   "params": []}).status_code
        os.kill(parent.pid, signal.SIGKILL)  # no atexit, no __exit__
        parent.wait(10)

        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                requests.post(f"{url}/", timeout=1)
            except requests.ConnectionError:
                break
            time.sleep(0.2)
        else:
            pytest.fail("trytond still answers after its parent was killed")
    finally:
        if parent.poll() is None:
            parent.kill()
        parent.wait()
        for stream in (parent.stdin, parent.stdout):
            if stream is not None:
                stream.close()
