"""``reports.deliver`` e-mails a stored report's files to the groups a process names, through
the registered ``notify.email`` and a real SMTP server: the mail carries the stored bytes."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from engine import Engine, OperationRegistry
from engine.registry import CallContext
from engine.report_delivery import DeliveryError
from service_tasks.notify import EmailNotifier, operations

from ..service_tasks.test_notify import Mailbox, free_port
from .report_samples import sales_document

PASSWORD = "correct horse battery"


@pytest.fixture
def mailbox(registry: OperationRegistry) -> Iterator[Mailbox]:
    box = Mailbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    notifier = EmailNotifier("127.0.0.1", controller.port, sender="Bridgeflow <bf@example.com>",
                             timeout=5)
    for name, fn in operations(notifier).items():
        registry.register(name, fn)
    yield box
    controller.stop()


@pytest.fixture
def people(engine: Engine) -> None:
    identity = engine.identity
    identity.create_user("fin1", PASSWORD, groups=["finance"], role="user",
                         email="fin1@example.com")
    identity.create_user("fin2", PASSWORD, groups=["finance", "sales"], role="user",
                         email="Fin2@Example.com")
    identity.create_user("fin3", PASSWORD, groups=["finance"], role="user")  # no address
    identity.create_user("gone", PASSWORD, groups=["finance", "support"], role="user",
                         email="gone@example.com")
    identity.deactivate("gone")
    identity.create_user("sal1", PASSWORD, groups=["sales"], role="user",
                         email="sal1@example.com")


def call(engine: Engine, name: str, params: dict[str, Any], element: str = "deliver") -> Any:
    operation = engine._core.registry.get(name)
    assert operation is not None, name
    return operation.fn(params, CallContext("inst-9", "2026-11", element, 1))


def stored_sales_report(engine: Engine) -> str:
    result = call(engine, "reports.store", {"kind": "sales", "report": sales_document()},
                  "keep")
    return str(result["report_id"])


def test_the_groups_get_the_same_files_as_the_download(engine: Engine, mailbox: Mailbox,
                                                        people: None) -> None:
    report_id = stored_sales_report(engine)
    result = call(engine, "reports.deliver", {"report_id": report_id,
                                              "groups": "finance, sales"})
    [mail] = mailbox.received
    assert sorted(mail.rcpt_tos) == ["Fin2@Example.com", "fin1@example.com",
                                     "sal1@example.com"]
    assert mail.message["Subject"] == "Sales report: November 2026"
    body = mail.message.get_body(("plain",))
    assert body is not None and "Period: November 2026" in body.get_content()
    attached = {p.get_filename(): p.get_payload(decode=True)
                for p in mail.message.iter_attachments()}
    assert sorted(attached) == ["sales-2026-11.pdf", "sales-2026-11.xlsx"]
    for name, content in attached.items():
        stored = engine.reports.file(report_id, name)
        assert hashlib.sha256(content).hexdigest() == stored.sha256
    assert {f["name"]: f["sha256"] for f in result["files"]} == {
        name: hashlib.sha256(content).hexdigest() for name, content in attached.items()}
    assert result["message_id"] == mail.message["Message-ID"]


def test_files_and_extra_addresses_can_be_named(engine: Engine, mailbox: Mailbox,
                                                people: None) -> None:
    report_id = stored_sales_report(engine)
    call(engine, "reports.deliver", {
        "report_id": report_id, "groups": ["sales"], "to": ["boss@example.com"],
        "subject": "November figures", "body": "See the CSV.",
        "files": ["sales-2026-11-by_customer.csv"]})
    [mail] = mailbox.received
    assert sorted(mail.rcpt_tos) == ["Fin2@Example.com", "boss@example.com",
                                     "sal1@example.com"]
    assert mail.message["Subject"] == "November figures"
    [part] = mail.message.iter_attachments()
    assert part.get_filename() == "sales-2026-11-by_customer.csv"
    assert part.get_payload(decode=True) == engine.reports.file(
        report_id, "sales-2026-11-by_customer.csv").content


@pytest.mark.parametrize(("params", "message"), [
    ({"groups": "finance, support"}, "no active user with an e-mail address is in the "
                                     "group(s) 'support'"),
    ({"groups": "nobody-here"}, "group(s) 'nobody-here'"),
    ({"groups": []}, "needs 'groups' (Bridgeflow groups) or 'to'"),
    ({"groups": "finance", "files": ["secret.txt"]}, "has no file(s) 'secret.txt'"),
    ({"groups": "finance", "report_id": "nope"}, "no report with id 'nope'"),
    ({"groups": {"a": 1}}, "'groups' must be a list of names"),
])
def test_an_undeliverable_report_is_an_error_naming_why_and_no_mail(
        engine: Engine, mailbox: Mailbox, people: None, params: dict[str, Any],
        message: str) -> None:
    params = {"report_id": stored_sales_report(engine), **params}
    with pytest.raises(DeliveryError) as caught:
        call(engine, "reports.deliver", params)
    assert message in caught.value.message
    assert caught.value.retryable is False  # an incident for a person, not retries
    assert mailbox.received == []


def test_without_a_mail_connector_the_error_says_what_to_configure(engine: Engine,
                                                                    people: None) -> None:
    report_id = stored_sales_report(engine)
    with pytest.raises(DeliveryError, match="no 'notify.email' connector is configured"):
        call(engine, "reports.deliver", {"report_id": report_id, "groups": "finance"})


REPORT_PROCESS = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d_report_mail"
    targetNamespace="http://t">
  <bpmn:process id="report_mail" isExecutable="true">
    <bpmn:startEvent id="s"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:serviceTask id="keep" camunda:type="external" camunda:topic="reports.store"
        camunda:resultVariable="stored">
      <bpmn:extensionElements><camunda:inputOutput>
        <camunda:inputParameter name="kind">sales</camunda:inputParameter>
        <camunda:inputParameter name="report">${report}</camunda:inputParameter>
      </camunda:inputOutput></bpmn:extensionElements>
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:serviceTask id="mail" camunda:type="external" camunda:topic="reports.deliver"
        camunda:resultVariable="delivered">
      <bpmn:extensionElements><camunda:inputOutput>
        <camunda:inputParameter name="report_id">${stored['report_id']}</camunda:inputParameter>
        <camunda:inputParameter name="groups">finance</camunda:inputParameter>
      </camunda:inputOutput></bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:endEvent id="e"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="s" targetRef="keep"/>
    <bpmn:sequenceFlow id="f2" sourceRef="keep" targetRef="mail"/>
    <bpmn:sequenceFlow id="f3" sourceRef="mail" targetRef="e"/>
  </bpmn:process>
</bpmn:definitions>
"""


def test_a_process_stores_and_mails_its_report(engine: Engine, mailbox: Mailbox, people: None,
                                               drain: Any) -> None:
    engine.repository.deploy({"report_mail.bpmn": REPORT_PROCESS})
    instance = engine.runtime.start("report_mail", "2026-11", {"report": sales_document()})
    drain()
    done = engine.runtime.instance(instance.id)
    assert done.status == "completed"
    [mail] = mailbox.received
    delivered = done.variables["delivered"]
    pdf = next(p for p in mail.message.iter_attachments()
               if p.get_filename() == "sales-2026-11.pdf")
    report_id = done.variables["stored"]["report_id"]
    assert hashlib.sha256(pdf.get_payload(decode=True)).hexdigest() == engine.reports.file(
        report_id, "sales-2026-11.pdf").sha256
    assert sorted(delivered["recipients"]) == ["Fin2@Example.com", "fin1@example.com"]


def test_a_process_naming_an_empty_group_gets_an_incident_naming_it(
        engine: Engine, mailbox: Mailbox, drain: Any) -> None:
    engine.repository.deploy({"report_mail.bpmn": REPORT_PROCESS})
    instance = engine.runtime.start("report_mail", "2026-11", {"report": sales_document()})
    drain()
    assert engine.runtime.instance(instance.id).status == "incident"
    [incident] = engine.management.incidents_of(instance.id)
    assert "group(s) 'finance'" in incident.message
    assert mailbox.received == []
