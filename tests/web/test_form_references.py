"""A form's ``$ref`` may name its own definitions or a sibling form: never a file or a URL."""

from __future__ import annotations

import io
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from engine.errors import InvalidInputError
from engine.forms import validate_submission

from .conftest import AuthClient
from .processes import approval

SECRET = "TOP-SECRET-42"


def with_form() -> bytes:
    return approval().replace(b'camunda:candidateGroups="finance"',
                              b'camunda:candidateGroups="finance" camunda:formKey="review.json"')


def form(**properties: Any) -> tuple[str, bytes]:
    schema = {"type": "object", "properties": properties,
              "$defs": {"amount": {"type": "integer", "maximum": 100}}}
    return "review.json", json.dumps(schema).encode()


def deploy(client: AuthClient, *files: tuple[str, bytes]) -> Any:
    data = {"files": [(io.BytesIO(c), n) for n, c in (("approval.bpmn", with_form()), *files)]}
    return client.post("/api/v1/deployments", data=data, content_type="multipart/form-data")


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A local port that records whether anything connected to it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.setblocking(False)
    yield server
    server.close()


def nobody_connected(server: socket.socket) -> bool:
    try:
        server.accept()[0].close()
    except BlockingIOError:
        return True
    return False


def refused(client: AuthClient, ref: str) -> str:
    resp = deploy(client, form(x={"$ref": ref}))
    assert resp.status_code == 422
    message: str = resp.get_json()["message"]
    assert "review.json" in message and ref in message
    assert client.get("/api/v1/process-definitions/approval").status_code == 404
    return message


def test_a_ref_to_a_local_json_file_is_refused_at_deploy(client: AuthClient,
                                                         tmp_path: Path) -> None:
    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps({"type": "string", "const": SECRET}))
    for ref in (str(secret), f"file://{secret}", "../secret.json", "forms/../../secret.json"):
        assert SECRET not in refused(client, ref)


def test_a_ref_to_a_url_is_refused_at_deploy_and_nothing_is_fetched(
        client: AuthClient, listener: socket.socket) -> None:
    port = listener.getsockname()[1]
    refused(client, f"http://127.0.0.1:{port}/schema.json")
    assert nobody_connected(listener)


@pytest.mark.usefixtures("finance_people")
def test_a_ref_to_a_sibling_form_deployed_with_it_is_checked_on_completion(
        client: AuthClient) -> None:
    address = {"$defs": {"zip": {"type": "string", "pattern": "^[0-9]{5}$"}}}
    resp = deploy(client, form(zip={"$ref": "address.json#/$defs/zip"}),
                  ("address.json", json.dumps(address).encode()))
    assert resp.status_code == 201, resp.get_json()
    task_id = start_and_get_task(client)
    bad = client.post(f"/api/v1/tasks/{task_id}/complete", json={"user": "ann",
                                                                 "variables": {"zip": "x1"}})
    assert bad.status_code == 422 and "zip" in bad.get_json()["details"]["fields"]
    assert client.get(f"/api/v1/tasks/{task_id}").get_json()["status"] == "ready"
    good = client.post(f"/api/v1/tasks/{task_id}/complete?wait=5",
                       json={"user": "ann", "variables": {"zip": "10115"}})
    assert good.status_code == 200 and good.get_json()["status"] == "completed"


def test_a_ref_to_a_missing_sibling_is_refused_naming_it(client: AuthClient) -> None:
    message = refused(client, "nowhere.json")
    assert "'nowhere.json'" in message


@pytest.mark.usefixtures("finance_people")
def test_an_internal_ref_is_allowed_and_enforced(client: AuthClient) -> None:
    assert deploy(client, form(amount={"$ref": "#/$defs/amount"})).status_code == 201
    task_id = start_and_get_task(client)
    bad = client.post(f"/api/v1/tasks/{task_id}/complete", json={"user": "ann",
                                                                 "variables": {"amount": 500}})
    assert bad.status_code == 422 and "amount" in bad.get_json()["details"]["fields"]
    assert client.get(f"/api/v1/tasks/{task_id}").get_json()["status"] == "ready"


@pytest.mark.usefixtures("finance_people")
def test_a_form_stored_before_the_check_still_reads_and_fetches_nothing(
        listener: socket.socket, tmp_path: Path) -> None:
    secret = tmp_path / "secret.json"
    secret.write_text(json.dumps({"type": "string", "const": SECRET}))
    port = listener.getsockname()[1]
    for ref in (str(secret), f"http://127.0.0.1:{port}/schema.json"):
        stored = {"type": "object", "properties": {"x": {"$ref": ref}}}
        with pytest.raises(InvalidInputError) as caught:
            validate_submission(stored, {"x": "anything"})
        assert SECRET not in str(caught.value) and "redeploy" in str(caught.value)
    assert nobody_connected(listener)


def start_and_get_task(client: AuthClient) -> str:
    started = client.post("/api/v1/process-instances?wait=5", json={"process_key": "approval"})
    assert started.status_code == 201
    [task] = client.get("/api/v1/tasks?candidate_group=finance").get_json()["items"]
    return str(task["id"])
