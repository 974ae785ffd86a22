"""How connectors are wired in: which operations a configuration provides, and error mapping."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from engine.config import Settings
from engine.registry import FailureKind, OperationRegistry, classify
from service_tasks import base
from web.connectors import build_registry, register_per_thread

MAPPINGS = Path(__file__).resolve().parents[2] / "processes" / "mappings"


def test_the_engine_reads_the_connectors_one_error_tree_as_it_is() -> None:
    business = classify(base.BusinessRuleError("insufficient_stock", "BF-510: 0 left",
                                               {"product_code": "BF-510"}))
    assert business.kind is FailureKind.BUSINESS
    assert (business.error_code, business.message) == ("insufficient_stock", "BF-510: 0 left")
    assert business.details == {"product_code": "BF-510"}
    assert classify(base.TransientError("timed out")).kind is FailureKind.TRANSIENT
    assert classify(base.InvalidParameters("missing: lines")).kind is FailureKind.PERMANENT
    assert classify(base.AuthenticationError("bad secret")).kind is FailureKind.PERMANENT
    assert classify(base.ConnectorError("refused")).kind is FailureKind.PERMANENT
    bug = classify(KeyError("x"))  # a connector's own bug: retried, then an incident
    assert bug.kind is FailureKind.TRANSIENT and bug.message == "KeyError: 'x'"


def test_a_configuration_provides_exactly_the_systems_it_names(tmp_path: Path) -> None:
    nothing = build_registry(Settings(mappings_dir=str(tmp_path / "none")))
    # only the report builders, which are plain Python and talk to no system
    assert nothing.names() == ["reports.build_customer", "reports.build_inventory",
                               "reports.build_sales"]
    everything = build_registry(Settings(
        erp_url="http://127.0.0.1:1", crm_url="http://127.0.0.1:2", crm_client_secret="s",
        smtp_host="127.0.0.1", mappings_dir=str(MAPPINGS)))
    names = everything.names()
    for name in ("erp.check_stock", "erp.create_sales_order", "erp.create_refund",
                 "crm.get_order", "crm.update_order", "crm.create_task", "notify.email",
                 "mapping.apply"):
        assert name in names, name


def test_every_thread_gets_its_own_clients() -> None:
    made: list[int] = []

    def factory() -> dict[str, Any]:
        made.append(threading.get_ident())
        marker = object()
        return {"test.who": lambda params, ctx: id(marker)}

    registry = OperationRegistry()
    register_per_thread(registry, factory)
    op = registry.get("test.who")
    assert op is not None
    here = {op.fn({}, None), op.fn({}, None)}
    there: set[int] = set()
    worker = threading.Thread(target=lambda: there.add(op.fn({}, None)))
    worker.start()
    worker.join()
    assert len(here) == 1 and len(there) == 1 and here != there


def test_a_broken_mapping_file_stops_the_start_with_its_problems(tmp_path: Path) -> None:
    from web import create_app
    from web.bootstrap import StartupError

    (tmp_path / "bad.yaml").write_text("fields:\n  - to: x\n    type: nonsense\n    from: y\n")
    with pytest.raises(StartupError, match="bad.yaml"):
        create_app({"database_url": f"sqlite:///{tmp_path}/db.sqlite",
                    "processes_dir": str(tmp_path / "none"), "mappings_dir": str(tmp_path),
                    "run_worker_in_web": False})
