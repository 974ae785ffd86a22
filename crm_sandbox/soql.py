"""A parser for the SOQL subset the sandbox answers.

SELECT field, Parent.field, … | COUNT() FROM Object
[WHERE condition] [ORDER BY field [ASC|DESC] [NULLS FIRST|LAST], …] [LIMIT n] [OFFSET n]

Conditions: ``=  !=  <>  <  >  <=  >=``, ``LIKE``, ``[NOT] IN (…)``, ``AND``, ``OR``, ``NOT``
and parentheses; as in Salesforce, AND and OR may not be mixed without parentheses.
Literals: 'strings', numbers, true, false, null, 2024-05-01, 2024-05-01T10:00:00Z.
Syntax errors are MALFORMED_QUERY with Salesforce's row/column pointer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .errors import SalesforceError
from .values import parse_date, parse_datetime

RESERVED = frozenset({"SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER",
                      "BY", "LIMIT", "OFFSET", "NULL", "TRUE", "FALSE", "ASC", "DESC", "NULLS",
                      "GROUP", "HAVING", "WITH", "FOR", "USING", "INCLUDES", "EXCLUDES"})
OPERATORS = ("!=", "<>", "<=", ">=", "=", "<", ">")

_TOKEN_RE = re.compile(r"""
    (?P<space>\s+)
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2})(?![\dT])
  | (?P<number>-?\d+(?:\.\d+)?)(?![\w.])
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>!=|<>|<=|>=|=|<|>)
  | (?P<punct>[(),.])
  | (?P<string>')
""", re.VERBOSE)

_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'",
            "\\": "\\"}


@dataclass(frozen=True)
class Token:
    kind: str       # ident, string, number, date, datetime, op, punct, eof
    text: str
    pos: int
    value: Any = None
    like: str | None = None   # a string's LIKE pattern, with \% and \_ kept escaped

    @property
    def upper(self) -> str:
        return self.text.upper() if self.kind == "ident" else ""


@dataclass(frozen=True)
class FieldRef:
    path: tuple[str, ...]
    pos: int


@dataclass(frozen=True)
class Literal:
    kind: str        # string, number, boolean, null, date, datetime
    value: Any
    pos: int
    like: str | None = None


@dataclass(frozen=True)
class Compare:
    field: FieldRef
    op: str          # = != < > <= >= LIKE
    value: Literal


@dataclass(frozen=True)
class InList:
    field: FieldRef
    values: tuple[Literal, ...]
    negated: bool


@dataclass(frozen=True)
class Logical:
    op: str          # AND, OR
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    item: Condition


Condition = Compare | InList | Logical | Not


@dataclass(frozen=True)
class Ordering:
    field: FieldRef
    descending: bool
    nulls_last: bool


@dataclass(frozen=True)
class Query:
    text: str
    sobject: str
    sobject_pos: int
    fields: tuple[FieldRef, ...]     # empty for COUNT()
    count: bool
    where: Condition | None
    order_by: tuple[Ordering, ...]
    limit: int | None
    offset: int | None


def query_error(text: str, pos: int, message: str,
                code: str = "MALFORMED_QUERY") -> SalesforceError:
    """An error pointing at ``pos`` as Salesforce does: the line, a caret, row and column."""
    row = text.count("\n", 0, pos) + 1
    line_start = text.rfind("\n", 0, pos) + 1
    line_end = text.find("\n", pos)
    line = text[line_start:line_end if line_end >= 0 else len(text)]
    column = pos - line_start + 1
    return SalesforceError(400, code, f"\n{line}\n{' ' * (column - 1)}^\n"
                                      f"ERROR at Row:{row}:Column:{column}\n{message}")


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if match is None:
            raise query_error(text, pos, f"unexpected token: '{text[pos]}'")
        kind = match.lastgroup or ""
        if kind == "string":
            token, pos = _string(text, pos)
            tokens.append(token)
            continue
        if kind != "space":
            tokens.append(Token(kind, match.group(), pos))
        pos = match.end()
    tokens.append(Token("eof", "<EOF>", len(text)))
    return tokens


def _string(text: str, start: int) -> tuple[Token, int]:
    value: list[str] = []
    like: list[str] = []
    pos = start + 1
    while pos < len(text):
        ch = text[pos]
        if ch == "'":
            return Token("string", text[start:pos + 1], start, "".join(value),
                         "".join(like)), pos + 1
        if ch != "\\":
            value.append(ch)
            like.append(ch)
            pos += 1
            continue
        nxt = text[pos + 1:pos + 2]
        if nxt in ("%", "_"):
            value.append(nxt)
            like.append("\\" + nxt)
        elif nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", text[pos + 2:pos + 6]):
            value.append(chr(int(text[pos + 2:pos + 6], 16)))
            like.append(value[-1])
            pos += 4
        elif nxt in _ESCAPES:
            value.append(_ESCAPES[nxt])
            like.append("\\\\" if nxt == "\\" else _ESCAPES[nxt])
        else:
            raise query_error(text, pos, f"Invalid string literal '{text[start:pos + 2]}'. "
                                         f"Illegal character sequence '\\{nxt}' in string "
                                         "literal.")
        pos += 2
    raise query_error(text, start, "unterminated string literal")


class Parser:
    """Recursive descent over the token list; ``parse()`` gives a ``Query``."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    # --- token helpers -------------------------------------------------------------------

    def peek(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        token = self.tokens[self.i]
        self.i = min(self.i + 1, len(self.tokens) - 1)
        return token

    def unexpected(self, token: Token | None = None) -> SalesforceError:
        token = token or self.peek()
        shown = token.text if token.kind == "eof" else f"'{token.text}'"
        return query_error(self.text, token.pos, f"unexpected token: {shown}")

    def accept(self, word: str) -> bool:
        token = self.peek()
        if token.upper == word or (token.kind in ("punct", "op") and token.text == word):
            self.advance()
            return True
        return False

    def expect(self, word: str) -> None:
        if not self.accept(word):
            raise self.unexpected()

    def integer(self) -> int:
        token = self.advance()
        if token.kind != "number" or not token.text.isdigit():
            raise self.unexpected(token)
        return int(token.text)

    # --- grammar -------------------------------------------------------------------------

    def parse(self) -> Query:
        self.expect("SELECT")
        fields: list[FieldRef] = []
        count = False
        if self.peek().upper == "COUNT" and self.tokens[self.i + 1].text == "(":
            self.advance()
            self.expect("(")
            self.expect(")")
            count = True
        else:
            fields.append(self.field())
            while self.accept(","):
                fields.append(self.field())
        self.expect("FROM")
        source = self.advance()
        # "Order" is both an object and a keyword; after FROM it can only be the object.
        if source.kind != "ident" or (source.upper in RESERVED and source.upper != "ORDER"):
            raise self.unexpected(source)
        where = self.condition() if self.accept("WHERE") else None
        order_by: list[Ordering] = []
        if self.accept("ORDER"):
            self.expect("BY")
            order_by.append(self.ordering())
            while self.accept(","):
                order_by.append(self.ordering())
        limit = self.integer() if self.accept("LIMIT") else None
        offset = self.integer() if self.accept("OFFSET") else None
        if self.peek().kind != "eof":
            raise self.unexpected()
        return Query(self.text, source.text, source.pos, tuple(fields), count, where,
                     tuple(order_by), limit, offset)

    def field(self) -> FieldRef:
        first = self.advance()
        followed_by_dot = self.peek().kind == "punct" and self.peek().text == "."
        if first.kind != "ident" or (first.upper in RESERVED and not followed_by_dot):
            raise self.unexpected(first)
        parts = [first.text]
        while self.peek().text == "." and self.peek().kind == "punct":
            self.advance()
            part = self.advance()
            if part.kind != "ident":
                raise self.unexpected(part)
            parts.append(part.text)
        return FieldRef(tuple(parts), first.pos)

    def ordering(self) -> Ordering:
        field = self.field()
        descending = self.accept("DESC")
        if not descending:
            self.accept("ASC")
        nulls_last = descending
        if self.accept("NULLS"):
            if self.accept("LAST"):
                nulls_last = True
            else:
                self.expect("FIRST")
                nulls_last = False
        return Ordering(field, descending, nulls_last)

    def condition(self) -> Condition:
        items = [self.unary()]
        joiner = ""
        while self.peek().upper in ("AND", "OR"):
            token = self.advance()
            if joiner and token.upper != joiner:
                # Salesforce insists on parentheses when AND and OR meet.
                raise self.unexpected(token)
            joiner = token.upper
            items.append(self.unary())
        return items[0] if len(items) == 1 else Logical(joiner, tuple(items))

    def unary(self) -> Condition:
        if self.accept("NOT"):
            return Not(self.unary())
        if self.accept("("):
            inner = self.condition()
            self.expect(")")
            return inner
        return self.comparison()

    def comparison(self) -> Condition:
        field = self.field()
        token = self.peek()
        if token.kind == "op":
            self.advance()
            op = "!=" if token.text == "<>" else token.text
            return Compare(field, op, self.literal())
        if token.upper == "LIKE":
            self.advance()
            return Compare(field, "LIKE", self.literal())
        negated = self.accept("NOT")
        if self.accept("IN"):
            self.expect("(")
            values = [self.literal()]
            while self.accept(","):
                values.append(self.literal())
            self.expect(")")
            return InList(field, tuple(values), negated)
        raise self.unexpected()

    def literal(self) -> Literal:
        token = self.advance()
        if token.kind == "string":
            return Literal("string", token.value, token.pos, token.like)
        if token.kind == "number":
            number = float(token.text) if "." in token.text else int(token.text)
            return Literal("number", number, token.pos)
        if token.kind == "date" and parse_date(token.text):
            return Literal("date", parse_date(token.text), token.pos)
        if token.kind == "datetime" and parse_datetime(token.text):
            return Literal("datetime", parse_datetime(token.text), token.pos)
        if token.upper in ("TRUE", "FALSE"):
            return Literal("boolean", token.upper == "TRUE", token.pos)
        if token.upper == "NULL":
            return Literal("null", None, token.pos)
        raise self.unexpected(token)


def parse(text: str) -> Query:
    """Parse ``text``; a MALFORMED_QUERY error when it is not in the subset."""
    return Parser(text).parse()
