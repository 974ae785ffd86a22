"""Correlating by business key and typed correlation keys; an admin setting variables."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

from engine import ConflictError, Engine, InvalidInputError, NotFoundError


def test_a_message_matches_correlation_keys_as_the_variables_are_stored(
        engine: Engine) -> None:
    due = dt.datetime(2026, 12, 3, 10, tzinfo=dt.UTC)
    early = engine.runtime.start("wait_for_restock", "order-a", {"due": due}, wait=5)
    late = engine.runtime.start("wait_for_restock", "order-b",
                                {"due": due + dt.timedelta(days=1)}, wait=5)
    with pytest.raises(NotFoundError):  # the right key, the wrong business key
        engine.runtime.send_message("stock_replenished", "order-b", {"due": due})
    result = engine.runtime.send_message("stock_replenished", "order-a", {"due": due},
                                         {"restocked_qty": 3}, wait=5)
    assert result.delivered_to == [early.id]
    # with wait, the instance has moved on by the time the call answers
    assert engine.runtime.instance(early.id).status == "completed"
    assert engine.runtime.instance(late.id).status == "waiting"


def test_an_admin_sets_and_removes_variables_audited_and_the_process_keeps_them(
        engine: Engine, drain: Callable[..., None]) -> None:
    inst = engine.runtime.start("wait_for_restock", "order-v", {"note": "old", "x": 1},
                                wait=5)
    engine.management.set_variables(inst.id, {"note": "new", "when": dt.date(2026, 1, 2)},
                                    ["x"], actor="olga", wait=5)
    assert engine.runtime.instance(inst.id).variables == {"note": "new",
                                                          "when": "2026-01-02"}
    types = [(e.type, e.actor, e.data.get("names")) for e in engine.history.events_of(inst.id)
             if e.type.startswith("variables_change")]
    assert types == [("variables_change_requested", "olga", ["note", "when", "x"]),
                     ("variables_changed", "olga", ["note", "when", "x"])]
    engine.runtime.send_message("stock_replenished", "order-v", variables={"qty": 2})
    drain()
    done = engine.runtime.instance(inst.id)
    assert done.status == "completed"
    assert done.variables == {"note": "new", "when": "2026-01-02", "qty": 2}


def test_variables_of_an_unknown_or_ended_instance_or_bad_names_are_refused(
        engine: Engine) -> None:
    with pytest.raises(NotFoundError):
        engine.management.set_variables("nope", {"a": 1})
    inst = engine.runtime.start("wait_for_restock", "order-e", {}, wait=5)
    with pytest.raises(InvalidInputError):
        engine.management.set_variables(inst.id, {"1a": 1})
    with pytest.raises(InvalidInputError):
        engine.management.set_variables(inst.id, {}, [5])  # type: ignore[list-item]
    engine.management.terminate(inst.id)
    with pytest.raises(ConflictError, match="terminated"):
        engine.management.set_variables(inst.id, {"a": 1})
    assert engine.runtime.instance(inst.id).variables == {}
