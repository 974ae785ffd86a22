"""An ended instance reads the same in the REST API and the console while its month of the
audit trail is made, and rebuilt by the time-to-live cleanup (PostgreSQL partitions)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text

from engine import Engine
from engine.models import utcnow
from engine.partitions import ensure_months, month_name, month_start

from ..conftest import postgres_url, reset_postgres
from .conftest import FIXTURES, AuthClient, prepared_app, start_order
from .test_pages import PASSWORD, Person, text_of

pytestmark = pytest.mark.postgres
OLD = month_start(utcnow() - timedelta(days=240))


@pytest.fixture
def app() -> Iterator[Flask]:
    url = postgres_url()
    reset_postgres(url)
    app = prepared_app({"database_url": url, "run_worker_in_web": False,
                        "processes_dir": str(FIXTURES), "history_ttl_days": 90})
    app.config["TESTING"] = True
    yield app
    app.extensions["bridgeflow"].close()


@pytest.fixture
def engine(app: Flask) -> Engine:
    eng: Engine = app.extensions["bridgeflow"]
    return eng


def started_in(engine: Engine, client: AuthClient, business_key: str, when: datetime,
               ended: datetime) -> str:
    """An instance that ran to its end, pretended to have started at ``when``."""
    resp = start_order(client, business_key=business_key)
    assert resp.status_code == 201 and resp.get_json()["status"] == "completed"
    instance_id: str = resp.get_json()["id"]
    with engine._core.db.write() as s:
        values = {"t": when, "e": ended, "i": instance_id}
        s.execute(text("UPDATE events SET created_at = :t WHERE instance_id = :i"), values)
        s.execute(text("UPDATE instances SET created_at = :t, ended_at = :e WHERE id = :i"),
                  values)
    return instance_id


def views(client: AuthClient, admin: Person, instance_id: str) -> dict[str, Any]:
    """What a caller of the API and an administrator in the console see of the instance."""
    api = f"/api/v1/process-instances/{instance_id}"
    listed = client.get("/api/v1/process-instances?status=completed&business_key=KEPT-1")
    return {"show": client.get(api).get_json(), "events": client.get(f"{api}/events").get_json(),
            "list": listed.get_json(),
            "page": text_of(admin.get(f"/admin/instances/{instance_id}")),
            "console list": text_of(admin.get("/admin/instances?business_key=KEPT-1"))}


def oid_of(engine: Engine, table: str) -> int | None:
    with engine._core.db.sql_engine.connect() as c:
        oid = c.execute(text("SELECT to_regclass(:t)::oid"), {"t": table}).scalar()
    return int(oid) if oid is not None else None


def test_an_ended_instance_reads_the_same_before_and_after_its_month_moves(
        app: Flask, engine: Engine, client: AuthClient) -> None:
    engine.identity.create_user("root", PASSWORD, groups=[], role="admin")
    admin = Person(app, "root")
    start = OLD + timedelta(days=4, hours=9)
    kept = started_in(engine, client, "KEPT-1", start, utcnow() - timedelta(days=2))
    expired = [started_in(engine, client, f"GONE-{n}", start, start + timedelta(hours=1))
               for n in range(2)]
    before = views(client, admin, kept)
    assert before["show"]["status"] == "completed" and len(before["events"]["items"]) >= 2
    assert [i["id"] for i in before["list"]["items"]] == [kept]
    assert "KEPT-1" in before["page"] and "KEPT-1" in before["console list"]
    assert oid_of(engine, month_name(OLD)) is None  # no month yet: the default partition

    assert ensure_months(engine._core.db, OLD, 0) == [month_name(OLD)]
    with engine._core.db.sql_engine.connect() as c:
        moved = c.execute(text(f"SELECT count(*) FROM {month_name(OLD)}"
                               " WHERE instance_id = :i"), {"i": kept}).scalar()
    assert moved == len(before["events"]["items"])
    assert views(client, admin, kept) == before
    made = oid_of(engine, month_name(OLD))

    report = engine.history.cleanup()

    assert report.instances == 2 and report.removed["events"] > 0
    assert oid_of(engine, month_name(OLD)) not in (None, made)  # rebuilt with the kept rows
    assert views(client, admin, kept) == before
    for gone in expired:
        assert client.get(f"/api/v1/process-instances/{gone}").status_code == 404
