"""Compile decision-table input cells (FEEL unary tests) into predicates on the input value.

A predicate returns True, False or None (FEEL null); a rule matches only on True. Cells made
of constants (the common case) get specialised closures: a type check and one comparison.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from engine.dmn import feel_ast as ast
from engine.dmn.feel_errors import report
from engine.dmn.feel_eval import COMPARE, Const, Env, Evaluator, ExprCompiler
from engine.dmn.feel_lexer import FeelSyntaxError
from engine.dmn.feel_types import Range, feel_eq, feel_not

Test = Callable[[Any, Env], "bool | None"]
_FAST_TYPES = (Decimal, str)

# pure tests, each with the texts it accepts when it is true exactly for those (else None)
_PURE: weakref.WeakKeyDictionary[Test, frozenset[str] | None] = weakref.WeakKeyDictionary()


def _pure(test: Test, texts: frozenset[str] | None = None) -> Test:
    """Mark a test that reads only its input value, never raises and never reports an error:
    a table may run it once for all the rules that share it, in any order. ``texts``: the test
    is true for exactly these strings and for nothing else."""
    _PURE[test] = texts
    return test


def is_pure(test: Test) -> bool:
    return test in _PURE


def accepted_texts(test: Test) -> frozenset[str] | None:
    """The strings a pure test is true for, when that is all it is true for."""
    return _PURE.get(test)


class TestCompiler(ExprCompiler):
    """Compiles unary tests; also expressions, where ``x in (...)`` needs unary tests."""

    def __init__(self, names: frozenset[str] = frozenset(),
                 types: dict[str, Any] | None = None) -> None:
        super().__init__(names, types)
        self._cells: dict[tuple[ast.Node, frozenset[str]], Test] = {}

    def c_InputRef(self, node: ast.InputRef) -> Evaluator:
        return lambda env: env["?"]

    def c_InTest(self, node: ast.InTest) -> Evaluator:
        value, test = self.compile(node.value), self.compile_tests(node.tests)

        def within(env: Env) -> Any:
            tested = value(env)
            result = test(tested, env)
            if tested is None and result is None:
                report("null in a range is not defined: null")  # null propagation
            return result

        return within

    def compile_cell(self, node: ast.Node) -> Test | None:
        """The predicate for a whole input cell, or None for ``-`` (matches anything).

        Cells written alike get the same pure predicate, so a table can test it once.
        """
        key = (node, self.names)
        shared = self._cells.get(key)
        if shared is not None:
            return shared
        test = self._compile_cell(node)
        if test is not None and is_pure(test):
            self._cells[key] = test
        return test

    def _compile_cell(self, node: ast.Node) -> Test | None:
        if isinstance(node, ast.AnyTest):
            return None
        if isinstance(node, ast.NotTest):
            inner = self.compile_tests(node.tests)
            return lambda v, env: feel_not(inner(v, env))
        if isinstance(node, ast.AnyOf):
            return self.compile_tests(node.tests)
        return self.compile_test(node)

    def compile_tests(self, tests: tuple[ast.Node, ...]) -> Test:
        constants = [self.constant_equality(t) for t in tests]
        kinds = {type(c) for c in constants}
        if len(tests) > 1 and len(kinds) == 1 and kinds <= set(_FAST_TYPES):
            kind = kinds.pop()
            texts = frozenset(constants) if kind is str else None
            return _pure(_member_of(frozenset(constants), kind), texts)
        compiled = [self.compile_test(t) for t in tests]
        if len(compiled) == 1:
            return compiled[0]

        def any_of(v: Any, env: Env) -> bool | None:
            result: bool | None = False
            for test in compiled:
                r = test(v, env)
                if r is True:
                    return True
                if r is None:
                    result = None
            return result

        return any_of

    def constant_equality(self, node: ast.Node) -> Any:
        """The constant a test checks equality with, or a sentinel ``NOT_CONST``."""
        if isinstance(node, ast.CmpTest) and node.op == "=":
            node = node.endpoint
        elif isinstance(node, ast.ExprTest):
            node = node.expr
        else:
            return NOT_CONST
        if ast.uses_input(node):
            return NOT_CONST
        fn = self.compile(node)
        return fn.value if isinstance(fn, Const) else NOT_CONST

    def compile_test(self, node: ast.Node) -> Test:
        if isinstance(node, ast.CmpTest):
            return self.comparison_test(node)
        if isinstance(node, ast.ExprTest):
            return self.expression_test(node.expr)
        raise FeelSyntaxError("this kind of test cannot appear here", node.pos)

    def comparison_test(self, node: ast.CmpTest) -> Test:
        endpoint, op = self.compile(node.endpoint), node.op
        if not isinstance(endpoint, Const):
            compare = COMPARE[op]
            return lambda v, env: compare(v, endpoint(env))
        c = endpoint.value
        if op == "=":
            return _pure(_equals(c), frozenset({c}) if type(c) is str else None)
        if op == "!=":
            equal = _equals(c)
            return lambda v, env: feel_not(equal(v, env))
        if type(c) in _FAST_TYPES:
            return _pure(_ordered(op, c))
        compare = COMPARE[op]
        return lambda v, env: compare(v, c)

    def expression_test(self, expr: ast.Node) -> Test:
        fn = self.compile(expr)
        if ast.uses_input(expr):
            def with_input(v: Any, env: Env) -> bool | None:
                env["?"] = v
                r = fn(env)
                return r if type(r) is bool else None

            return with_input
        if isinstance(fn, Const):
            return _value_test(fn.value)
        return lambda v, env: match_value(v, fn(env))


class _NotConst:
    pass


NOT_CONST = _NotConst()


def match_value(v: Any, r: Any) -> bool | None:
    """The unary test ``r`` (a value, list or range that is not a test on ``?``) against ``v``."""
    tr = type(r)
    if tr is Range:
        if r.test:  # (= x), (!= x): a test for one value, of any type
            same = feel_eq(v, r.start)
            return same if r.test == "=" or same is None else not same
        if type(v) in (bool, list, dict) and r.start_included and r.end_included:
            # (= true), (= [1, 2]): a one-value range of a type without order
            return feel_eq(v, r.start) if feel_eq(r.start, r.end) else None
        contained: bool | None = r.contains(v)
        return contained
    if tr is list:
        if type(v) is list and not any(type(item) is list for item in r):
            return feel_eq(v, r)
        # membership: an item of another type is simply not the value
        return any((item.contains(v) if type(item) is Range else feel_eq(v, item)) is True
                   for item in r)
    if tr is bool and type(v) is not bool and v is not None:
        return bool(r)  # a condition on other names, e.g. "Applicant Age > 18"
    return feel_eq(v, r)


def _value_test(c: Any) -> Test:
    t = type(c)
    if t is Range and not c.test and type(c.start) is Decimal and type(c.end) is Decimal:
        return _pure(_decimal_range(c))
    if t is list:
        kinds = {type(item) for item in c}
        if c and len(kinds) == 1 and kinds <= set(_FAST_TYPES):
            members, kind = frozenset(c), kinds.pop()

            def in_list(v: Any, env: Env) -> bool | None:
                if type(v) is kind:
                    return bool(v in members)
                return match_value(v, c)

            return _pure(in_list)
    if t is Range or t is list:
        return lambda v, env: match_value(v, c)
    return _pure(_equals(c), frozenset({c}) if type(c) is str else None)


def _equals(c: Any) -> Test:
    t = type(c)
    if c is None:
        return lambda v, env: v is None
    if t is bool or t in _FAST_TYPES:
        return lambda v, env: (v == c) if type(v) is t else (False if v is None else None)
    return lambda v, env: feel_eq(v, c)


def _member_of(members: frozenset[Any], kind: type) -> Test:
    return lambda v, env: (v in members) if type(v) is kind else (False if v is None else None)


def _ordered(op: str, c: Any) -> Test:
    t = type(c)
    if op == "<":
        return lambda v, env: (v < c) if type(v) is t else None
    if op == "<=":
        return lambda v, env: (v <= c) if type(v) is t else None
    if op == ">":
        return lambda v, env: (v > c) if type(v) is t else None
    return lambda v, env: (v >= c) if type(v) is t else None


def _decimal_range(r: Range) -> Test:
    lo, hi = r.start, r.end
    if r.start_included and r.end_included:
        return lambda v, env: (lo <= v <= hi) if type(v) is Decimal else None
    if r.start_included:
        return lambda v, env: (lo <= v < hi) if type(v) is Decimal else None
    if r.end_included:
        return lambda v, env: (lo < v <= hi) if type(v) is Decimal else None
    return lambda v, env: (lo < v < hi) if type(v) is Decimal else None
