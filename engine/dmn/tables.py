"""Evaluate a compiled decision table: match the rules, then apply the DMN hit policy."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from engine.dmn.feel_builtins import BUILTINS
from engine.dmn.feel_eval import Env, Evaluator
from engine.dmn.feel_types import feel_eq, feel_repr
from engine.dmn.feel_unary import Test, accepted_texts, is_pure
from engine.dmn.results import DecisionEvaluationError, MatchedRule
from engine.dmn.typeref import Converter, TypeMismatchError

_SINGLE_HIT = frozenset({"UNIQUE", "ANY", "PRIORITY", "FIRST"})
_AGGREGATE = {name: BUILTINS[name.lower()] for name in ("SUM", "MIN", "MAX", "COUNT")}


@dataclass(frozen=True, slots=True)
class CompiledRule:
    matched: MatchedRule
    tests: tuple[tuple[int, Test], ...]  # (input column, predicate); "-" cells are left out
    outputs: tuple[Evaluator, ...]


@dataclass(frozen=True, slots=True)
class CompiledInput:
    label: str
    expression: Evaluator
    convert: Converter | None


class CompiledTable:
    """A decision table ready to run; ``owner`` names the decision in error messages."""

    def __init__(
        self,
        owner: str,
        owner_id: str,
        hit_policy: str,
        aggregation: str | None,
        inputs: Sequence[CompiledInput],
        output_names: Sequence[str],
        priorities: Sequence[list[Any] | None],
        defaults: Sequence[Evaluator] | None,
        rules: Sequence[CompiledRule],
    ) -> None:
        self.owner, self.owner_id = owner, owner_id
        self.hit_policy, self.aggregation = hit_policy, aggregation
        self.inputs = tuple(inputs)
        self.output_names = tuple(output_names)
        self.priorities = tuple(priorities)
        self.defaults = tuple(defaults) if defaults is not None else None
        self.rules = tuple(rules)
        self.stop_at_first = hit_policy == "FIRST"
        self.plan = _column_plan(self.rules)
        self.every_rule = (1 << len(self.rules)) - 1

    def input_values(self, env: Env) -> list[Any]:
        values = []
        for clause in self.inputs:
            value = clause.expression(env)
            if clause.convert is not None:
                try:
                    value = clause.convert(value)
                except TypeMismatchError as exc:
                    raise DecisionEvaluationError(
                        f"decision '{self.owner}': input '{clause.label}' {exc}; convert the "
                        "variable before the decision or fix the column's type",
                        self.owner_id,
                    ) from exc
            values.append(value)
        return values

    def evaluate(self, env: Env) -> tuple[Any, list[MatchedRule]]:
        values = self.input_values(env)
        hits = self.by_columns(values, env) if self.plan is not None else self.by_rules(values, env)
        rows = [self.row(rule.outputs, env) for rule in hits]
        matched = [rule.matched for rule in hits]
        if self.hit_policy in _SINGLE_HIT:
            return self.single_hit(rows, matched, env)
        return self.multi_hit(rows, matched, env)

    def by_rules(self, values: list[Any], env: Env) -> list[CompiledRule]:
        """The matching rules, testing rule by rule (cells may read other names or report)."""
        hits: list[CompiledRule] = []
        for rule in self.rules:
            for column, test in rule.tests:
                if test(values[column], env) is not True:
                    break
            else:
                hits.append(rule)
                if self.stop_at_first:
                    break
        return hits

    def by_columns(self, values: list[Any], env: Env) -> list[CompiledRule]:
        """The matching rules, testing each distinct cell of a column once (pure cells only):
        a bit per rule, kept while every column so far matched it."""
        assert self.plan is not None
        candidates = self.every_rule
        for column, wildcard, tests, by_text in self.plan:
            value, passed = values[column], wildcard
            if by_text is not None:  # every cell is a text or a list of texts
                if type(value) is str:
                    passed |= by_text.get(value, 0)
            else:
                for test, rules in tests:
                    if rules & candidates and test(value, env) is True:
                        passed |= rules
            candidates &= passed
            if not candidates:
                return []
        if not candidates:  # a table without rules
            return []
        if self.stop_at_first:
            return [self.rules[(candidates & -candidates).bit_length() - 1]]
        return [rule for i, rule in enumerate(self.rules) if candidates >> i & 1]

    def row(self, outputs: Sequence[Evaluator], env: Env) -> list[Any]:
        return [fn(env) for fn in outputs]

    def shape(self, row: list[Any]) -> Any:
        if len(self.output_names) == 1:
            return row[0]
        return dict(zip(self.output_names, row, strict=True))

    def default_row(self, env: Env) -> list[Any] | None:
        return None if self.defaults is None else self.row(self.defaults, env)

    def single_hit(self, rows: list[list[Any]], matched: list[MatchedRule],
                   env: Env) -> tuple[Any, list[MatchedRule]]:
        if not rows:
            default = self.default_row(env)
            return (None if default is None else self.shape(default)), []
        if len(rows) > 1:
            if self.hit_policy == "UNIQUE":
                raise self.violation("allows only one matching rule", matched)
            if self.hit_policy == "ANY":
                if not all(feel_eq(r, rows[0]) is True for r in rows[1:]):
                    raise self.violation("requires matching rules to give the same outputs, "
                                         f"but they gave {self.describe(rows)}", matched)
                return self.shape(rows[0]), matched
            if self.hit_policy == "PRIORITY":
                best = min(range(len(rows)), key=lambda i: self.priority(rows[i]))
                return self.shape(rows[best]), [matched[best]]
        return self.shape(rows[0]), matched[:1]

    def multi_hit(self, rows: list[list[Any]], matched: list[MatchedRule],
                  env: Env) -> tuple[Any, list[MatchedRule]]:
        if not rows:
            default = self.default_row(env)
            rows = [] if default is None else [default]
        if self.hit_policy == "OUTPUT ORDER":
            order = sorted(range(len(rows)), key=lambda i: self.priority(rows[i]))
            rows, matched = [rows[i] for i in order], [matched[i] for i in order]
        if self.aggregation is not None:
            return _AGGREGATE[self.aggregation].invoke([[r[0] for r in rows]]), matched
        return [self.shape(r) for r in rows], matched

    def priority(self, row: list[Any]) -> tuple[int, ...]:
        """Lower is higher priority: each output's position in its output values list."""
        key = []
        for value, allowed in zip(row, self.priorities, strict=True):
            if allowed is None:
                continue
            position = next((i for i, a in enumerate(allowed) if feel_eq(a, value) is True),
                            len(allowed))
            key.append(position)
        return tuple(key)

    def describe(self, rows: list[list[Any]]) -> str:
        return "; ".join(", ".join(feel_repr(v) for v in row) for row in rows)

    def violation(self, what: str, matched: list[MatchedRule]) -> DecisionEvaluationError:
        numbers = ", ".join(str(m.number) for m in matched)
        return DecisionEvaluationError(
            f"decision '{self.owner}': hit policy {self.hit_policy} {what}, but rules {numbers} "
            "matched; make the rules exclusive or choose another hit policy (FIRST, PRIORITY, "
            "COLLECT)",
            self.owner_id,
            matched,
        )



Plan = tuple[tuple[int, int, tuple[tuple[Test, int], ...], dict[str, int] | None], ...]


def _column_plan(rules: Sequence[CompiledRule]) -> Plan | None:
    """For each input column: the rules with ``-`` there (a bit mask) and each distinct cell
    with the rules that use it; None when a cell is not pure (tested rule by rule then)."""
    every = (1 << len(rules)) - 1
    wildcards: dict[int, int] = {}
    cells: dict[int, dict[int, tuple[Test, int]]] = {}
    for i, rule in enumerate(rules):
        for column, test in rule.tests:
            if not is_pure(test):
                return None
            wildcards[column] = wildcards.get(column, every) & ~(1 << i)
            known = cells.setdefault(column, {}).get(id(test))
            cells[column][id(test)] = (test, (known[1] if known else 0) | 1 << i)
    return tuple((column, wildcards[column], tuple(cells[column].values()),
                  _text_index(cells[column].values()))
                 for column in sorted(cells))


def _text_index(cells: Iterable[tuple[Test, int]]) -> dict[str, int] | None:
    """For a column of text cells ("EU", or "gold", "silver"): each text → the rules it
    passes; None when some cell is not such a test."""
    index: dict[str, int] = {}
    for test, rules in cells:
        texts = accepted_texts(test)
        if texts is None:
            return None
        for text in texts:
            index[text] = index.get(text, 0) | rules
    return index
