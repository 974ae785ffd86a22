"""The harness cannot go quiet: CI fails on a missing component, and -m postgres selects
every PostgreSQL variant (and only them)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, cast

import pytest

import tests.conftest
from tests.conftest import DATABASES, postgres_only, pytest_collection_modifyitems, require


def _marks(param: object) -> list[str]:
    return [mark.name for mark in getattr(param, "marks", ())]


def test_only_the_postgres_variant_of_a_database_test_is_marked() -> None:
    assert [_marks(param) for param in DATABASES] == [[], ["postgres"]]
    [only] = postgres_only.args[1]
    assert _marks(only) == ["postgres"]


@dataclass
class FakeItem:
    nodeid: str
    params: dict[str, Any]
    marks: list[str] = field(default_factory=list)

    @property
    def callspec(self) -> FakeItem:
        return self

    def get_closest_marker(self, name: str) -> str | None:
        return name if name in self.marks else None


def test_collection_refuses_a_postgres_variant_without_the_marker() -> None:
    marked = FakeItem("t.py::a[postgres]", {"database_url": "postgres"}, ["postgres"])
    sqlite = FakeItem("t.py::a[sqlite]", {"database_url": "sqlite"})
    pytest_collection_modifyitems(cast(pytest.Config, None),
                                  cast(list[pytest.Item], [marked, sqlite]))
    unmarked = FakeItem("t.py::b[postgres]", {"bridgeflow": "postgres"})
    with pytest.raises(pytest.UsageError, match=r"t\.py::b\[postgres\]"):
        pytest_collection_modifyitems(cast(pytest.Config, None),
                                      cast(list[pytest.Item], [marked, unmarked]))


def test_require_skips_with_its_reason_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tests.conftest, "IN_CI", False)
    require(True, "never said")
    with pytest.raises(pytest.skip.Exception, match="Tryton is not installed"):
        require(False, "Tryton is not installed")


def test_require_fails_with_its_reason_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tests.conftest, "IN_CI", True)
    require("postgresql://x", "never said")
    with pytest.raises(pytest.fail.Exception, match="Chromium is not installed.*CI is set"):
        require(False, "Chromium is not installed")
