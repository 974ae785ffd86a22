"""Which scripts and expressions are cheap enough, provably, to run in the engine's own process.

Everything else runs in a worker process under operating-system limits (``_pool``). A round
trip to another process costs ~0.05 ms on an idle machine but milliseconds on a busy one (two
wake-ups), so the common small cases stay in-process when their cost is bounded by their size
and the size of the data they read. The bounded subset:

* at most ``MAX_NODES`` syntax nodes; no loops, functions, lambdas, ``try``, ``if``, ``:=``,
  ``**`` or ``<<``; so straight-line code, each statement run once;
* at most one generator expression, with one ``for`` (target a name), and only as the sole
  argument of ``sum any all min max``: its items are consumed one by one (nothing piles up,
  and ``sum`` without a start value only adds numbers), and the instrumented tick stops it at
  the time limit between two items;
* no list, dict, set or tuple displays, no method calls, no item assignment: code cannot build
  cycles or nest one value in another (``a = [a, a]``, whose comparison is exponential);
* calls only to ``len abs round min max int float str bool sum any all`` (the sandbox's guarded
  versions, no keyword arguments); f-string fields without a format spec (a spec like ``:f``
  expands ``Decimal('1e999999')``); the instrumented runtime still caps every ``*``, ``+`` and
  ``%`` at the size limit and ints at ``MAX_INT_BITS``.

So every step costs at most a pass over the values it reads. Expressions never rebind a name,
and the process variables they read are trees (they arrive as JSON or leave a worker as JSON,
each capped by the size limit), so comparing two of them is linear. A script can rebind names,
so ``a = lines + lines`` repeated builds a long list of shared references whose comparison is
not linear in the data: a script therefore runs in-process only if it is also *container-safe*
(every comparison has a constant on one side, no ``min``/``max``) or every variable it reads is
a small scalar (``reads_only_scalars``, checked on each call). Memory is then bounded by a small
multiple (the number of nodes) of the data read, plus the size limit per step.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

MAX_NODES = 40
MAX_SCALAR_TEXT = 10_000
SAFE_CALLS = frozenset({"len", "abs", "round", "min", "max", "int", "float", "str", "bool",
                        "sum", "any", "all"})
AGGREGATES = frozenset({"sum", "any", "all", "min", "max"})
SCALAR_TYPES = frozenset({bool, int, float, str, type(None), date, datetime, timedelta})

_OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod)
_UNARY = (ast.Not, ast.USub, ast.UAdd)
_PLAIN = (ast.Expression, ast.Module, ast.Name, ast.Constant, ast.Compare, ast.BoolOp,
          ast.IfExp, ast.JoinedStr, ast.expr_context, ast.boolop, ast.cmpop, ast.Expr)


@dataclass(frozen=True)
class Bound:
    """What ``classify`` found: bounded at all, and bounded whatever data a script reads."""

    bounded: bool
    container_safe: bool


def classify(tree: ast.AST) -> Bound:
    """Place ``tree`` (already accepted by the checker) in or out of the bounded subset."""
    nodes = list(ast.walk(tree))
    if len(nodes) > MAX_NODES:
        return Bound(False, False)
    called = {id(node.func) for node in nodes if isinstance(node, ast.Call)}
    consumed = {id(node.args[0]) for node in nodes
                if isinstance(node, ast.Call) and _aggregates_one_generator(node)}
    generators = [node for node in nodes if isinstance(node, ast.GeneratorExp)]
    if len(generators) > 1 or any(id(node) not in consumed for node in generators):
        return Bound(False, False)
    if not all(_allowed(node, id(node) in called) for node in nodes):
        return Bound(False, False)
    safe = all(_compares_with_constant(node) for node in nodes if isinstance(node, ast.Compare))
    safe = safe and not any(isinstance(node, ast.Name) and node.id in ("min", "max")
                            for node in nodes)
    return Bound(True, safe)


def _aggregates_one_generator(node: ast.Call) -> bool:
    return (isinstance(node.func, ast.Name)
            and node.func.id in AGGREGATES and len(node.args) == 1
            and isinstance(node.args[0], ast.GeneratorExp))


def _compares_with_constant(node: ast.Compare) -> bool:
    operands = [node.left, *node.comparators]
    return all(isinstance(a, ast.Constant) or isinstance(b, ast.Constant)
               for a, b in zip(operands, operands[1:], strict=False))


def _allowed(node: ast.AST, is_callee: bool) -> bool:
    if isinstance(node, ast.Name) and is_callee:
        return node.id in SAFE_CALLS
    if isinstance(node, _PLAIN):
        return True
    if isinstance(node, ast.Assign):
        return all(isinstance(target, ast.Name) for target in node.targets)
    if isinstance(node, ast.BinOp):
        return isinstance(node.op, _OPERATORS)
    if isinstance(node, ast.operator):
        return isinstance(node, _OPERATORS)
    if isinstance(node, ast.UnaryOp | ast.unaryop):
        return isinstance(node.op if isinstance(node, ast.UnaryOp) else node, _UNARY)
    if isinstance(node, ast.Call):
        if isinstance(node.func, ast.Name) and node.func.id == "sum" and len(node.args) != 1:
            return False  # a start value would let sum() concatenate lists
        return isinstance(node.func, ast.Name) and not node.keywords
    if isinstance(node, ast.GeneratorExp):  # where it may appear is checked by classify
        return len(node.generators) == 1
    if isinstance(node, ast.comprehension):
        return isinstance(node.target, ast.Name) and not node.is_async
    if isinstance(node, ast.Subscript):  # reading d["key"] or items[i]; never a slice or a store
        return isinstance(node.ctx, ast.Load) and isinstance(node.slice, ast.Name | ast.Constant)
    if isinstance(node, ast.Attribute):  # a value's field (d.year); calling one is refused above
        return isinstance(node.ctx, ast.Load) and not is_callee
    if isinstance(node, ast.FormattedValue):
        return node.format_spec is None
    return False


def reads_only_scalars(names: tuple[str, ...], context: Any) -> bool:
    """Tell whether every name a script reads that is a variable holds a small scalar."""
    for name in names:
        value = context.get(name)
        kind = type(value)
        if kind not in SCALAR_TYPES:
            return False
        if kind is int and not -(2**63) <= value < 2**63:
            return False
        if kind is str and len(value) > MAX_SCALAR_TEXT:
            return False
    return True
