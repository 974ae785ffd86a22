"""An instance moved out of the live table reads the same in the REST API and the console:
by id, its audit trail, the lists by status and business key (PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from engine import Engine
from engine.archive import archive
from engine.archived import HISTORY
from engine.models import utcnow

from .conftest import AuthClient
from .test_history_by_month import app, engine, started_in, views  # noqa: F401 - fixtures
from .test_pages import PASSWORD, Person, text_of

pytestmark = pytest.mark.postgres


def test_an_archived_instance_reads_the_same_in_the_api_and_the_console(
        app: Flask, engine: Engine, client: AuthClient) -> None:  # noqa: F811
    engine.identity.create_user("root", PASSWORD, groups=[], role="admin")
    admin = Person(app, "root")
    two_days_ago = utcnow() - timedelta(days=2)
    kept = started_in(engine, client, "KEPT-1", two_days_ago - timedelta(hours=1), two_days_ago)
    before = views(client, admin, kept)
    assert before["show"]["status"] == "completed" and len(before["events"]["items"]) >= 2

    moved = archive(engine._core.db, engine._core.settings)

    assert moved.instances == 1
    with engine._core.db.read() as s:
        assert s.scalar(select(HISTORY.c.id).where(HISTORY.c.id == kept)) == kept
    assert views(client, admin, kept) == before
    listed = text_of(admin.get("/admin/instances?status=completed"))
    assert "KEPT-1" in listed
    terminate = client.post(f"/api/v1/process-instances/{kept}/terminate")
    assert terminate.status_code == 409 and "completed" in terminate.get_data(as_text=True)
