"""XPath regular expressions in matches, replace and split: XML Schema's meaning kept on RE2."""

from __future__ import annotations

from typing import Any

import pytest

from tests.engine.dmn.test_feel_errors import result_of
from tests.engine.dmn.test_literal_expressions import literal


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # . is any character but a line end, unless flag s
        (r'matches("a\u000Db", "a.b")', False),
        (r'matches("a\nb", "a.b")', False),
        (r'matches("a\nb", "a.b", "s")', True),
        # $ is the end of the text, not before a last line end (Python's re differs)
        (r'matches("a\n", "a$")', False),
        (r'matches("x\na\n", "^a$", "m")', True),
        # XML Schema's classes are Unicode: \w, \d
        ('matches("é", "^\\w$")', True),
        ('matches("-", "^\\w$")', False),
        ('matches("a-é", "^[\\w-]+$")', True),
        ('matches("٣", "^\\d$")', True),
        ('matches(" \t", "^\\s+$")', True),
        # XML names: \i and \c
        ('matches("_a1", "^\\i\\c*$")', True),
        ('matches("1a", "^\\i\\c*$")', False),
        # categories and blocks
        ('matches("É", "^\\p{Lu}$")', True),
        ('matches("é", "^\\p{IsLatin-1Supplement}$")', True),
        ('matches("é", "^\\P{IsBasicLatin}$")', True),
        ('matches("hello world", "^\\p{IsBasicLatin}+$")', True),
        # class subtraction
        ('matches("b", "^[a-z-[aeiou]]$")', True),
        ('matches("e", "^[a-z-[aeiou]]$")', False),
        ('matches("É", "^[\\p{Lu}-[A-Z]]$")', True),
        ('matches("E", "^[\\p{Lu}-[A-Z]]$")', False),
        ('matches("x", "[A-Z-[OI]]", "i")', True),
        ('matches("o", "[A-Z-[OI]]", "i")', False),
        ('matches("ab-", "^[a-c-]+$")', True),
        # x drops whitespace outside classes; q takes the pattern as text
        ('matches("hello world", "hel lo[ ]wor ld", "x")', True),
        ('matches("hello world", "\\p{ Is Basic Latin }+", "x")', True),
        ('matches("abc", "a.c", "q")', False),
        ('matches("a.c", "A.C", "qi")', True),
        ('replace("abc", "(b)", "[$1]")', "a[b]c"),
        ('split("a1b٣c", "\\d")', ["a", "b", "c"]),
    ],
)
def test_xpath_patterns_mean_what_xml_schema_says(text: str, expected: Any) -> None:
    assert literal(text) == expected


@pytest.mark.parametrize(
    ("text", "reported"),
    [
        ('matches("abcd", "1[asd\\0]")', "\\0 is not an escape"),
        ('matches("a", "[0-9-.]")', "'-' inside a class"),
        ('matches("a", "a{2,1}")', "n ≤ m"),
        ('matches("a", "a{")', "quantifier"),
        ('matches("a", "a**")', "a quantifier follows a quantifier"),
        ('matches("a", "[a")', "not closed"),
        ('matches("a", "(?=a)")', "lookaround"),
        ('matches("a", "\\p{Foo}")', "names no Unicode category or block"),
        ('matches("a", "(a)[\\1]")', "inside a class"),
        ('matches("a", "(.)\\2")', "refers to no group"),
        ('matches("a", "a", "z")', "unknown regular expression flag 'z'"),
        ('matches("a", "a", [])', "flags of a regular expression are a text"),
    ],
)
def test_a_pattern_xpath_refuses_gives_null_and_says_why(text: str, reported: str) -> None:
    result = result_of(text)
    assert result.outputs is None
    assert any(reported in e for e in result.errors), result.errors
