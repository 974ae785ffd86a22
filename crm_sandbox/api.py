"""The REST API under ``/services/data/vNN.0``: sObject CRUD, upsert, query, limits.

Every call needs a Bearer token, counts against the daily API limit, and is answered with
``Sforce-Limit-Info``; refusals are Salesforce's error arrays.
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from . import query
from .core import Crm
from .errors import SalesforceError, not_found
from .records import render
from .schema import OBJECTS, SObject, normalize_id, sobject

bp = Blueprint("api", __name__, url_prefix="/services/data")

_VERSION_RE = re.compile(r"^v\d{2}\.0$")
LATEST = "v60.0"


def crm() -> Crm:
    found: Crm = current_app.extensions["sandbox_crm"]
    return found


def json_response(body: Any, status: int = 200) -> Response:
    response = jsonify(body)
    response.status_code = status
    return response


@bp.before_request
def authenticate_and_count() -> ResponseReturnValue | None:
    """Refuse unknown versions, injected faults, bad tokens and calls past the daily limit."""
    if request.endpoint == "api.versions":
        return None
    version = (request.view_args or {}).get("version", "")
    if not _VERSION_RE.match(version):
        raise not_found()
    fault = crm().faults.take()
    if fault is not None:
        return json_response([{"message": "The CRM is temporarily unavailable (a fault was "
                                          "injected for a test)",
                               "errorCode": "SERVER_UNAVAILABLE"}], fault)
    g.user_id = crm().authenticate(request.headers.get("Authorization"))
    g.usage = crm().count_call()
    return None


def _object(name: str) -> SObject:
    obj = sobject(name)
    if obj is None:
        raise not_found()
    return obj


def _body() -> dict[str, Any]:
    try:
        body = json.loads(request.get_data(as_text=True) or "null")
    except ValueError as exc:
        raise SalesforceError(400, "JSON_PARSER_ERROR",
                              f"The request body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise SalesforceError(400, "JSON_PARSER_ERROR",
                              "The request body must be a JSON object of field values")
    return body


@bp.get("/")
def versions() -> ResponseReturnValue:
    """List the API versions (no token needed, as in Salesforce)."""
    return jsonify([{"label": "Spring '24", "url": f"/services/data/{LATEST}",
                     "version": LATEST[1:]}])


@bp.get("/<version>/")
def resources(version: str) -> ResponseReturnValue:
    base = f"/services/data/{version}"
    return jsonify({"sobjects": f"{base}/sobjects", "query": f"{base}/query",
                    "limits": f"{base}/limits"})


@bp.get("/<version>/limits")
def limits(version: str) -> ResponseReturnValue:
    usage = g.usage
    return jsonify({"DailyApiRequests": {"Max": usage.limit,
                                         "Remaining": usage.limit - usage.used}})


@bp.get("/<version>/sobjects")
def describe_global(version: str) -> ResponseReturnValue:
    return jsonify({"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": [
        {"name": o.name, "keyPrefix": o.prefix,
         "urls": {"sobject": f"/services/data/{version}/sobjects/{o.name}"}}
        for o in OBJECTS]})


@bp.get("/<version>/sobjects/<name>/describe")
def describe(version: str, name: str) -> ResponseReturnValue:
    obj = _object(name)
    return jsonify({"name": obj.name, "keyPrefix": obj.prefix, "fields": [
        {"name": f.name, "type": f.type, "nillable": not f.required,
         "createable": f.createable, "updateable": f.updateable,
         "externalId": f.external_id, "unique": f.unique, "length": f.length,
         "referenceTo": list(f.targets), "relationshipName": f.relationship,
         "picklistValues": [{"value": v, "label": v, "active": True} for v in f.picklist]}
        for f in obj.fields]})


@bp.route("/<version>/sobjects/<name>", methods=["GET", "POST"])
def sobject_root(version: str, name: str) -> ResponseReturnValue:
    """Create a record (POST), or describe the object briefly (GET)."""
    obj = _object(name)
    if request.method == "GET":
        return jsonify({"objectDescribe": {"name": obj.name, "keyPrefix": obj.prefix},
                        "recentItems": []})
    values = _body()
    with crm().write(g.user_id) as records:
        record_id = records.create(obj, values)
    return json_response({"id": record_id, "success": True, "errors": []}, 201)


@bp.route("/<version>/sobjects/<name>/<record_id>", methods=["GET", "PATCH", "DELETE"])
def record(version: str, name: str, record_id: str) -> ResponseReturnValue:
    """Read, change or delete one record."""
    obj = _object(name)
    if normalize_id(record_id) is None:
        raise not_found(f"Provided external ID field does not exist or is not accessible: "
                        f"{record_id}")
    if request.method == "GET":
        with crm().read() as records:
            found = records.require(obj, record_id)
        return jsonify(render(obj, found, version, _chosen_fields(obj)))
    if request.method == "PATCH":
        values = _body()
        with crm().write(g.user_id) as records:
            records.update(obj, record_id, values)
    else:
        with crm().write(g.user_id) as records:
            records.delete(obj, record_id)
    return Response(status=204)


@bp.route("/<version>/sobjects/<name>/<field>/<path:value>", methods=["GET", "PATCH"])
def by_external_id(version: str, name: str, field: str, value: str) -> ResponseReturnValue:
    """Read (GET) or upsert (PATCH) the record whose external id ``field`` is ``value``."""
    obj = _object(name)
    if request.method == "GET":
        ext = obj.field(field)
        if ext is None or not ext.external_id:
            raise not_found(f"Provided external ID field does not exist or is not "
                            f"accessible: {field}")
        with crm().read() as records:
            matches = records.find(obj, ext.name, value)
        if not matches:
            raise not_found()
        if len(matches) > 1:
            return _several(version, obj, [str(m["Id"]) for m in matches])
        return jsonify(render(obj, matches[0], version, _chosen_fields(obj)))
    values = _body()
    with crm().write(g.user_id) as records:
        outcome = records.upsert(obj, field, value, values)
    if isinstance(outcome, list):
        return _several(version, obj, outcome)
    record_id, created = outcome
    return json_response({"id": record_id, "success": True, "errors": [], "created": created},
                         201 if created else 200)


def _several(version: str, obj: SObject, ids: list[str]) -> Response:
    return json_response([f"/services/data/{version}/sobjects/{obj.name}/{i}" for i in ids],
                         300)


def _chosen_fields(obj: SObject) -> list[Any] | None:
    wanted = request.args.get("fields")
    if not wanted:
        return None
    chosen = []
    for name in (n.strip() for n in wanted.split(",") if n.strip()):
        found = obj.field(name)
        if found is None:
            raise SalesforceError(400, "INVALID_FIELD",
                                  f"No such column '{name}' on sobject of type {obj.name}",
                                  [name])
        chosen.append(found)
    return chosen


@bp.get("/<version>/query")
@bp.get("/<version>/query/")
def run_query(version: str) -> ResponseReturnValue:
    """Answer a SOQL query; more than one batch of records leaves a ``nextRecordsUrl``."""
    text = request.args.get("q", "")
    if not text.strip():
        raise SalesforceError(400, "MALFORMED_QUERY", "A query string has to be specified")
    with crm().store.transaction() as conn:
        answer = query.run(conn, text, version, crm().settings.query_batch_size, crm().clock())
    return jsonify(answer)


@bp.get("/<version>/query/<locator>")
def query_more(version: str, locator: str) -> ResponseReturnValue:
    """The next batch of an earlier query."""
    with crm().read() as records:
        answer = query.next_page(records.conn, locator, version,
                                 crm().settings.query_batch_size)
    return jsonify(answer)


def init_app(app: Flask) -> None:
    """Salesforce-shaped errors and the usage header for everything under /services/."""
    app.register_blueprint(bp)

    @app.errorhandler(SalesforceError)
    def salesforce_error(exc: SalesforceError) -> ResponseReturnValue:
        return json_response(exc.body(), exc.status)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> ResponseReturnValue:
        if not request.path.startswith("/services/"):
            return exc
        codes = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}
        message = ("The requested resource does not exist" if exc.code == 404
                   else f"HTTP Method '{request.method}' not allowed" if exc.code == 405
                   else exc.description or "")
        return json_response([{"message": message, "errorCode": codes.get(exc.code or 0,
                                                                          "UNKNOWN_EXCEPTION"),
                               "fields": []}], exc.code or 500)

    @app.after_request
    def limit_info(response: Response) -> Response:
        if request.path.startswith("/services/data/v"):
            usage = g.get("usage") or app.extensions["sandbox_crm"].usage()
            response.headers["Sforce-Limit-Info"] = usage.header()
        return response
