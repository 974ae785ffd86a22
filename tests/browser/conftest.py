"""The browser harness: the real app over HTTP with a worker; Debian's Chromium via Playwright.

One server per test session: ``create_app`` on a temporary SQLite file with the processes of
``tests/fixtures/browser`` deployed, a fake ERP operation that fails for the orders a test
names, and the worker running inside the web process. Every page a test visits is saved as
``tests/artifacts/screenshots/<test>-<step>.png`` for a person to look at.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from engine import Engine, Settings, Worker
from engine.registry import CallContext, RetryPolicy
from tests.processes.fakes import Systems
from web import create_app
from web.bootstrap import prepare

ROOT = Path(__file__).resolve().parent.parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "browser"
SCREENSHOTS = ROOT / "tests" / "artifacts" / "screenshots"
VENDOR = ROOT / "web" / "static" / "vendor"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]
PASSWORD = "bridgeflow-demo"
# What the libraries themselves log, and is not a fault of the page: dmn-js's production
# bundle carries Inferno's notice about minified development builds.
KNOWN_NOISE = ("It looks like you're using a minified copy of the development build of Inferno",)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives the pages in Chromium (Playwright)")


@dataclass
class FakeErp:
    """Creates ERP orders, except for the references a test has broken (until it fixes them)."""

    broken: set[str] = field(default_factory=set)
    calls: list[str] = field(default_factory=list)

    def push_order(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        reference = str(params["reference"])
        self.calls.append(reference)
        if reference in self.broken:
            raise ConnectionError(f"the ERP refused the connection for {reference}")
        return {"number": f"ERP-{reference}"}


@dataclass
class Server:
    """The running app: its address, its engine, and the fake ERP behind it."""

    url: str
    app: Flask
    erp: FakeErp
    systems: Systems  # the fake CRM, ERP and mail behind the shipped processes

    @property
    def engine(self) -> Engine:
        engine: Engine = self.app.extensions["bridgeflow"]
        return engine

    def wait_until(self, check: Callable[[], Any], what: str, timeout: float = 15.0) -> Any:
        """Poll ``check`` until it answers something true; fail saying ``what`` did not happen."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = check()
            if value:
                return value
            time.sleep(0.1)
        pytest.fail(f"after {timeout:.0f} s still waiting for: {what}")


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    if not (VENDOR / "bpmn-js").is_dir():
        pytest.fail("web/static/vendor/ is missing: run `npm ci && npm run vendor` first")
    erp = FakeErp()
    systems = Systems()  # a test that deploys the shipped processes runs them over these
    registry = systems.registry()
    registry.register("test.push_order", erp.push_order, retry=RetryPolicy(attempts=1))
    database = tmp_path_factory.mktemp("browser") / "bridgeflow.db"
    config = {"database_url": f"sqlite:///{database}", "processes_dir": str(FIXTURES),
              "worker_poll_seconds": 0.1}
    prepare(Settings.from_env(**config), registry, demo_users=True)  # what `demo` does first
    app = create_app({**config, "operations": registry})
    worker = Worker(app.extensions["bridgeflow"])  # as `serve` starts in each web process
    worker.start()
    app.config["INBOX_REFRESH_SECONDS"] = 1  # the inbox refreshes itself every second here
    http: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, name="browser-test-server",
                              daemon=True)
    thread.start()
    try:
        yield Server(f"http://127.0.0.1:{http.server_port}", app, erp, systems)
    finally:
        http.shutdown()
        thread.join(5)
        worker.stop()
        app.extensions["bridgeflow"].close()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: run `apt-get install -y "
                    "chromium` (the browser tests use Debian's Chromium, never a download)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                             args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Visit:
    """One person's browser tab: pages, screenshots, and the errors the page reported."""

    def __init__(self, page: Any, server: Server, test_name: str) -> None:
        self.page = page
        self.server = server
        self.test_name = test_name
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.errors.append(f"script error: {error}"))
        page.on("response", self._response)

    def _console(self, message: Any) -> None:
        # a page answered 4xx on purpose (422, 403) shows here too: _response judges loads
        if message.type == "error" and not message.text.startswith("Failed to load resource") \
                and not message.text.startswith(KNOWN_NOISE):
            self.errors.append(f"console: {message.text}")

    def _response(self, response: Any) -> None:
        if response.status >= 400 and response.request.resource_type != "document":
            self.errors.append(f"{response.status} for {response.url}")

    def goto(self, path: str) -> Any:
        return self.page.goto(self.server.url + path)

    def shot(self, step: str) -> Path:
        """Save what the page shows now as ``<test>-<step>.png``."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{self.test_name}-{step}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def sign_in(self, name: str) -> None:
        """Sign in through the sign-in page, as a person would."""
        self.page.get_by_label("Name").fill(name)
        self.page.get_by_label("Password").fill(PASSWORD)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_load_state()

    def diagram_ready(self) -> Any:
        """Wait until bpmn-js or dmn-js has drawn the page's diagram, and return it."""
        diagram = self.page.locator(".diagram[data-ready='true']")
        diagram.wait_for(timeout=10_000)
        return diagram


@pytest.fixture
def visit(chromium: Any, server: Server, request: pytest.FixtureRequest) -> Iterator[Visit]:
    context = chromium.new_context(viewport={"width": 1366, "height": 768})
    name = re.sub(r"^test_", "", request.node.name)
    tab = Visit(context.new_page(), server, re.sub(r"[^A-Za-z0-9_-]", "_", name))
    try:
        yield tab
        assert tab.errors == [], f"the pages reported errors: {tab.errors}"
    finally:
        context.close()
