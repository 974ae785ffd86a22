"""Rewrite a checked script's AST so that loops, calls and amplifying operators hit the limits.

Every loop body and comprehension iteration calls ``__bf_tick`` (time limit), every function
and lambda is wrapped by ``__bf_guard`` (time and recursion limits), and ``*``, ``**``, ``<<``,
``+``, ``%``, f-string fields and a few string/list methods go through size-checking helpers.
Scripts cannot name the helpers: the checker refuses names that start with ``_``.
"""

from __future__ import annotations

import ast
from typing import Any

from engine.scripting._runtime import AMPLIFYING_METHODS

HELPER_PREFIX = "__bf_"

_BINARY_HELPERS: dict[type[ast.operator], tuple[str, str]] = {
    ast.Mult: ("mul", "*"),
    ast.Pow: ("pow", "**"),
    ast.LShift: ("lshift", "<<"),
    ast.Add: ("add", "+"),
    ast.Mod: ("mod", "%"),
}


def _helper(name: str) -> ast.Name:
    return ast.Name(id=HELPER_PREFIX + name, ctx=ast.Load())


def _call(name: str, *args: ast.expr) -> ast.Call:
    return ast.Call(func=_helper(name), args=list(args), keywords=[])


class Instrumenter(ast.NodeTransformer):
    """Insert the limit checks; ``needs_run`` tells whether the code uses per-run state."""

    def __init__(self) -> None:
        self.needs_run = False

    def _tick_first(self, node: ast.For | ast.While) -> ast.AST:
        self.generic_visit(node)
        tick = ast.copy_location(ast.Expr(_call("tick")), node.body[0])
        node.body.insert(0, tick)
        self.needs_run = True
        return node

    def visit_For(self, node: ast.For) -> ast.AST:
        return self._tick_first(node)

    def visit_While(self, node: ast.While) -> ast.AST:
        return self._tick_first(node)

    def visit_comprehension(self, node: ast.comprehension) -> ast.AST:
        self.generic_visit(node)
        node.ifs.insert(0, ast.copy_location(_call("tick"), node.target))
        self.needs_run = True
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        self.generic_visit(node)
        node.decorator_list = [ast.copy_location(_helper("guard"), node)]
        self.needs_run = True
        return node

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:
        self.generic_visit(node)
        self.needs_run = True
        return ast.copy_location(_call("guard", node), node)

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        helper = _BINARY_HELPERS.get(type(node.op))
        if helper is None:
            return node
        constant = isinstance(node.left, ast.Constant) or isinstance(node.right, ast.Constant)
        if isinstance(node.op, ast.Add) and constant:
            return node  # adding a constant grows a value by a fixed amount: no amplifier
        return ast.copy_location(_call(helper[0], node.left, node.right), node)

    def visit_AugAssign(self, node: ast.AugAssign) -> ast.AST:
        self.generic_visit(node)
        helper = _BINARY_HELPERS.get(type(node.op))
        if helper is None:
            return node
        op = ast.Constant(value=helper[1])
        target = node.target
        replacement: ast.stmt
        if isinstance(target, ast.Name):
            current = ast.Name(id=target.id, ctx=ast.Load())
            value = _call("in_place", op, current, node.value)
            replacement = ast.Assign(targets=[target], value=value)
        elif isinstance(target, ast.Subscript):
            key = _as_value(target.slice)
            replacement = ast.Expr(_call("in_place_item", target.value, key, op, node.value))
        else:  # attribute targets are refused by the checker
            return node
        return ast.copy_location(replacement, node)

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.ctx, ast.Load) and node.attr in AMPLIFYING_METHODS:
            return ast.copy_location(_call("method", node.value, ast.Constant(node.attr)), node)
        return node

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        self.generic_visit(node)
        spec: ast.expr = node.format_spec or ast.Constant(value="")
        text = _call("format", node.value, ast.Constant(value=node.conversion), spec)
        return ast.copy_location(ast.FormattedValue(value=text, conversion=-1), node)


def _as_value(key: ast.expr) -> ast.expr:
    """Turn a subscript key into an ordinary expression (``a:b`` becomes ``slice(a, b)``)."""
    if isinstance(key, ast.Slice):
        parts: list[Any] = [key.lower, key.upper, key.step]
        args = [part or ast.Constant(value=None) for part in parts]
        return ast.copy_location(_call("slice", *args), key)
    if isinstance(key, ast.Tuple):
        elts = [_as_value(elt) for elt in key.elts]
        return ast.copy_location(ast.Tuple(elts=elts, ctx=ast.Load()), key)
    return key


def instrument(tree: ast.Module | ast.Expression) -> tuple[ast.Module | ast.Expression, bool]:
    """Return the rewritten tree and whether running it needs per-run state."""
    instrumenter = Instrumenter()
    rewritten = instrumenter.visit(tree)
    assert isinstance(rewritten, ast.Module | ast.Expression)
    ast.fix_missing_locations(rewritten)
    return rewritten, instrumenter.needs_run
