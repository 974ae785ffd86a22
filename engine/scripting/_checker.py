"""Static rules for script source: refuse every construct that could reach Python internals.

The rules are an allow-list of syntax plus deny-lists of names and attributes, checked on the
AST before anything runs, so a refusal costs nothing at run time and shows up at deploy time.
"""

from __future__ import annotations

import ast
import math
from typing import Literal

Mode = Literal["eval", "exec"]


class Rejected(Exception):
    """A construct the sandbox refuses; turned into a ``SandboxError`` by the caller."""

    def __init__(self, reason: str, line: int | None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.line = line


_NO_CODE = "running code from strings is not allowed in scripts"
_NO_ATTR = "reaching attributes by name is not allowed in scripts; use d['key'] on dicts"
_NO_INTROSPECTION = "introspection is not available in scripts"
_NO_TYPES = "scripts cannot reach Python's type system; use isinstance() to test a value's type"
_NO_IO = "scripts cannot read files, ask for input or use the debugger"
_NO_MODULES = "imports are not available in scripts; the engine provides the helpers you can use"

#: Names refused wherever they appear (call, assignment, argument), each with its reason.
FORBIDDEN_NAMES: dict[str, str] = {
    **dict.fromkeys(("eval", "exec", "compile"), _NO_CODE),
    **dict.fromkeys(("getattr", "setattr", "delattr", "hasattr"), _NO_ATTR),
    **dict.fromkeys(("globals", "locals", "vars", "dir"), _NO_INTROSPECTION),
    **dict.fromkeys(
        ("type", "object", "super", "memoryview", "classmethod", "staticmethod", "property"),
        _NO_TYPES,
    ),
    **dict.fromkeys(("open", "input", "breakpoint", "help"), _NO_IO),
    # Module names: a script that mentions them was written for plain Python.
    **dict.fromkeys(
        ("os", "sys", "subprocess", "shutil", "socket", "importlib", "builtins", "ctypes",
         "pickle", "marshal", "posix"),
        _NO_MODULES,
    ),
}

_NO_FRAMES = "frame, code and traceback objects are not available in scripts"
_USE_FSTRING = "str.format can reach attributes through '{0.attr}'; use an f-string instead"

#: Attributes that do not start with "_" but lead to frames, code objects or other internals.
FORBIDDEN_ATTRIBUTES: dict[str, str] = {
    "format": _USE_FSTRING,
    "format_map": _USE_FSTRING,
    "mro": _NO_INTROSPECTION,
    "cell_contents": _NO_FRAMES,
    "im_func": _NO_FRAMES,
    "im_self": _NO_FRAMES,
    "im_class": _NO_FRAMES,
}
#: Prefixes of generator (gi_), coroutine (cr_), async generator (ag_), frame (f_), code (co_),
#: traceback (tb_) and Python 2 function (func_) attributes: refused as a family.
FORBIDDEN_ATTRIBUTE_PREFIXES = ("gi_", "cr_", "ag_", "f_", "co_", "tb_", "func_")

_UNDERSCORE = "names starting with '_' reach Python internals and are not allowed in scripts"

#: Syntax that is refused outright, with the reason shown to the analyst.
_FORBIDDEN_SYNTAX: dict[type[ast.AST], str] = {
    ast.Import: _NO_MODULES,
    ast.ImportFrom: _NO_MODULES,
    ast.Global: "'global' is not allowed: a script's top-level names are already its variables",
    ast.Nonlocal: "'nonlocal' is not allowed in scripts: return a value instead",
    ast.ClassDef: "class definitions are not allowed in scripts: use dicts for records",
    ast.AsyncFunctionDef: "async code is not allowed in scripts",
    ast.AsyncFor: "async code is not allowed in scripts",
    ast.AsyncWith: "async code is not allowed in scripts",
    ast.Await: "async code is not allowed in scripts",
    ast.Yield: "'yield' is not allowed: generator frames would let a script escape the sandbox",
    ast.YieldFrom: "'yield' is not allowed: generator frames would let a script escape the sandbox",
    ast.With: "'with' blocks are not allowed in scripts: no context managers are available",
    ast.Match: "'match' statements are not allowed in scripts: use if/elif",
    ast.TryStar: "'except*' is not allowed in scripts: use a plain 'except'",
}

_ALLOWED_SYNTAX: frozenset[type[ast.AST]] = frozenset({
    ast.Module, ast.Expression,
    ast.FunctionDef, ast.Return, ast.Delete, ast.Assign, ast.AugAssign, ast.AnnAssign,
    ast.For, ast.While, ast.If, ast.Raise, ast.Try, ast.Assert, ast.Expr, ast.Pass,
    ast.Break, ast.Continue,
    ast.BoolOp, ast.NamedExpr, ast.BinOp, ast.UnaryOp, ast.Lambda, ast.IfExp, ast.Dict, ast.Set,
    ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.Compare, ast.Call,
    ast.FormattedValue, ast.JoinedStr, ast.Constant, ast.Attribute, ast.Subscript,
    ast.Starred, ast.Name, ast.List, ast.Tuple, ast.Slice,
    ast.comprehension, ast.ExceptHandler, ast.arguments, ast.arg, ast.keyword,
})
_ALLOWED_CATEGORIES = (ast.expr_context, ast.boolop, ast.operator, ast.unaryop, ast.cmpop)


def check_tree(tree: ast.AST, mode: Mode) -> None:
    """Raise ``Rejected`` for the construct nearest the start of ``tree`` that is refused."""
    first: tuple[float, float, str] | None = None
    for node in ast.walk(tree):
        reason = _refusal(node, mode)
        if reason is not None:  # nodes without a position (comprehension clauses) sort last
            where = (getattr(node, "lineno", math.inf), getattr(node, "col_offset", 0), reason)
            first = where if first is None or where[:2] < first[:2] else first
    if first is not None:
        line = first[0]
        raise Rejected(first[2], int(line) if line != math.inf else None)


def _refusal(node: ast.AST, mode: Mode) -> str | None:
    kind = type(node)
    if kind in _FORBIDDEN_SYNTAX:
        return _describe_forbidden(node, _FORBIDDEN_SYNTAX[kind])
    if kind not in _ALLOWED_SYNTAX and not isinstance(node, _ALLOWED_CATEGORIES):
        return f"'{kind.__name__}' syntax is not allowed in scripts"
    if isinstance(node, ast.Name):
        return _name_refusal(node.id)
    if isinstance(node, ast.arg):
        return _name_refusal(node.arg)
    if isinstance(node, ast.FunctionDef):
        if node.decorator_list:
            return "decorators are not allowed in scripts"
        return _name_refusal(node.name)
    if isinstance(node, ast.ExceptHandler):
        if node.type is None:
            return ("a bare 'except:' is not allowed: it would also catch the sandbox's limits; "
                    "write 'except Exception:'")
        return _name_refusal(node.name) if node.name else None
    if isinstance(node, ast.Attribute):
        return _attribute_refusal(node)
    if isinstance(node, ast.NamedExpr) and mode == "eval":
        return "':=' is not allowed in expressions: conditions must not change process variables"
    if isinstance(node, ast.Try):
        return _finally_refusal(node.finalbody)
    if isinstance(node, ast.comprehension) and node.is_async:
        return "async code is not allowed in scripts"
    return None


def _describe_forbidden(node: ast.AST, reason: str) -> str:
    if isinstance(node, ast.Import | ast.ImportFrom):
        module = node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
        return f"import of '{module}' is not allowed: {reason}"
    return reason


def _name_refusal(name: str) -> str | None:
    if name in FORBIDDEN_NAMES:
        return f"name '{name}' is not allowed: {FORBIDDEN_NAMES[name]}"
    if name.startswith("_") and name != "_":
        return f"name '{name}' is not allowed: {_UNDERSCORE}"
    return None


def _attribute_refusal(node: ast.Attribute) -> str | None:
    attr = node.attr
    if attr.startswith("_"):
        return f"attribute '{attr}' is not allowed: {_UNDERSCORE}"
    if attr in FORBIDDEN_ATTRIBUTES:
        return f"attribute '{attr}' is not allowed: {FORBIDDEN_ATTRIBUTES[attr]}"
    if attr.startswith(FORBIDDEN_ATTRIBUTE_PREFIXES):
        return f"attribute '{attr}' is not allowed: {_NO_FRAMES}"
    if not isinstance(node.ctx, ast.Load):
        return (f"assigning or deleting attribute '{attr}' is not allowed: scripts may only "
                "change variables and the items of dicts and lists")
    return None


def _finally_refusal(finalbody: list[ast.stmt]) -> str | None:
    """Refuse return/break/continue leaving ``finally``: they would swallow the sandbox's limits."""
    todo: list[tuple[ast.AST, bool]] = [(stmt, False) for stmt in finalbody]
    while todo:
        node, in_loop = todo.pop()
        leaves = isinstance(node, ast.Return) or (
            isinstance(node, ast.Break | ast.Continue) and not in_loop
        )
        if leaves:
            return (f"'{type(node).__name__.lower()}' inside 'finally' is not allowed: "
                    "it would silently discard errors")
        if isinstance(node, ast.FunctionDef | ast.Lambda):
            continue
        if isinstance(node, ast.For | ast.While):  # a loop's 'else' still belongs outside it
            todo.extend((stmt, True) for stmt in node.body)
            todo.extend((stmt, in_loop) for stmt in node.orelse)
        else:
            todo.extend((child, in_loop) for child in ast.iter_child_nodes(node))
    return None
