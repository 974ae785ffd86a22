"""Split FEEL text into tokens; names with spaces are found from the names the model declares."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from engine.dmn.feel_limits import MAX_EXPONENT

KEYWORDS = frozenset(
    {
        "and", "or", "not", "if", "then", "else", "for", "in", "return", "some", "every",
        "satisfies", "between", "instance", "of", "true", "false", "null", "function",
    }
)  # fmt: skip

_OPERATORS = (
    "**", "..", "<=", ">=", "!=", "==", "&&", "||",
    "<", ">", "=", "+", "-", "*", "/", "(", ")", "[", "]", "{", "}", ",", ".", ":", "?", "!", "%",
)  # fmt: skip
_NUMBER = re.compile(r"(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d+)?")
_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.DOTALL)
# FEEL name characters include the supplementary planes (U+10000..U+EFFFF: 🐎 is a name)
_IDENT = re.compile(r"(?:[^\W\d]|[\U00010000-\U000EFFFF])[\w\U00010000-\U000EFFFF]*")
_SPACE = re.compile(r"\s+")
_ESCAPES = {'"': '"', "\\": "\\", "n": "\n", "t": "\t", "r": "\r", "'": "'"}


class FeelSyntaxError(Exception):
    """Text that is not FEEL: ``position`` is the 0-based character where it goes wrong."""

    def __init__(self, message: str, position: int, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.position = position
        self.hint = hint

    def describe(self) -> str:
        text = f"at character {self.position + 1}: {self.message}"
        return f"{text}; {self.hint}" if self.hint else text


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # "num", "str", "name", "kw", "op", "eof"
    text: str
    pos: int
    value: Any = None


@lru_cache(maxsize=64)
def names_pattern(names: frozenset[str]) -> re.Pattern[str] | None:
    """A regex matching the declared names that a plain identifier scan would split up."""
    special = [n for n in names if not _IDENT.fullmatch(n)]
    if not special:
        return None
    special.sort(key=len, reverse=True)
    alternatives = [r"\s+".join(re.escape(w) for w in n.split()) for n in special]
    return re.compile("(?:" + "|".join(alternatives) + r")(?!\w)")


def canonical_name(text: str) -> str:
    return _SPACE.sub(" ", text.strip())


def _string(text: str, start: int) -> tuple[str, int]:
    out: list[str] = []
    i = start + 1
    while i < len(text):
        c = text[i]
        if c == '"':
            return _join_surrogates("".join(out)), i + 1
        if c == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
                i += 2
                continue
            if nxt == "U" and re.fullmatch(r"[0-9a-fA-F]{6}", text[i + 2 : i + 8]):
                code = int(text[i + 2 : i + 8], 16)
                if code <= 0x10FFFF:
                    out.append(chr(code))
                    i += 8
                    continue
            if nxt == "u" and re.fullmatch(r"[0-9a-fA-F]{4}", text[i + 2 : i + 6]):
                out.append(chr(int(text[i + 2 : i + 6], 16)))
                i += 6
                continue
        out.append(c)
        i += 1
    raise FeelSyntaxError("the string is not closed", start, 'end it with a double quote "')


def _join_surrogates(text: str) -> str:
    """Turn escaped UTF-16 surrogate pairs (\\uD83D\\uDC0E) into the one character they encode."""
    if not any("\ud800" <= c <= "\udfff" for c in text):
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _skip_blank(text: str, i: int) -> int:
    """Skip white space and ``//`` or ``/* */`` comments from ``i``."""
    while True:
        m = _SPACE.match(text, i)
        if m:
            i = m.end()
        if text.startswith("/*", i) and "*/" not in text[i + 2 :]:
            raise FeelSyntaxError("the comment is not closed", i, "end it with */")
        m = _COMMENT.match(text, i)
        if not m:
            return i
        i = m.end()


def _number(text: str, pos: int) -> Decimal:
    value = Decimal(text)
    if value and abs(value.adjusted()) > MAX_EXPONENT:
        raise FeelSyntaxError(f"the number {text} is out of range; FEEL numbers lie between "
                              f"-1E+{MAX_EXPONENT + 1} and 1E+{MAX_EXPONENT + 1}", pos)
    return value


def name_symbols(toks: list[Token], i: int) -> tuple[str, int]:
    """The rest of a name such as ``foo+bar`` from token ``i`` on (+ - * / . between name
    parts, written without spaces), and the index of the token after it."""
    rest = ""
    while i + 1 < len(toks):
        prev, op, part = toks[i - 1], toks[i], toks[i + 1]
        if not (op.kind == "op" and op.text in ("+", "-", "*", "/", ".")
                and part.kind in ("name", "num") and op.pos == prev.pos + len(prev.text)
                and part.pos == op.pos + 1):
            break
        rest, i = rest + op.text + part.text, i + 2
    return rest, i


def tokenize(text: str, known: re.Pattern[str] | None = None) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(text)
    while True:
        i = _skip_blank(text, i)
        if i >= n:
            tokens.append(Token("eof", "", n))
            return tokens
        c = text[i]
        if c == '"':
            value, end = _string(text, i)
            tokens.append(Token("str", text[i:end], i, value))
            i = end
            continue
        if c == "@" and text[i + 1 : i + 2] == '"':
            value, end = _string(text, i + 1)
            tokens.append(Token("at", text[i:end], i, value))
            i = end
            continue
        if c == "'":
            raise FeelSyntaxError(
                "FEEL strings use double quotes", i, "write \"gold\" instead of 'gold'"
            )
        prev = tokens[-1] if tokens else None
        after_value = prev is not None and (
            prev.kind in ("name", "num", "str") or prev.text in (")", "]", "}")
        )
        if c.isdigit() or (c == "." and not after_value and text[i + 1 : i + 2].isdigit()):
            m = _NUMBER.match(text, i)
            assert m is not None
            if len(m.group()) > MAX_EXPONENT:
                raise FeelSyntaxError(f"a number of {len(m.group()):,} digits; FEEL numbers are "
                                      f"limited to {MAX_EXPONENT} digits", i)
            tokens.append(Token("num", m.group(), i, _number(m.group(), i)))
            i = m.end()
            continue
        if known is not None and (c.isalpha() or c == "_"):
            m = known.match(text, i)
            if m:
                tokens.append(Token("name", canonical_name(m.group()), i))
                i = m.end()
                continue
        m = _IDENT.match(text, i)
        if m:
            word = m.group()
            tokens.append(Token("kw" if word in KEYWORDS else "name", word, i))
            i = m.end()
            continue
        for op in _OPERATORS:
            if text.startswith(op, i):
                tokens.append(Token("op", op, i))
                i += len(op)
                break
        else:
            hint = ("JUEL expressions such as ${x} are not supported: write FEEL, e.g. x"
                    if c in "$#" else None)
            raise FeelSyntaxError(f"unexpected character {c!r}", i, hint)


def declared_names(names: Iterable[str]) -> frozenset[str]:
    return frozenset(canonical_name(n) for n in names if n and n.strip())
