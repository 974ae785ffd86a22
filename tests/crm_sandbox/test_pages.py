"""The demo pages: a person creates records with forms and sees what Bridgeflow writes back."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from crm_sandbox import crm_of

from .conftest import ACME, BEAMS, BOREALIS, RACKING, Api
from .helpers import free_port


def csrf(client: FlaskClient, path: str = "/") -> str:
    page = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "the page has no CSRF token"
    return match.group(1)


def pending_types(app: Flask) -> list[str]:
    return [e["type"] for e in app.test_client().get("/admin/outbox").json["pending"]]


def test_the_page_offers_the_demo_accounts_and_products(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    assert "Acme Industrial GmbH" in page and "Fjord Marine AS" in page
    assert "BF-600 Loading ramp" in page
    opportunities = page[page.index('id="opportunities"'):page.index('id="cases"')]
    assert "Acme: second warehouse racking" in opportunities
    assert "Proposal/Price Quote" in opportunities and "2026-12-18" in opportunities
    # Every form control has a label tied to it.
    ids = set(re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', page))
    labelled = set(re.findall(r'<label[^>]*\bfor="([^"]+)"', page))
    assert ids and ids <= labelled


def test_an_order_created_with_the_form_appears_activated(app: Flask,
                                                          client: FlaskClient) -> None:
    answer = client.post("/orders", data={
        "csrf_token": csrf(client), "account": ACME, "effective_date": "2025-03-03",
        "product": [RACKING, BEAMS, ""], "quantity": ["2", "4", "1"], "activate": "1"})
    assert answer.status_code == 302
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "Order 00000100 created and activated." in page
    row = re.search(r"<th scope=\"row\">00000100</th>(.*?)</tr>", page, re.S)
    assert row, "the order is not listed"
    cells = row.group(1)
    assert "Acme Industrial GmbH" in cells and "Activated" in cells
    assert "2 × BF-100" in cells and "4 × BF-110" in cells
    assert "1,100.00" in cells
    assert pending_types(app) == ["order.activated"]


def test_a_draft_order_is_activated_with_its_button(app: Flask, client: FlaskClient) -> None:
    client.post("/orders", data={"csrf_token": csrf(client), "account": BOREALIS,
                                 "product": [RACKING], "quantity": ["1"]})
    assert pending_types(app) == []
    order_id = Api(client).query("SELECT Id FROM Order").json["records"][0]["Id"]
    page = client.get("/").get_data(as_text=True)
    assert f"/orders/{order_id}/activate" in page
    answer = client.post(f"/orders/{order_id}/activate", data={"csrf_token": csrf(client)},
                         follow_redirects=True)
    assert "Order 00000100 activated." in answer.get_data(as_text=True)
    assert pending_types(app) == ["order.activated"]


def test_a_form_without_its_csrf_token_changes_nothing(app: Flask,
                                                       client: FlaskClient) -> None:
    answer = client.post("/orders", data={"account": ACME, "product": [RACKING],
                                          "quantity": ["1"], "activate": "1"})
    assert answer.status_code == 400
    assert "The form has expired" in answer.get_data(as_text=True)
    forged = client.post("/cases", data={"csrf_token": "forged", "account": ACME,
                                         "subject": "x", "category": "Other",
                                         "severity": "Low"})
    assert forged.status_code == 400
    assert Api(client).query("SELECT COUNT() FROM Order").json["totalSize"] == 0
    assert pending_types(app) == []


def test_a_mistake_in_the_order_form_is_explained(client: FlaskClient) -> None:
    token = csrf(client)
    none = client.post("/orders", data={"csrf_token": token, "account": ACME,
                                        "product": [""], "quantity": ["1"]},
                       follow_redirects=True)
    assert "The order was not created: choose at least one product" in none.get_data(
        as_text=True)
    zero = client.post("/orders", data={"csrf_token": token, "account": ACME,
                                        "product": [RACKING], "quantity": ["0"]},
                       follow_redirects=True)
    assert "at least 1 on line 1" in zero.get_data(as_text=True)
    assert Api(client).query("SELECT COUNT() FROM Order").json["totalSize"] == 0


def test_a_contract_submitted_with_the_form_awaits_approval(app: Flask,
                                                            client: FlaskClient) -> None:
    answer = client.post("/contracts", data={
        "csrf_token": csrf(client), "account": BOREALIS, "amount": "75000", "term": "24",
        "start_date": "2025-04-01"}, follow_redirects=True)
    page = answer.get_data(as_text=True)
    assert "Contract 00000100 submitted for approval." in page
    assert "75,000.00" in page and "In Approval Process" in page and "24 months" in page
    assert pending_types(app) == ["contract.submitted"]


def test_a_case_opened_with_the_form_shows_its_status(app: Flask, client: FlaskClient) -> None:
    order_id = Api(client).order([(RACKING, 1, 420.0)], account=ACME, activate=True)
    answer = client.post("/cases", data={
        "csrf_token": csrf(client), "account": ACME, "category": "Delivery",
        "severity": "High", "subject": "Pallet arrived damaged", "description": "Photos sent",
        "related_order": order_id}, follow_redirects=True)
    page = answer.get_data(as_text=True)
    assert "Case 00001000 opened." in page
    assert "Pallet arrived damaged" in page
    case = Api(client).query("SELECT ContactId, Contact.Email, Related_Order__c, Status, "
                             "Origin FROM Case").json["records"][0]
    assert case["Contact"]["Email"] == "orders@acme.example"
    assert (case["Related_Order__c"], case["Status"], case["Origin"]) == (order_id, "New",
                                                                          "Web")
    assert pending_types(app) == ["order.activated", "case.created"]


def test_what_bridgeflow_writes_back_shows_on_the_page(client: FlaskClient) -> None:
    api = Api(client)
    order_id = api.order([(RACKING, 1, 420.0)], activate=True)
    api.patch("Order", order_id, {"Status": "Synced to ERP", "ERP_Order_Number__c": "SO-2041",
                                  "ERP_Status__c": "confirmed"})
    api.create("Task", {"WhatId": order_id, "Subject": "Tell Acme the delivery date",
                        "ActivityDate": "2025-03-05"})
    part = client.get("/records").get_data(as_text=True)   # what the auto-refresh fetches
    assert "SO-2041" in part and "Synced to ERP" in part and "confirmed" in part
    assert "Tell Acme the delivery date" in part and "Order 00000100" in part
    assert "Sam Seller" in part


def test_the_outbox_page_lists_pending_and_delivered_events(make_app: Any) -> None:
    url = f"http://127.0.0.1:{free_port()}/unreachable"
    app = make_app(WEBHOOK_URL=url)
    client = app.test_client()
    Api(client).create("Case", {"AccountId": ACME, "Subject": "Wobbly"})
    crm_of(app).sender.deliver_due()
    page = client.get("/outbox").get_data(as_text=True)
    assert "Pending (1)" in page and "case.created" in page
    assert url in page
    assert "Retry now" in page
    event_id = client.get("/admin/outbox").json["pending"][0]["id"]
    answer = client.post(f"/outbox/{event_id}/retry", data={"csrf_token": csrf(client,
                                                                               "/outbox")},
                         follow_redirects=True)
    assert "The event will be sent again now." in answer.get_data(as_text=True)


def test_health(client: FlaskClient) -> None:
    assert client.get("/healthz").json == {"status": "ok"}
