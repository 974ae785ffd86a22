"""Reading mapping files: strict YAML / TOML with line numbers, one file or a directory."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from ..base import InvalidParameters
from .checks import _check_document, _Checker
from .errors import MappingFileError, MappingProblem
from .model import Mapping

SUFFIXES = (".yaml", ".yml", ".toml")


class _Located(dict[Any, Any]):
    """A YAML mapping that remembers the line it starts on."""

    line: int | None = None


class _YamlLoader(yaml.SafeLoader):
    """SafeLoader with YAML-1.2-like scalars, line numbers, and duplicate keys recorded."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[int, Any]] = []


def _construct_mapping(loader: _YamlLoader, node: yaml.MappingNode) -> Iterator[_Located]:
    data = _Located()
    data.line = node.start_mark.line + 1
    yield data
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, list | dict):
            raise yaml.constructor.ConstructorError(
                None, None, "a key must be a plain value", key_node.start_mark)
        if key in data:
            loader.duplicates.append((key_node.start_mark.line + 1, key))
        data[key] = loader.construct_object(value_node, deep=True)


def _construct_decimal(loader: _YamlLoader, node: yaml.ScalarNode) -> Decimal:
    text = str(loader.construct_scalar(node))
    try:
        return Decimal(text)
    except InvalidOperation:
        raise yaml.constructor.ConstructorError(
            None, None, f"'{text}' is not a number", node.start_mark) from None


_YamlLoader.yaml_implicit_resolvers = {}
for _tag, _pattern, _first in (
        ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
        ("null", r"^(?:~|null|Null|NULL|)$", ["~", "n", "N", ""]),
        ("int", r"^[-+]?(?:0|[1-9][0-9]*)$", "-+0123456789"),
        ("float", r"^[-+]?(?:0|[1-9][0-9]*)\.[0-9]+(?:[eE][-+]?[0-9]+)?$", "-+0123456789")):
    _YamlLoader.add_implicit_resolver(f"tag:yaml.org,2002:{_tag}", re.compile(_pattern),
                                      list(_first))
_YamlLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_YamlLoader.add_constructor("tag:yaml.org,2002:float", _construct_decimal)


def _read_document(path: Path) -> tuple[Any, list[MappingProblem]]:
    """The parsed file, or the syntax problem that stopped it (with its line)."""
    file = str(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        return None, [MappingProblem(file, f"cannot read the file: {exc.strerror or exc}")]
    except UnicodeDecodeError:
        return None, [MappingProblem(file, "the file is not UTF-8 text")]
    if path.suffix == ".toml":
        try:
            return tomllib.loads(text, parse_float=Decimal), []
        except tomllib.TOMLDecodeError as exc:
            found = re.search(r"\(at line (\d+)", str(exc))
            return None, [MappingProblem(file, f"TOML syntax error: {exc}",
                                         int(found.group(1)) if found else None)]
    loader = _YamlLoader(text)
    try:
        doc = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark is not None else None
        what = ", ".join(str(p) for p in (exc.context, exc.problem) if p)
        return None, [MappingProblem(file, f"YAML syntax error: {what}", line)]
    except yaml.YAMLError as exc:
        return None, [MappingProblem(file, f"YAML syntax error: {exc}")]
    finally:
        loader.dispose()
    return doc, [MappingProblem(file, f"the key '{key}' is written twice", line)
                 for line, key in loader.duplicates]


def _load(path: Path) -> tuple[Mapping | None, list[MappingProblem]]:
    doc, problems = _read_document(path)
    if doc is None and problems:
        return None, problems
    checker = _Checker(str(path))
    checker.problems.extend(problems)
    mapping = _check_document(doc, path, checker)
    return mapping, sorted(checker.problems, key=lambda p: p.line or 0)


def load_mapping(path: str | Path) -> Mapping:
    """Load and check one mapping file; raise ``MappingFileError`` listing every problem."""
    mapping, problems = _load(Path(path))
    if problems or mapping is None:
        raise MappingFileError(problems)
    return mapping


class MappingSet:
    """Every mapping file of a directory, by name; problems of all files are reported at once."""

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        if not self.directory.is_dir():
            raise MappingFileError([MappingProblem(str(self.directory),
                                                   "the mappings directory does not exist")])
        problems: list[MappingProblem] = []
        self._mappings: dict[str, Mapping] = {}
        for path in sorted(self.directory.iterdir()):
            if not path.is_file() or path.suffix not in SUFFIXES:
                continue
            mapping, found = _load(path)
            problems.extend(found)
            if mapping is None:
                continue
            other = self._mappings.get(mapping.name)
            if other is not None:
                problems.append(MappingProblem(str(path), f"the name '{mapping.name}' is "
                                               f"also used by {other.path}"))
            self._mappings[mapping.name] = mapping
        if problems:
            raise MappingFileError(problems)

    def names(self) -> list[str]:
        return sorted(self._mappings)

    def __contains__(self, name: object) -> bool:
        return name in self._mappings

    def get(self, name: str) -> Mapping:
        """The mapping called ``name``; an unknown name is a modelling mistake."""
        try:
            return self._mappings[name]
        except (KeyError, TypeError):
            raise InvalidParameters(
                f"no mapping named {name!r} in {self.directory} (known: "
                f"{', '.join(self.names()) or 'none'})", {"mapping": str(name)}) from None
