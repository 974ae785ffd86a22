"""Pratt parser for the FEEL subset Bridgeflow runs, with hints for SpiffWorkflow's Python cells."""

from __future__ import annotations

from decimal import Decimal

from engine.dmn import feel_ast as ast
from engine.dmn.feel_builtins import BUILTINS
from engine.dmn.feel_hints import (
    PYTHON_METHODS,
    PYTHON_OPS,
    PYTHON_WORDS,
    RANGE_HINT,
    TRAILING_HINTS,
    check_filter,
    is_plain_value,
    source_start,
)
from engine.dmn.feel_lexer import FeelSyntaxError, Token, name_symbols, names_pattern, tokenize
from engine.dmn.feel_temporal import at_literal
from engine.dmn.feel_typespec import TYPE_NAMES, parse_type

# Binding powers, loosest first; FEEL negation binds tighter than ** (so -2**2 is 4).
_INFIX = {
    "or": 10, "and": 20,
    "=": 30, "!=": 30, "<": 30, "<=": 30, ">": 30, ">=": 30, "between": 30, "in": 30,
    "==": 30, "instance": 35, "+": 40, "-": 40, "*": 50, "/": 50, "**": 60,
    ".": 80, "[": 80, "(": 80,
}  # fmt: skip
_COMPARISONS = frozenset({"=", "!=", "<", "<=", ">", ">="})
_NEGATION_BP = 70
_BUILTIN_NAMES = frozenset(BUILTINS) | TYPE_NAMES
class Parser:
    def __init__(self, text: str, names: frozenset[str] = frozenset()) -> None:
        self.text = text
        self.toks = tokenize(text, names_pattern(names | _BUILTIN_NAMES))
        self.i = 0
        self.in_range_end = False

    # -- token helpers -------------------------------------------------------------------
    def peek(self, ahead: int = 0) -> Token:
        return self.toks[min(self.i + ahead, len(self.toks) - 1)]

    def advance(self) -> Token:
        tok = self.toks[self.i]
        if tok.kind != "eof":
            self.i += 1
        return tok

    def at(self, *texts: str) -> bool:
        tok = self.peek()
        return tok.kind in ("op", "kw") and tok.text in texts

    def expect(self, text: str, what: str | None = None) -> Token:
        if not self.at(text):
            self.fail(f"expected {what or repr(text)}", self.peek())
        return self.advance()

    def fail(self, message: str, tok: Token, hint: str | None = None) -> None:
        if tok.kind == "eof":
            message = f"{message}, but the text ends there"
        elif hint is None and tok.text in PYTHON_OPS:
            hint = PYTHON_OPS[tok.text]
        raise FeelSyntaxError(f"{message} (found {tok.text!r})" if tok.text else message,
                              tok.pos, hint)

    # -- entry points ---------------------------------------------------------------------
    def parse_expression(self) -> ast.Node:
        if self.peek().kind == "eof":
            self.fail("an expression is required", self.peek())
        node = self.expr(0)
        self.finish()
        return node

    def parse_unary_tests(self) -> ast.Node:
        tok = self.peek()
        if tok.kind == "eof" or (tok.text == "-" and self.peek(1).kind == "eof"):
            return ast.AnyTest(tok.pos)
        if tok.text == "not" and self.peek(1).text == "(":
            start = self.i
            self.advance()
            self.advance()
            tests = self.positive_tests()
            self.expect(")", "')' to close not(")
            if self.peek().kind == "eof":
                return ast.NotTest(tok.pos, tests)
            self.i = start  # e.g. not(a) = b: an ordinary expression after all
        tests = self.positive_tests()
        self.finish()
        return tests[0] if len(tests) == 1 else ast.AnyOf(tests[0].pos, tests)

    def finish(self) -> None:
        tok = self.peek()
        if tok.kind != "eof":
            hint = TRAILING_HINTS.get(tok.text) if tok.kind == "kw" else None
            self.fail("unexpected text after a complete expression", tok, hint)

    # -- unary tests ----------------------------------------------------------------------
    def positive_tests(self) -> tuple[ast.Node, ...]:
        tests = [self.positive_test()]
        while self.at(","):
            self.advance()
            tests.append(self.positive_test())
        return tuple(tests)

    def positive_test(self) -> ast.Node:
        tok = self.peek()
        if tok.kind == "op" and tok.text in _COMPARISONS:
            self.advance()
            test = ast.CmpTest(tok.pos, tok.text, self.expr(_INFIX["="]))
            self.no_logic_after(test)
            return test
        if tok.text == "==":
            self.fail("'==' is Python", tok, 'FEEL compares with a single "=": write = 5 or just 5')
        if tok.text == "in":
            self.fail("a unary test does not start with 'in'", tok,
                      'list the values separated by commas: "a", "b"')
        expr = self.expr(0)
        if isinstance(expr, ast.Logic) and not ast.uses_input(expr):
            if is_plain_value(expr.left) or is_plain_value(expr.right):
                hint = ('to match any of several values separate them with commas: "a", "b"'
                        if expr.op == "or" else RANGE_HINT)
                raise FeelSyntaxError(f"'{expr.op}' cannot combine values in an input cell",
                                      expr.pos, hint)
        return ast.ExprTest(expr.pos, expr)

    def no_logic_after(self, test: ast.CmpTest) -> None:
        tok = self.peek()
        if tok.text == "or" and tok.kind == "kw":
            self.fail("'or' cannot join unary tests", tok,
                      "separate alternatives with a comma: < 5, > 10")
        if tok.text == "and" and tok.kind == "kw":
            self.fail("'and' cannot join unary tests", tok, self.range_hint(test))

    def range_hint(self, first: ast.CmpTest) -> str:
        """Suggest the range an analyst meant by ``> 5 and < 10``."""
        save = self.i
        self.advance()
        try:
            tok = self.peek()
            if tok.text not in ("<", "<=", ">", ">=") or first.op not in ("<", "<=", ">", ">="):
                return RANGE_HINT
            self.advance()
            self.expr(_INFIX["="])
            second_text = self.text[tok.pos:self.peek().pos].strip()
        except FeelSyntaxError:
            return RANGE_HINT
        finally:
            self.i = save
        first_text = self.text[first.pos:self.peek().pos].strip()
        low, high = (first_text, second_text) if first.op[0] == ">" else (second_text, first_text)
        if low[0] != ">" or high[0] != "<":
            return RANGE_HINT
        lo, hi = low.lstrip(">=").strip(), high.lstrip("<=").strip()
        opening = "[" if low.startswith(">=") else "]"
        closing = "]" if high.startswith("<=") else "["
        return f"write the range {opening}{lo}..{hi}{closing}"

    # -- expressions ----------------------------------------------------------------------
    def expr(self, rbp: int) -> ast.Node:
        left = self.nud(self.advance())
        while True:
            tok = self.peek()
            if tok.kind not in ("op", "kw"):
                break
            lbp = _INFIX.get(tok.text, 0)
            if lbp <= rbp or (tok.text == "[" and self.in_range_end):
                break
            self.advance()
            left = self.led(tok, left, lbp)
        return left

    def nud(self, tok: Token) -> ast.Node:
        if tok.kind == "num":
            return ast.Literal(tok.pos, tok.value)
        if tok.kind == "str":
            return ast.Literal(tok.pos, tok.value)
        if tok.kind == "name":
            return self.name(tok)
        if tok.kind == "at":
            value = at_literal(tok.value)
            if value is None:
                raise FeelSyntaxError(f"{tok.text} is not a date, time, date and time or "
                                      "duration", tok.pos, 'write e.g. @"2024-01-31"')
            return ast.Literal(tok.pos, value)
        text = tok.text
        if tok.kind == "kw":
            if text in ("true", "false"):
                return ast.Literal(tok.pos, text == "true")
            if text == "null":
                return ast.Literal(tok.pos, None)
            if text == "if":
                return self.if_expr(tok)
            if text in ("for", "some", "every"):
                return self.loop(tok)
            if text == "function":
                return self.function_def(tok)
            if text == "not":
                if not self.at("("):
                    self.fail("'not' needs parentheses", self.peek(), "write not(x)")
                return ast.Name(tok.pos, "not")
            self.fail("an expression cannot start here", tok)
        if text == "-":
            operand = self.expr(_NEGATION_BP)
            if isinstance(operand, ast.Literal) and type(operand.value) is Decimal:
                return ast.Literal(tok.pos, -operand.value)
            return ast.Neg(tok.pos, operand)
        if text == "?":
            return ast.InputRef(tok.pos)
        if text == "(":
            return self.paren(tok)
        if text == "[":
            return self.bracket(tok)
        if text == "]":
            return self.range_rest(tok, self.expr(0), start_included=False)
        if text == "{":
            return self.context(tok)
        if text in _COMPARISONS:
            self.fail("a comparison needs a left-hand side here", tok,
                      "only a whole input cell may start with < or >")
        self.fail("an expression is required", tok)
        raise AssertionError  # fail() always raises

    def name(self, tok: Token) -> ast.Name:
        words = [tok.text]
        while self.peek().kind == "name":
            words.append(self.advance().text)
        name = " ".join(words)
        for word in words:
            if word in PYTHON_WORDS:
                raise FeelSyntaxError(f"{word!r} is Python", tok.pos,
                                      f"write {PYTHON_WORDS[word]} in FEEL")
        if len(words) > 1 and "is" in words:
            raise FeelSyntaxError("'is' is Python", tok.pos,
                                  "write x = null to test for null, or = value")
        return ast.Name(tok.pos, name)

    def paren(self, tok: Token) -> ast.Node:
        op = self.peek()
        if op.kind == "op" and op.text in ("<", "<=", ">", ">=", "=", "!="):
            return self.unary_range(tok)
        inner = self.expr(0)
        if self.at(".."):
            return self.range_rest(tok, inner, start_included=False)
        if self.at(","):
            self.fail("FEEL has no tuples", self.peek(),
                      'write a list in square brackets ["a", "b"]; in an input cell just "a", "b"')
        self.expect(")", "')'")
        return inner

    def unary_range(self, tok: Token) -> ast.Node:
        """``(< 10)``, ``(>= x)``, ``(= 5)``, ``(!= 5)``: the range a comparison stands for
        (DMN 1.4); ``(= 5)`` is not the same range as ``[5..5]``."""
        op = self.advance().text
        endpoint = self.expr(_INFIX["="])
        self.expect(")", "')' to close the range")
        null = ast.Literal(tok.pos, None)
        if op in ("=", "!="):
            return ast.RangeLit(tok.pos, endpoint, endpoint, True, True, test=op)
        if op in ("<", "<="):
            return ast.RangeLit(tok.pos, null, endpoint, False, op == "<=", open_ended=True)
        return ast.RangeLit(tok.pos, endpoint, null, op == ">=", False, open_ended=True)

    def bracket(self, tok: Token) -> ast.Node:
        if self.at("]"):
            self.advance()
            return ast.ListLit(tok.pos, ())
        first = self.expr(0)
        if self.at(".."):
            return self.range_rest(tok, first, start_included=True)
        items = [first]
        while self.at(","):
            self.advance()
            items.append(self.expr(0))
        self.expect("]", "',' or ']' in the list")
        return ast.ListLit(tok.pos, tuple(items))

    def range_rest(self, tok: Token, start: ast.Node, start_included: bool) -> ast.Node:
        self.expect("..", "'..' in the range")
        self.in_range_end = True
        try:
            end = self.expr(0)
        finally:
            self.in_range_end = False
        close = self.peek()
        if close.text not in ("]", "[", ")"):
            self.fail("expected ']', '[' or ')' to close the range", close)
        self.advance()
        return ast.RangeLit(tok.pos, start, end, start_included, close.text == "]")

    def context(self, tok: Token) -> ast.Node:
        entries: list[tuple[str, ast.Node]] = []
        while not self.at("}"):
            key_tok = self.advance()
            if key_tok.kind == "str":
                key = str(key_tok.value)
            elif key_tok.kind in ("name", "kw"):
                key = self.name(key_tok).name if key_tok.kind == "name" else key_tok.text
                rest, self.i = name_symbols(self.toks, self.i)
                key += rest
            else:
                self.fail("expected a context key", key_tok)
            self.expect(":", "':' after the context key")
            if any(key == k for k, _ in entries):
                raise FeelSyntaxError(f"the context has the key '{key}' twice", key_tok.pos)
            entries.append((key, self.expr(0)))
            if not self.at("}"):
                self.expect(",", "',' or '}' in the context")
        self.advance()
        return ast.ContextLit(tok.pos, tuple(entries))

    def if_expr(self, tok: Token) -> ast.Node:
        cond = self.expr(0)
        self.expect("then", "'then'")
        then = self.expr(0)
        self.expect("else", "'else' (FEEL's if always has one)")
        return ast.If(tok.pos, cond, then, self.expr(0))

    def loop(self, tok: Token) -> ast.Node:
        iters: list[tuple[str, ast.Node]] = []
        while True:
            var_tok = self.advance()
            if var_tok.kind != "name":
                self.fail("expected a variable name", var_tok)
            var = self.name(var_tok)
            self.expect("in", "'in'")
            source = self.expr(0)
            if self.at(".."):
                dots = self.advance()
                source = ast.IntRange(dots.pos, source, self.expr(0))
            iters.append((var.name, source))
            if not self.at(","):
                break
            self.advance()
        self.expect("return" if tok.text == "for" else "satisfies")
        return ast.Loop(tok.pos, tok.text, tuple(iters), self.expr(0))

    def function_def(self, tok: Token) -> ast.Node:
        self.expect("(", "'(' and the parameters")
        params: list[str] = []
        types: list[object] = []
        while not self.at(")"):
            name_tok = self.advance()
            if name_tok.kind != "name":
                self.fail("expected a parameter name", name_tok)
            params.append(self.name(name_tok).name)
            if self.at(":"):
                self.advance()
                types.append(parse_type(self))
            else:
                types.append(None)
            if not self.at(")"):
                self.expect(",", "',' or ')' in the parameters")
        self.advance()
        if self.peek().kind == "name" and self.peek().text == "external":
            self.advance()  # external {java: {...}}: see feel_java
            return ast.ExternalFunction(tok.pos, tuple(params), self.expr(0))
        return ast.FunctionDef(tok.pos, tuple(params), tuple(types), self.expr(0))

    def led(self, tok: Token, left: ast.Node, lbp: int) -> ast.Node:
        text = tok.text
        if text in ("and", "or"):
            return ast.Logic(tok.pos, text, left, self.expr(lbp))
        if text in _COMPARISONS:
            node = ast.Compare(tok.pos, text, left, self.expr(lbp))
            nxt = self.peek()
            if nxt.kind == "op" and nxt.text in _COMPARISONS:
                self.fail("FEEL does not chain comparisons", nxt,
                          "for 4 < ? < 6 write the range ]4..6[ (or ? > 4 and ? < 6)")
            return node
        if text in ("+", "-", "*", "/", "**"):
            return ast.Arith(tok.pos, text, left, self.expr(lbp))
        if text == "between":
            low = self.expr(lbp)
            self.expect("and", "'and' in between ... and ...")
            return ast.Between(tok.pos, left, low, self.expr(lbp))
        if text == "in":
            return ast.InTest(tok.pos, left, self.in_tests())
        if text == ".":
            member = self.advance()
            if member.kind not in ("name", "kw"):
                self.fail("expected a name after '.'", member)
            member_name = self.name(member).name if member.kind == "name" else member.text
            return ast.Path(tok.pos, left, member_name)
        if text == "[":
            cond = self.expr(0)
            self.expect("]", "']' to close the filter")
            if not isinstance(left, (ast.Literal, ast.ListLit)):
                check_filter(cond, self.text[source_start(left):tok.pos].strip() or "x")
            return ast.Filter(tok.pos, left, cond)
        if text == "(":
            return self.call(tok, left)
        if text == "instance":
            self.expect("of", "'of' after 'instance'")
            return ast.InstanceOf(tok.pos, left, parse_type(self))
        if text == "==":
            self.fail("'==' is Python", tok)
        self.fail("unexpected operator", tok)
        raise AssertionError

    def in_tests(self) -> tuple[ast.Node, ...]:
        if self.at("("):
            start = self.i
            try:
                return (ast.ExprTest(self.peek().pos, self.expr(_INFIX["in"])),)
            except FeelSyntaxError:
                self.i = start
            self.advance()
            tests = self.positive_tests()
            self.expect(")", "')'")
            return tests
        return (self.positive_test(),)

    def call(self, tok: Token, func: ast.Node) -> ast.Node:
        if isinstance(func, ast.Path) and func.member in PYTHON_METHODS:
            raise FeelSyntaxError(f"FEEL has no methods such as .{func.member}()", func.pos,
                                  "call a function instead, e.g. lower case(x)")
        args: list[ast.Node] = []
        named: list[tuple[str, ast.Node]] = []
        while not self.at(")"):
            if self.is_named_arg():
                key = self.name(self.advance())
                self.expect(":")
                named.append((key.name, self.expr(0)))
            else:
                args.append(self.expr(0))
            if not self.at(")"):
                self.expect(",", "',' or ')' in the call")
        self.advance()
        if args and named:
            self.fail("mix of positional and named arguments", tok)
        return ast.Call(tok.pos, func, tuple(args), tuple(named) if named else None)

    def is_named_arg(self) -> bool:
        j = 0
        while self.peek(j).kind == "name":
            j += 1
        return j > 0 and self.peek(j).text == ":"


def parse_expression(text: str, names: frozenset[str] = frozenset()) -> ast.Node:
    return Parser(text, names).parse_expression()


def parse_unary_tests(text: str, names: frozenset[str] = frozenset()) -> ast.Node:
    return Parser(text, names).parse_unary_tests()
