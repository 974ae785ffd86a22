"""``bridgeflow test [PATH…]``: run the analysts' process and decision tests.

Each test file runs against the BPMN, DMN and form files of its own folder, in a
temporary database of its own: nothing touches the configured database, ERP or CRM.
Exit status: 0 when every case passes, 1 when a case fails, 2 when a file is malformed.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from engine import FileResult, Settings, is_test_file, report, run_test_file


def find_test_files(paths: list[Path]) -> list[Path]:
    """The test files PATHs name: files as given, folders searched recursively."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(p for p in sorted(path.rglob("*")) if p.is_file()
                         and is_test_file(p.name))
        elif path.is_file():
            found.append(path)
        else:
            raise click.BadParameter(f"{path} does not exist", param_hint="PATH")
    return found


def sources_beside(test_file: Path) -> dict[str, bytes]:
    """The process files a test file runs against: its folder's BPMN and DMN files and
    the forms of its forms/ folder, by file name (as a deployment names them)."""
    folder = test_file.parent
    out = {p.name: p.read_bytes() for p in sorted(folder.iterdir())
           if p.is_file() and p.suffix in (".bpmn", ".dmn")}
    forms = folder / "forms"
    if forms.is_dir():
        out.update({p.name: p.read_bytes() for p in sorted(forms.glob("*.json"))})
    return out


def run_paths(paths: list[Path]) -> list[FileResult]:
    """Run every test file under ``paths``."""
    return [run_test_file(str(path), path.read_bytes(), sources_beside(path))
            for path in find_test_files(paths)]


def exit_status(results: list[FileResult]) -> int:
    """0: every case passed; 1: a case failed; 2: a file is malformed (or there is none)."""
    if not results or any(r.error is not None for r in results):
        return 2
    return 0 if all(r.passed for r in results) else 1


@click.command("test")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
def test(paths: tuple[Path, ...]) -> None:
    """Run the process and decision tests in PATHs (files or folders; the processes
    folder by default) and print a report."""
    chosen = list(paths) or [Path(Settings.from_env().processes_dir)]
    # what the engine logs while a case runs (a refused claim, a failed call) is what the
    # case scripts; the report says what matters
    logging.disable(logging.WARNING)
    try:
        results = run_paths(chosen)
    finally:
        logging.disable(logging.NOTSET)
    click.echo(report(results) if results else
               f"no test files (*.test.yaml) under {', '.join(map(str, chosen))}")
    sys.exit(exit_status(results))


test.__test__ = False  # type: ignore[attr-defined]  # a click command, not a pytest test
