"""Personal variables are sealed in every table, read back whole, and survive key rotation."""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text

from engine import Engine, NewReportFile, ReportKind
from engine.config import Settings
from engine.db import Database
from engine.models import Event
from engine.protect import ProtectionError, Protector, mask, parse_names, redact
from engine.registry import CallContext, OperationRegistry
from engine.sealed_columns import SealedJSON
from engine.worker import Worker

from .conftest import add_actors

EMAIL = "Fiona.Meyer@Example.com"
PHONE = "+49 171 2345667"
CONTACT = "fm-private@mailbox.example"
CLEAR = (EMAIL, EMAIL.lower(), PHONE, CONTACT, "2345667", "Fiona.Meyer", "fm-private")

PROCESS = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="defs"
    targetNamespace="http://bridgeflow.dev/test">
  <bpmn:process id="call_back" name="Call the customer back" isExecutable="true">
    <bpmn:startEvent id="start_event"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="normalise" name="Normalise" scriptFormat="python">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>customer_email = email.strip().lower()
domain = email.split("@")[1].lower()
digits = len([c for c in phone if c.isdigit()])</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:userTask id="phone_customer" name="Phone the customer"
        camunda:candidateGroups="support">
      <bpmn:extensionElements>
        <camunda:formData>
          <camunda:formField id="contact_email" label="E-mail to confirm to" type="string"/>
          <camunda:formField id="outcome" label="Outcome" type="string"/>
        </camunda:formData>
      </bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:serviceTask id="confirm" name="Confirm by e-mail" camunda:type="external"
        camunda:topic="test.confirm" camunda:resultVariable="confirmation">
      <bpmn:extensionElements>
        <camunda:inputOutput>
          <camunda:inputParameter name="to">${contact_email}</camunda:inputParameter>
        </camunda:inputOutput>
      </bpmn:extensionElements>
      <bpmn:incoming>f3</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:endEvent id="end_event"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start_event" targetRef="normalise"/>
    <bpmn:sequenceFlow id="f2" sourceRef="normalise" targetRef="phone_customer"/>
    <bpmn:sequenceFlow id="f3" sourceRef="phone_customer" targetRef="confirm"/>
    <bpmn:sequenceFlow id="f4" sourceRef="confirm" targetRef="end_event"/>
  </bpmn:process>
</bpmn:definitions>
"""


def key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


K1, K2 = key(), key()


class Mailer:
    """The connector: it must be handed the clear address."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    def confirm(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        self.sent.append(params["to"])
        return {"email": params["to"], "status": "sent"}


@pytest.fixture
def mailer() -> Mailer:
    return Mailer()


@pytest.fixture
def make_engine(database: Database, mailer: Mailer) -> Callable[..., Engine]:
    registry = OperationRegistry()
    registry.register("test.confirm", mailer.confirm)

    def make(keys: str = f"k1:{K1}", **settings: Any) -> Engine:
        engine = Engine(database, Settings(encryption_keys=keys, environment="production",
                                           secret_key="s" * 32, **settings), registry)
        engine.repository.deploy({"call_back.bpmn": PROCESS})
        add_actors(database)
        return engine

    return make


def run_all(engine: Engine) -> None:
    worker = Worker(engine, "test-worker")
    while worker.poll_once():
        pass


def raw_rows(db: Database) -> dict[str, str]:
    """Every row of the tables that could hold task data, as the database stores it."""
    out: dict[str, str] = {}
    with db.sql_engine.connect() as conn:
        for table in ("instances", "human_tasks", "events", "jobs", "incidents",
                      "message_subscriptions"):
            rows = conn.execute(text(f"SELECT * FROM {table}")).all()
            out[table] = "\n".join(
                " | ".join(_as_text(v) for v in row)
                for row in rows)
    return out


def _as_text(value: Any) -> str:
    if isinstance(value, bytes | memoryview):
        return bytes(value).decode("utf-8", "replace")
    if isinstance(value, dict | list):  # PostgreSQL hands JSON over decoded
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def start_and_complete(engine: Engine) -> str:
    inst = engine.runtime.start("call_back", "case-1", {"email": EMAIL, "phone": PHONE}, wait=5)
    assert inst.status == "waiting"
    task = engine.tasks.list_tasks(instance_id=inst.id).items[0]
    engine.tasks.complete(task.id, "sue", {"contact_email": CONTACT, "outcome": "reached"})
    return inst.id


def test_no_clear_personal_value_is_stored_anywhere(make_engine: Callable[..., Engine],
                                                    database: Database, mailer: Mailer,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    engine = make_engine()
    instance_id = start_and_complete(engine)
    waiting = raw_rows(database)  # the completion waits in human_tasks and in a job
    run_all(engine)
    assert engine.runtime.instance(instance_id).status == "completed"
    for stored in (waiting, raw_rows(database)):
        for table, content in stored.items():
            for value in CLEAR:
                assert value not in content, f"{value!r} is readable in {table}"
    assert '"$enc"' in stored["instances"] and '"kid": "k1"' in stored["instances"]
    logged = caplog.text + "".join(str(r.__dict__) for r in caplog.records)
    assert caplog.records  # SpiffWorkflow logs every step, with the task data as extras
    for value in CLEAR:
        assert value not in logged


def test_the_engine_and_the_process_see_clear_values(make_engine: Callable[..., Engine],
                                                     mailer: Mailer) -> None:
    engine = make_engine()
    instance_id = start_and_complete(engine)
    run_all(engine)
    variables = engine.runtime.instance(instance_id).variables
    assert variables["email"] == EMAIL and variables["phone"] == PHONE
    assert variables["customer_email"] == EMAIL.lower()  # the script read the clear value
    assert variables["domain"] == "example.com" and variables["digits"] == 12
    assert variables["contact_email"] == CONTACT
    assert variables["confirmation"] == {"email": CONTACT, "status": "sent"}
    assert mailer.sent == [CONTACT]  # the connector was handed the clear address
    task = engine.tasks.list_tasks(instance_id=instance_id, status="completed").items[0]
    assert engine.tasks.task(task.id).completion_data == {"contact_email": CONTACT,
                                                    "outcome": "reached"}
    listed = engine.runtime.list_instances(process_key="call_back").items[0]
    assert listed.variables["email"] == EMAIL


def test_audit_events_keep_only_masked_values(make_engine: Callable[..., Engine],
                                              database: Database) -> None:
    make_engine()  # the engine sets up the protection of this database
    with database.write() as s:
        s.add(Event(type="note", data={"who": {"email": EMAIL}, "phone": PHONE, "n": 1}))
    stored = raw_rows(database)["events"]
    assert EMAIL not in stored and "2345667" not in stored
    note = [e for e in engine_events(database) if e.type == "note"][0]
    assert note.data == {"who": {"email": "F•••@Example.com"}, "phone": "+49 •••• 67", "n": 1}


def engine_events(db: Database) -> list[Event]:
    with db.read() as s:
        return list(s.scalars(select(Event)))


def test_a_new_first_key_opens_old_values_and_seals_new_ones(
        make_engine: Callable[..., Engine], database: Database) -> None:
    old = make_engine(keys=f"k1:{K1}")
    instance_id = start_and_complete(old)
    rotated = make_engine(keys=f"k2:{K2},k1:{K1}")
    assert rotated.runtime.instance(instance_id).variables["email"] == EMAIL
    run_all(rotated)  # the instance is written again, now with k2
    stored = raw_rows(database)["instances"]
    assert '"kid": "k2"' in stored and '"kid": "k1"' not in stored
    assert rotated.runtime.instance(instance_id).variables["contact_email"] == CONTACT
    second = rotated.runtime.start("call_back", "case-2", {"email": EMAIL, "phone": PHONE}, wait=5)
    with database.sql_engine.connect() as conn:
        raw = conn.execute(text("SELECT variables FROM instances WHERE id = :id"),
                           {"id": second.id}).scalar_one()
    sealed = raw if isinstance(raw, dict) else json.loads(raw)
    assert sealed["email"]["kid"] == "k2"


def test_a_missing_key_is_named_in_the_error(make_engine: Callable[..., Engine]) -> None:
    instance_id = start_and_complete(make_engine(keys=f"k1:{K1}"))
    other = make_engine(keys=f"k2:{K2}")
    with pytest.raises(ProtectionError, match="key 'k1', which is not configured"):
        other.runtime.instance(instance_id)


def test_a_tampered_value_is_refused(make_engine: Callable[..., Engine],
                                     database: Database) -> None:
    engine = make_engine()
    inst = engine.runtime.start("call_back", "case-1", {"email": EMAIL, "phone": PHONE}, wait=5)
    with database.sql_engine.connect() as conn:
        raw = conn.execute(text("SELECT variables FROM instances WHERE id = :id"),
                           {"id": inst.id}).scalar_one()
        sealed = raw if isinstance(raw, dict) else json.loads(raw)
        ct = base64.b64decode(sealed["email"]["ct"])
        sealed["email"]["ct"] = base64.b64encode(bytes([ct[0] ^ 1]) + ct[1:]).decode()
        conn.execute(text("UPDATE instances SET variables = :v WHERE id = :id"),
                     {"v": json.dumps(sealed), "id": inst.id})
        conn.commit()
    with pytest.raises(ProtectionError, match="does not decrypt"):
        engine.runtime.instance(inst.id)


def test_outside_development_a_missing_key_refuses_to_start() -> None:
    with pytest.raises(ProtectionError, match="BRIDGEFLOW_ENCRYPTION_KEYS is not set"):
        Protector.from_settings(Settings(environment="production"))
    with pytest.raises(ProtectionError, match="key 'k1' must be 32 bytes"):
        Protector.from_settings(Settings(encryption_keys="k1:c2hvcnQ="))
    dev = Protector.from_settings(Settings())  # development: a derived key, with a warning
    assert dev.kid == "dev" and dev.open(dev.seal(EMAIL)) == EMAIL


def test_sealing_walks_nested_data_and_leaves_other_data_alone() -> None:
    protector = Protector([("k1", base64.b64decode(K1))], ["email", "phone"])
    plain = {"order": 7, "lines": [{"qty": 1}]}
    assert protector.seal_variables(plain) is plain  # nothing personal: nothing copied
    data = {"contacts": [{"email": EMAIL, "name": "Fiona"}], "phone": PHONE, "order": 7}
    sealed = protector.seal_variables(data)
    assert sealed["order"] == 7 and sealed["contacts"][0]["name"] == "Fiona"
    assert sealed["contacts"][0]["email"]["$enc"] == "v1" and sealed["phone"]["kid"] == "k1"
    assert data["phone"] == PHONE  # the caller's data is not changed
    assert protector.open_variables(sealed) == data


@pytest.mark.parametrize(("value", "shown"), [
    ("fiona@example.com", "f•••@example.com"),
    ("+49 171 2345667", "+49 •••• 67"),
    ("0171/2345667", "01 •••• 67"),
    ("Fiona Meyer", "F•••"),
    (4711, "•••"),
    (None, None),
])
def test_mask_shows_enough_to_recognise_but_not_to_use(value: Any, shown: Any) -> None:
    assert mask(value) == shown


def test_default_patterns_mask_any_spelling_and_nested_personal_values() -> None:
    protector = Protector([("k1", base64.b64decode(K1))],
                          parse_names(Settings().personal_variables))
    data = {"Email": EMAIL, "customerEmail": CONTACT, "customer": {"email": EMAIL,
                                                                    "name": "Fiona"},
            "contacts": [{"Mobile_Phone": PHONE}], "order": 7}
    masked = protector.mask_variables(data)
    assert not any(clear in json.dumps(masked) for clear in CLEAR)
    assert masked["customer"]["name"] == "Fiona" and masked["order"] == 7
    sealed = protector.seal_variables(data)
    assert not any(clear in json.dumps(sealed) for clear in CLEAR)
    assert protector.open_variables(sealed) == data


def test_a_dotted_pattern_matches_that_path_only() -> None:
    protector = Protector([("k1", base64.b64decode(K1))], ["Customer.Phone"])
    data = {"order": {"customer": {"phone": PHONE}}, "supplier": {"phone": "+49 30 1234567"}}
    masked = protector.mask_variables(data)
    assert masked["order"]["customer"]["phone"] == "+49 •••• 67"
    assert masked["supplier"]["phone"] == "+49 30 1234567"


# A serialized state is parsed and sealed only when a personal name may occur in it; that
# check reads the JSON text, where a key's characters may be escaped.
TELEPHONE = "+33 6 12 34 56 78"
KELVIN_KONTAKT = "\u212aontakt"  # "Kontakt" with the Kelvin sign, which lowers to "k"


@pytest.mark.parametrize(("patterns", "data"), [
    (["téléphone"], {"téléphone": TELEPHONE}),  # a pattern that is not ASCII
    (["TÉLÉPHONE"], {"Téléphone": TELEPHONE}),
    (["*kontakt"], {KELVIN_KONTAKT: TELEPHONE}),  # a key that lowers into the pattern
    (["ssn[0-9a-z]"], {"ssn1": TELEPHONE}),  # a class longer than the literal part
    (["*"], {"anything": TELEPHONE}),
])
def test_a_state_is_sealed_whatever_characters_its_personal_keys_have(
        patterns: list[str], data: dict[str, Any]) -> None:
    protector = Protector([("k1", base64.b64decode(K1))], patterns)
    blob = json.dumps({"tasks": {"t1": {"data": data}}}).encode()
    sealed = protector.seal_state(blob)
    assert TELEPHONE.encode() not in sealed and b'"$enc"' in sealed
    assert json.loads(protector.open_state(sealed)) == json.loads(blob)


def test_a_state_without_a_personal_key_is_not_parsed_again() -> None:
    protector = Protector([("k1", base64.b64decode(K1))], ["*email", "customer.phone"])
    blob = json.dumps({"tasks": {"t1": {"data": {"order": 7, "note": "call at 9"}}}}).encode()
    assert protector.seal_state(blob) is blob  # the same object: the text alone decided


def test_a_waiting_instance_seals_a_personal_variable_named_in_another_alphabet(
        make_engine: Callable[..., Engine], database: Database) -> None:
    engine = make_engine(personal_variables="téléphone")
    inst = engine.runtime.start("call_back", "case-1", {"email": EMAIL, "phone": PHONE,
                                                        "téléphone": TELEPHONE}, wait=5)
    assert inst.status == "waiting"  # its state, with every task's data, is stored
    stored = raw_rows(database)
    assert TELEPHONE not in stored["instances"], "the state keeps the number in clear"
    assert engine.runtime.instance(inst.id).variables["téléphone"] == TELEPHONE


@pytest.mark.parametrize("value", [
    {"order": 7, "lines": [{"sku": "A-1", "qty": 2}], "note": "café", "empty": {}},
    {"phone": {"$enc": "v1", "kid": "k1", "nonce": "AAAA", "ct": "BBBB"}},  # sealed
    {"$$enc": "a caller's key, escaped when stored"},
    {"text": "ends with $enc"},  # the mark in a value: read the long way, the same
    [1, "two", None],
])
def test_a_sqlite_read_without_a_sealed_value_skips_the_walk_and_answers_the_same(
        tmp_path: Path, value: Any) -> None:
    db = Database(f"sqlite:///{tmp_path / 'read.db'}")  # PostgreSQL hands JSON over decoded
    Engine(db, Settings(encryption_keys=f"k1:{K1}"))  # installs the database's protector
    dialect = db.sql_engine.dialect
    column = SealedJSON().dialect_impl(dialect)
    stored = json.dumps(value)  # as SQLite hands the column over
    read = column.result_processor(dialect, None)
    try:
        if '"$enc"' in stored:  # a sealed value is opened (this one is forged: refused)
            with pytest.raises(ProtectionError, match="does not decrypt"):
                read(stored)
        else:
            assert read(stored) == column.process_result_value(json.loads(stored), dialect)
    finally:
        db.dispose()


FAILING = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"
    targetNamespace="http://bridgeflow.dev/test">
  <bpmn:process id="count_it" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="count"/>
    <bpmn:scriptTask id="count" scriptFormat="python">
      <bpmn:script>n = int(order_ref) + int(contact.upper())</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:sequenceFlow id="f2" sourceRef="count" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>"""


def test_an_incident_does_not_repeat_a_personal_value_its_error_quotes(
        make_engine: Callable[..., Engine], database: Database) -> None:
    """A script fails on a personal value and its error quotes it (in capitals here): the
    incident's message, its details and its audit event keep only the value's mask."""
    engine = make_engine(personal_variables="*email,contact")
    engine.repository.deploy({"count_it.bpmn": FAILING})
    inst = engine.runtime.start("count_it", None, {"order_ref": "7", "contact": EMAIL},
                                wait=5)
    assert inst.status == "incident"
    [incident] = engine.management.incidents_of(inst.id)
    assert incident.element_id == "count"
    stored = raw_rows(database)
    for table in ("incidents", "events"):
        assert EMAIL.lower() not in stored[table].lower(), f"clear in {table}"
    # the message still says what went wrong, with the value masked
    assert "invalid literal for int()" in incident.message and mask(EMAIL) in incident.message


LOOKUP = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="d"
    targetNamespace="http://bridgeflow.dev/test">
  <bpmn:process id="look_up" isExecutable="true">
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="lookup"/>
    <bpmn:serviceTask id="lookup" camunda:type="external" camunda:topic="test.lookup">
      <bpmn:extensionElements><camunda:inputOutput>
        <camunda:inputParameter name="who">${email}</camunda:inputParameter>
      </camunda:inputOutput></bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="f2" sourceRef="lookup" targetRef="end"/>
    <bpmn:endEvent id="end"/>
  </bpmn:process>
</bpmn:definitions>"""


class Refused(Exception):
    """A connector's permanent failure, whose words quote what it was sent."""

    retryable = False

    def __init__(self, who: str) -> None:
        super().__init__(f"the CRM has no contact {who}")
        self.details = {"sent": who}


def test_a_connectors_error_does_not_repeat_a_personal_value(database: Database) -> None:
    def lookup(params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        raise Refused(params["who"])

    registry = OperationRegistry()
    registry.register("test.lookup", lookup)
    engine = Engine(database, Settings(encryption_keys=f"k1:{K1}", environment="production",
                                       secret_key="s" * 32), registry)
    engine.repository.deploy({"look_up.bpmn": LOOKUP})
    inst = engine.runtime.start("look_up", None, {"email": EMAIL}, wait=5)
    run_all(engine)
    assert engine.runtime.instance(inst.id).status == "incident"
    [incident] = engine.management.incidents_of(inst.id)
    assert f"has no contact {mask(EMAIL)}" in incident.message
    failed = [e for e in engine.history.events_of(inst.id) if e.type == "service_call"]
    assert failed and all(mask(EMAIL) in e.data["error"] for e in failed)
    stored = raw_rows(database)
    for table in ("incidents", "events"):
        assert EMAIL not in stored[table], f"clear in {table}"


def test_an_incident_keeps_a_value_that_is_not_personal(
        make_engine: Callable[..., Engine]) -> None:
    engine = make_engine()
    engine.repository.deploy({"count_it.bpmn": FAILING})
    inst = engine.runtime.start("count_it", None, {"order_ref": "SO-4711", "contact": "x"},
                                wait=5)
    [incident] = engine.management.incidents_of(inst.id)
    assert "'SO-4711'" in incident.message  # what the analyst needs to see, as it was


def test_redacting_free_text_masks_each_personal_value_in_any_case() -> None:
    protector = Protector([("k1", base64.b64decode(K1))], ["*email", "customer.phone"])
    data = {"email": EMAIL, "customer": {"phone": 4917123456, "name": "Fiona"},
            "backup_email": "fm@x.io", "code": "ABC"}
    values = protector.personal_values(data)
    assert sorted(values) == sorted([EMAIL, "4917123456", "fm@x.io"])  # not "Fiona", "ABC"
    text = f"failed on {EMAIL.upper()} and 4917123456, not on ABC or Fiona"
    assert redact(text, values) == (
        f"failed on {mask(EMAIL)} and {mask('4917123456')}, not on ABC or Fiona")
    assert redact("id 7 of fm@x.io", ["7", "fm@x.io"]) == f"id 7 of {mask('fm@x.io')}"


# -- stored report files ----------------------------------------------------------------------

def keep_report(engine: Engine, content: bytes) -> str:
    return engine.reports.store(kind=ReportKind.RECONCILIATION, title="Nightly reconciliation",
                                started_by="user:ann",
                                files=[NewReportFile("differences.csv", "text/csv", content)]).id


def stored_file(database: Database, report_id: str) -> bytes:
    with database.sql_engine.connect() as conn:
        return bytes(conn.execute(text("SELECT content FROM report_files WHERE report_id = :r"),
                                  {"r": report_id}).scalar_one())


def test_a_report_file_is_sealed_whole_and_downloads_as_it_was_made(
        make_engine: Callable[..., Engine], database: Database) -> None:
    content = f"record,email\r\ncustomer,{EMAIL}\r\n".encode()
    engine = make_engine()
    report_id = keep_report(engine, content)
    raw = stored_file(database, report_id)
    assert EMAIL.encode() not in raw and b"customer" not in raw  # nothing readable at rest
    assert b"k1" in raw[:16]  # the key it is sealed with, for rotation
    got = engine.reports.file(report_id, "differences.csv")
    assert got.content == content
    assert got.sha256 == hashlib.sha256(content).hexdigest()  # the ETag is the clear file's
    rotated = make_engine(keys=f"k2:{K2},k1:{K1}")
    assert rotated.reports.file(report_id, "differences.csv").content == content
    with pytest.raises(ProtectionError, match="key 'k1', which is not configured"):
        make_engine(keys=f"k2:{K2}").reports.file(report_id, "differences.csv")


def test_a_tampered_report_file_is_refused(make_engine: Callable[..., Engine],
                                           database: Database) -> None:
    engine = make_engine()
    report_id = keep_report(engine, b"record,id\r\norder,801\r\n")
    raw = bytearray(stored_file(database, report_id))
    raw[-1] ^= 1
    with database.sql_engine.begin() as conn:
        conn.execute(text("UPDATE report_files SET content = :c WHERE report_id = :r"),
                     {"c": bytes(raw), "r": report_id})
    with pytest.raises(ProtectionError, match="does not decrypt"):
        engine.reports.file(report_id, "differences.csv")


def test_without_keys_a_file_that_looks_sealed_is_kept_as_it_is(database: Database) -> None:
    engine = Engine(database, Settings(encryption_keys="", personal_variables=""))
    lookalike = b"\x00BFSEAL1\x02k1" + os.urandom(40)
    report_id = keep_report(engine, lookalike)
    assert engine.reports.file(report_id, "differences.csv").content == lookalike


TALLY = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="defs"
    targetNamespace="http://bridgeflow.dev/test">
  <bpmn:process id="tally" isExecutable="true">
    <bpmn:startEvent id="start_event"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="count" name="Count" scriptFormat="python">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>contacts_count = len(contacts)</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="end_event"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start_event" targetRef="count"/>
    <bpmn:sequenceFlow id="f2" sourceRef="count" targetRef="end_event"/>
  </bpmn:process>
</bpmn:definitions>"""


def test_a_start_that_ends_at_once_seals_lists_and_keeps_sealed_looking_data(
        make_engine: Callable[..., Engine], database: Database) -> None:
    engine = make_engine()
    engine.repository.deploy({"tally.bpmn": TALLY})
    forged = {"$enc": "v1", "kid": "k1", "nonce": "AAAA", "ct": "not a cipher text"}
    variables = {"contacts": [{"email": EMAIL, "tags": [{"$$enc": "x"}, "plain"]},
                              {"name": "Desk", "phone": PHONE}],
                 "notes": [forged, [forged]]}
    inst = engine.runtime.start("tally", None, variables, wait=5)
    assert inst.status == "completed" and inst.variables["contacts_count"] == 2
    stored = raw_rows(database)
    for value in CLEAR:
        assert value not in stored["instances"] and value not in stored["events"], value
    read = engine.runtime.instance(inst.id).variables
    assert read["contacts"] == variables["contacts"] and read["notes"] == variables["notes"]
