"""The pages people use, through Flask's test client: the inbox, task pages, the console."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from engine import Engine, TopicRequest
from engine.models import Event, HumanTask, Instance, utcnow
from engine.registry import CallContext, OperationRegistry, RetryPolicy
from engine.worker import Worker

from .conftest import AuthClient, prepared_app
from .processes import HEAD

BROWSER_FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "browser"
PASSWORD = "bridgeflow-demo"


class FlakyErp:
    """An ERP whose order creation fails until someone fixes it."""

    def __init__(self) -> None:
        self.broken = True
        self.calls = 0

    def push_order(self, params: dict[str, Any], ctx: CallContext) -> dict[str, Any]:
        self.calls += 1
        if self.broken:
            raise ConnectionError("the ERP refused the connection")
        return {"number": f"ERP-{params['reference']}"}


@pytest.fixture
def erp() -> FlakyErp:
    return FlakyErp()


@pytest.fixture
def app(tmp_path: Path, erp: FlakyErp) -> Iterator[Flask]:
    registry = OperationRegistry()
    registry.register("test.push_order", erp.push_order, retry=RetryPolicy(attempts=1))
    app = prepared_app({"database_url": f"sqlite:///{tmp_path / 'pages.db'}",
                        "run_worker_in_web": False, "processes_dir": str(BROWSER_FIXTURES),
                        "operations": registry}, demo_users=True)
    app.config["TESTING"] = True
    yield app
    app.extensions["bridgeflow"].close()


@pytest.fixture
def engine(app: Flask) -> Engine:
    eng: Engine = app.extensions["bridgeflow"]
    return eng


class Person:
    """A browser session of one demo user: pages by GET, forms by POST with the CSRF token."""

    def __init__(self, app: Flask, name: str) -> None:
        self.name = name
        self.client: FlaskClient = app.test_client()
        page = self.client.get("/login")
        response = self.client.post("/login", data={"name": name, "password": PASSWORD,
                                                    "csrf_token": _token(page.text)})
        assert response.status_code == 302, f"{name} could not sign in"
        self.token = _token(self.client.get("/inbox").text)

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.client.get(url, **kwargs)

    def post(self, url: str, data: dict[str, Any] | None = None, csrf: bool = True,
             **kwargs: Any) -> Any:
        form = dict(data or {})
        if csrf:
            form["csrf_token"] = self.token
        return self.client.post(url, data=form, **kwargs)


class People(dict[str, Person]):
    """The demo users, each signed in the first time a test needs them."""

    def __init__(self, app: Flask) -> None:
        super().__init__()
        self.app = app

    def __missing__(self, name: str) -> Person:
        person = self[name] = Person(self.app, name)
        return person


@pytest.fixture
def people(app: Flask) -> People:
    return People(app)


def _token(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page) \
        or re.search(r'<meta name="csrf-token" content="([^"]+)"', page)
    assert found, "the page has no CSRF token"
    return found.group(1)


def text_of(response: Any) -> str:
    """The page as a person reads it: tags gone, entities decoded, spaces squeezed."""
    body = re.sub(r"<(script|style)\b.*?</\1>", " ", response.get_data(as_text=True), flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body))).strip()


def settle(engine: Engine) -> None:
    """Run every due job, as the worker would."""
    worker = Worker(engine, "test-worker")
    while worker.poll_once():
        pass


def group_task(process_id: str, group: str, task_name: str) -> bytes:
    """A process whose only step is a user task for ``group``."""
    return (HEAD + f"""
  <bpmn:process id="{process_id}" name="{task_name} process" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>a</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="work" name="{task_name}" camunda:candidateGroups="{group}">
      <bpmn:incoming>a</bpmn:incoming><bpmn:outgoing>b</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>b</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="a" sourceRef="start" targetRef="work"/>
    <bpmn:sequenceFlow id="b" sourceRef="work" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>
""").encode()


def credit_review(engine: Engine, key: str = "CT-1001", amount: int = 25000) -> HumanTask:
    instance = engine.runtime.start("credit_review", key,
                                    {"customer": "ACME GmbH", "amount": amount}, wait=5)
    [task] = engine.tasks.open_tasks_of(instance.id)
    return task


def support_case(engine: Engine, key: str = "CASE-7") -> HumanTask:
    engine.repository.deploy({"support_case.bpmn": group_task("support_case", "support",
                                                   "Answer the complaint")})
    instance = engine.runtime.start("support_case", key, {"customer_email": "jane@example.com"},
                            wait=5)
    [task] = engine.tasks.open_tasks_of(instance.id)
    return task


def stuck_order(engine: Engine, order_id: str = "4711") -> Instance:
    instance = engine.runtime.start("order_push", f"ORD-{order_id}", {"order_id": order_id})
    settle(engine)
    instance = engine.runtime.instance(instance.id)
    assert instance.status == "incident"
    return instance


# -- signing in and who sees what -------------------------------------------------------------

def test_every_page_sends_a_signed_out_person_to_sign_in(app: Flask) -> None:
    client = app.test_client()
    pages = [r for r in app.url_map.iter_rules()
             if r.endpoint.split(".")[0] in ("inbox", "admin") and "GET" in (r.methods or ())]
    assert len(pages) >= 10
    for rule in pages:
        url = rule.build({name: "x" if name != "version" else 1 for name in rule.arguments})[1]
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].startswith("/login?next="), url
    assert client.get("/").headers["Location"] == "/inbox"


def test_the_inbox_shows_only_the_tasks_of_my_groups(engine: Engine,
                                                     people: People) -> None:
    credit_review(engine)
    support_case(engine)
    fiona = text_of(people["fiona"].get("/inbox"))
    assert "Review the credit" in fiona and "Answer the complaint" not in fiona
    assert "1 task." in fiona and "CT-1001" in fiona
    sue = text_of(people["sue"].get("/inbox"))
    assert "Answer the complaint" in sue and "Review the credit" not in sue
    sam = text_of(people["sam"].get("/inbox"))
    assert "Nothing to do here" in sam
    admin = text_of(people["admin"].get("/inbox"))
    assert "Review the credit" in admin and "Answer the complaint" in admin


def test_the_inbox_filters_counts_marks_overdue_and_sorts(engine: Engine,
                                                          people: People) -> None:
    first = credit_review(engine, "CT-1")
    second = credit_review(engine, "CT-2")
    third = credit_review(engine, "CT-3")
    engine.tasks.claim(first.id, "fiona")
    with engine._core.db.write() as s:
        s.execute(update(HumanTask).where(HumanTask.id == second.id)
                  .values(due_at=utcnow() - timedelta(hours=2), priority=10))
        s.execute(update(HumanTask).where(HumanTask.id == third.id).values(priority=90))
    fiona = people["fiona"]
    page = text_of(fiona.get("/inbox"))
    assert "Claimed by me 1" in page and "Unclaimed 2" in page and "Overdue only 1" in page
    assert "1 overdue" in page and "2 h ago overdue" in page
    mine = text_of(fiona.get("/inbox?show=mine"))
    assert "CT-1" in mine and "CT-2" not in mine and "claimed by you" in mine
    unclaimed = text_of(fiona.get("/inbox?show=unclaimed"))
    assert "CT-1" not in unclaimed and "CT-2" in unclaimed and "CT-3" in unclaimed
    late = text_of(fiona.get("/inbox?overdue=1"))
    assert "CT-2" in late and "CT-3" not in late
    by_due = text_of(fiona.get("/inbox?sort=due"))
    assert by_due.index("CT-2") < by_due.index("CT-1")
    by_priority = text_of(fiona.get("/inbox?sort=priority"))
    assert by_priority.index("CT-3") < by_priority.index("CT-1") < by_priority.index("CT-2")
    assert "high (90)" in by_priority


def test_the_list_refreshes_itself_only_when_something_changed(engine: Engine,
                                                               people: People,
                                                               ) -> None:
    credit_review(engine, "CT-1")
    page = people["fiona"].get("/inbox").get_data(as_text=True)
    assert 'hx-trigger="every 20s"' in page
    digest = re.search(r'hx-vals=\'\{"v": "([0-9a-f]+)"\}\'', page)
    assert digest is not None
    unchanged = people["fiona"].get(f"/inbox/queue?v={digest.group(1)}")
    assert unchanged.status_code == 204
    credit_review(engine, "CT-NEW")
    changed = people["fiona"].get(f"/inbox/queue?v={digest.group(1)}")
    assert changed.status_code == 200 and "CT-NEW" in text_of(changed)
    assert "<html" not in changed.get_data(as_text=True)  # only the list, to swap in


def test_a_task_of_another_group_is_refused_with_a_403_page_and_audited(
        engine: Engine, people: People) -> None:
    task = credit_review(engine)
    sue = people["sue"]
    for response in (sue.get(f"/inbox/tasks/{task.id}"),
                     sue.get(f"/inbox/tasks/{task.id}/diagram.bpmn"),
                     sue.post(f"/inbox/tasks/{task.id}/claim"),
                     sue.post(f"/inbox/tasks/{task.id}/complete", {"decision": "approve"})):
        assert response.status_code == 403
        assert "You may not do this" in text_of(response)
    assert engine.tasks.task(task.id).status == "ready"
    with engine._core.db.read() as s:
        refusals = list(s.scalars(select(Event).where(Event.type == "access_denied",
                                                      Event.actor == "sue")))
    assert len(refusals) == 4


def test_an_unknown_task_is_a_404_page(people: People) -> None:
    response = people["fiona"].get("/inbox/tasks/no-such-task")
    assert response.status_code == 404
    assert "no task with id 'no-such-task'" in text_of(response)


# -- working on a task ------------------------------------------------------------------------

def test_the_task_page_shows_the_case_the_form_and_the_history(engine: Engine,
                                                               people: People) -> None:
    task = credit_review(engine)
    response = people["fiona"].get(f"/inbox/tasks/{task.id}")
    page = response.get_data(as_text=True)
    text = text_of(response)
    assert "Review the credit" in text and "Credit review · CT-1001" in text
    assert "Customer ACME GmbH" in text and "Amount 25000" in text
    assert "Claim this task to work on it" in text
    for label in ("Decision", "Approved credit limit (EUR)", "Comment"):
        assert label in text
    assert "Leave empty to keep the customer's current limit." in text
    assert '<label for="f-approved_limit">' in page and 'id="f-comment"' in page
    assert 'data-current=\'["review_credit"]\'' in page
    assert "Created for finance" in text
    assert "Open the instance" not in text  # the instance link is for admins


def test_a_wrongly_filled_form_comes_back_with_messages_and_the_values_typed(
        engine: Engine, people: People) -> None:
    task = credit_review(engine)
    fiona = people["fiona"]
    fiona.post(f"/inbox/tasks/{task.id}/claim")
    response = fiona.post(f"/inbox/tasks/{task.id}/complete",
                          {"approved_limit": "-5", "comment": "keep this text"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    text = text_of(response)
    assert "The form is not filled in correctly." in text
    assert "Decision: Fill this in, it is required." in text
    assert "Approved credit limit (EUR): Must be at least 0. " in text
    assert 'value="-5"' in page and ">keep this text</textarea>" in page
    assert 'aria-invalid="true"' in page and 'id="f-approved_limit-error"' in page
    not_a_number = fiona.post(f"/inbox/tasks/{task.id}/complete",
                              {"decision": "approve", "approved_limit": "lots"})
    assert not_a_number.status_code == 422
    assert "Must be a whole number, like 1200" in text_of(not_a_number)
    assert engine.tasks.task(task.id).status == "claimed"


def test_claiming_and_completing_a_task_moves_the_process_on(engine: Engine,
                                                             people: People) -> None:
    task = credit_review(engine)
    fiona = people["fiona"]
    claimed = fiona.post(f"/inbox/tasks/{task.id}/claim", follow_redirects=True)
    assert "You have claimed “Review the credit”." in text_of(claimed)
    assert "Give back to the queue" in text_of(claimed)
    done = fiona.post(f"/inbox/tasks/{task.id}/complete",
                      {"decision": "approve", "approved_limit": "30000", "comment": "fine"},
                      follow_redirects=True)
    assert done.request.path == "/inbox"
    assert "Done: “Review the credit” is completed" in text_of(done)
    settle(engine)
    instance = engine.runtime.instance(task.instance_id)
    assert instance.status == "completed"
    assert instance.variables["outcome"] == "approved"
    assert instance.variables["approved_limit"] == 30000
    history = text_of(fiona.get(f"/inbox/tasks/{task.id}"))
    assert "Claimed by fiona" in history and "Completed by fiona" in history
    assert "Completed by fiona" in history and "Decision approve" in history


def test_a_signed_in_person_acts_only_as_themself(engine: Engine, people: People) -> None:
    task = credit_review(engine)
    fiona = people["fiona"]
    fiona.post(f"/inbox/tasks/{task.id}/claim", {"user": "frank"})
    assert engine.tasks.task(task.id).assignee == "fiona"
    fiona.post(f"/inbox/tasks/{task.id}/complete",
               {"decision": "approve", "approved_limit": "30000", "user": "frank"})
    done = engine.tasks.task(task.id)
    assert (done.status, done.completed_by) == ("completed", "fiona")
    assert {e.actor for e in engine.tasks.history(done)
            if e.type in ("task_claimed", "task_completed")} == {"fiona"}


def test_giving_a_task_back_is_for_whoever_claimed_it(engine: Engine,
                                                      people: People) -> None:
    task = credit_review(engine)
    people["fiona"].post(f"/inbox/tasks/{task.id}/claim")
    assert "fiona is working on this task." in text_of(people["frank"].get(
        f"/inbox/tasks/{task.id}"))
    refused = people["frank"].post(f"/inbox/tasks/{task.id}/unclaim")
    assert refused.status_code == 403
    assert engine.tasks.task(task.id).assignee == "fiona"
    back = people["fiona"].post(f"/inbox/tasks/{task.id}/unclaim", follow_redirects=True)
    assert "is back in the queue of finance" in text_of(back)
    assert engine.tasks.task(task.id).assignee is None


def test_claiming_a_task_someone_else_just_took_says_so(engine: Engine,
                                                        people: People) -> None:
    task = credit_review(engine)
    engine.tasks.claim(task.id, "frank")
    response = people["fiona"].post(f"/inbox/tasks/{task.id}/claim", follow_redirects=True)
    assert "That did not work: the task is claimed by frank" in text_of(response)
    assert engine.tasks.task(task.id).assignee == "frank"


def test_comments_stay_with_the_task(engine: Engine, people: People) -> None:
    task = credit_review(engine)
    saved = people["fiona"].post(f"/inbox/tasks/{task.id}/comments",
                                 {"text": "Called the customer, waiting for the balance."},
                                 follow_redirects=True)
    assert "Your comment is saved with the task." in text_of(saved)
    later = text_of(people["frank"].get(f"/inbox/tasks/{task.id}"))
    assert "fiona" in later and "Called the customer, waiting for the balance." in later
    empty = people["fiona"].post(f"/inbox/tasks/{task.id}/comments", {"text": "  "})
    assert empty.status_code == 422 and "write a comment first" in text_of(empty)
    trail = [e for e in engine.history.events_of(task.instance_id) if e.type == "task_comment"]
    assert [(e.actor, e.data["task_id"]) for e in trail] == [("fiona", task.id)]


def test_personal_data_is_masked_for_people_without_the_right(engine: Engine,
                                                              people: People) -> None:
    engine.repository.deploy(
        {"sales_call.bpmn": group_task("sales_call", "sales", "Call the customer")})
    instance = engine.runtime.start("sales_call", "LEAD-1", {"customer_email": "jane@example.com",
                                                     "region": "EU"}, wait=5)
    [task] = engine.tasks.open_tasks_of(instance.id)
    sam = text_of(people["sam"].get(f"/inbox/tasks/{task.id}"))
    assert "Region EU" in sam and "jane@example.com" not in sam
    admin = text_of(people["admin"].get(f"/admin/instances/{instance.id}"))
    assert "jane@example.com" in admin


def test_personal_data_is_masked_by_pattern_whatever_its_spelling(engine: Engine,
                                                                  people: People) -> None:
    engine.repository.deploy(
        {"sales_call.bpmn": group_task("sales_call", "sales", "Call the customer")})
    personal = {"Email": "jane@example.com", "customerEmail": "joe@example.com",
                "customer": {"email": "ann@example.com", "phone": "+49 171 2345667"}}
    instance = engine.runtime.start("sales_call", "LEAD-2", {**personal, "region": "EU"},
                                    wait=5)
    [task] = engine.tasks.open_tasks_of(instance.id)
    sam = text_of(people["sam"].get(f"/inbox/tasks/{task.id}"))
    assert "Region EU" in sam
    for clear in ("jane@example.com", "joe@example.com", "ann@example.com", "2345667"):
        assert clear not in sam
    admin = text_of(people["admin"].get(f"/admin/instances/{instance.id}"))
    assert "joe@example.com" in admin and "ann@example.com" in admin


# -- the admin console ------------------------------------------------------------------------

def test_the_console_is_for_admins_and_definitions_also_for_analysts(
        people: People) -> None:
    for name in ("fiona", "sue", "ana"):
        response = people[name].get("/admin")
        assert response.status_code == 403, name
        assert "You may not do this" in text_of(response)
    assert people["ana"].get("/admin/instances").status_code == 403
    assert people["ana"].get("/admin/definitions").status_code == 200
    assert people["fiona"].get("/admin/definitions").status_code == 403
    nav = text_of(people["ana"].get("/admin/definitions"))
    assert "Definitions" in nav and "Dashboard" not in nav


def test_the_dashboard_shows_status_counts_charts_and_incidents(engine: Engine, erp: FlakyErp,
                                                                people: People) -> None:
    task = credit_review(engine)
    engine.tasks.complete(task.id, "fiona", {"decision": "reject"})
    settle(engine)
    stuck_order(engine)
    response = people["admin"].get("/admin")
    page = response.get_data(as_text=True)
    text = text_of(response)
    assert "1 open incident" in text and "1 completed" in text and "1 incident" in text
    assert "Credit review" in text and "Order push" in text and "100 %" in text
    assert page.count('<svg class="chart"') == 4
    assert "Credit review: instances completed per day" in page
    assert "the ERP refused the connection" in text
    assert "histograms with buckets 10 % wide" in text  # the p95's accuracy is said


def test_the_instances_list_filters_and_pages(engine: Engine, erp: FlakyErp,
                                              people: People,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    for n in range(30):
        credit_review(engine, f"CT-{n:03d}")
    stuck_order(engine, "1")
    admin = people["admin"]
    first = text_of(admin.get("/admin/instances"))
    assert "31 instances" in first and "Page 1 of 2" in first
    assert "Page 2 of 2" in text_of(admin.get("/admin/instances?page=2"))
    stuck = text_of(admin.get("/admin/instances?status=incident"))
    assert "1 instance," in stuck and "ORD-1" in stuck and "CT-001" not in stuck
    one = text_of(admin.get("/admin/instances?business_key=CT-007"))
    assert "1 instance," in one and "CT-007" in one
    today = utcnow().date()
    assert "31 instances" in text_of(admin.get(f"/admin/instances?from={today}&to={today}"))
    future = today + timedelta(days=1)
    assert "0 instances" in text_of(admin.get(f"/admin/instances?from={future}"))
    bad = text_of(admin.get("/admin/instances?from=yesterday"))
    assert "use a date like 2026-01-31" in bad
    monkeypatch.setattr("engine.history_service.COUNT_LIMIT", 20)  # a long history
    capped = text_of(admin.get("/admin/instances"))
    assert "20+ instances (counted up to there)" in capped and "Page 1 of 2+" in capped


def test_the_instance_page_shows_the_incident_on_the_diagram_and_in_full(
        engine: Engine, erp: FlakyErp, people: People) -> None:
    instance = stuck_order(engine)
    response = people["admin"].get(f"/admin/instances/{instance.id}")
    page = response.get_data(as_text=True)
    text = text_of(response)
    assert "Open incident" in text and "Element push_to_erp" in text
    assert "test.push_order failed 1 time(s); last error: ConnectionError: the ERP refused " \
           "the connection" in text
    assert "data-incidents='[\"push_to_erp\"]'" in page
    assert "data-visited='[\"order_created\", \"prepare_order\", \"push_to_erp\"]'" in page
    assert "order_id" in text and "4711" in text  # variables
    assert "incident opened" in text  # the audit trail


def test_retrying_an_incident_needs_confirmation_then_the_instance_completes(
        engine: Engine, erp: FlakyErp, people: People) -> None:
    instance = stuck_order(engine)
    [incident] = engine.management.incidents_of(instance.id)
    admin = people["admin"]
    confirm = admin.get(f"/admin/incidents/{incident.id}/confirm-retry")
    assert "Retry the failed step?" in text_of(confirm)
    assert 'name="confirmed" value="yes"' in confirm.get_data(as_text=True)
    unconfirmed = admin.post(f"/admin/incidents/{incident.id}/retry")
    assert unconfirmed.status_code == 400
    assert "Nothing was done yet" in text_of(unconfirmed)
    assert engine.management.incidents_of(instance.id) != []
    forged = admin.post(f"/admin/incidents/{incident.id}/retry", {"confirmed": "yes"},
                        csrf=False)
    assert forged.status_code == 400 and engine.management.incidents_of(instance.id) != []
    erp.broken = False
    done = admin.post(f"/admin/incidents/{incident.id}/retry", {"confirmed": "yes"},
                      follow_redirects=True)
    assert "is being tried again" in text_of(done)
    settle(engine)
    assert engine.runtime.instance(instance.id).status == "completed"
    retried = [e for e in engine.history.events_of(instance.id) if e.type == "incident_retried"]
    assert [e.actor for e in retried] == ["admin"]


@pytest.mark.parametrize("action, before, after", [
    ("suspend", "waiting", "suspended"),
    ("terminate", "waiting", "terminated"),
])
def test_instance_actions_need_confirmation_and_csrf_and_are_audited(
        engine: Engine, people: People, action: str, before: str,
        after: str) -> None:
    task = credit_review(engine)
    admin = people["admin"]
    url = f"/admin/instances/{task.instance_id}"
    assert f"/confirm/{action}" in admin.get(url).get_data(as_text=True)
    confirm = text_of(admin.get(f"{url}/confirm/{action}"))
    assert f"{action.capitalize()} this instance?" in confirm and "No, go back" in confirm
    unconfirmed = admin.post(f"{url}/{action}")
    assert unconfirmed.status_code == 400
    assert engine.runtime.instance(task.instance_id).status == before
    forged = admin.post(f"{url}/{action}", {"confirmed": "yes"}, csrf=False)
    assert forged.status_code == 400
    assert engine.runtime.instance(task.instance_id).status == before
    done = admin.post(f"{url}/{action}", {"confirmed": "yes"}, follow_redirects=True)
    assert engine.runtime.instance(task.instance_id).status == after
    assert after in text_of(done)
    audit = [e for e in engine.history.events_of(task.instance_id) if e.actor == "admin"]
    assert [e.data.get("admin_action") for e in audit] == [action]


def test_moving_the_token_back_to_an_earlier_task(engine: Engine,
                                                  people: People) -> None:
    engine.repository.deploy({"two_steps.bpmn": HEAD.encode() + b"""
  <bpmn:process id="two_steps" name="Two steps" isExecutable="true">
    <bpmn:startEvent id="start"><bpmn:outgoing>a</bpmn:outgoing></bpmn:startEvent>
    <bpmn:userTask id="first" name="First check" camunda:candidateGroups="finance">
      <bpmn:incoming>a</bpmn:incoming><bpmn:outgoing>b</bpmn:outgoing></bpmn:userTask>
    <bpmn:userTask id="second" name="Second check" camunda:candidateGroups="finance">
      <bpmn:incoming>b</bpmn:incoming><bpmn:outgoing>c</bpmn:outgoing></bpmn:userTask>
    <bpmn:endEvent id="end"><bpmn:incoming>c</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="a" sourceRef="start" targetRef="first"/>
    <bpmn:sequenceFlow id="b" sourceRef="first" targetRef="second"/>
    <bpmn:sequenceFlow id="c" sourceRef="second" targetRef="end"/>
  </bpmn:process>
</bpmn:definitions>"""})
    instance = engine.runtime.start("two_steps", "TS-1", {}, wait=5)
    [first] = engine.tasks.open_tasks_of(instance.id)
    engine.tasks.complete(first.id, "fiona", {})
    settle(engine)
    admin = people["admin"]
    url = f"/admin/instances/{instance.id}"
    page = admin.get(url).get_data(as_text=True)
    assert '<option value="first">First check (first)</option>' in page
    no_target = admin.get(f"{url}/confirm/move")
    assert no_target.status_code == 400 and "Choose the task" in text_of(no_target)
    confirm = text_of(admin.get(f"{url}/confirm/move?element_id=first"))
    assert "Move the token back?" in confirm and "Back to First check first" in confirm
    never = admin.post(f"{url}/move", {"confirmed": "yes", "element_id": "end"},
                       follow_redirects=True)
    assert "That did not work: the instance never reached 'end'" in text_of(never)
    admin.post(f"{url}/move", {"confirmed": "yes", "element_id": "first"})
    settle(engine)
    [again] = engine.tasks.open_tasks_of(instance.id)
    assert again.element_id == "first"
    moved = [e for e in engine.history.events_of(instance.id) if e.type == "token_moved"]
    assert [e.actor for e in moved] == ["admin"]


def test_an_action_that_no_longer_applies_says_why(engine: Engine,
                                                   people: People) -> None:
    task = credit_review(engine)
    engine.management.terminate(task.instance_id, "someone")
    response = people["admin"].post(f"/admin/instances/{task.instance_id}/suspend",
                                    {"confirmed": "yes"}, follow_redirects=True)
    assert "cannot suspend an instance that is terminated" in text_of(response)


# -- definitions and decisions ----------------------------------------------------------------

def test_definitions_list_versions_and_diagram_sources(people: People) -> None:
    ana = people["ana"]
    text = text_of(ana.get("/admin/definitions"))
    assert "Credit review" in text and "Order push" in text and "Credit route" in text
    page = ana.get("/admin/definitions/credit_review").get_data(as_text=True)
    assert 'data-diagram-url="/admin/definitions/credit_review/1/source"' in page
    source = ana.get("/admin/definitions/credit_review/1/source")
    assert source.mimetype == "application/xml" and b"review_credit" in source.data
    assert ana.get("/admin/definitions/credit_review?version=9").status_code == 404


def test_uploading_a_broken_file_lists_every_problem_and_deploys_nothing(
        engine: Engine, people: People) -> None:
    broken = (BROWSER_FIXTURES / "credit_review.bpmn").read_bytes().replace(
        b'targetRef="is_approved"/>', b'targetRef="nowhere"/>')
    response = people["ana"].post("/admin/definitions", {
        "files": [(_file(broken), "credit_review.bpmn"), (_file(b"hello"), "notes.txt")]},
        content_type="multipart/form-data")
    assert response.status_code == 422
    text = text_of(response)
    assert "Nothing was deployed:" in text
    assert "credit_review.bpmn" in text and "notes.txt" in text
    assert "unknown kind of file" in text
    assert len(engine.repository.definition_versions("credit_review")) == 1


def test_uploading_a_changed_process_makes_a_new_version(engine: Engine,
                                                         people: People) -> None:
    changed = (BROWSER_FIXTURES / "credit_review.bpmn").read_bytes().replace(
        b'name="Credit review"', b'name="Credit review (2)"')
    response = people["ana"].post("/admin/definitions",
                                  {"files": [(_file(changed), "credit_review.bpmn")]},
                                  content_type="multipart/form-data", follow_redirects=True)
    assert "Deployed credit_review version 2." in text_of(response)
    assert engine.repository.definition("credit_review").deployed_by == "ana"
    nothing = people["ana"].post("/admin/definitions", {}, content_type="multipart/form-data")
    assert nothing.status_code == 400 and "choose one or more" in text_of(nothing)


def test_the_decision_tester_shows_outputs_and_matched_rules(people: People) -> None:
    ana = people["ana"]
    page = text_of(ana.get("/admin/definitions/credit_route"))
    assert "Contract amount amount · number" in page and 'allowed: "A","B","C"' in page
    result = ana.post("/admin/decisions/credit_route/evaluate",
                      {"in-amount": "5000", "in-rating": "B"})
    text = text_of(result)
    assert result.status_code == 200
    assert '"auto-approve"' in text and "Matched rule: 1 (rule_small)" in text
    assert "data-matched='[\"rule_small\"]'" in result.get_data(as_text=True)
    review = text_of(ana.post("/admin/decisions/credit_route/evaluate",
                              {"in-amount": "50000", "in-rating": "A"}))
    assert '"finance review"' in review and "Matched rule: 3" in review
    wrong = ana.post("/admin/decisions/credit_route/evaluate",
                     {"in-amount": "a lot", "in-rating": "A"})
    assert wrong.status_code == 422
    assert "Contract amount must be a number, not 'a lot'" in text_of(wrong)
    assert 'value="a lot"' in wrong.get_data(as_text=True)


def _file(content: bytes) -> Any:
    import io

    return io.BytesIO(content)


def test_the_console_shows_the_path_through_links_and_a_signal_on_the_instance_page(
        engine: Engine, people: People) -> None:
    from tests.engine.test_bpmn_constructs import LINKS, WAITS_FOR_RECALL

    engine.repository.deploy({"linked.bpmn": LINKS, "order_watch.bpmn": WAITS_FOR_RECALL})
    linked = engine.runtime.start("linked", "LNK-1", {}, wait=5)
    admin = people["admin"]
    page = admin.get(f"/admin/instances/{linked.id}")
    assert page.status_code == 200
    text = text_of(page)
    for element in ("go_on", "page2", "second"):  # the link pair is on the path taken
        assert element in text
    watched = engine.runtime.start("order_watch", "OW-1", {}, wait=5)
    engine.runtime.send_signal("product_recall", sender="admin")
    settle(engine)
    assert engine.runtime.instance(watched.id).status == "completed"
    events = text_of(admin.get(f"/admin/instances/{watched.id}"))
    assert "signal accepted recalled admin name product_recall" in events  # who sent it
    assert "signal received" in events


def test_caller_and_called_instance_link_to_each_other_in_the_console_and_the_api(
        engine: Engine, people: People, client: Any) -> None:
    from tests.engine.test_call_activity import CHILD, PARENT

    engine.repository.deploy({"pack.bpmn": CHILD.encode()})
    engine.repository.deploy({"ship.bpmn": PARENT.format(mappings="", attrs="").encode()})
    caller = engine.runtime.start("ship", "CALL-1", {}, wait=5)
    [called] = engine.runtime.called_instances(caller.id)
    admin = people["admin"]
    page = admin.get(f"/admin/instances/{caller.id}").get_data(as_text=True)
    assert f'href="/admin/instances/{called.id}"' in page  # the caller lists what it called
    assert "Called instances" in page and "pack" in page
    back = admin.get(f"/admin/instances/{called.id}").get_data(as_text=True)
    assert f'href="/admin/instances/{caller.id}"' in back and "call_pack" in back
    body = client.get(f"/api/v1/process-instances/{caller.id}").get_json()
    assert [(c["id"], c["element_id"], c["status"]) for c in body["called_instances"]] == [
        (called.id, "call_pack", "waiting")]
    child = client.get(f"/api/v1/process-instances/{called.id}").get_json()
    assert (child["parent_instance_id"], child["parent_element_id"]) == (caller.id, "call_pack")
    listed = client.get(f"/api/v1/process-instances?parent_instance_id={caller.id}").get_json()
    assert [i["id"] for i in listed["items"]] == [called.id]


def test_a_variable_shaped_like_a_sealed_value_stays_data(engine: Engine, client: AuthClient,
                                                          people: People) -> None:
    engine.repository.deploy(
        {"sales_call.bpmn": group_task("sales_call", "sales", "Call the customer")})
    forged = {"$enc": "v1", "kid": "k1", "nonce": "AAAA", "ct": "not a cipher text",
              "nested": {"$$enc": "v1", "ct": "x"}}
    resp = client.post("/api/v1/process-instances",
                       json={"process_key": "sales_call",
                             "variables": {"note": forged, "email": forged}})
    assert resp.status_code == 201
    listed = client.get("/api/v1/process-instances")
    assert listed.status_code == 200
    [item] = listed.get_json()["items"]
    shown = client.get(f"/api/v1/process-instances/{item['id']}")
    assert shown.get_json()["variables"]["note"] == forged
    assert shown.get_json()["variables"]["email"] == forged
    console = people["admin"].get("/admin/instances")
    assert console.status_code == 200
    page = people["admin"].get(f"/admin/instances/{item['id']}")
    assert page.status_code == 200 and "not a cipher text" in text_of(page)


def test_an_admin_erases_a_customers_data_from_the_instance_page(engine: Engine,
                                                                  people: People) -> None:
    task = credit_review(engine, "CT-ERASE")
    admin = people["admin"]
    url = f"/admin/instances/{task.instance_id}"
    assert "Erase customer data" in text_of(admin.get(url))
    assert people["ana"].post(f"{url}/erase", {"confirmed": "yes"}).status_code == 403
    confirm = text_of(admin.get(f"{url}/confirm/erase"))
    assert "Erase this customer's data?" in confirm and "cannot be undone" in confirm
    refused = admin.post(f"{url}/erase", {"confirmed": "yes"})
    assert refused.status_code == 409 and "have not ended" in text_of(refused)
    engine.management.terminate(task.instance_id, "admin")
    done = admin.post(f"{url}/erase", {"confirmed": "yes"}, follow_redirects=True)
    assert "The data of business key CT-ERASE is erased: 1 instance(s)" in text_of(done)
    assert admin.get(url).status_code == 404
    assert engine.history.search_instances(business_key="CT-ERASE").total == 0


def test_the_instance_page_shows_external_tasks_and_an_admin_unlocks_one(
        engine: Engine, people: People) -> None:
    engine.repository.deploy({"ext.bpmn": (HEAD + """
  <bpmn:process id="ext_page" isExecutable="true">
    <bpmn:startEvent id="start"/><bpmn:sequenceFlow id="a" sourceRef="start" targetRef="archive"/>
    <bpmn:serviceTask id="archive" camunda:type="external" camunda:topic="dms.archive"/>
    <bpmn:sequenceFlow id="b" sourceRef="archive" targetRef="end"/><bpmn:endEvent id="end"/>
  </bpmn:process></bpmn:definitions>""").encode()})
    inst = engine.runtime.start("ext_page", wait=5)
    [locked] = engine.external_tasks.fetch_and_lock(
        "dms-worker-1", [TopicRequest("dms.archive", 600_000)])
    url = f"/admin/instances/{inst.id}"
    page = text_of(people["admin"].get(url))
    assert "Waiting for external workers archive · topic dms.archive · locked by dms-worker-1" \
        in page
    unlock = f"{url}/external-tasks/{locked.task.id}/unlock"
    assert people["admin"].post(unlock, csrf=False).status_code == 400  # no CSRF token
    assert people["fiona"].post(unlock).status_code == 403  # not an admin
    assert engine.external_tasks.get(locked.task.id).lock_owner == "dms-worker-1"
    assert people["admin"].post(unlock).status_code == 302
    assert "archive · topic dms.archive · waiting for a worker" in text_of(
        people["admin"].get(url))
    assert len(engine.external_tasks.fetch_and_lock(
        "dms-worker-2", [TopicRequest("dms.archive", 600_000)])) == 1


def test_uploading_a_process_with_a_topic_no_worker_serves_deploys_with_a_warning(
        engine: Engine, people: People) -> None:
    process = (HEAD + """
  <bpmn:process id="archiving" isExecutable="true">
    <bpmn:startEvent id="start"/><bpmn:sequenceFlow id="a" sourceRef="start" targetRef="arc"/>
    <bpmn:serviceTask id="arc" camunda:type="external" camunda:topic="dms.archive"/>
    <bpmn:sequenceFlow id="b" sourceRef="arc" targetRef="end"/><bpmn:endEvent id="end"/>
  </bpmn:process></bpmn:definitions>""").encode()
    response = people["ana"].post("/admin/definitions",
                                  {"files": [(_file(process), "archiving.bpmn")]},
                                  content_type="multipart/form-data", follow_redirects=True)
    text = text_of(response)
    assert "Deployed archiving version 1." in text
    assert ("archiving: no worker has asked for topic 'dms.archive' yet: its external tasks "
            "wait until a worker fetches them") in text
