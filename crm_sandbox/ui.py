"""The demo pages: a person creates orders, contracts and cases, and watches Bridgeflow work.

Forms post and redirect; each carries a CSRF token kept in the session. Changes go through
the same record layer as the API, so they raise the same webhooks.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import UTC, datetime
from typing import Any

from flask import (
    Blueprint,
    Flask,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue

from .core import Crm
from .errors import SalesforceError
from .outbox import list_events
from .records import Records
from .schema import CASE_CATEGORIES, CASE_SEVERITIES, named

bp = Blueprint("ui", __name__)


def crm() -> Crm:
    found: Crm = current_app.extensions["sandbox_crm"]
    return found


def csrf_token() -> str:
    if "csrf" not in session:
        session["csrf"] = secrets.token_urlsafe(32)
    return str(session["csrf"])


@bp.before_request
def check_csrf() -> ResponseReturnValue | None:
    if request.method != "POST" or request.endpoint == "ui.inject_fault":
        return None
    sent = request.form.get("csrf_token", "")
    if not sent or not hmac.compare_digest(sent, session.get("csrf", "")):
        return render_template("error.html", title="The form has expired",
                               message="The page was open too long or the sandbox was "
                                       "restarted. Go back, reload the page and send the form "
                                       "again."), 400
    return None


def _today() -> str:
    return datetime.fromtimestamp(crm().clock(), UTC).date().isoformat()


def _board(records: Records) -> dict[str, Any]:
    """Everything the records part of the page shows, with names instead of ids."""
    accounts = {a["Id"]: a for a in records.all(named("Account"), "Name", limit=500)}
    products = {p["Id"]: p for p in records.all(named("Product2"), "ProductCode", limit=500)}
    users = {u["Id"]: u for u in records.all(named("User"), "Name", limit=500)}
    orders = records.all(named("Order"), descending=True, limit=50)
    for order in orders:
        order["items"] = [{**i, "product": products.get(i["Product2Id"])}
                          for i in records.find(named("OrderItem"), "OrderId", order["Id"])]
    contracts = records.all(named("Contract"), descending=True, limit=50)
    cases = records.all(named("Case"), descending=True, limit=50)
    opportunities = records.all(named("Opportunity"), "CloseDate", descending=True,
                                limit=50)
    tasks = records.all(named("Task"), descending=True, limit=50)
    labels: dict[str, str] = {a["Id"]: a["Name"] for a in accounts.values()}
    labels.update({o["Id"]: f"Order {o['OrderNumber']}" for o in orders})
    labels.update({c["Id"]: f"Contract {c['ContractNumber']}" for c in contracts})
    labels.update({c["Id"]: f"Case {c['CaseNumber']}" for c in cases})
    return {"accounts": accounts, "products": products, "users": users, "orders": orders,
            "contracts": contracts, "cases": cases,
            "opportunities": opportunities, "tasks": tasks, "labels": labels}


@bp.get("/")
def index() -> ResponseReturnValue:
    """Show the forms and the records."""
    with crm().read() as records:
        board = _board(records)
    return render_template("index.html", today=_today(), categories=CASE_CATEGORIES,
                           severities=CASE_SEVERITIES, pending=len(list_events(
                               crm().store, "pending")), **board)


@bp.get("/records")
def records_part() -> ResponseReturnValue:
    """The records part alone, for the page's auto-refresh."""
    with crm().read() as records:
        board = _board(records)
    return render_template("_records.html", **board)


def _done(message: str, anchor: str) -> ResponseReturnValue:
    flash(message, "success")
    return redirect(url_for("ui.index", _anchor=anchor))


def _refused(what: str, exc: SalesforceError | ValueError) -> ResponseReturnValue:
    reason = exc.message.strip() if isinstance(exc, SalesforceError) else str(exc)
    flash(f"{what}: {reason}", "error")
    return redirect(url_for("ui.index"))


def _order_lines(records: Records) -> list[tuple[dict[str, Any], int]]:
    lines = []
    pairs = zip(request.form.getlist("product"), request.form.getlist("quantity"), strict=False)
    for n, (product_id, quantity) in enumerate(pairs, start=1):
        if not product_id:
            continue
        if not quantity.strip().isdigit() or int(quantity) < 1:
            raise ValueError(f"enter a whole quantity of at least 1 on line {n}")
        lines.append((records.require(named("Product2"), product_id), int(quantity)))
    if not lines:
        raise ValueError("choose at least one product")
    return lines


@bp.post("/orders")
def create_order() -> ResponseReturnValue:
    """Create a draft order with its lines, and activate it when asked."""
    try:
        with crm().write() as records:
            order_id = records.create(named("Order"), {
                "AccountId": request.form.get("account", ""), "Status": "Draft",
                "EffectiveDate": request.form.get("effective_date") or _today(),
                "Description": request.form.get("description", "")})
            for product, quantity in _order_lines(records):
                records.create(named("OrderItem"), {
                    "OrderId": order_id, "Product2Id": product["Id"], "Quantity": quantity,
                    "UnitPrice": product["List_Price__c"] or 0.0})
            if request.form.get("activate"):
                records.update(named("Order"), order_id, {"Status": "Activated"})
            order = records.require(named("Order"), order_id)
    except (SalesforceError, ValueError) as exc:
        return _refused("The order was not created", exc)
    state = "created and activated" if order["Status"] == "Activated" else "created as a draft"
    return _done(f"Order {order['OrderNumber']} {state}.", "orders")


@bp.post("/orders/<order_id>/activate")
def activate_order(order_id: str) -> ResponseReturnValue:
    """Activate a draft order (Bridgeflow hears of it by webhook)."""
    try:
        with crm().write() as records:
            records.update(named("Order"), order_id, {"Status": "Activated"})
            order = records.require(named("Order"), order_id)
    except SalesforceError as exc:
        return _refused("The order was not activated", exc)
    return _done(f"Order {order['OrderNumber']} activated.", "orders")


@bp.post("/contracts")
def submit_contract() -> ResponseReturnValue:
    """Create a contract and submit it for approval."""
    try:
        if not request.form.get("amount", "").strip():
            raise ValueError("enter the contract amount")
        with crm().write() as records:
            contract_id = records.create(named("Contract"), {
                "AccountId": request.form.get("account", ""),
                "Amount__c": request.form.get("amount", ""),
                "ContractTerm": request.form.get("term") or 12,
                "StartDate": request.form.get("start_date") or _today(),
                "Status": "In Approval Process"})
            contract = records.require(named("Contract"), contract_id)
    except (SalesforceError, ValueError) as exc:
        return _refused("The contract was not submitted", exc)
    return _done(f"Contract {contract['ContractNumber']} submitted for approval.", "contracts")


@bp.post("/cases")
def open_case() -> ResponseReturnValue:
    """Open a complaint case for an account, with the account's contact."""
    form = request.form
    try:
        if not form.get("subject", "").strip():
            raise ValueError("enter a subject")
        with crm().write() as records:
            contacts = records.find(named("Contact"), "AccountId", form.get("account", ""))
            case_id = records.create(named("Case"), {
                "AccountId": form.get("account", ""),
                "ContactId": contacts[0]["Id"] if contacts else None,
                "Subject": form["subject"].strip(),
                "Description": form.get("description", ""),
                "Category__c": form.get("category", ""), "Severity__c": form.get("severity", ""),
                "Related_Order__c": form.get("related_order", ""), "Origin": "Web"})
            case = records.require(named("Case"), case_id)
    except (SalesforceError, ValueError) as exc:
        return _refused("The case was not opened", exc)
    return _done(f"Case {case['CaseNumber']} opened.", "cases")


@bp.get("/outbox")
def outbox() -> ResponseReturnValue:
    """Show the webhook events: pending first, then the latest delivered."""
    return render_template("outbox.html", **_outbox_lists())


@bp.get("/outbox/list")
def outbox_part() -> ResponseReturnValue:
    return render_template("_outbox.html", **_outbox_lists())


def _outbox_lists() -> dict[str, Any]:
    return {"pending": list_events(crm().store, "pending"),
            "delivered": list_events(crm().store, "delivered", limit=50),
            "webhook_url": crm().settings.webhook_url}


@bp.post("/outbox/<event_id>/retry")
def retry_event(event_id: str) -> ResponseReturnValue:
    """Make a pending event due now."""
    if crm().sender.retry_now(event_id):
        flash("The event will be sent again now.", "success")
    else:
        flash("That event is no longer pending.", "error")
    return redirect(url_for("ui.outbox"))


@bp.get("/admin/outbox")
def outbox_json() -> ResponseReturnValue:
    """The outbox as JSON: pending and delivered events."""
    lists = _outbox_lists()
    return jsonify({state: [{k: v for k, v in vars(e).items() if k != "payload"}
                            for e in lists[state]] for state in ("pending", "delivered")})


@bp.post("/admin/faults")
def inject_fault() -> ResponseReturnValue:
    """Make the next API calls fail: JSON ``{"status": 503, "count": 1}``."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return jsonify({"error": "send a JSON object {\"status\": 503, \"count\": 1}"}), 415
    status, count = body.get("status", 503), body.get("count", 1)
    if not isinstance(status, int) or not 400 <= status <= 599 or not isinstance(count, int):
        return jsonify({"error": "status must be an HTTP error status, count a number"}), 400
    crm().faults.inject(status, count)
    return jsonify({"status": status, "count": count})


@bp.get("/healthz")
def healthz() -> ResponseReturnValue:
    return jsonify({"status": "ok"})


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    app.jinja_env.globals["csrf_token"] = csrf_token
