"""The FEEL syntax tree: expressions, and the unary tests written in decision-table input cells."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class Node:
    """Base of every syntax-tree node; ``pos`` is the 0-based character it starts at."""

    __slots__ = ()
    pos: int


@dataclass(frozen=True, slots=True)
class Literal(Node):
    pos: int
    value: Any


@dataclass(frozen=True, slots=True)
class Name(Node):
    pos: int
    name: str


@dataclass(frozen=True, slots=True)
class InputRef(Node):
    """``?``: the value of the input column a unary test is checking."""

    pos: int


@dataclass(frozen=True, slots=True)
class Neg(Node):
    pos: int
    operand: Node


@dataclass(frozen=True, slots=True)
class Arith(Node):
    pos: int
    op: str
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Compare(Node):
    pos: int
    op: str
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Logic(Node):
    pos: int
    op: str  # "and" | "or"
    left: Node
    right: Node


@dataclass(frozen=True, slots=True)
class Between(Node):
    pos: int
    value: Node
    low: Node
    high: Node


@dataclass(frozen=True, slots=True)
class InTest(Node):
    pos: int
    value: Node
    tests: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class If(Node):
    pos: int
    cond: Node
    then: Node
    otherwise: Node


@dataclass(frozen=True, slots=True)
class ListLit(Node):
    pos: int
    items: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class ContextLit(Node):
    pos: int
    entries: tuple[tuple[str, Node], ...]


@dataclass(frozen=True, slots=True)
class RangeLit(Node):
    pos: int
    start: Node
    end: Node
    start_included: bool
    end_included: bool
    open_ended: bool = False  # (< 10), (>= 5): the missing end is unbounded, not null
    test: str = ""  # (= 5), (!= 5): the range a test for one value stands for


@dataclass(frozen=True, slots=True)
class Path(Node):
    pos: int
    base: Node
    member: str


@dataclass(frozen=True, slots=True)
class Filter(Node):
    pos: int
    base: Node
    cond: Node


@dataclass(frozen=True, slots=True)
class Call(Node):
    pos: int
    func: Node
    args: tuple[Node, ...]
    named: tuple[tuple[str, Node], ...] | None


@dataclass(frozen=True, slots=True)
class Loop(Node):
    """``for v in xs, w in ys return e``, ``some v in xs satisfies c``, ``every …``."""

    pos: int
    kind: str
    iters: tuple[tuple[str, Node], ...]
    body: Node


@dataclass(frozen=True, slots=True)
class IntRange(Node):
    """``1..3`` after ``for i in``: the whole numbers from start to end, either way round."""

    pos: int
    start: Node
    end: Node


@dataclass(frozen=True, slots=True)
class InstanceOf(Node):
    pos: int
    value: Node
    spec: Any  # a feel_typespec.TypeSpec


@dataclass(frozen=True, slots=True)
class ExternalFunction(Node):
    """``function(a) external {java: {class: …, method signature: …}}``."""

    pos: int
    params: tuple[str, ...]
    mapping: Node


@dataclass(frozen=True, slots=True)
class FunctionDef(Node):
    """``function(a, b: number) body``: a function value that closes over its scope."""

    pos: int
    params: tuple[str, ...]
    types: tuple[Any, ...]  # a feel_typespec.TypeSpec or None per parameter
    body: Node


# Unary tests (input entries). A cell is a tuple of positive tests, any of which may match.


@dataclass(frozen=True, slots=True)
class AnyTest(Node):
    """``-`` or an empty cell: matches every input."""

    pos: int


@dataclass(frozen=True, slots=True)
class CmpTest(Node):
    """``< 10``, ``>= x``, ``= "gold"``, ``!= 3``."""

    pos: int
    op: str
    endpoint: Node


@dataclass(frozen=True, slots=True)
class ExprTest(Node):
    """A plain expression: a value to equal, a list or range to be in, or a test using ``?``."""

    pos: int
    expr: Node


@dataclass(frozen=True, slots=True)
class AnyOf(Node):
    """``"gold", "silver"``: the cell matches when any of the tests does."""

    pos: int
    tests: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class NotTest(Node):
    pos: int
    tests: tuple[Node, ...]


def uses_input(node: Node) -> bool:
    """Whether ``?`` appears in the expression (then its boolean value is the test result)."""
    if isinstance(node, InputRef):
        return True
    slots: tuple[str, ...] = node.__slots__
    for name in slots:
        child = getattr(node, name)
        if isinstance(child, Node) and uses_input(child):
            return True
        if isinstance(child, tuple):
            for item in child:
                if isinstance(item, Node) and uses_input(item):
                    return True
                if isinstance(item, tuple) and uses_input(item[1]):
                    return True
    return False
