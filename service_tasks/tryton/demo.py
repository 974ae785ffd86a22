"""The demo ERP: a Tryton 8.2 database with Bridgeflow's customers, products and stock.

The database is built once per dataset (about 40 s: trytond-admin, then JSON-RPC calls to a
trytond child process) and cached as a template file; tests and ``bridgeflow erp setup``
copy the template. trytond is only ever run as a subprocess, never imported.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime as dt
import fcntl
import hashlib
import importlib.metadata
import json
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import requests

from service_tasks.tryton.client import TrytonClient
from service_tasks.tryton.server import (
    TrytonServer,
    TrytonServerError,
    child_env,
    free_port,
    log_tail,
    tryton_executable,
    write_config,
)

log = logging.getLogger(__name__)

DEMO_DATABASE = "bridgeflow_erp"
DEMO_USER = "admin"
DEMO_PASSWORD = "bridgeflow-demo"
DEMO_EMAIL = "admin@bridgeflow.example"
#: Bump when the build steps change in a way the dataset below does not show.
BUILD_REVISION = 3

MODULES = ("sale", "sale_stock_quantity", "sale_credit_limit", "sale_opportunity",
           "sale_complaint", "account_invoice", "account_product", "stock_supply")

COMPANY_NAME = "Bridgeflow Demo Ltd"
CURRENCY = {"name": "Euro", "code": "EUR", "symbol": "€", "numeric_code": "978",
            "rounding": "0.01", "digits": 2}
WAREHOUSE_CODE = "WH"
#: The day of the opening inventory: stock read at a date before it is zero.
OPENING_STOCK_DATE = "2025-01-01"
REFUND_PRODUCT_CODE = "REFUND"
COMPLAINT_TYPE = "Refund"
TIERS = ("gold", "silver", "bronze")
COUNTRIES = {
    "AT": "Austria", "BE": "Belgium", "CA": "Canada", "CH": "Switzerland",
    "DE": "Germany", "DK": "Denmark", "ES": "Spain", "FI": "Finland", "FR": "France",
    "GB": "United Kingdom", "IE": "Ireland", "IT": "Italy", "NL": "Netherlands",
    "NO": "Norway", "PL": "Poland", "PT": "Portugal", "SE": "Sweden",
    "US": "United States",
}


@dataclass(frozen=True)
class DemoCustomer:
    crm_account_id: str
    name: str
    tier: str
    credit_limit: str
    email: str
    phone: str
    street: str
    postal_code: str
    city: str
    country_code: str


@dataclass(frozen=True)
class DemoProduct:
    code: str
    name: str
    list_price: str
    stock: int
    #: the warehouse's order point: (minimal, target) quantity, or none
    order_point: tuple[int, int] | None = None


# The CRM sandbox uses the same account ids and product codes.
CUSTOMERS = (
    DemoCustomer("001000000000001AAA", "Acme Industrial GmbH", "gold", "50000",
                 "orders@acme.example", "+49 30 1234567", "Hauptstraße 1", "10115",
                 "Berlin", "DE"),
    DemoCustomer("001000000000002AAA", "Borealis Retail Ltd", "silver", "20000",
                 "buying@borealis.example", "+44 20 7946 0000", "12 King Street",
                 "EC2V 8AA", "London", "GB"),
    DemoCustomer("001000000000003AAA", "Cobalt Systems SA", "bronze", "5000",
                 "achats@cobalt.example", "+33 4 72 00 00 00", "5 Rue de la République",
                 "69002", "Lyon", "FR"),
    DemoCustomer("001000000000004AAA", "Delta Foods BV", "silver", "15000",
                 "inkoop@delta.example", "+31 10 000 0000", "Coolsingel 40", "3011 AD",
                 "Rotterdam", "NL"),
    DemoCustomer("001000000000005AAA", "Evergreen Outdoor Inc", "gold", "80000",
                 "purchasing@evergreen.example", "+1 303 555 0100", "1600 Market St",
                 "80202", "Denver", "US"),
    DemoCustomer("001000000000006AAA", "Fjord Marine AS", "bronze", "2000",
                 "innkjop@fjord.example", "+47 55 00 00 00", "Bryggen 1", "5003",
                 "Bergen", "NO"),
)

PRODUCTS = (
    DemoProduct("BF-100", "Pallet racking bay", "420.00", 40, (50, 80)),
    DemoProduct("BF-110", "Shelf beam pair", "65.00", 300),
    DemoProduct("BF-120", "Wire mesh deck", "38.50", 500),
    DemoProduct("BF-200", "Hand pallet truck", "890.00", 12, (5, 15)),
    DemoProduct("BF-210", "Electric stacker", "6400.00", 2, (3, 6)),
    DemoProduct("BF-300", "Safety barrier 2 m", "149.00", 80),
    DemoProduct("BF-310", "Column guard", "42.00", 150),
    DemoProduct("BF-400", "Storage bin small (pack of 20)", "55.00", 60),
    DemoProduct("BF-410", "Storage bin large (pack of 10)", "72.00", 35),
    DemoProduct("BF-500", "Label printer", "310.00", 8),
    DemoProduct("BF-510", "Barcode scanner", "189.00", 0),
    DemoProduct("BF-600", "Loading ramp", "2350.00", 1),
)


def demo_server(workdir: Path, template: Path | None = None, *,
                port: int | None = None) -> TrytonServer:
    """A :class:`TrytonServer` for the demo database (a copy of ``template`` in ``workdir``)."""
    return TrytonServer(workdir, database=DEMO_DATABASE, user=DEMO_USER,
                        password=DEMO_PASSWORD, template=template, port=port)


# --- the template ------------------------------------------------------------------------

def fingerprint() -> str:
    """A short hash of the trytond version and the demo dataset: the template's cache key."""
    data = {
        "trytond": importlib.metadata.version("trytond"),
        "revision": BUILD_REVISION, "modules": MODULES, "opening": OPENING_STOCK_DATE,
        "company": COMPANY_NAME,
        "currency": CURRENCY, "countries": COUNTRIES, "tiers": TIERS,
        "customers": [dataclasses.asdict(c) for c in CUSTOMERS],
        "products": [dataclasses.asdict(p) for p in PRODUCTS],
        "user": [DEMO_USER, DEMO_PASSWORD, DEMO_EMAIL],
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def prepare_template(cache_dir: Path) -> Path:
    """The demo database file for the current dataset, built into ``cache_dir`` if missing.

    The build runs in a temporary directory and is renamed into place at the end, so an
    interrupted build never leaves a half-made template; older templates are removed.
    """
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / f"tryton-demo-{fingerprint()}.sqlite"
    if target.exists():
        return target
    with _exclusive(cache_dir / ".tryton-demo.lock"):
        if target.exists():  # another process built it while we waited
            return target
        for stale in cache_dir.glob(".build-*"):  # left by a build that was killed
            shutil.rmtree(stale, ignore_errors=True)
        started = time.monotonic()
        with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".build-") as tmp:
            built = _build(Path(tmp))
            os.replace(built, target)
        log.info("built the demo ERP template %s in %.0f s", target,
                 time.monotonic() - started)
        for old in cache_dir.glob("tryton-demo-*.sqlite"):
            if old != target:
                old.unlink(missing_ok=True)
    return target


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _build(workdir: Path) -> Path:
    database_dir = workdir / "db"
    database_dir.mkdir()
    database_file = database_dir / f"{DEMO_DATABASE}.sqlite"
    database_file.touch()
    config = workdir / "trytond.conf"
    write_config(config, database_dir, free_port())
    passfile = workdir / "admin-password"
    passfile.write_text(DEMO_PASSWORD, encoding="utf-8")
    admin_log = workdir / "trytond-admin.log"
    with admin_log.open("wb") as out:
        done = subprocess.run(
            [str(tryton_executable("trytond-admin")), "-c", str(config),
             "-d", DEMO_DATABASE, "-u", *MODULES, "--activate-dependencies",
             "--email", DEMO_EMAIL],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            env=child_env(TRYTONPASSFILE=str(passfile)), timeout=600, check=False)
    if done.returncode != 0:
        raise TrytonServerError(
            f"trytond-admin failed with code {done.returncode}:\n{log_tail(admin_log)}",
            {"log": str(admin_log)})
    with demo_server(workdir) as server, requests.Session() as http:
        client = server.client(http, timeout=120)
        load_demo_data(client)
        client.logout()
    _make_self_contained(database_file)
    return database_file


def _make_self_contained(database_file: Path) -> None:
    # trytond runs SQLite in WAL mode: fold the log into the file so it can be copied alone.
    connection = sqlite3.connect(database_file)
    try:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.execute("PRAGMA journal_mode = DELETE")
    finally:
        connection.close()


# --- the data ----------------------------------------------------------------------------

def load_demo_data(client: TrytonClient) -> None:
    """Company, chart of accounts, products with stock and customers, over JSON-RPC."""
    company_id = _create_company(client)
    accounts = _create_chart(client, company_id)
    unit_id = _only(client.model("product.uom").search([("symbol", "=", "u")]), "unit")
    category_id = client.model("product.category").create([{
        "name": "Warehouse equipment", "accounting": True,
        "account_revenue": accounts["revenue"], "account_expense": accounts["expense"],
    }])[0]
    product_ids = _create_products(client, unit_id, category_id)
    _stock_in(client, company_id, product_ids)
    _order_points(client, company_id, product_ids)
    _create_customers(client)
    sale_model = _only(client.model("ir.model").search([("name", "=", "sale.sale")]),
                       "ir.model sale.sale")
    client.model("sale.complaint.type").create([{"name": COMPLAINT_TYPE,
                                                 "origin": sale_model}])


def _only(ids: Sequence[int], what: str) -> int:
    if len(ids) != 1:
        raise TrytonServerError(f"expected one {what} in the demo ERP, found {len(ids)}")
    return ids[0]


def _create_company(client: TrytonClient) -> int:
    currency_id = client.model("currency.currency").create([{
        **CURRENCY, "rounding": Decimal(str(CURRENCY["rounding"]))}])[0]
    client.model("country.country").create(
        [{"code": code, "name": name} for code, name in COUNTRIES.items()])
    party_id = client.model("party.party").create([{"name": COMPANY_NAME}])[0]
    company_id = client.model("company.company").create([{
        "party": party_id, "currency": currency_id}])[0]
    user_id = _only(client.model("res.user").search([("login", "=", client.user)]), "user")
    client.model("res.user").write([user_id], {"companies": [["add", [company_id]]],
                                               "company": company_id})
    client.refresh_context()
    return company_id


def _create_chart(client: TrytonClient, company_id: int) -> dict[str, int]:
    """Run the ``account.create_chart`` wizard as the Tryton client would."""
    template_id = client.model("account.account.template").search(
        [("parent", "=", None)], limit=1)[0]
    session_id, _start, _end = client.call("wizard.account.create_chart.create")
    wizard = "wizard.account.create_chart.execute"
    client.call(wizard, session_id, {}, "account")
    client.call(wizard, session_id, {"account": {
        "company": company_id, "account_template": template_id}}, "create_account")
    account = client.model("account.account")
    receivable = account.search([("company", "=", company_id),
                                 ("type.receivable", "=", True),
                                 ("party_required", "=", True)], limit=1)[0]
    payable = account.search([("company", "=", company_id), ("type.payable", "=", True),
                              ("party_required", "=", True)], limit=1)[0]
    client.call(wizard, session_id, {"properties": {
        "company": company_id, "account_receivable": receivable,
        "account_payable": payable}}, "create_properties")
    client.call("wizard.account.create_chart.delete", session_id)
    # The universal chart's "Goods" revenue and "Merchandise" cost-of-sales accounts.
    return {name: _only(account.search([("company", "=", company_id), ("code", "=", code),
                                        ("closed", "!=", True)]), f"account {code}")
            for name, code in (("revenue", "4.1.1"), ("expense", "5.1.1"))}


def _create_products(client: TrytonClient, unit_id: int, category_id: int) -> dict[str, int]:
    templates: list[dict[str, Any]] = [{
        "name": p.name, "code": p.code, "type": "goods", "salable": True,
        "list_price": Decimal(p.list_price), "default_uom": unit_id, "sale_uom": unit_id,
        "purchasable": True, "purchase_uom": unit_id,  # bought back up to an order point
        "account_category": category_id,
        "products": [["create", [{"cost_price": (Decimal(p.list_price) * Decimal("0.6"))
                                  .quantize(Decimal("0.0001"))}]]],
    } for p in PRODUCTS]
    templates.append({
        "name": "Customer refund", "code": REFUND_PRODUCT_CODE, "type": "service",
        "salable": True, "list_price": Decimal(0), "default_uom": unit_id,
        "sale_uom": unit_id, "account_category": category_id,
        "products": [["create", [{}]]],
    })
    client.model("product.template").create(templates)
    rows = client.model("product.product").search_read(
        [("code", "in", [p.code for p in PRODUCTS])], ["code"])
    return {r["code"]: r["id"] for r in rows}


def _stock_in(client: TrytonClient, company_id: int, product_ids: dict[str, int]) -> None:
    warehouse = client.model("stock.location").search_read(
        [("type", "=", "warehouse"), ("code", "=", WAREHOUSE_CODE)], ["storage_location"])
    if len(warehouse) != 1:
        raise TrytonServerError(f"no warehouse {WAREHOUSE_CODE} in the demo ERP")
    inventory = client.model("stock.inventory")
    inventory_id = inventory.create([{
        "location": warehouse[0]["storage_location"], "company": company_id,
        "date": dt.date.fromisoformat(OPENING_STOCK_DATE),
        "lines": [["create", [{"product": product_ids[p.code], "quantity": float(p.stock)}
                              for p in PRODUCTS if p.stock > 0]]],
    }])[0]
    inventory.button("confirm", [inventory_id])


def _order_points(client: TrytonClient, company_id: int, product_ids: dict[str, int]) -> None:
    """stock_supply's purchase order points: a product under its minimal quantity in the
    warehouse is to be bought back up to its target."""
    warehouse = _only(client.model("stock.location").search(
        [("type", "=", "warehouse"), ("code", "=", WAREHOUSE_CODE)]), "warehouse")
    client.model("stock.order_point").create([{
        "product": product_ids[p.code], "location": warehouse, "type": "purchase",
        "min_quantity": float(p.order_point[0]), "target_quantity": float(p.order_point[1]),
        "company": company_id} for p in PRODUCTS if p.order_point is not None])


def _create_customers(client: TrytonClient) -> None:
    category = client.model("party.category")
    tier_ids = dict(zip(TIERS, category.create([{"name": t} for t in TIERS]), strict=True))
    countries = {r["code"]: r["id"] for r in client.model("country.country").search_read(
        [], ["code"])}
    client.model("party.party").create([{
        "name": c.name, "code": c.crm_account_id,
        "categories": [["add", [tier_ids[c.tier]]]],
        "credit_limit_amount": Decimal(c.credit_limit),
        "addresses": [["create", [{"street": c.street, "postal_code": c.postal_code,
                                   "city": c.city, "country": countries[c.country_code]}]]],
        "contact_mechanisms": [["create", [{"type": "email", "value": c.email},
                                           {"type": "phone", "value": c.phone}]]],
    } for c in CUSTOMERS])


# --- the command -------------------------------------------------------------------------

def default_cache_dir() -> Path:
    """``$BRIDGEFLOW_CACHE_DIR``, or ``.cache`` in the current directory."""
    return Path(os.environ.get("BRIDGEFLOW_CACHE_DIR") or Path.cwd() / ".cache")


def main(argv: Sequence[str] | None = None) -> int:
    """``bridgeflow erp setup``: build (or reuse) the demo ERP and copy it to ``--target``."""
    parser = argparse.ArgumentParser(
        prog="bridgeflow erp setup",
        description="Prepare the demo Tryton ERP database (SQLite) with Bridgeflow's "
                    "demo customers, products and stock.")
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="where the built template is kept "
                             "(default: $BRIDGEFLOW_CACHE_DIR or ./.cache)")
    parser.add_argument("--target", type=Path, default=None,
                        help="copy the database to this file (NAME.sqlite); "
                             "trytond then serves it as database NAME")
    parser.add_argument("--force", action="store_true",
                        help="replace the target if it exists (stop trytond first)")
    args = parser.parse_args(argv)
    target: Path | None = args.target
    if target is not None and target.suffix != ".sqlite":
        print(f"error: --target must end in .sqlite (got {target})", file=sys.stderr)
        return 2
    if target is not None and target.exists() and not args.force:
        print(f"error: {target} exists; add --force to replace it", file=sys.stderr)
        return 2
    cache_dir: Path = args.cache_dir or default_cache_dir()
    started = time.monotonic()
    try:
        template = prepare_template(cache_dir)
    except (TrytonServerError, OSError, subprocess.SubprocessError) as exc:
        print(f"error: could not prepare the demo ERP: {exc}", file=sys.stderr)
        return 1
    print(f"demo ERP template: {template} ({time.monotonic() - started:.0f} s)")
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
        for journal in ("-wal", "-shm"):  # SQLite would replay an old log onto the copy
            target.with_name(target.name + journal).unlink(missing_ok=True)
        shutil.copyfile(template, target)
        print(f"copied to {target}: serve it with "
              f"`trytond -c <conf with [database] path = {target.parent}> -d {target.stem}`")
    print(f"log in as {DEMO_USER!r} with password {DEMO_PASSWORD!r}")
    return 0
