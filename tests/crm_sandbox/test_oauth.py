"""The token endpoint: client credentials in, expiring Bearer tokens out."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from .conftest import API, Api
from .helpers import FakeClock


def _token(client: FlaskClient, **form: str) -> Any:
    data = {"grant_type": "client_credentials", "client_id": "bridgeflow",
            "client_secret": "demo-secret", **form}
    return client.post("/services/oauth2/token", data=data)


def test_the_configured_client_gets_a_bearer_token(client: FlaskClient) -> None:
    answer = _token(client)
    assert answer.status_code == 200
    body = answer.json
    assert body["token_type"] == "Bearer"
    assert body["instance_url"] == "http://localhost"
    assert body["access_token"] and body["issued_at"].isdigit()
    accounts = client.get(f"{API}/sobjects/Account/001000000000001AAA",
                          headers={"Authorization": f"Bearer {body['access_token']}"})
    assert accounts.status_code == 200


def test_a_wrong_secret_is_refused_as_salesforce_does(client: FlaskClient) -> None:
    answer = _token(client, client_secret="guess")
    assert answer.status_code == 400
    assert answer.json == {"error": "invalid_client",
                           "error_description": "invalid client credentials"}


def test_an_unknown_client_and_another_grant_are_refused(client: FlaskClient) -> None:
    assert _token(client, client_id="someone").json["error"] == "invalid_client_id"
    refused = _token(client, grant_type="password")
    assert refused.status_code == 400
    assert refused.json["error"] == "unsupported_grant_type"


def test_the_secret_comes_from_the_config(make_app: Any) -> None:
    client = make_app(CLIENT_SECRET="s3cret").test_client()
    assert _token(client).status_code == 400
    assert _token(client, client_secret="s3cret").status_code == 200


def test_a_token_expires_after_its_lifetime(make_app: Any, clock: FakeClock) -> None:
    app: Flask = make_app(TOKEN_LIFETIME=60)
    api = Api(app.test_client())
    clock.advance(59)
    assert api.call("GET", "/sobjects/Account/001000000000001AAA").status_code == 200
    clock.advance(2)
    expired = api.call("GET", "/sobjects/Account/001000000000001AAA")
    assert expired.status_code == 401
    assert expired.json == [{"message": "Session expired or invalid",
                             "errorCode": "INVALID_SESSION_ID", "fields": []}]


def test_calls_without_a_valid_token_are_refused(client: FlaskClient) -> None:
    for headers in ({}, {"Authorization": "Bearer forged"}, {"Authorization": "Basic eDp5"}):
        answer = client.get(f"{API}/query", query_string={"q": "SELECT Id FROM Account"},
                            headers=headers)
        assert answer.status_code == 401
        assert answer.json[0]["errorCode"] == "INVALID_SESSION_ID"
