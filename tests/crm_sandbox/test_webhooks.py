"""Outbound webhooks: written with the change, signed, retried with back-off, never lost."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from flask import Flask

from crm_sandbox import crm_of

from .conftest import ACME, BOREALIS, RACKING, SECRET, Api
from .helpers import FakeClock, Receiver, free_port


def valid_signature(headers: dict[str, str], body: bytes) -> bool:
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(headers["X-Bridgeflow-Signature"], expected)


def outbox(app: Flask) -> Any:
    return app.test_client().get("/admin/outbox").json


def test_activating_an_order_sends_a_signed_event(make_app: Any, receiver: Receiver) -> None:
    app = make_app(WEBHOOK_URL=receiver.url)
    api = Api(app.test_client())
    order_id = api.order([(RACKING, 2, 420.0)], activate=True)

    assert crm_of(app).sender.deliver_due().delivered == 1
    (delivery,) = receiver.deliveries
    assert delivery.headers["Content-Type"] == "application/json"
    assert valid_signature(delivery.headers, delivery.body)
    event = delivery.json
    assert set(event) == {"id", "type", "occurred_at", "object", "record_id", "data"}
    assert (event["type"], event["object"], event["record_id"]) == (
        "order.activated", "Order", order_id)
    assert event["occurred_at"] == "2025-03-01T09:00:00.000Z"
    assert event["data"]["Status"] == "Activated"
    assert event["data"]["TotalAmount"] == 840.0
    assert event["data"]["AccountId"] == ACME
    assert outbox(app)["delivered"][0]["id"] == event["id"]
    assert outbox(app)["pending"] == []


def test_submitting_a_contract_and_opening_a_case_send_events(make_app: Any,
                                                             receiver: Receiver) -> None:
    app = make_app(WEBHOOK_URL=receiver.url)
    api = Api(app.test_client())
    draft = api.create("Contract", {"AccountId": BOREALIS, "Amount__c": 50000})
    api.patch("Contract", draft, {"ContractTerm": 24})          # no event: still a draft
    api.patch("Contract", draft, {"Status": "In Approval Process"})
    case_id = api.create("Case", {"AccountId": ACME, "Subject": "Bent beams",
                                  "Category__c": "Quality", "Severity__c": "High"})
    crm_of(app).sender.deliver_due()
    events = [d.json for d in receiver.deliveries]
    assert [(e["type"], e["record_id"]) for e in events] == [
        ("contract.submitted", draft), ("case.created", case_id)]
    assert events[0]["data"]["Amount__c"] == 50000.0
    assert events[1]["data"]["Severity__c"] == "High"
    assert all(valid_signature(d.headers, d.body) for d in receiver.deliveries)
    assert len({e["id"] for e in events}) == 2


def test_a_refused_change_writes_no_event(make_app: Any, receiver: Receiver) -> None:
    app = make_app(WEBHOOK_URL=receiver.url)
    api = Api(app.test_client())
    empty_order = api.order([])
    assert api.patch("Order", empty_order, {"Status": "Activated"}).status_code == 400
    assert outbox(app)["pending"] == []


def test_a_failed_delivery_is_retried_with_growing_delays(make_app: Any, receiver: Receiver,
                                                          clock: FakeClock) -> None:
    app = make_app(WEBHOOK_URL=receiver.url)   # back-off: 10 s, doubling, at most 25 s
    sender = crm_of(app).sender
    Api(app.test_client()).create("Case", {"AccountId": ACME, "Subject": "Wrong colour"})
    receiver.statuses = [500, 503, 500]

    assert sender.deliver_due().failed == 1
    (pending,) = outbox(app)["pending"]
    assert (pending["attempts"], pending["last_status"]) == (1, 500)
    assert pending["next_attempt_at"] == clock.now + 10

    clock.advance(9.9)
    assert sender.deliver_due().failed == 0          # not due yet: nothing is sent
    assert len(receiver.deliveries) == 1
    clock.advance(0.1)
    assert sender.deliver_due().failed == 1
    assert outbox(app)["pending"][0]["next_attempt_at"] == clock.now + 20
    clock.advance(20)
    assert sender.deliver_due().failed == 1
    assert outbox(app)["pending"][0]["next_attempt_at"] == clock.now + 25   # capped
    clock.advance(25)
    assert sender.deliver_due().delivered == 1
    assert len(receiver.deliveries) == 4
    assert len({d.json["id"] for d in receiver.deliveries}) == 1   # the same event each time
    assert outbox(app)["delivered"][0]["attempts"] == 4


def test_a_receiver_that_is_down_gets_the_event_when_it_is_back(make_app: Any,
                                                                clock: FakeClock) -> None:
    port = free_port()
    app = make_app(WEBHOOK_URL=f"http://127.0.0.1:{port}/webhooks/crm")
    Api(app.test_client()).create("Case", {"AccountId": ACME, "Subject": "Missing parts"})
    sender = crm_of(app).sender
    assert sender.deliver_due().failed == 1
    assert "Connection" in outbox(app)["pending"][0]["last_error"]

    receiver = Receiver(port)
    try:
        clock.advance(10)
        assert sender.deliver_due().delivered == 1
        assert receiver.deliveries[0].json["type"] == "case.created"
    finally:
        receiver.stop()


def test_events_of_one_record_arrive_in_order(make_app: Any, receiver: Receiver,
                                              clock: FakeClock) -> None:
    app = make_app(WEBHOOK_URL=receiver.url)
    api = Api(app.test_client())
    contract = api.create("Contract", {"AccountId": ACME, "Status": "In Approval Process",
                                       "Amount__c": 1000})
    api.patch("Contract", contract, {"Status": "Draft"})
    api.patch("Contract", contract, {"Status": "In Approval Process", "Amount__c": 900})
    case_id = api.create("Case", {"AccountId": ACME, "Subject": "Other record"})
    receiver.statuses = [500]

    crm_of(app).sender.deliver_due()
    # The contract's first event failed, so its second waits; the case is not held up.
    assert [d.json["record_id"] for d in receiver.deliveries] == [contract, case_id]
    clock.advance(10)
    crm_of(app).sender.deliver_due()
    sent = [d.json for d in receiver.deliveries[2:]]
    assert [e["data"]["Amount__c"] for e in sent] == [1000.0, 900.0]


def test_a_pending_event_survives_a_restart(make_app: Any, clock: FakeClock) -> None:
    port = free_port()
    first = make_app(WEBHOOK_URL=f"http://127.0.0.1:{port}/hook")
    Api(first.test_client()).order([(RACKING, 1, 420.0)], activate=True)
    assert crm_of(first).sender.deliver_due().failed == 1
    (event,) = outbox(first)["pending"]
    crm_of(first).sender.stop()

    receiver = Receiver()
    try:
        restarted = make_app(WEBHOOK_URL=receiver.url)    # same database file
        assert outbox(restarted)["pending"][0]["id"] == event["id"]
        clock.advance(10)
        assert crm_of(restarted).sender.deliver_due().delivered == 1
        assert receiver.deliveries[0].json["id"] == event["id"]
        assert valid_signature(receiver.deliveries[0].headers, receiver.deliveries[0].body)
    finally:
        receiver.stop()


def test_the_background_sender_delivers_without_being_asked(make_app: Any,
                                                            receiver: Receiver) -> None:
    app = make_app(WEBHOOK_URL=receiver.url, WEBHOOK_SENDER=True, WEBHOOK_POLL_INTERVAL=30)
    Api(app.test_client()).create("Case", {"AccountId": ACME, "Subject": "Scratched ramp"})
    # The write wakes the sender: the event arrives long before the 30 s poll.
    (delivery,) = receiver.wait_for(1, timeout=5)
    assert delivery.json["type"] == "case.created"


def test_an_admin_can_retry_a_waiting_event_at_once(make_app: Any, receiver: Receiver) -> None:
    app = make_app(WEBHOOK_URL=receiver.url)
    Api(app.test_client()).create("Case", {"AccountId": ACME, "Subject": "Dented bin"})
    receiver.statuses = [502]
    crm_of(app).sender.deliver_due()
    event_id = outbox(app)["pending"][0]["id"]
    assert crm_of(app).sender.deliver_due().delivered == 0     # waiting for its back-off
    assert crm_of(app).sender.retry_now(event_id)
    assert crm_of(app).sender.deliver_due().delivered == 1


def test_without_a_webhook_url_events_wait(make_app: Any) -> None:
    app = make_app()
    Api(app.test_client()).create("Case", {"AccountId": ACME, "Subject": "Waiting"})
    assert crm_of(app).sender.deliver_due().delivered == 0
    assert outbox(app)["pending"][0]["type"] == "case.created"
