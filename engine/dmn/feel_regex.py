"""XML Schema regular expressions, as XPath 3.1 extends them for ``matches``, ``replace`` and
``split`` (DMN 1.5, 10.3.4.3), translated into the syntax of RE2, the linear-time engine they
run on.

The translation reads the pattern by XPath's grammar, so what XPath refuses is refused
(``\\0``, ``[a-z-0]``, a lone ``{``) and what it means is kept where RE2 means something else:
``.`` is any character but ``\\n`` and ``\\r``; ``\\w``, ``\\d`` and ``\\s`` are XML Schema's
Unicode classes; ``\\i``, ``\\c``, ``\\p{IsBlock}`` and class subtraction ``[a-z-[aeiou]]``,
which RE2 lacks, become explicit ranges. Flags: ``s``, ``m``, ``i``, ``x`` (whitespace
outside classes is dropped before reading) and ``q`` (the pattern is literal text).
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from engine.dmn.feel_regex_blocks import BLOCKS

Ranges = tuple[tuple[int, int], ...]  # sorted, disjoint, inclusive code point ranges
MAX_CODE_POINT = 0x10FFFF
FLAGS = frozenset("smixq")
_SINGLE_ESCAPES = {"n": "\n", "r": "\r", "t": "\t"} | {c: c for c in "\\|.?*+(){}-[]^$"}
_META = set(".\\?*+{}()|[]^$")
_SPACES = ((0x9, 0xA), (0xD, 0xD), (0x20, 0x20))
_CATEGORIES = frozenset({
    "L", "Lu", "Ll", "Lt", "Lm", "Lo", "M", "Mn", "Mc", "Me", "N", "Nd", "Nl", "No",
    "P", "Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Z", "Zs", "Zl", "Zp",
    "S", "Sm", "Sc", "Sk", "So", "C", "Cc", "Cf", "Co", "Cn"})  # fmt: skip
# XML 1.0 (5th edition) NameStartChar and NameChar, which XPath gives \i and \c
_NAME_START: Ranges = (
    (0x3A, 0x3A), (0x41, 0x5A), (0x5F, 0x5F), (0x61, 0x7A), (0xC0, 0xD6), (0xD8, 0xF6),
    (0xF8, 0x2FF), (0x370, 0x37D), (0x37F, 0x1FFF), (0x200C, 0x200D), (0x2070, 0x218F),
    (0x2C00, 0x2FEF), (0x3001, 0xD7FF), (0xF900, 0xFDCF), (0xFDF0, 0xFFFD), (0x10000, 0xEFFFF))
_NAME_EXTRA: Ranges = ((0x2D, 0x2E), (0x30, 0x39), (0xB7, 0xB7), (0x300, 0x36F),
                       (0x203F, 0x2040))


class RegexSyntaxError(ValueError):
    """The pattern is not an XPath regular expression (a FEEL error: the call gives null)."""


class BackreferenceError(Exception):
    """The pattern is valid but refers back to a group (``\\1``), which RE2 cannot run."""


# -- sets of code points ------------------------------------------------------------------
def _normal(ranges: list[tuple[int, int]]) -> Ranges:
    out: list[tuple[int, int]] = []
    for lo, hi in sorted(ranges):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return tuple(out)


def _complement(ranges: Ranges) -> Ranges:
    out, start = [], 0
    for lo, hi in ranges:
        if lo > start:
            out.append((start, lo - 1))
        start = hi + 1
    if start <= MAX_CODE_POINT:
        out.append((start, MAX_CODE_POINT))
    return tuple(out)


def _minus(a: Ranges, b: Ranges) -> Ranges:
    return _complement(_normal([*_complement(a), *b]))


@lru_cache(maxsize=1)
def _category_table() -> dict[str, Ranges]:
    """Every general category's ranges (one pass over Unicode, once, when a class needs it)."""
    found: dict[str, list[tuple[int, int]]] = {}
    category, start, previous = unicodedata.category, 0, None
    for cp in range(MAX_CODE_POINT + 2):
        current = category(chr(cp)) if cp <= MAX_CODE_POINT else None
        if current != previous:
            if previous is not None:
                found.setdefault(previous, []).append((start, cp - 1))
            start, previous = cp, current
    table = {name: _normal(ranges) for name, ranges in found.items()}
    for major in "LMNPZSC":
        table[major] = _normal([r for name, rs in table.items() if name[0] == major for r in rs])
    return table


class _Class:
    """A character class: RE2 text where RE2 can say it, and how to get its explicit ranges.

    One of: explicit ``ranges``; a general category ``prop`` (or ``w``, XML Schema's \\w);
    a bracket of ``parts`` RE2 can write as they are. ``negated`` applies to the last two.
    """

    def __init__(self, ranges: Ranges | None = None, prop: str | None = None,
                 negated: bool = False, parts: list[_Class] | None = None) -> None:
        self._ranges, self.prop, self.negated, self.parts = ranges, prop, negated, parts

    def ranges(self) -> Ranges:
        if self._ranges is not None:
            return self._ranges
        if self.parts is not None:
            inside = _normal([r for part in self.parts for r in part.ranges()])
        elif self.prop == "w":  # XML Schema: not punctuation, separator or other
            table = _category_table()
            inside = _complement(_normal([*table["P"], *table["Z"], *table["C"]]))
        else:
            assert self.prop is not None
            inside = _category_table()[self.prop]
        return _complement(inside) if self.negated else inside

    def item(self) -> str | None:
        """The class inside RE2 brackets, or None when RE2 cannot say it there."""
        if self.prop == "w" or self.parts is not None:
            return None
        if self.prop is not None:
            return ("\\P{%s}" if self.negated else "\\p{%s}") % self.prop
        return "".join(_range_text(lo, hi) for lo, hi in self.ranges())

    def text(self) -> str:
        """The class as an RE2 atom."""
        if self.prop == "w":
            return "[\\p{P}\\p{Z}\\p{C}]" if self.negated else "[^\\p{P}\\p{Z}\\p{C}]"
        if self.parts is not None:
            inside = "".join(part.item() or "" for part in self.parts)
            return f"[{'^' if self.negated else ''}{inside}]"
        return _bracket(self.ranges()) if self.prop is None else (self.item() or "")


def _char(cp: int) -> str:
    ch = chr(cp)
    return ch if ch.isascii() and ch.isalnum() else f"\\x{{{cp:x}}}"


def _range_text(lo: int, hi: int) -> str:
    return _char(lo) if lo == hi else f"{_char(lo)}-{_char(hi)}"


def _bracket(ranges: Ranges) -> str:
    if not ranges:
        return "[^\\x{0}-\\x{10ffff}]"  # the empty class: matches nothing
    return "[" + "".join(_range_text(lo, hi) for lo, hi in ranges) + "]"


# -- reading a pattern --------------------------------------------------------------------
def check_flags(flags: object) -> str:
    """The flags as text; RegexSyntaxError for anything but a text of s, m, i, x and q."""
    if flags is None:
        return ""
    if type(flags) is not str:
        raise RegexSyntaxError("the flags of a regular expression are a text such as \"i\"")
    unknown = sorted(set(flags) - FLAGS)
    if unknown:
        raise RegexSyntaxError(f"unknown regular expression flag {unknown[0]!r}: the flags "
                               "are s, m, i, x and q")
    return flags


@lru_cache(maxsize=512)
def translate(pattern: str, flags: str = "") -> str:
    """The RE2 pattern for an XPath ``pattern`` with ``flags`` (already checked)."""
    prefix = "".join(f for f in "ims" if f in flags)
    head = f"(?{prefix})" if prefix else ""
    if "q" in flags:
        return head + "".join(_char(ord(c)) for c in pattern)
    if "x" in flags:
        pattern = _strip_whitespace(pattern)
    return head + _Reader(pattern, "s" in flags).read()


def _strip_whitespace(pattern: str) -> str:
    """Drop whitespace outside character classes (flag x), keeping escapes whole."""
    out: list[str] = []
    depth, i, n = 0, 0, len(pattern)
    while i < n:
        ch = pattern[i]
        i += 1
        if depth == 0 and ch in " \t\n\r":
            continue
        out.append(ch)
        if ch == "\\":
            while depth == 0 and i < n and pattern[i] in " \t\n\r":
                i += 1
            if i < n:
                out.append(pattern[i])
                i += 1
        elif ch == "[":
            depth += 1
        elif ch == "]" and depth:
            depth -= 1
    return "".join(out)


class _Reader:
    def __init__(self, pattern: str, dot_all: bool) -> None:
        self.p, self.i, self.dot_all = pattern, 0, dot_all
        self.groups = 0
        self.closed: set[int] = set()

    def fail(self, what: str) -> RegexSyntaxError:
        return RegexSyntaxError(f"the pattern {self.p[:80]!r} is not a regular expression: "
                                f"{what} at position {self.i + 1}")

    def peek(self) -> str:
        return self.p[self.i] if self.i < len(self.p) else ""

    def take(self) -> str:
        ch = self.peek()
        self.i += 1
        return ch

    def read(self) -> str:
        out = self.branches()
        if self.i < len(self.p):
            raise self.fail(f"unbalanced {self.peek()!r}")
        return out

    def branches(self) -> str:
        parts = [self.branch()]
        while self.peek() == "|":
            self.i += 1
            parts.append(self.branch())
        return "|".join(parts)

    def branch(self) -> str:
        out = []
        while self.peek() not in ("", "|", ")"):
            atom = self.atom()
            out.append(atom + self.quantifier())
        return "".join(out)

    def quantifier(self) -> str:
        ch = self.peek()
        if ch in ("?", "*", "+"):
            self.i += 1
            text = ch
        elif ch == "{":
            text = self.counts()
        else:
            return ""
        if self.peek() == "?":  # reluctant
            self.i += 1
            text += "?"
        if self.peek() in ("?", "*", "+", "{"):
            raise self.fail("a quantifier follows a quantifier")
        return text

    def counts(self) -> str:
        end = self.p.find("}", self.i)
        body = self.p[self.i + 1:end] if end > 0 else ""
        low, comma, high = body.partition(",")
        if end < 0 or not low.isdigit() or (high and not high.isdigit()) or (
                high and int(high) < int(low)):
            raise self.fail("a quantifier {n}, {n,} or {n,m} (n ≤ m) was expected")
        if int(low) > 1000 or (high and int(high) > 1000):
            raise RegexSyntaxError(f"the pattern {self.p[:80]!r} repeats something more than "
                                   "1000 times; Bridgeflow's regular expressions count to 1000")
        self.i = end + 1
        return "{" + body + "}"

    def atom(self) -> str:
        ch = self.take()
        if ch == "(":
            return self.group()
        if ch == "[":
            return self.char_class().text()
        if ch == "\\":
            return self.escape_atom()
        if ch == ".":
            return "(?s:.)" if self.dot_all else "[^\\n\\r]"
        if ch in ("^", "$"):
            return ch
        if ch in ("?", "*", "+", "{"):
            raise self.fail(f"{ch!r} has nothing to repeat")
        if ch in ("}", "]"):
            raise self.fail(f"a lone {ch!r} (write \\{ch})")
        return _char(ord(ch))

    def group(self) -> str:
        capturing = not self.p.startswith("?:", self.i)
        if not capturing:
            self.i += 2
        elif self.peek() == "?":
            raise self.fail("'(?' is not XPath (lookaround is not part of it)")
        number = self.groups = self.groups + capturing
        inner = self.branches()
        if self.take() != ")":
            raise self.fail("a '(' is not closed")
        if capturing:
            self.closed.add(number)
        return ("(" if capturing else "(?:") + inner + ")"

    def escape_atom(self) -> str:
        ch = self.peek()
        if ch.isdigit() and ch != "0":
            digits = self.take()
            while self.peek().isdigit() and int(digits + self.peek()) <= self.groups:
                digits += self.take()
            if int(digits) not in self.closed:
                raise self.fail(f"\\{digits} refers to no group closed before it")
            raise BackreferenceError(digits)
        return self.escape().text()

    def escape(self) -> _Class:
        """After a backslash: a single character or a class escape."""
        ch = self.take()
        if ch in _SINGLE_ESCAPES:
            cp = ord(_SINGLE_ESCAPES[ch])
            return _Class(((cp, cp),))
        negated = ch.isupper()
        kind = ch.lower()
        if kind == "s":
            return _Class(_complement(_SPACES) if negated else _SPACES)
        if kind == "d":
            return _Class(prop="Nd", negated=negated)
        if kind == "w":
            return _Class(prop="w", negated=negated)
        if kind in ("i", "c"):
            ranges = _NAME_START if kind == "i" else _normal([*_NAME_START, *_NAME_EXTRA])
            return _Class(_complement(ranges) if negated else ranges)
        if kind == "p":
            return self.property(negated)
        raise self.fail(f"\\{ch} is not an escape of XPath regular expressions" if ch
                        else "the pattern ends in a backslash")

    def property(self, negated: bool) -> _Class:
        end = self.p.find("}", self.i)
        if self.peek() != "{" or end < 0:
            raise self.fail("\\p and \\P take a name in braces, like \\p{Lu}")
        name = self.p[self.i + 1:end]
        self.i = end + 1
        if name == "Cn":  # unassigned: RE2 has no name for it
            ranges = _category_table()["Cn"]
            return _Class(_complement(ranges) if negated else ranges)
        if name in _CATEGORIES:
            return _Class(prop=name, negated=negated)
        block = BLOCKS.get(name[2:]) if name.startswith("Is") else None
        if block is None:
            raise self.fail(f"\\p{{{name}}} names no Unicode category or block (IsBasicLatin)")
        return _Class(_complement((block,)) if negated else (block,))

    def char_class(self) -> _Class:
        """After '[': a positive or negative group, maybe minus a nested class."""
        negated = self.peek() == "^"
        if negated:
            self.i += 1
        items: list[_Class] = []
        first = True
        while True:
            ch = self.peek()
            if ch == "":
                raise self.fail("a '[' is not closed")
            if ch == "]" and not first:
                self.i += 1
                return _combine(items, negated, None)
            if ch == "-" and self.p.startswith("-[", self.i) and not first:
                self.i += 2
                subtracted = self.char_class()
                if self.take() != "]":
                    raise self.fail("a class subtraction must end its class")
                return _combine(items, negated, subtracted)
            items.append(self.class_item(first))
            first = False

    def class_item(self, first: bool) -> _Class:
        start = self.i
        low = self.class_char(first)
        if isinstance(low, _Class):
            return low
        if self.peek() == "-" and not self.p.startswith("-[", self.i) and \
                self.i + 1 < len(self.p) and self.p[self.i + 1] != "]":
            self.i += 1
            high = self.class_char(False)
            if not isinstance(high, int):
                raise self.fail("a range ends in a class escape")
            if high < low:
                raise self.fail(f"the range {self.p[start:self.i]!r} runs backwards")
            return _Class(((low, high),))
        return _Class(((low, low),))

    def class_char(self, first: bool) -> int | _Class:
        ch = self.take()
        if ch == "\\":
            if self.peek().isdigit() and self.peek() != "0":
                raise self.fail("a backreference cannot be used inside a class")
            escaped = self.escape()
            rs = escaped.ranges() if escaped.prop is None else ()
            return rs[0][0] if len(rs) == 1 and rs[0][0] == rs[0][1] else escaped
        if ch == "[":
            raise self.fail("'[' inside a class (write \\[)")
        if ch == "-" and not first and self.peek() != "]":
            raise self.fail("'-' inside a class is only allowed first or last")
        return ord(ch)


def _combine(items: list[_Class], negated: bool, subtracted: _Class | None) -> _Class:
    """One class of the items of a group, negated and minus ``subtracted`` as written."""
    if subtracted is None and all(i.item() is not None for i in items):
        if len(items) == 1 and items[0].prop is not None and not negated:
            return items[0]
        return _Class(negated=negated, parts=items)
    union = _normal([r for i in items for r in i.ranges()])
    if negated:
        union = _complement(union)
    if subtracted is not None:
        union = _minus(union, subtracted.ranges())
    return _Class(union)
