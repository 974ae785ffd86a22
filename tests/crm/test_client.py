"""SalesforceClient against a fake session: tokens, errors, paging and usage."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from service_tasks.base import (
    AuthenticationError,
    BusinessRuleError,
    ConnectorError,
    InvalidParameters,
    TransientError,
)
from service_tasks.crm import ApiUsage, SalesforceClient, UpsertResult, literal

from .fakes import FakeSession, response, sf_error, token

ACME = "001000000000001AAA"
RECORD_URL = f"https://crm.example/services/data/v60.0/sobjects/Account/{ACME}"


def client_for(session: FakeSession, **kwargs: Any) -> SalesforceClient:
    return SalesforceClient(session, "https://login.example/", "bridgeflow",  # type: ignore[arg-type]
                            "s3cret-value", **kwargs)


def account(name: str = "Acme") -> requests.Response:
    return response(200, {"attributes": {"type": "Account"}, "Id": ACME, "Name": name},
                    {"Sforce-Limit-Info": "api-usage=18/5000"})


def test_the_first_call_logs_in_and_later_calls_reuse_the_token() -> None:
    session = FakeSession([token("tok-1"), account(), account()])
    client = client_for(session, timeout=3)
    assert client.get("Account", ACME)["Name"] == "Acme"
    assert client.get("Account", ACME)["Id"] == ACME
    (login,) = session.token_calls()
    assert (login.method, login.url) == ("POST", "https://login.example/services/oauth2/token")
    assert login.kwargs["data"] == {"grant_type": "client_credentials",
                                    "client_id": "bridgeflow", "client_secret": "s3cret-value"}
    calls = session.api_calls()
    assert [c.url for c in calls] == [RECORD_URL, RECORD_URL]   # on the instance URL
    assert all(c.bearer == "tok-1" and c.kwargs["timeout"] == 3 for c in calls)


def test_a_custom_token_url_and_api_version() -> None:
    session = FakeSession([token(), account()])
    client = client_for(session, token_url="https://auth.example/token", api_version="v59.0")
    client.get("Account", ACME)
    assert session.calls[0].url == "https://auth.example/token"
    assert "/services/data/v59.0/sobjects/Account/" in session.calls[1].url


def test_an_expired_session_gets_one_new_token_and_the_call_is_repeated() -> None:
    session = FakeSession([token("old"), sf_error(401, "INVALID_SESSION_ID",
                                                  "Session expired or invalid"),
                           token("new"), account("Acme again")])
    client = client_for(session)
    assert client.get("Account", ACME)["Name"] == "Acme again"
    assert [c.bearer for c in session.api_calls()] == ["old", "new"]
    assert len(session.token_calls()) == 2


def test_a_fresh_token_refused_again_is_an_authentication_error() -> None:
    expired = sf_error(401, "INVALID_SESSION_ID", "Session expired or invalid")
    session = FakeSession([token("a"), expired, token("b"), expired])
    with pytest.raises(AuthenticationError) as caught:
        client_for(session).get("Account", ACME)
    assert len(session.token_calls()) == 2        # exactly one refresh
    assert len(session.api_calls()) == 2
    assert caught.value.details["errorCode"] == "INVALID_SESSION_ID"


def test_refused_client_credentials_are_an_authentication_error_without_the_secret() -> None:
    session = FakeSession([response(400, {"error": "invalid_client",
                                          "error_description": "invalid client credentials"})])
    client = client_for(session)
    with pytest.raises(AuthenticationError) as caught:
        client.get("Account", ACME)
    assert "invalid_client" in str(caught.value)
    assert caught.value.details["error"] == "invalid_client"
    assert "s3cret-value" not in f"{caught.value} {caught.value.details} {client!r}"
    assert session.api_calls() == []


@pytest.mark.parametrize("failure", [
    requests.ConnectionError("refused"), requests.Timeout("slow"),
    response(503, text="<html>maintenance</html>"),
    sf_error(500, "UNKNOWN_EXCEPTION", "An unexpected error occurred"),
])
def test_outages_are_transient(failure: Any) -> None:
    session = FakeSession([token(), failure])
    with pytest.raises(TransientError) as caught:
        client_for(session).query("SELECT Id FROM Account")
    assert caught.value.details["method"] == "GET"


@pytest.mark.parametrize("failure", [requests.ConnectionError("refused"),
                                     response(502, text="bad gateway")])
def test_an_unreachable_token_endpoint_is_transient(failure: Any) -> None:
    with pytest.raises(TransientError):
        client_for(FakeSession([failure])).get("Account", ACME)


def test_not_found_is_a_business_error_crm_not_found() -> None:
    session = FakeSession([token(), sf_error(404, "NOT_FOUND",
                                             "The requested resource does not exist")])
    with pytest.raises(BusinessRuleError) as caught:
        client_for(session).get("Account", ACME)
    assert caught.value.code == "crm_not_found"
    assert caught.value.message == "The requested resource does not exist"
    assert caught.value.details["errorCode"] == "NOT_FOUND"
    assert caught.value.details["status"] == 404


def test_a_refused_change_is_a_business_error_with_salesforce_details() -> None:
    session = FakeSession([token(), sf_error(400, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                                             "Status: bad value for restricted picklist "
                                             "field: Shipped", ["Status"])])
    with pytest.raises(BusinessRuleError) as caught:
        client_for(session).update("Order", "801000000000001AAA", {"Status": "Shipped"})
    assert caught.value.code == "crm_rejected"
    assert "bad value for restricted picklist" in caught.value.message
    assert caught.value.details["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert caught.value.details["fields"] == ["Status"]
    assert session.calls[1].kwargs["json"] == {"Status": "Shipped"}
    assert session.calls[1].method == "PATCH"


def test_a_used_up_daily_limit_is_transient_and_shows_in_the_usage() -> None:
    session = FakeSession([token(), sf_error(403, "REQUEST_LIMIT_EXCEEDED",
                                             "TotalRequests Limit exceeded.",
                                             headers={"Sforce-Limit-Info":
                                                      "api-usage=5000/5000"})])
    client = client_for(session)
    with pytest.raises(TransientError) as caught:
        client.get("Account", ACME)
    assert caught.value.details["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    assert client.usage == ApiUsage(5000, 5000)
    assert client.usage.remaining == 0


def test_other_refusals_are_connector_errors() -> None:
    session = FakeSession([token(), sf_error(403, "INSUFFICIENT_ACCESS", "no access")])
    with pytest.raises(ConnectorError) as caught:
        client_for(session).get("Account", ACME)
    assert type(caught.value) is ConnectorError
    session = FakeSession([token(), response(200, text="<html>login page</html>")])
    with pytest.raises(ConnectorError, match="JSON"):
        client_for(session).get("Account", ACME)


def test_usage_is_read_from_every_answer() -> None:
    session = FakeSession([token(), account(),
                           response(204, headers={"Sforce-Limit-Info": "api-usage=19/5000"})])
    client = client_for(session)
    assert client.usage is None
    client.get("Account", ACME)
    assert client.usage == ApiUsage(18, 5000)
    client.update("Account", ACME, {"Phone": "1"})
    assert client.usage == ApiUsage(19, 5000)


def page(records: list[int], total: int, next_url: str | None) -> requests.Response:
    body: dict[str, Any] = {"totalSize": total, "done": next_url is None,
                            "records": [{"Id": str(n)} for n in records]}
    if next_url:
        body["nextRecordsUrl"] = next_url
    return response(200, body)


def test_query_follows_next_records_url_to_the_end() -> None:
    session = FakeSession([token(), page([1, 2], 5, "/services/data/v60.0/query/01gX-2"),
                           page([3, 4], 5, "/services/data/v60.0/query/01gX-4"),
                           page([5], 5, None)])
    records = client_for(session).query("SELECT Id FROM Account")
    assert [r["Id"] for r in records] == ["1", "2", "3", "4", "5"]
    urls = [c.url for c in session.api_calls()]
    assert urls == ["https://crm.example/services/data/v60.0/query",
                    "https://crm.example/services/data/v60.0/query/01gX-2",
                    "https://crm.example/services/data/v60.0/query/01gX-4"]
    assert session.api_calls()[0].kwargs["params"] == {"q": "SELECT Id FROM Account"}


def test_query_refuses_more_records_than_allowed_before_paging_on() -> None:
    session = FakeSession([token(), page([1, 2], 50_000, "/services/data/v60.0/query/01gX-2")])
    with pytest.raises(ConnectorError, match="50000 records"):
        client_for(session, max_query_records=1000).query("SELECT Id FROM Account")
    assert len(session.api_calls()) == 1
    session = FakeSession([token(), page([1], 3, "/services/data/v60.0/query/01gX-1")])
    with pytest.raises(ConnectorError):
        client_for(session).query("SELECT Id FROM Account", max_records=2)


def test_query_iter_fetches_a_page_only_when_it_is_reached() -> None:
    session = FakeSession([token(), page([1, 2], 3, "/services/data/v60.0/query/01gX-2"),
                           page([3], 3, None)])
    records = client_for(session).query_iter("SELECT Id FROM Account")
    assert [next(records)["Id"], next(records)["Id"]] == ["1", "2"]
    assert len(session.api_calls()) == 1
    assert [r["Id"] for r in records] == ["3"]
    assert len(session.api_calls()) == 2


def test_create_upsert_and_delete() -> None:
    session = FakeSession([
        token(), response(201, {"id": ACME, "success": True, "errors": []}),
        response(201, {"id": ACME, "success": True, "errors": [], "created": True}),
        response(200, {"id": ACME, "success": True, "errors": [], "created": False}),
        response(300, ["/services/data/v60.0/sobjects/Account/1",
                       "/services/data/v60.0/sobjects/Account/2"]),
        response(204)])
    client = client_for(session)
    assert client.create("Account", {"Name": "Acme"}) == ACME
    assert client.upsert("Account", "ERP_Customer_Id__c", "C/1", {"Name": "A"}) == \
        UpsertResult(ACME, True)
    assert client.upsert("Account", "ERP_Customer_Id__c", "C/1", {"Name": "A"}) == \
        UpsertResult(ACME, False)
    with pytest.raises(BusinessRuleError) as caught:
        client.upsert("Account", "ERP_Customer_Id__c", "C/1", {"Name": "A"})
    assert caught.value.code == "crm_rejected" and len(caught.value.details["records"]) == 2
    client.delete("Account", ACME)
    methods = [(c.method, c.url.removeprefix("https://crm.example/services/data/v60.0"))
               for c in session.api_calls()]
    assert methods == [("POST", "/sobjects/Account"),
                       ("PATCH", "/sobjects/Account/ERP_Customer_Id__c/C%2F1"),
                       ("PATCH", "/sobjects/Account/ERP_Customer_Id__c/C%2F1"),
                       ("PATCH", "/sobjects/Account/ERP_Customer_Id__c/C%2F1"),
                       ("DELETE", f"/sobjects/Account/{ACME}")]


@pytest.mark.parametrize(("sobject", "record_id"), [
    ("Account", "../../limits"), ("Account", "001"), ("Account/x", ACME), ("", ACME)])
def test_bad_names_and_ids_are_refused_before_any_call(sobject: str, record_id: str) -> None:
    session = FakeSession()
    with pytest.raises(InvalidParameters):
        client_for(session).get(sobject, record_id)
    assert session.calls == []


def test_soql_literals_cannot_break_out_of_their_quotes() -> None:
    assert literal("O'Brien \\ Co") == "'O\\'Brien \\\\ Co'"
    assert literal("x' OR Name != '") == "'x\\' OR Name != \\''"
    assert literal(None) == "null" and literal(True) == "true" and literal(2.5) == "2.5"
    assert literal(7) == "7"
