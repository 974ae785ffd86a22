"""One Camunda client flow with ``requests`` against a served app, over real HTTP."""

from __future__ import annotations

import pytest
import requests
from flask import Flask
from requests.auth import HTTPBasicAuth

from engine import Engine
from tests.crm_sandbox.helpers import serve

from .processes import approval

pytestmark = pytest.mark.usefixtures("finance_people")


def test_a_camunda_client_deploys_starts_claims_and_completes(app: Flask, api_key: str,
                                                                engine: Engine) -> None:
    with serve(app) as base, requests.Session() as http:
        http.auth = HTTPBasicAuth("demo", api_key)
        rest = f"{base}/engine-rest"
        deployed = http.post(f"{rest}/deployment/create", timeout=10,
                             data={"deployment-name": "live"},
                             files={"approval.bpmn": ("approval.bpmn", approval())})
        assert deployed.status_code == 200, deployed.text
        started = http.post(f"{rest}/process-definition/key/approval/start", timeout=10,
                            json={"businessKey": "PO-9",
                                  "variables": {"amount": {"value": 9, "type": "Long"}}})
        assert started.status_code == 200, started.text
        instance_id = started.json()["id"]
        [task] = http.get(f"{rest}/task", params={"processInstanceBusinessKey": "PO-9"},
                          timeout=10).json()
        claimed = http.post(f"{rest}/task/{task['id']}/claim", json={"userId": "ann"},
                            timeout=10)
        assert claimed.status_code == 204
        done = http.post(f"{rest}/task/{task['id']}/complete", timeout=10,
                         json={"variables": {"ok": {"value": True, "type": "Boolean"}}})
        assert done.status_code == 204, done.text
        assert http.get(f"{rest}/process-instance/{instance_id}", timeout=10
                        ).status_code == 404  # ended
        anonymous = requests.get(f"{rest}/engine", timeout=10)
        assert anonymous.status_code == 401
        assert anonymous.headers["WWW-Authenticate"] == 'Basic realm="bridgeflow"'
    final = engine.runtime.instance(instance_id)
    assert final.status == "completed" and final.variables == {
        "amount": 9, "ok": True, "approved_by": "x"}
