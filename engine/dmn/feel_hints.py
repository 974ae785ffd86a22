"""What to write instead: hints for cells in SpiffWorkflow's Python dialect and other slips."""

from __future__ import annotations

from decimal import Decimal

from engine.dmn import feel_ast as ast
from engine.dmn.feel_lexer import FeelSyntaxError

PYTHON_WORDS = {"True": "true", "False": "false", "None": "null"}
PYTHON_OPS = {
    "==": "FEEL compares with a single '=': write = 5, or just 5 in an input cell",
    "&&": "write 'and'",
    "||": "write 'or'",
    "!": "write not(...)",
    "%": "write modulo(a, b)",
}
RANGE_HINT = "write a range instead: [5..10] includes both ends, ]5..10[ excludes both"
TRAILING_HINTS = {
    "not": "FEEL has no 'not in': write not(x in [...]), or not(\"a\", \"b\") in an input cell",
    "if": 'FEEL writes if x then "a" else "b"',
    "is": "write x = null to test for null",
}


def source_start(node: ast.Node) -> int:
    """Where the source text of a node begins (a path or filter starts at its base)."""
    while isinstance(node, (ast.Path, ast.Filter, ast.Call, ast.Arith, ast.Compare)):
        node = node.base if isinstance(node, (ast.Path, ast.Filter)) else (
            node.func if isinstance(node, ast.Call) else node.left)
    return max(node.pos, 0)


def check_filter(cond: ast.Node, base: str) -> None:
    """Refuse Python indexing of a name that FEEL would read differently (and give null).

    A literal base (``[1, 2][0]``) is FEEL written on purpose and gets FEEL's null.
    """
    if not isinstance(cond, ast.Literal):
        return
    if type(cond.value) is str:
        raise FeelSyntaxError("FEEL reads context entries with a dot, not [\"key\"]", cond.pos,
                              f"write {base}.{cond.value} or get value({base}, \"{cond.value}\")")
    if type(cond.value) is Decimal and cond.value == 0:
        raise FeelSyntaxError("FEEL lists start at 1, so x[0] is always null", cond.pos,
                              f"{base}[1] is the first item, {base}[-1] the last")


def is_plain_value(node: ast.Node) -> bool:
    return isinstance(node, ast.Literal) and type(node.value) in (str, Decimal)

# x.lower() is Python; a function in a context, library.sum(a, b), is FEEL
PYTHON_METHODS = frozenset({
    "lower", "upper", "strip", "lstrip", "rstrip", "startswith", "endswith", "format",
    "append", "keys", "values", "items", "join", "find", "isdigit", "title", "capitalize",
})
