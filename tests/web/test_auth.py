"""Signing in and out, roles, CSRF, cookies and headers, the users command (both databases)."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask, render_template_string, request
from flask.testing import FlaskClient
from sqlalchemy import select

from engine import Engine, users
from engine.models import Event, HumanTask, User
from web import create_app
from web.auth import current_user, forbid, login_required, roles_required, visible_variables
from web.bootstrap import StartupError
from web.cli import main

from .conftest import AuthClient, prepared_app

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "processes"
PASSWORD = "correct horse battery"
WRONG = "wrong name or password"
EXPIRED = "The form expired, reload the page."


@pytest.fixture
def app(database_url: str) -> Iterator[Flask]:
    """The app on both databases, with a few views that stand for the real pages."""
    app = prepared_app({"database_url": database_url, "run_worker_in_web": False,
                        "processes_dir": str(FIXTURES), "demo_users": False})
    app.config["TESTING"] = True
    changes: list[str] = []
    app.extensions["test_changes"] = changes

    @app.get("/_test/form")
    @login_required
    def form() -> str:
        return render_template_string('<form method="post" action="/_test/change">'
                                      '<input name="csrf_token" value="{{ csrf_token() }}">'
                                      "</form>")

    @app.post("/_test/change")
    @login_required
    def change() -> str:
        changes.append(request.form.get("what", "?"))
        return "changed"

    @app.get("/_test/private")
    @login_required
    def private() -> str:
        user = current_user()
        assert user is not None
        return f"hello {user.name}"

    @app.get("/_test/deploy")
    @roles_required("admin", "analyst")
    def deploy() -> str:
        return "deploy page"

    @app.get("/_test/finance-task")
    @login_required
    def finance_task() -> str:
        user = current_user()
        assert user is not None
        if "finance" not in user.groups:
            forbid("this task belongs to the finance group")
        return "the finance task"

    yield app
    app.extensions["bridgeflow"].close()


def add_user(engine: Engine, name: str, role: str = "user", groups: tuple[str, ...] = ()
             ) -> User:
    return engine.identity.create_user(name, PASSWORD, groups=list(groups), role=role)


def token_of(client: FlaskClient, page: str = "/login") -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(page).text)
    assert found is not None
    return found.group(1)


def sign_in(client: FlaskClient, name: str, password: str = PASSWORD, next_: str = "",
            address: str = "10.0.0.1") -> Any:
    data = {"name": name, "password": password, "next": next_,
            "csrf_token": token_of(client)}
    return client.post("/login", data=data, environ_base={"REMOTE_ADDR": address})


def events_of_type(engine: Engine, type_: str) -> list[Event]:
    with engine._core.db.read() as s:
        return list(s.scalars(select(Event).where(Event.type == type_)))


# -- signing in and out -----------------------------------------------------------------------

def test_sign_in_lands_on_the_inbox_and_sign_out_ends_the_session(app: Flask,
                                                                  engine: Engine) -> None:
    add_user(engine, "fiona", groups=("finance",))
    client = app.test_client()
    resp = sign_in(client, "fiona")
    assert resp.status_code == 302 and resp.headers["Location"] == "/inbox"
    assert client.get("/_test/private").text == "hello fiona"
    assert engine.identity.user_by_name("fiona").last_login_at is not None  # type: ignore[union-attr]
    assert client.post("/logout", data={"csrf_token": token_of(client, "/_test/form")}
                       ).headers["Location"] == "/login"
    resp = client.get("/_test/private")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    assert client.get("/logout").status_code == 405  # a link cannot sign anyone out


def test_a_page_sends_a_signed_out_person_to_sign_in_and_back(app: Flask,
                                                              engine: Engine) -> None:
    add_user(engine, "fiona")
    client = app.test_client()
    resp = client.get("/_test/private?tab=2")
    assert resp.status_code == 302
    assert resp.headers["Location"] == "/login?next=/_test/private?tab%3D2"
    resp = sign_in(client, "fiona", next_="/_test/private?tab=2")
    assert resp.headers["Location"] == "/_test/private?tab=2"


def test_a_next_page_the_user_may_not_open_sends_her_to_her_inbox_instead(
        app: Flask, engine: Engine) -> None:
    """A finance user who followed an /admin link, mistyped her password and then signed in
    lands in her inbox, told why, not on a 403 page; an admin still reaches /admin."""
    add_user(engine, "fiona", groups=("finance",))
    add_user(engine, "ada", role="admin")
    client = app.test_client()
    failed = sign_in(client, "fiona", "not the password", next_="/admin")
    assert failed.status_code == 401 and 'name="next" value="/admin"' in failed.text
    resp = sign_in(client, "fiona", next_="/admin")
    assert resp.status_code == 302 and resp.headers["Location"] == "/inbox"
    assert "/admin needs the role admin; here is your inbox instead." in \
        client.get("/inbox").text
    # Already signed in, the sign-in page sends her to her inbox as well.
    assert client.get("/login?next=/admin/instances").headers["Location"] == "/inbox"
    # A page anyone signed in may open is kept.
    assert client.get("/login?next=/_test/private").headers["Location"] == "/_test/private"
    admin = app.test_client()
    assert sign_in(admin, "ada", next_="/admin").headers["Location"] == "/admin"


def test_a_program_without_a_session_gets_a_json_401(app: Flask) -> None:
    client = app.test_client()
    resp = client.get("/_test/private", headers={"Accept": "application/json"})
    assert resp.status_code == 401
    assert resp.get_json() == {"error": "unauthorized", "message": "sign in first",
                               "details": {}}
    htmx = client.get("/_test/private", headers={"HX-Request": "true"})
    assert htmx.status_code == 401
    assert htmx.headers["HX-Redirect"] == "/login?next=/_test/private"


def test_a_wrong_password_and_an_unknown_name_look_the_same(app: Flask,
                                                            engine: Engine) -> None:
    add_user(engine, "fiona")
    client = app.test_client()
    wrong_password = sign_in(client, "fiona", "not the password")
    unknown_name = sign_in(client, "nobody", PASSWORD)
    for resp in (wrong_password, unknown_name):
        assert resp.status_code == 401 and WRONG in resp.text
    assert client.get("/_test/private").status_code == 302  # still signed out
    failed = events_of_type(engine, "sign_in_failed")
    assert [e.actor for e in failed] == ["fiona", None]  # an unknown name is not recorded


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/inbox",
                                    "/\\evil.example", "javascript:alert(1)",
                                    "http:/evil.example", " /inbox"])
def test_sign_in_never_redirects_to_another_site(app: Flask, engine: Engine,
                                                 target: str) -> None:
    add_user(engine, "fiona")
    resp = sign_in(app.test_client(), "fiona", next_=target)
    assert resp.status_code == 302 and resp.headers["Location"] == "/inbox"


def test_five_wrong_passwords_lock_the_name_for_five_minutes(
        app: Flask, engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    add_user(engine, "fiona")
    client = app.test_client()
    for _ in range(4):
        assert sign_in(client, "fiona", "guess-guess-guess").status_code == 401
    locked = sign_in(client, "fiona", "guess-guess-guess")
    assert locked.status_code == 429 and "too many failed sign-ins" in locked.text
    assert locked.headers["Retry-After"] == "300"
    right_now = sign_in(client, "fiona")  # even the right password waits
    assert right_now.status_code == 429 and "try again in 5 minutes" in right_now.text
    assert client.get("/_test/private").status_code == 302
    assert sign_in(app.test_client(), "fiona", address="10.0.0.2").status_code == 302
    later = users.utcnow() + timedelta(minutes=5, seconds=1)
    monkeypatch.setattr(users, "utcnow", lambda: later)
    assert sign_in(client, "fiona").status_code == 302


def test_a_deactivated_user_or_a_new_password_ends_open_sessions(app: Flask,
                                                                 engine: Engine) -> None:
    add_user(engine, "fiona")
    add_user(engine, "frank")
    fiona, frank = app.test_client(), app.test_client()
    sign_in(fiona, "fiona")
    sign_in(frank, "frank")
    engine.identity.set_password("fiona", "another good password")
    engine.identity.deactivate("frank")
    assert fiona.get("/_test/private").status_code == 302
    assert frank.get("/_test/private").status_code == 302
    assert sign_in(frank, "frank").status_code == 401
    assert sign_in(fiona, "fiona", "another good password").status_code == 302


# -- roles ------------------------------------------------------------------------------------

def test_a_wrong_role_is_a_403_page_and_is_audited(app: Flask, engine: Engine) -> None:
    add_user(engine, "sue", groups=("support",))
    add_user(engine, "ana", role="analyst")
    sue = app.test_client()
    sign_in(sue, "sue")
    resp = sue.get("/_test/deploy")
    assert resp.status_code == 403
    assert "This needs the role admin or analyst; you are user." in resp.text
    assert resp.mimetype == "text/html"
    as_json = sue.get("/_test/deploy", headers={"Accept": "application/json"})
    assert as_json.status_code == 403 and as_json.get_json()["error"] == "forbidden"
    denied = events_of_type(engine, "access_denied")
    assert [(e.actor, e.data["path"]) for e in denied] == [("sue", "/_test/deploy")] * 2
    assert "role admin or analyst" in denied[0].data["reason"]
    ana = app.test_client()
    sign_in(ana, "ana")
    assert ana.get("/_test/deploy").text == "deploy page"


def test_forbid_refuses_a_support_user_a_finance_task(app: Flask, engine: Engine) -> None:
    add_user(engine, "sue", groups=("support",))
    add_user(engine, "fiona", groups=("finance",))
    sue, fiona = app.test_client(), app.test_client()
    sign_in(sue, "sue")
    sign_in(fiona, "fiona")
    resp = sue.get("/_test/finance-task")
    assert resp.status_code == 403 and "This task belongs to the finance group." in resp.text
    assert events_of_type(engine, "access_denied")[0].data["reason"] == (
        "this task belongs to the finance group")
    assert fiona.get("/_test/finance-task").text == "the finance task"


def task(groups: list[str], users_: list[str] | None = None,
         assignee: str | None = None) -> HumanTask:
    return HumanTask(candidate_groups=groups, candidate_users=users_ or [], assignee=assignee)


def person(name: str, role: str = "user", groups: list[str] | None = None,
           active: bool = True) -> User:
    return User(name=name, role=role, groups=groups or [], active=active)


@pytest.mark.parametrize(("user", "the_task", "sees"), [
    (person("admin", "admin"), task(["finance"]), True),
    (person("fiona", groups=["finance"]), task(["finance"]), True),
    (person("frank", groups=["finance-manager", "finance"]), task(["finance-manager"]), True),
    (person("sue", groups=["support"]), task(["finance"]), False),
    (person("ana", "analyst"), task(["finance"]), False),
    (person("sam", groups=["sales"]), task([], users_=["sam"]), True),
    (person("sam", groups=["sales"]), task(["finance"], assignee="sam"), True),
    (person("sam", groups=["sales"]), task(["finance"], assignee="fiona"), False),
    (person("fiona", groups=["finance"], active=False), task(["finance"]), False),
])
def test_who_sees_which_task(user: User, the_task: HumanTask, sees: bool) -> None:
    assert users.can_see_task(user, the_task) is sees


def test_personal_values_are_masked_for_users_without_the_right(app: Flask,
                                                                engine: Engine) -> None:
    data = {"email": "fiona@example.com", "phone": "+49 171 2345667", "order": "SO-7"}
    with app.test_request_context("/"):
        shown = visible_variables(data, person("sam", groups=["sales"]))
        assert shown == {"email": "f•••@example.com", "phone": "+49 •••• 67", "order": "SO-7"}
        assert visible_variables(data, person("sue", groups=["support"])) == data
        assert visible_variables(data, person("admin", "admin")) == data


# -- CSRF -------------------------------------------------------------------------------------

def test_a_form_without_the_right_token_changes_nothing(app: Flask, engine: Engine) -> None:
    add_user(engine, "fiona")
    add_user(engine, "frank")
    client, other = app.test_client(), app.test_client()
    sign_in(client, "fiona")
    sign_in(other, "frank")
    changes = app.extensions["test_changes"]
    for token in (None, "forged", token_of(other, "/_test/form")):
        data = {"what": "x"} if token is None else {"what": "x", "csrf_token": token}
        resp = client.post("/_test/change", data=data)
        assert resp.status_code == 400 and EXPIRED in resp.text
    as_json = client.post("/_test/change", json={"what": "x"})
    assert as_json.status_code == 400
    assert as_json.get_json() == {"error": "csrf_failed", "details": {},
                                  "message": "the form expired, reload the page"}
    assert changes == []
    token = token_of(client, "/_test/form")
    assert client.post("/_test/change", data={"what": "form", "csrf_token": token}
                       ).text == "changed"
    assert client.post("/_test/change", data={"what": "header"},
                       headers={"X-CSRF-Token": token}).text == "changed"
    assert changes == ["form", "header"]


def test_sign_in_and_sign_out_need_the_token_too(app: Flask, engine: Engine) -> None:
    add_user(engine, "fiona")
    client = app.test_client()
    client.get("/login")
    resp = client.post("/login", data={"name": "fiona", "password": PASSWORD})
    assert resp.status_code == 400 and EXPIRED in resp.text
    assert client.get("/_test/private").status_code == 302
    sign_in(client, "fiona")
    assert client.post("/logout").status_code == 400
    assert client.get("/_test/private").text == "hello fiona"


def test_the_api_with_a_key_needs_no_token(client: AuthClient, engine: Engine) -> None:
    resp = client.post("/api/v1/process-instances", json={"process_key": "auto_steps"})
    assert resp.status_code == 201
    assert engine.runtime.list_instances().total == 1


# -- cookies, headers, start-up ---------------------------------------------------------------

def test_the_session_cookie_is_http_only_and_same_site(app: Flask) -> None:
    cookie = app.test_client().get("/login").headers["Set-Cookie"]
    assert cookie.startswith("bridgeflow_session=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_in_production_the_cookie_is_secure(tmp_path: Path) -> None:
    key = base64.b64encode(b"k" * 32).decode()
    app = prepared_app({"database_url": f"sqlite:///{tmp_path / 'prod.db'}",
                        "run_worker_in_web": False, "processes_dir": str(tmp_path / "none"),
                        "environment": "production", "secret_key": "x" * 40,
                        "encryption_keys": f"k1:{key}"})
    try:
        resp = app.test_client().get("/login")
        assert "Secure" in resp.headers["Set-Cookie"]
        assert resp.headers["Strict-Transport-Security"].startswith("max-age=")
        assert app.extensions["bridgeflow"].identity.list_users() == []  # no demo users
    finally:
        app.extensions["bridgeflow"].close()


@pytest.mark.parametrize(("config", "complaint"), [
    ({"encryption_keys": "k1:" + base64.b64encode(b"k" * 32).decode()},
     "BRIDGEFLOW_SECRET_KEY is the development default"),
    ({"secret_key": "x" * 40}, "BRIDGEFLOW_ENCRYPTION_KEYS is not set"),
])
def test_production_refuses_to_start_with_defaults(tmp_path: Path, config: dict[str, str],
                                                   complaint: str) -> None:
    with pytest.raises(StartupError, match=complaint):
        create_app({"database_url": f"sqlite:///{tmp_path / 'prod.db'}",
                    "run_worker_in_web": False, "environment": "production", **config})
    assert not (tmp_path / "prod.db").exists()  # refused before touching the database


@pytest.mark.parametrize("path", ["/login", "/healthz", "/api/v1/process-instances",
                                  "/no-such-page"])
def test_every_response_has_the_security_headers(app: Flask, path: str) -> None:
    resp = app.test_client().get(path)
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src 'self';" in csp
    assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["Referrer-Policy"] == "same-origin"


def test_the_app_factory_creates_no_demo_users(tmp_path: Path) -> None:
    app = prepared_app({"database_url": f"sqlite:///{tmp_path / 'demo.db'}",
                        "processes_dir": str(tmp_path / "none")})
    try:
        assert app.extensions["bridgeflow"].identity.list_users() == []
    finally:
        app.extensions["bridgeflow"].close()


def test_the_demo_users_command_creates_them_once(tmp_path: Path) -> None:
    env = {"BRIDGEFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
           "BRIDGEFLOW_PROCESSES_DIR": str(tmp_path / "none")}
    assert bridgeflow(env, "db", "upgrade").exit_code == 0
    first = bridgeflow(env, "users", "demo")
    assert first.exit_code == 0, first.output
    assert "demo users created: admin, ana, fiona" in first.output
    again = bridgeflow(env, "users", "demo")
    assert again.exit_code == 0 and "no demo users created" in again.output
    app = create_app({"database_url": env["BRIDGEFLOW_DATABASE_URL"],
                      "processes_dir": str(tmp_path / "none")})
    demo = {u.name: (u.role, u.groups)
            for u in app.extensions["bridgeflow"].identity.list_users()}
    assert demo == {"admin": ("admin", []), "ana": ("analyst", []),
                    "fiona": ("user", ["finance"]),
                    "frank": ("user", ["finance-manager", "finance"]),
                    "sam": ("user", ["sales"]), "sue": ("user", ["support"]),
                    "leo": ("user", ["logistics"]), "olga": ("user", ["sales-ops", "sales"])}
    # the weekly reports go to sales-ops and finance: in the demo they reach the mail sink
    addresses = {u.name: u.email for u in app.extensions["bridgeflow"].identity.list_users()}
    assert addresses["olga"] == "olga@bridgeflow.example"
    assert addresses["fiona"] == "fiona@bridgeflow.example"
    resp = sign_in(app.test_client(), "fiona", users.DEMO_PASSWORD)
    assert resp.headers["Location"] == "/inbox"
    app.extensions["bridgeflow"].close()


@pytest.mark.parametrize(("setting", "value"), [("ENVIRONMENT", "production"),
                                                 ("DEMO_USERS", "false")])
def test_the_demo_users_command_refuses_outside_development(tmp_path: Path, setting: str,
                                                            value: str) -> None:
    key = base64.b64encode(b"k" * 32).decode()
    env = {"BRIDGEFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'prod.db'}",
           "BRIDGEFLOW_PROCESSES_DIR": str(tmp_path / "none"), "BRIDGEFLOW_SECRET_KEY": "x" * 40,
           "BRIDGEFLOW_ENCRYPTION_KEYS": f"k1:{key}", f"BRIDGEFLOW_{setting}": value}
    assert bridgeflow(env, "db", "upgrade").exit_code == 0
    refused = bridgeflow(env, "users", "demo")
    assert refused.exit_code == 1
    assert "demo users exist only in development" in refused.output
    listed = bridgeflow(env, "users", "list")
    assert listed.exit_code == 0 and "0 user(s)" in listed.output


# -- the users command ------------------------------------------------------------------------

@pytest.fixture
def env(database_url: str, tmp_path: Path) -> dict[str, str]:
    env = {"BRIDGEFLOW_DATABASE_URL": database_url,
           "BRIDGEFLOW_PROCESSES_DIR": str(tmp_path / "none")}
    assert bridgeflow(env, "db", "upgrade").exit_code == 0
    return env


def bridgeflow(env: dict[str, str], *args: str, input_: str | None = None) -> Any:
    return CliRunner().invoke(main, list(args), env=env, input=input_)


def test_users_create_and_list(env: dict[str, str]) -> None:
    made = bridgeflow(env, "users", "create", "fiona", "--groups", "finance,support",
                      "--role", "user", "--password-stdin", input_=PASSWORD + "\n")
    assert made.exit_code == 0, made.output
    assert "user fiona created (role user, groups finance, support)" in made.output
    prompted = bridgeflow(env, "users", "create", "admin", "--role", "admin",
                          input_=f"{PASSWORD}\n{PASSWORD}\n")
    assert prompted.exit_code == 0, prompted.output
    assert PASSWORD not in prompted.output  # the prompt does not echo the password
    listed = bridgeflow(env, "users", "list")
    assert listed.exit_code == 0
    lines = listed.output.splitlines()
    assert re.match(r"admin\s+admin\s+-\s+active\s+last sign-in never", lines[0])
    assert re.match(r"fiona\s+user\s+finance,support\s+active", lines[1])
    assert lines[-1] == "2 user(s)"


def test_users_create_refuses_a_taken_name_and_a_weak_password(env: dict[str, str]) -> None:
    assert bridgeflow(env, "users", "create", "fiona", "--role", "user", "--password-stdin",
                      input_=PASSWORD + "\n").exit_code == 0
    again = bridgeflow(env, "users", "create", "fiona", "--role", "user", "--password-stdin",
                       input_=PASSWORD + "\n")
    assert again.exit_code == 1 and "a user named 'fiona' exists already" in again.output
    weak = bridgeflow(env, "users", "create", "frank", "--role", "user", "--password-stdin",
                      input_="short\n")
    assert weak.exit_code == 1
    assert "the password must be at least 10 characters long" in weak.output
    mismatch = bridgeflow(env, "users", "create", "frank", "--role", "user",
                          input_=f"{PASSWORD}\nsomething else\n")
    assert mismatch.exit_code == 1 and "do not match" in mismatch.output
    bad_role = bridgeflow(env, "users", "create", "frank", "--role", "root",
                          "--password-stdin", input_=PASSWORD + "\n")
    assert bad_role.exit_code == 2 and "root" in bad_role.output
    assert "1 user(s)" in bridgeflow(env, "users", "list").output


def test_users_set_password_and_deactivate(env: dict[str, str], app: Flask) -> None:
    engine: Engine = app.extensions["bridgeflow"]
    bridgeflow(env, "users", "create", "fiona", "--role", "user", "--password-stdin",
               input_=PASSWORD + "\n")
    changed = bridgeflow(env, "users", "set-password", "fiona", "--password-stdin",
                         input_="a brand new password\n")
    assert changed.exit_code == 0 and "password of fiona changed" in changed.output
    assert engine.identity.authenticate("fiona", PASSWORD, "test") is None
    assert engine.identity.authenticate("fiona", "a brand new password", "test") is not None
    off = bridgeflow(env, "users", "deactivate", "fiona")
    assert off.exit_code == 0 and "user fiona deactivated" in off.output
    assert sign_in(app.test_client(), "fiona", "a brand new password").status_code == 401
    assert "deactivated" in bridgeflow(env, "users", "list").output
    missing = bridgeflow(env, "users", "deactivate", "nobody")
    assert missing.exit_code == 1 and "no user named 'nobody'" in missing.output


# -- sessions end on the server; password spraying is slowed ----------------------------------

COOKIE = "bridgeflow_session"


def replay(app: Flask, cookie: str) -> FlaskClient:
    """A fresh client presenting a copy of someone's session cookie, as a thief would."""
    thief = app.test_client()
    thief.set_cookie(COOKIE, cookie)
    return thief


def test_a_copied_cookie_stops_working_after_sign_out(app: Flask, engine: Engine) -> None:
    add_user(engine, "fiona", groups=("finance",))
    fiona = app.test_client()
    sign_in(fiona, "fiona")
    cookie = fiona.get_cookie(COOKIE)
    assert cookie is not None
    assert replay(app, cookie.value).get("/_test/private").text == "hello fiona"
    fiona.post("/logout", data={"csrf_token": token_of(fiona, "/_test/form")})
    thief = replay(app, cookie.value)
    resp = thief.get("/_test/private")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/login")
    form = thief.post("/_test/change", data={"what": "steal", "csrf_token": "x"})
    assert form.status_code in (302, 400)
    assert app.extensions["test_changes"] == []


def test_a_cookie_from_before_a_password_change_stops_working(app: Flask,
                                                              engine: Engine) -> None:
    add_user(engine, "fiona")
    old = app.test_client()
    sign_in(old, "fiona")
    cookie = old.get_cookie(COOKIE)
    assert cookie is not None
    engine.identity.set_password("fiona", "another good password")
    new = app.test_client()
    assert sign_in(new, "fiona", "another good password").status_code == 302
    assert new.get("/_test/private").text == "hello fiona"
    assert replay(app, cookie.value).get("/_test/private").status_code == 302


def spray(app: Flask, names: list[str], address: str = "10.9.9.9") -> list[int]:
    client = app.test_client()
    return [sign_in(client, name, "Spring2026!", address=address).status_code
            for name in names]


def test_one_password_sprayed_across_names_from_one_address_is_stopped(
        app: Flask, engine: Engine) -> None:
    add_user(engine, "fiona")
    statuses = spray(app, [f"user{i}" for i in range(20)])
    assert statuses == [401] * 19 + [429]
    blocked = sign_in(app.test_client(), "fiona", address="10.9.9.9")  # the right password
    assert blocked.status_code == 429 and "too many failed sign-ins" in blocked.text
    assert events_of_type(engine, "signed_in") == []
    assert sign_in(app.test_client(), "fiona", address="10.0.0.7").status_code == 302


def test_one_name_guessed_from_many_addresses_is_locked(app: Flask, engine: Engine) -> None:
    add_user(engine, "fiona")
    statuses = [spray(app, ["fiona"], address=f"10.1.0.{i}")[0] for i in range(10)]
    assert statuses == [401] * 9 + [429]
    late = sign_in(app.test_client(), "fiona", address="10.1.0.99")
    assert late.status_code == 429 and late.headers["Retry-After"] == "300"
    assert events_of_type(engine, "signed_in") == []


def test_spraying_from_many_addresses_slows_every_sign_in(tmp_path: Path) -> None:
    app = prepared_app({"database_url": f"sqlite:///{tmp_path / 'spray.db'}",
                        "run_worker_in_web": False, "processes_dir": str(FIXTURES),
                        "login_max_failures_global": 6})
    engine: Engine = app.extensions["bridgeflow"]
    add_user(engine, "fiona")
    statuses = [spray(app, [f"user{i}"], address=f"10.2.0.{i}")[0] for i in range(6)]
    assert statuses == [401] * 5 + [429]
    resp = sign_in(app.test_client(), "fiona", address="10.3.0.1")
    assert resp.status_code == 429 and "try again in 5 minutes" in resp.text
    assert events_of_type(engine, "signed_in") == []
    engine.close()
