"""DESIGN.md's import rules: only engine/ uses SpiffWorkflow; connectors are leaves."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OURS = {"engine", "web", "service_tasks", "crm_sandbox"}


def _imports(package: str) -> list[tuple[str, str]]:
    found = []
    for path in (ROOT / package).rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found += [(str(path.relative_to(ROOT)), a.name.split(".")[0]) for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.append((str(path.relative_to(ROOT)), node.module.split(".")[0]))
    return found


def test_only_engine_imports_spiffworkflow() -> None:
    offenders = [f for pkg in ("web", "service_tasks") for f, mod in _imports(pkg)
                 if mod == "SpiffWorkflow"]
    assert offenders == []


def test_engine_never_imports_the_web_layer_or_flask() -> None:
    offenders = [(f, m) for f, m in _imports("engine") if m in ("web", "flask", "service_tasks")]
    assert offenders == []


def test_service_tasks_import_nothing_of_ours_nor_frameworks() -> None:
    banned = OURS | {"flask", "sqlalchemy", "SpiffWorkflow"}
    offenders = [(f, m) for f, m in _imports("service_tasks") if m in banned - {"service_tasks"}]
    assert offenders == []


def test_the_check_sees_imports() -> None:
    # The rule above would pass vacuously if the walker found nothing.
    assert ("engine/bpmn/runtime.py", "SpiffWorkflow") in _imports("engine")


def test_the_sandbox_crm_is_an_outside_system() -> None:
    # It plays a real CRM: it may share nothing with Bridgeflow, or tests would prove little.
    offenders = [(f, m) for f, m in _imports("crm_sandbox") if m in OURS - {"crm_sandbox"}]
    assert offenders == []


def test_the_web_layer_uses_only_the_engines_public_surface() -> None:
    # httpx's pattern: a public package over private modules. web/ imports `engine` itself,
    # never engine.models, engine.db, engine.executor…, so the services stay the one door.
    offenders = []
    for path in (ROOT / "web").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module] if isinstance(node, ast.ImportFrom) and node.module
                     and node.level == 0 else [])
            offenders += [(str(path.relative_to(ROOT)), n) for n in names
                          if n.startswith("engine.")]
    assert offenders == []
    assert ("web/api/common.py", "engine") in _imports("web")  # the walker sees web's imports
