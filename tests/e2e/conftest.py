"""The end-to-end harness: real Tryton, the sandbox CRM, an SMTP server and Bridgeflow.

Once per test session: trytond on a copy of the demo template, the sandbox CRM (its webhooks
signed and sent to Bridgeflow), an aiosmtpd server, and Bridgeflow itself (``create_app`` on
a temporary SQLite file, and again on PostgreSQL when ``BRIDGEFLOW_TEST_POSTGRES_URL`` is
set) with ``processes/`` deployed, its connectors pointed at all three and a worker running,
each served over HTTP on a free local port. Tests drive it the way people and systems do:

- ``crm``: the CRM's REST API (create and activate an order, submit a contract, open a
  case, read records and tasks, replay a webhook);
- ``erp``: the ERP over JSON-RPC (sales orders by CRM reference, stock, stop and restart);
- ``flow``: Bridgeflow's REST API with an API key (instances, tasks, incidents, messages);
- ``mailbox``: the e-mails Bridgeflow sent during the test;
- ``wait_until``: poll a condition, failing with a readable message after a timeout.

The systems are shared by every test of the session: tests create their own records (new
CRM orders, contracts, cases) and never count on totals of the whole database.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, TypeVar

import pytest
import requests
from aiosmtpd.controller import Controller
from flask import Flask
from sqlalchemy import select, update
from werkzeug.serving import BaseWSGIServer, make_server

from crm_sandbox import create_app as create_crm
from crm_sandbox import crm_of
from crm_sandbox.outbox import SIGNATURE_HEADER, list_events, sign
from engine import Engine, Scope, Settings, Worker
from engine.errors import DefinitionError
from engine.models import Job, utcnow
from service_tasks.crm import SalesforceClient
from service_tasks.tryton.client import TrytonClient
from service_tasks.tryton.demo import DEMO_DATABASE, DEMO_PASSWORD, DEMO_USER, demo_server
from service_tasks.tryton.erp_operations import TrytonOperations
from service_tasks.tryton.server import TrytonServer, free_port
from tests.conftest import DATABASES, own_postgres_database, postgres_url, reset_postgres
from tests.erp.conftest import erp_template  # noqa: F401  (a session fixture used below)
from web import create_app
from web.bootstrap import prepare

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = ROOT / "processes"
WEBHOOK_SECRET = "e2e-webhook-secret"
CRM_CLIENT_ID, CRM_CLIENT_SECRET = "bridgeflow", "demo-secret"

# The demo data, the same in both systems (crm_sandbox/seed.py, service_tasks/tryton/demo.py).
ACME, BOREALIS, COBALT = "001000000000001AAA", "001000000000002AAA", "001000000000003AAA"
DELTA, EVERGREEN, FJORD = "001000000000004AAA", "001000000000005AAA", "001000000000006AAA"
SAM, FIONA = "005000000000001AAA", "005000000000002AAA"
SAM_EMAIL, FIONA_EMAIL = "sam.seller@example.com", "fiona.finance@example.com"

T = TypeVar("T")


# --- waiting -------------------------------------------------------------------------------

def wait_until(predicate: Callable[[], T], timeout: float = 15.0, interval: float = 0.1,
               message: str | Callable[[], str] = "") -> T:
    """Poll ``predicate`` until it returns something truthy (and return that), or fail."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            text = message() if callable(message) else message
            pytest.fail(f"waited {timeout:.0f} s in vain{': ' + text if text else ''}")
        time.sleep(interval)


@pytest.fixture(name="wait_until")
def wait_until_fixture() -> Callable[..., Any]:
    """``wait_until(predicate, timeout=15, message=...)``: the value the predicate returned."""
    return wait_until


# --- serving WSGI apps ---------------------------------------------------------------------

class Later:
    """A WSGI app to be named later: the server (and its URL) exists before the app does."""

    def __init__(self) -> None:
        self.app: Callable[..., Any] | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if self.app is None:
            start_response("503 Service Unavailable", [("Content-Length", "0")])
            return [b""]
        return self.app(environ, start_response)


@contextmanager
def served(app: Callable[..., Any],
           port: int = 0) -> Iterator[tuple[str, BaseWSGIServer]]:
    """Serve ``app`` on a local port (a free one by default) in a thread; yields its base
    URL and the server."""
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True, name=f"wsgi-{server.server_port}")
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


class Switchable:
    """``app`` served on a local port that can be closed (connections refused: the system
    is unreachable) and opened again on the same port."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app
        self.port = 0
        self._served: contextlib.ExitStack | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self._served is not None

    def start(self) -> None:
        if self._served is None:
            stack = contextlib.ExitStack()
            server = stack.enter_context(served(self.app, self.port))[1]
            self.port, self._served = server.server_port, stack

    def stop(self) -> None:
        if self._served is not None:
            self._served.close()
            self._served = None


# --- e-mail --------------------------------------------------------------------------------

@dataclass
class Mail:
    sender: str
    recipients: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def body(self) -> str:
        part = self.message.get_body(("plain",))
        return part.get_content() if part is not None else ""


@dataclass
class MailServer:
    """What the SMTP server received, in order, for the whole session."""

    port: int
    received: list[Mail] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(Mail(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted for delivery"


@pytest.fixture(scope="session")
def mail_server() -> Iterator[MailServer]:
    server = MailServer(free_port())
    controller = Controller(server, hostname="127.0.0.1", port=server.port)
    controller.start()
    yield server
    controller.stop()


class Mailbox:
    """The e-mails sent since the test began."""

    def __init__(self, server: MailServer) -> None:
        self.server = server
        self.start = len(server.received)

    @property
    def messages(self) -> list[Mail]:
        return self.server.received[self.start:]

    def to(self, address: str) -> list[Mail]:
        return [m for m in self.messages if address in m.recipients]

    def wait_for(self, to: str, subject_contains: str = "", timeout: float = 15.0) -> Mail:
        """The first e-mail to ``to`` whose subject contains the text; fail if none comes."""
        def found() -> Mail | None:
            return next((m for m in self.to(to) if subject_contains in m.subject), None)
        return wait_until(found, timeout, message=lambda: (
            f"no e-mail to {to} about {subject_contains!r}; got "
            f"{[(m.recipients, m.subject) for m in self.messages]}"))


@pytest.fixture
def mailbox(mail_server: MailServer) -> Mailbox:
    return Mailbox(mail_server)


# --- the ERP -------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def e2e_erp_server(erp_template: Path,  # noqa: F811
                   tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrytonServer]:
    """trytond on its own copy of the demo database (the e2e tests change its data)."""
    with demo_server(tmp_path_factory.mktemp("e2e-tryton"), erp_template) as server:
        yield server


class Erp:
    """The ERP as a test sees it: sales orders, stock, and the server's switch."""

    def __init__(self, server: TrytonServer, session: requests.Session) -> None:
        self.server = server
        self.client = TrytonClient(session, server.url, DEMO_DATABASE, DEMO_USER,
                                   DEMO_PASSWORD, timeout=30)
        self.ops = TrytonOperations(self.client)
        self.call = TEST_CALL  # pass as ``ctx`` to ``ops.*`` (e.g. a sale keyed in by hand)

    def sales(self, crm_order_id: str) -> list[dict[str, Any]]:
        """Every ERP sale whose reference is the CRM order id (cancelled ones too)."""
        return self.client.model("sale.sale").search_read(
            [("reference", "=", crm_order_id)],
            ["number", "state", "total_amount", "untaxed_amount", "party.code"])

    def order(self, crm_order_id: str) -> dict[str, Any]:
        """``erp.find_order``: ``{found, order_number, state, lines, total, …}``."""
        return self.ops.find_order({"crm_order_id": crm_order_id}, TEST_CALL)

    def customer(self, crm_account_id: str) -> dict[str, Any] | None:
        found = self.ops.find_customer({"crm_account_id": crm_account_id}, TEST_CALL)
        customer: dict[str, Any] | None = found["customer"]
        return customer

    def stock(self, product_code: str) -> float:
        """The forecast quantity at the warehouse, as ``erp.check_stock`` sees it."""
        result = self.ops.check_stock({"lines": [{"product_code": product_code,
                                                  "quantity": 1}]}, TEST_CALL)
        return float(result["lines"][0]["available"])

    def add_stock(self, product_code: str, quantity: float) -> None:
        """Count ``quantity`` more of a product into the warehouse (a confirmed inventory)."""
        products = self.client.model("product.product").search(
            [("code", "=", product_code)], limit=1)
        warehouse = self.client.model("stock.location").search_read(
            [("type", "=", "warehouse"), ("code", "=", "WH")], ["storage_location"])
        location = warehouse[0]["storage_location"]
        # An inventory sets the counted quantity: the current one plus what came in.
        on_hand = self.client.model("product.product").read(
            products, ["quantity"], context={"locations": [location]})[0]["quantity"]
        inventory = self.client.model("stock.inventory")
        inventory_id = inventory.create([{
            "location": location, "company": self.client.context.get("company"),
            "lines": [["create", [{"product": products[0],
                                   "quantity": float(on_hand) + quantity}]]]}])[0]
        inventory.button("confirm", [inventory_id])

    def stop(self) -> None:
        self.server.stop()

    def start(self) -> None:
        self.server.start()


@dataclass(frozen=True)
class Call:
    """The call information an operation gets from the engine, for calls a test makes."""

    instance_id: str = "e2e-test"
    business_key: str | None = None
    element_id: str = "test"
    attempt: int = 1
    idempotency_key: str = "e2e-test:test"


TEST_CALL = Call()


@pytest.fixture
def erp(e2e_erp_server: TrytonServer) -> Iterator[Erp]:
    with requests.Session() as session:
        driver = Erp(e2e_erp_server, session)
        yield driver
        if not e2e_erp_server.running:  # a test that stopped the ERP must not leave it down
            e2e_erp_server.start()


# --- the CRM -------------------------------------------------------------------------------

@dataclass
class CrmSandbox:
    url: str
    app: Flask
    server: Switchable


@dataclass
class BridgeflowServer:
    url: str
    later: Later


@pytest.fixture(scope="session")
def bridgeflow_server() -> Iterator[BridgeflowServer]:
    """Bridgeflow's HTTP server, listening before the app exists (the CRM needs its URL)."""
    # A line per HTTP request and per skipped poll would bury what a failure's log says.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.ERROR)
    later = Later()
    with served(later) as (url, _server):
        yield BridgeflowServer(url, later)


@pytest.fixture(scope="session")
def crm_sandbox(bridgeflow_server: BridgeflowServer,
                tmp_path_factory: pytest.TempPathFactory) -> Iterator[CrmSandbox]:
    """The sandbox CRM, seeded with the demo data, sending signed webhooks to Bridgeflow."""
    database = tmp_path_factory.mktemp("e2e-crm") / "crm.db"
    app = create_crm({
        "DATABASE": str(database), "CLIENT_ID": CRM_CLIENT_ID,
        "CLIENT_SECRET": CRM_CLIENT_SECRET,
        "WEBHOOK_URL": f"{bridgeflow_server.url}/api/v1/webhooks/crm",
        "WEBHOOK_SECRET": WEBHOOK_SECRET, "WEBHOOK_POLL_INTERVAL": 0.1,
        "WEBHOOK_BACKOFF_BASE": 0.5, "WEBHOOK_BACKOFF_MAX": 2.0, "API_DAILY_LIMIT": 1_000_000})
    server = Switchable(app)
    try:
        yield CrmSandbox(server.url, app, server)
    finally:
        crm_of(app).sender.stop()
        server.stop()


class Crm:
    """The CRM over its REST API, as a salesperson's actions and a reader of its records."""

    def __init__(self, sandbox: CrmSandbox, session: requests.Session,
                 webhook_url: str) -> None:
        self.sandbox = sandbox
        self.webhook_url = webhook_url
        self.client = SalesforceClient(session, sandbox.url, CRM_CLIENT_ID, CRM_CLIENT_SECRET,
                                       timeout=10)
        self._products: dict[str, str] = {}

    # -- records --------------------------------------------------------------------------

    def get(self, sobject: str, record_id: str) -> dict[str, Any]:
        return self.client.get(sobject, record_id)

    def query(self, soql: str) -> list[dict[str, Any]]:
        return self.client.query(soql)

    def update(self, sobject: str, record_id: str, **fields: Any) -> None:
        self.client.update(sobject, record_id, fields)

    def tasks(self, what_id: str) -> list[dict[str, Any]]:
        """The CRM tasks (to-dos) about a record, oldest first."""
        return self.query("SELECT Id, Subject, Description, OwnerId, Status, ActivityDate "
                          f"FROM Task WHERE WhatId = '{what_id}' ORDER BY CreatedDate")

    def product_id(self, code: str) -> str:
        if not self._products:
            self._products = {p["ProductCode"]: p["Id"] for p in self.query(
                "SELECT Id, ProductCode FROM Product2")}
        return self._products[code]

    # -- what salespeople do --------------------------------------------------------------

    def create_order(self, lines: list[tuple[Any, ...]], account: str = ACME,
                     activate: bool = True, description: str | None = None) -> str:
        """A new order with ``(product code, quantity[, unit price])`` lines; activated
        unless told otherwise, which makes the CRM send ``order.activated``."""
        fields: dict[str, Any] = {"AccountId": account, "EffectiveDate": "2026-03-02"}
        if description:
            fields["Description"] = description
        order_id = self.client.create("Order", fields)
        for line in lines:
            code, quantity = line[0], line[1]
            price = float(line[2]) if len(line) > 2 else self._list_price(code)
            self.client.create("OrderItem", {"OrderId": order_id,
                                             "Product2Id": self.product_id(code),
                                             "Quantity": quantity, "UnitPrice": price})
        if activate:
            self.activate_order(order_id)
        return order_id

    def activate_order(self, order_id: str) -> None:
        self.update("Order", order_id, Status="Activated")

    def submit_contract(self, amount: float, account: str = ACME, term_months: int = 12,
                        **fields: Any) -> str:
        """A new contract submitted for approval (the CRM sends ``contract.submitted``)."""
        contract_id = self.client.create("Contract", {
            "AccountId": account, "Amount__c": amount, "ContractTerm": term_months,
            "StartDate": "2026-04-01", **fields})
        self.update("Contract", contract_id, Status="In Approval Process")
        return contract_id

    def open_case(self, subject: str, account: str = ACME, **fields: Any) -> str:
        """A new complaint case (the CRM sends ``case.created``); e.g. ``Category__c``,
        ``Severity__c``, ``Related_Order__c``, ``Refund_Amount__c``, ``ContactId``."""
        return self.client.create("Case", {"AccountId": account, "Subject": subject,
                                           **fields})

    def _list_price(self, code: str) -> float:
        [row] = self.query(f"SELECT List_Price__c FROM Product2 WHERE ProductCode = '{code}'")
        return float(row["List_Price__c"])

    def stop(self) -> None:
        """Take the CRM off the network: connections to it are refused."""
        self.sandbox.server.stop()

    def start(self) -> None:
        self.sandbox.server.start()

    def fail_next(self, status: int = 503, count: int = 1) -> None:
        """Make the CRM answer the next ``count`` API calls with ``status`` (an outage)."""
        crm_of(self.sandbox.app).faults.inject(status, count)

    # -- webhooks -------------------------------------------------------------------------

    def webhooks(self, record_id: str) -> list[dict[str, Any]]:
        """The events the CRM delivered about a record (payloads), oldest first."""
        events = list_events(crm_of(self.sandbox.app).store, "delivered", limit=10_000)
        return [json.loads(e.payload) for e in reversed(events) if e.record_id == record_id]

    def wait_delivered(self, record_id: str, event_type: str,
                       timeout: float = 10.0) -> dict[str, Any]:
        """The event once the CRM has delivered it to Bridgeflow (2xx)."""
        def delivered() -> dict[str, Any] | None:
            return next((e for e in self.webhooks(record_id) if e["type"] == event_type), None)
        return wait_until(delivered, timeout,
                          message=f"the CRM did not deliver {event_type} for {record_id}")

    def redeliver(self, payload: Mapping[str, Any], new_event_id: bool = False) -> Any:
        """POST an event to Bridgeflow again, signed as the CRM signs it; the JSON answer.

        The same event id is an at-least-once repeat; ``new_event_id`` makes it a second,
        different event about the same record.
        """
        event = dict(payload, id=str(uuid.uuid4())) if new_event_id else dict(payload)
        body = json.dumps(event).encode()
        answer = requests.post(self.webhook_url, data=body, timeout=10, headers={
            "Content-Type": "application/json", SIGNATURE_HEADER: sign(WEBHOOK_SECRET, body)})
        assert answer.status_code in (200, 202), answer.text
        return answer.json()


@pytest.fixture
def crm(crm_sandbox: CrmSandbox, bridgeflow: Bridgeflow) -> Iterator[Crm]:
    with requests.Session() as session:
        yield Crm(crm_sandbox, session, f"{bridgeflow.url}/api/v1/webhooks/crm")
    crm_sandbox.server.start()  # a test that took the CRM down must not leave it down


# --- Bridgeflow ----------------------------------------------------------------------------

@dataclass
class Bridgeflow:
    url: str
    app: Flask
    api_key: str
    deploy_problems: dict[str, str] = field(default_factory=dict)

    @property
    def engine(self) -> Engine:
        engine: Engine = self.app.extensions["bridgeflow"]
        return engine


@pytest.fixture(scope="session", params=DATABASES)
def bridgeflow(request: pytest.FixtureRequest, bridgeflow_server: BridgeflowServer,
               crm_sandbox: CrmSandbox, e2e_erp_server: TrytonServer, mail_server: MailServer,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bridgeflow]:
    """Bridgeflow with ``processes/`` deployed, connected to the ERP, the CRM and SMTP."""
    if request.param == "sqlite":
        database_url = f"sqlite:///{tmp_path_factory.mktemp('e2e-bridgeflow') / 'bf.db'}"
    else:
        database_url = own_postgres_database(postgres_url(), "e2e")
        reset_postgres(database_url)
    config = bridgeflow_settings(database_url, crm_sandbox.url, e2e_erp_server,
                                 mail_server.port)
    # migrate and add the demo users, as `bridgeflow demo` does; deploy_each deploys below
    prepare(Settings.from_env(**config), deploy=False, demo_users=True)
    app = create_app(config)
    app.config["TESTING"] = True
    engine: Engine = app.extensions["bridgeflow"]
    problems = deploy_each(engine, PROCESSES)
    worker = Worker(engine)  # as `serve` starts one in each web process
    worker.start()
    bridgeflow_server.later.app = app
    try:
        yield Bridgeflow(bridgeflow_server.url, app,
                         engine.identity.create_api_key(f"e2e-{request.param}",
                                                        [s.value for s in Scope]), problems)
    finally:
        bridgeflow_server.later.app = None
        worker.stop()
        engine.close()


def deploy_each(engine: Engine, directory: Path) -> dict[str, str]:
    """Deploy the decisions, then each process file on its own, as ``make run`` would deploy
    the directory; a file that does not deploy fails only the tests of its process, with
    its problems (returned by file name) in their failure messages."""
    problems: dict[str, str] = {}
    files = sorted(p for p in directory.rglob("*") if p.suffix in (".dmn", ".bpmn"))
    for path in sorted(files, key=lambda p: p.suffix != ".dmn"):
        try:
            engine._core.definitions.deploy({path.name: path.read_bytes()}, "startup",
                                      forms_dir=directory / "forms")
        except DefinitionError as exc:
            problems[path.name] = "; ".join(str(p) for p in exc.problems)
    return problems


def bridgeflow_settings(database_url: str, crm_url: str, erp: TrytonServer,
                        smtp_port: int, **overrides: Any) -> dict[str, Any]:
    """The ``create_app`` settings of the harness's Bridgeflow (for apps of one's own too)."""
    return {
        "database_url": database_url, "processes_dir": str(PROCESSES),
        "mappings_dir": str(PROCESSES / "mappings"), "webhook_secret": WEBHOOK_SECRET,
        "erp_url": erp.url, "erp_database": erp.database, "erp_user": erp.user,
        "erp_password": erp.password, "crm_url": crm_url, "crm_client_id": CRM_CLIENT_ID,
        "crm_client_secret": CRM_CLIENT_SECRET, "smtp_host": "127.0.0.1",
        "smtp_port": smtp_port, "smtp_sender": "Bridgeflow <bridgeflow@example.org>",
        "connector_timeout": 5.0, "run_worker_in_web": True, "worker_poll_seconds": 0.1,
        # every process is serialized and restored after every step of every e2e test
        "checkpoint_every_step": True,
        **overrides}


class Flow:
    """Bridgeflow's REST API with an API key, and the admin's view of instances."""

    def __init__(self, bridgeflow: Bridgeflow, session: requests.Session) -> None:
        self.bridgeflow = bridgeflow
        self.session = session
        session.headers["Authorization"] = f"Bearer {bridgeflow.api_key}"

    @property
    def engine(self) -> Engine:
        return self.bridgeflow.engine

    def call(self, method: str, path: str, expect: int | tuple[int, ...] = 200,
             **kwargs: Any) -> Any:
        answer = self.session.request(method, f"{self.bridgeflow.url}/api/v1{path}",
                                      timeout=30, **kwargs)
        wanted = (expect,) if isinstance(expect, int) else expect
        assert answer.status_code in wanted, f"{method} {path}: {answer.status_code} " \
                                             f"{answer.text}"
        return answer.json()

    # -- instances ------------------------------------------------------------------------

    def instances(self, process_key: str | None = None, business_key: str | None = None,
                  status: str | None = None) -> list[dict[str, Any]]:
        params = {k: v for k, v in (("process_key", process_key),
                                    ("business_key", business_key), ("status", status)) if v}
        return list(self.call("GET", "/process-instances?" + urllib.parse.urlencode(
            {**params, "per_page": 500}))["items"])

    def instance(self, instance_id: str) -> dict[str, Any]:
        answer: dict[str, Any] = self.call("GET", f"/process-instances/{instance_id}")
        return answer

    def events(self, instance_id: str) -> list[dict[str, Any]]:
        return list(self.call("GET", f"/process-instances/{instance_id}/events")["items"])

    def started(self, process_key: str, business_key: str, count: int = 1,
                timeout: float = 15.0) -> list[dict[str, Any]]:
        """The instances of ``process_key`` for ``business_key``, once there are ``count``."""
        return wait_until(lambda: (found := self.instances(process_key, business_key))
                          and len(found) >= count and found, timeout,
                          message=lambda: f"no {process_key} instance for {business_key}"
                                          f"{_not_deployed(self, process_key)}")

    def wait_for(self, instance_id: str, *statuses: str, at: str | None = None,
                 timeout: float = 20.0) -> dict[str, Any]:
        """The instance once its status is one of ``statuses`` (and it waits at ``at``)."""
        def reached() -> dict[str, Any] | None:
            inst = self.instance(instance_id)
            ok = inst["status"] in statuses and (at is None or at in inst["active_elements"])
            return inst if ok else None
        return wait_until(reached, timeout, message=lambda: _describe(self, instance_id))

    def elements_done(self, instance_id: str) -> list[str]:
        """The elements the instance went through, in order (from the audit trail)."""
        return [e["element_id"] for e in self.events(instance_id)
                if e["type"] == "step" and e.get("element_id")]

    # -- people and systems ---------------------------------------------------------------

    def tasks(self, instance_id: str | None = None, candidate_group: str | None = None,
              status: str | None = None) -> list[dict[str, Any]]:
        params = {k: v for k, v in (("candidate_group", candidate_group),
                                    ("status", status)) if v}
        items = self.call("GET", "/tasks?" + urllib.parse.urlencode(
            {**params, "per_page": 500}))["items"]
        return [t for t in items
                if instance_id is None or t["process_instance_id"] == instance_id]

    def task(self, task_id: str) -> dict[str, Any]:
        answer: dict[str, Any] = self.call("GET", f"/tasks/{task_id}")
        return answer

    def wait_for_task(self, instance_id: str, element_id: str | None = None,
                      timeout: float = 20.0) -> dict[str, Any]:
        """The instance's open human task (of ``element_id``), once it is there."""
        def found() -> dict[str, Any] | None:
            return next((t for t in self.tasks(instance_id)
                         if element_id is None or t["element_id"] == element_id), None)
        return wait_until(found, timeout, message=lambda: _describe(self, instance_id))

    def complete_task(self, task_id: str, user: str, variables: Mapping[str, Any],
                      expect: int = 200) -> Any:
        """Claim and complete a task as ``user`` with the form's values."""
        self.call("POST", f"/tasks/{task_id}/claim", json={"user": user})
        return self.call("POST", f"/tasks/{task_id}/complete", expect=expect,
                         json={"user": user, "variables": dict(variables)})

    def send_message(self, name: str, business_key: str | None = None,
                     variables: Mapping[str, Any] | None = None) -> Any:
        body: dict[str, Any] = {"name": name, "variables": dict(variables or {})}
        if business_key is not None:
            body["business_key"] = business_key
        return self.call("POST", "/messages", json=body)

    def incidents(self, instance_id: str | None = None) -> list[dict[str, Any]]:
        items = self.call("GET", "/incidents?per_page=500")["items"]
        return [i for i in items if instance_id is None
                or i["process_instance_id"] == instance_id]

    def retry_incident(self, incident_id: str) -> Any:
        return self.call("POST", f"/incidents/{incident_id}/retry")

    # -- time -----------------------------------------------------------------------------

    def hurry_retries(self, instance_id: str) -> int:
        """Make the instance's waiting service-call retries due now (the back-off elapsed)."""
        with self.engine._core.db.write() as s:
            result = s.execute(update(Job).where(
                Job.instance_id == instance_id, Job.kind == "service_retry",
                Job.locked_by.is_(None)).values(due_at=utcnow()))
            return int(result.rowcount)  # type: ignore[attr-defined]

    def fire_start_timer(self, process_key: str) -> None:
        """Make the timer start event of ``process_key`` fire now (its time has come)."""
        with self.engine._core.db.write() as s:
            result = s.execute(update(Job).where(
                Job.kind == "start_timer",
                Job.payload["process_key"].as_string() == process_key).values(due_at=utcnow()))
            assert result.rowcount == 1, f"{process_key} has no timer start event"  # type: ignore[attr-defined]

    def pending_jobs(self, instance_id: str) -> list[tuple[str, Any]]:
        with self.engine._core.db.read() as s:
            return [(j.kind, j.due_at) for j in s.scalars(
                select(Job).where(Job.instance_id == instance_id))]

    @contextmanager
    def deployed_variant(self, filename: str, replace: Mapping[str, str]) -> Iterator[int]:
        """Deploy a copy of ``processes/<filename>`` with text replaced (e.g. a shorter
        timer) as the newest version; on exit deploy the original again. Yields the version."""
        original = (PROCESSES / filename).read_bytes()
        text = original.decode()
        for old, new in replace.items():
            assert old in text, f"{old!r} is not in {filename}"
            text = text.replace(old, new)
        changed = self.engine.repository.deploy({filename: text.encode()}, "e2e-test")
        [deployed] = [d for d in changed if d.kind == "process"]
        try:
            yield deployed.version
        finally:
            self.engine.repository.deploy({filename: original}, "e2e-test")


def _not_deployed(flow: Flow, process_key: str) -> str:
    problems = flow.bridgeflow.deploy_problems
    if f"{process_key}.bpmn" in problems:
        return f"; {process_key}.bpmn did not deploy: {problems[f'{process_key}.bpmn']}"
    return ""


def _describe(flow: Flow, instance_id: str) -> str:
    inst = flow.instance(instance_id)
    incidents = [i["message"] for i in flow.incidents(instance_id)]
    return (f"instance {instance_id} is {inst['status']} at {inst['active_elements']}; "
            f"steps {flow.elements_done(instance_id)[-8:]}; incidents {incidents}")


@pytest.fixture
def flow(bridgeflow: Bridgeflow) -> Iterator[Flow]:
    with requests.Session() as session:
        yield Flow(bridgeflow, session)
