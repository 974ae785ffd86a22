"""Every bad input gets a clear 4xx, and a database outage a 503 with Retry-After."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import create_engine, text

from engine import Engine

from ..conftest import DATABASES, own_postgres_database, postgres_url, reset_postgres
from .conftest import (
    ALL_SCOPES,
    FIXTURES,
    PASSWORD,
    AuthClient,
    instance_count,
    prepared_app,
)
from .processes import approval

URL = "/api/v1/process-instances"


def deploy(client: AuthClient, name: str, content: bytes) -> object:
    return client.post("/api/v1/deployments", content_type="multipart/form-data",
                       data={"files": [(io.BytesIO(content), name)]})


def post_raw(client: AuthClient, variable: str) -> object:
    """Start ``auto_steps`` with variable ``x`` written as ``variable`` (raw JSON text)."""
    body = '{"process_key": "auto_steps", "variables": {"x": ' + variable + "}}"
    return client.post(URL, data=body, headers={"Content-Type": "application/json"})


# -- request bodies -------------------------------------------------------------------------

@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json_and_start_nothing(client: AuthClient, engine: Engine,
                                                         constant: str) -> None:
    before = instance_count(engine)
    resp = post_raw(client, constant)
    assert resp.status_code == 400
    body = resp.get_json()
    assert body["error"] == "malformed_request"
    assert body["message"] == (f"the body is not valid JSON: {constant} is not a JSON number "
                               "(JSON has no NaN or Infinity); send a number, a string or null")
    assert instance_count(engine) == before


@pytest.mark.parametrize("depth", [65, 900, 200_000])
def test_json_nested_too_deep_is_refused(client: AuthClient, engine: Engine,
                                         depth: int) -> None:
    before = instance_count(engine)
    nested = "[" * depth + "]" * depth
    resp = post_raw(client, nested)
    assert resp.status_code in (400, 413)
    if resp.status_code == 400:
        assert "nests lists and objects more than 64 levels deep" in resp.get_json()["message"]
    assert instance_count(engine) == before


def test_json_nested_64_deep_is_still_accepted(client: AuthClient, engine: Engine) -> None:
    nested = "[" * 62 + "1" + "]" * 62  # the body and variables objects are two more levels
    resp = post_raw(client, nested)
    assert resp.status_code == 201, resp.get_json()
    assert json.dumps(resp.get_json()["variables"]["x"]).count("[") == 62


# -- query strings --------------------------------------------------------------------------

@pytest.mark.parametrize("url, name", [
    (URL + "?page=99999999999999999999", "page"),
    (URL + "?page=1000001", "page"),
    ("/api/v1/tasks?page=9223372036854775808", "page"),
    ("/api/v1/process-definitions/auto_steps/xml?version=99999999999", "version"),
])
def test_numbers_beyond_the_database_are_a_422(client: AuthClient, url: str, name: str) -> None:
    resp = client.get(url)
    assert resp.status_code == 422
    body = resp.get_json()
    assert body["error"] == "invalid_input" and name in body["details"]["fields"]
    assert body["message"].startswith(f"invalid {name}: Must be greater than or equal to 1 "
                                      "and less than or equal to")


def test_the_last_allowed_page_is_empty_not_an_error(client: AuthClient) -> None:
    resp = client.get(URL + "?page=1000000&per_page=500")
    assert resp.status_code == 200
    assert resp.get_json()["items"] == [] and resp.get_json()["page"] == 1_000_000


# -- deployments ----------------------------------------------------------------------------

def test_a_latin1_bpmn_file_that_says_so_deploys(client: AuthClient, engine: Engine) -> None:
    source = approval().decode().replace('encoding="UTF-8"', 'encoding="ISO-8859-1"')
    source = source.replace('name="Approve"', 'name="Prüfung"')
    resp = deploy(client, "approval.bpmn", source.encode("latin-1"))
    assert resp.status_code == 201, resp.get_json()
    xml = client.get("/api/v1/process-definitions/approval/xml")
    assert xml.status_code == 200 and 'name="Prüfung"' in xml.get_data(as_text=True)


@pytest.mark.parametrize("content, reason", [
    (approval().decode().replace('encoding="UTF-8"', 'encoding="UTF-16"').encode("utf-16"),
     None),
    (approval().replace(b'name="Approve"', b'name="Pr\xfcfung"'), "is not valid UTF-8"),
    (approval().replace(b"?>\n", b'?>\n<!DOCTYPE d [<!ENTITY x "y">]>\n', 1),
     "declares a DOCTYPE"),
    (approval().replace(b'name="Approve"', b'name="&x;"'), "Entity 'x' not defined"),
    (approval().replace(b'camunda:candidateGroups="finance"',
                        b'camunda:candidateGroups="finance" camunda:dueDate="P999999999Y"'),
     "due date 'P999999999Y' cannot be used: the duration 'P999999999Y' is longer than"),
])
def test_deployments_of_odd_files_are_a_201_or_a_clear_422(
        client: AuthClient, engine: Engine, content: bytes, reason: str | None) -> None:
    before = [(d.key, d.version) for d in engine.repository.list_definitions()]
    resp = deploy(client, "approval.bpmn", content)
    if reason is None:
        assert resp.status_code == 201, resp.get_json()
        return
    assert resp.status_code == 422
    body = resp.get_json()
    assert body["error"] == "invalid_definition" and reason in body["message"]
    assert [(d.key, d.version) for d in engine.repository.list_definitions()] == before


def test_a_start_cycle_of_zero_is_refused_at_deploy(client: AuthClient, engine: Engine) -> None:
    cycle = approval().decode().replace(
        "<bpmn:outgoing>a</bpmn:outgoing></bpmn:startEvent>",
        "<bpmn:outgoing>a</bpmn:outgoing><bpmn:timerEventDefinition><bpmn:timeCycle>R/PT0S"
        "</bpmn:timeCycle></bpmn:timerEventDefinition></bpmn:startEvent>")
    resp = deploy(client, "approval.bpmn", cycle.encode())
    assert resp.status_code == 422
    [problem] = resp.get_json()["details"]["problems"]
    assert problem["message"] == (
        "the timer start cycle 'R/PT0S' of process 'approval' would start an instance every "
        "0 s; the shortest cycle allowed is 60 s (setting BRIDGEFLOW_MIN_START_CYCLE_SECONDS)")
    assert client.get("/api/v1/process-definitions/approval").status_code == 404


def test_a_failing_candidate_groups_expression_is_an_incident(client: AuthClient) -> None:
    source = approval().replace(b'camunda:candidateGroups="finance"',
                                b'camunda:candidateGroups="${departments[region]}"')
    assert deploy(client, "approval.bpmn", source).status_code == 201
    resp = client.post(URL + "?wait=5", json={"process_key": "approval",
                                              "variables": {"departments": {}, "region": "eu"}})
    assert resp.status_code == 201 and resp.get_json()["status"] == "incident"
    [incident] = client.get("/api/v1/incidents").get_json()["items"]
    assert incident["element_id"] == "approve" and incident["error_type"] == "expression_error"
    assert incident["message"].startswith("the candidateGroups expression "
                                          "${departments[region]} of user task 'approve' "
                                          "failed: ")
    assert "KeyError" in incident["details"]["error"]


# -- the database goes away -----------------------------------------------------------------

@pytest.fixture(params=DATABASES)
def outage(request: pytest.FixtureRequest,
           tmp_path: Path) -> Iterator[tuple[Flask, Callable[[], None], Callable[[], None]]]:
    """An app, and how to take its database away and bring it back."""
    if request.param == "sqlite":
        path = tmp_path / "web.db"
        url = f"sqlite:///{path}"
    else:
        url = own_postgres_database(postgres_url(), "outage")
        reset_postgres(url)
    app = prepared_app({"database_url": url, "run_worker_in_web": False,
                        "processes_dir": str(FIXTURES)})
    sql = app.extensions["bridgeflow"]._core.db.sql_engine
    base, _, name = url.rpartition("/")
    admin = create_engine(f"{base}/postgres".replace("postgresql://", "postgresql+psycopg://"),
                          isolation_level="AUTOCOMMIT")

    def take_down() -> None:
        if request.param == "sqlite":  # a directory where the file was: nothing can open it
            path.rename(tmp_path / "away.db")
            path.mkdir()
        else:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        sql.dispose()

    def bring_back() -> None:
        if request.param == "sqlite":
            path.rmdir()
            (tmp_path / "away.db").rename(path)
        else:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            from engine.db import Database

            fresh = Database(url)
            fresh.upgrade()
            fresh.dispose()

    yield app, take_down, bring_back
    app.extensions["bridgeflow"].close()
    admin.dispose()


def test_a_database_outage_is_a_503_with_retry_after(
        outage: tuple[Flask, Callable[[], None], Callable[[], None]]) -> None:
    app, take_down, bring_back = outage
    key = app.extensions["bridgeflow"].identity.create_api_key("order-system", ALL_SCOPES)
    client = AuthClient(app.test_client(), key)
    assert client.get(URL).status_code == 200
    app.extensions["bridgeflow"].identity.create_user("ann", PASSWORD, groups=["finance"],
                                                     role="user")
    person = app.test_client()
    token = re.search(r'name="csrf_token" value="([^"]+)"', person.get("/login").text)
    assert token is not None
    assert person.post("/login", data={"name": "ann", "password": PASSWORD,
                                       "csrf_token": token.group(1)}).status_code == 302
    take_down()
    for resp in (client.get(URL), client.post(URL + "?wait=1", json={"process_key": "x"}),
                 client.get("/api/v1/tasks"), app.test_client().get("/healthz")):
        assert resp.status_code == 503, resp.get_data(as_text=True)
        assert resp.headers["Retry-After"] == "5"
        body = resp.get_json()
        assert body["error"] == "service_unavailable"
        assert body["details"] == {"retry_after_seconds": 5}
    page = person.get("/inbox", headers={"Accept": "text/html"})
    assert page.status_code == 503 and page.mimetype == "text/html"  # a page, not JSON
    assert page.headers["Retry-After"] == "5"
    assert "Bridgeflow cannot reach its database" in page.get_data(as_text=True)
    health = app.test_client().get("/healthz").get_json()
    assert health["status"] == "unavailable" and health["database"] == "unreachable"
    bring_back()
    assert app.test_client().get("/healthz").status_code == 200
