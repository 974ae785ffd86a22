"""Camunda's typed variables, both ways: every type, every refusal naming the variable."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

import pytest

from web.engine_rest.variables import (
    VariableError,
    decode_value,
    decode_variables,
    encode_value,
    encode_variables,
    format_date,
    parse_date,
)

UTC = dt.UTC


@pytest.mark.parametrize(("typed", "expected"), [
    ({"value": "x", "type": "String"}, "x"),
    ({"value": "", "type": "String"}, ""),
    ({"value": True, "type": "Boolean"}, True),
    ({"value": "false", "type": "boolean"}, False),
    ({"value": 42, "type": "Integer"}, 42),
    ({"value": "42", "type": "Integer"}, 42),
    ({"value": 7.0, "type": "Integer"}, 7),
    ({"value": -32768, "type": "Short"}, -32768),
    ({"value": 2**40, "type": "Long"}, 2**40),
    ({"value": 1.5, "type": "Double"}, 1.5),
    ({"value": 3, "type": "Double"}, 3.0),
    ({"value": "2.25", "type": "Double"}, 2.25),
    ({"value": None, "type": "Null"}, None),
    ({"value": None, "type": "String"}, None),
    ({"value": "2026-12-03T10:00:00.000+0000", "type": "Date"},
     dt.datetime(2026, 12, 3, 10, tzinfo=UTC)),
    ({"value": "2026-12-03T12:00:00+0200", "type": "Date"},
     dt.datetime(2026, 12, 3, 12, tzinfo=dt.timezone(dt.timedelta(hours=2)))),
    ({"value": '{"a": [1, 2]}', "type": "Json"}, {"a": [1, 2]}),
    ({"value": "[1]", "type": "Json"}, [1]),
    ({"value": '{"sku": "A1"}', "type": "Object",
      "valueInfo": {"objectTypeName": "com.acme.Line",
                    "serializationDataFormat": "application/json"}}, {"sku": "A1"}),
    ({"value": {"nested": 1}}, {"nested": 1}),
    ({"value": 5}, 5),
    ({"value": "plain", "type": ""}, "plain"),
])
def test_each_type_decodes_to_its_plain_value(typed: dict[str, Any], expected: Any) -> None:
    assert decode_value(typed, "v") == expected


@pytest.mark.parametrize(("typed", "why"), [
    ({"value": "abc", "type": "Integer"}, "Integer"),
    ({"value": 2**31, "type": "Integer"}, "outside the range"),
    ({"value": 40000, "type": "Short"}, "outside the range"),
    ({"value": 2**63, "type": "Long"}, "outside the range"),
    ({"value": True, "type": "Integer"}, "boolean"),
    ({"value": 1.5, "type": "Integer"}, "whole number"),
    ({"value": "yes", "type": "Boolean"}, "true or false"),
    ({"value": 5, "type": "String"}, "JSON string"),
    ({"value": "abc", "type": "Double"}, "Double"),
    ({"value": "03.12.2026", "type": "Date"}, "yyyy-MM-dd"),
    ({"value": "{not json", "type": "Json"}, "not valid JSON"),
    ({"value": "NaN", "type": "Json"}, "NaN"),
    ({"value": {"a": 1}, "type": "Json"}, "JSON string"),
    ({"value": "rO0AB", "type": "Object",
      "valueInfo": {"serializationDataFormat": "application/x-java-serialized-object"}},
     "Java-serialized objects are refused"),
    ({"value": "<a/>", "type": "Object",
      "valueInfo": {"serializationDataFormat": "application/xml"}}, "not supported"),
    ({"value": "aGk=", "type": "Bytes"}, "binary variables"),
    ({"value": "aGk=", "type": "File"}, "binary variables"),
    ({"value": 1, "type": "Money"}, "type 'Money' is not supported"),
    ({"value": 1, "type": 7}, "type must be a string"),
    ({"value": 1, "type": "Integer", "valueInfo": []}, "valueInfo must be an object"),
    ("just a string", "must be an object"),
])
def test_a_wrong_value_is_refused_naming_the_variable(typed: Any, why: str) -> None:
    with pytest.raises(VariableError) as caught:
        decode_variables({"amount": typed})
    assert "'amount'" in str(caught.value) and why in str(caught.value)


def test_variables_must_be_an_object() -> None:
    assert decode_variables(None) == {}
    with pytest.raises(VariableError, match="JSON object"):
        decode_variables([{"value": 1}])


@pytest.mark.parametrize(("value", "kind", "wire"), [
    ("x", "String", "x"),
    (True, "Boolean", True),
    (7, "Integer", 7),
    (2**31 - 1, "Integer", 2**31 - 1),
    (2**31, "Long", 2**31),
    (-(2**31) - 1, "Long", -(2**31) - 1),
    (1.25, "Double", 1.25),
    (Decimal("2.5"), "Double", 2.5),
    (None, "Null", None),
    ({"a": [1, "b"]}, "Json", '{"a": [1, "b"]}'),
    ([1, 2], "Json", "[1, 2]"),
    (dt.datetime(2026, 12, 3, 10, 0, 0, 123456), "Date", "2026-12-03T10:00:00.123+0000"),
    (dt.date(2026, 12, 3), "Date", "2026-12-03T00:00:00.000+0000"),
])
def test_each_plain_value_encodes_with_its_inferred_type(value: Any, kind: str,
                                                          wire: Any) -> None:
    assert encode_value(value) == {"type": kind, "value": wire, "valueInfo": {}}


def test_encode_then_decode_gives_the_value_back() -> None:
    values = {"s": "x", "b": False, "i": 3, "l": 2**40, "d": 0.5, "n": None,
              "j": {"lines": [{"qty": 2}]}}
    assert decode_variables(encode_variables(values)) == values
    assert json.loads(json.dumps(encode_variables(values)))  # plain JSON on the wire


def test_encode_only_the_names_asked_for() -> None:
    assert encode_variables({"a": 1, "b": 2}, names=["b", "missing"]) == {
        "b": {"type": "Integer", "value": 2, "valueInfo": {}}}


def test_camunda_dates_round_trip() -> None:
    when = dt.datetime(2026, 12, 3, 10, 0, 0, 500000, tzinfo=UTC)
    assert format_date(when) == "2026-12-03T10:00:00.500+0000"
    assert parse_date(format_date(when) or "") == when
    assert format_date(None) is None
    with pytest.raises(ValueError, match="yyyy-MM-dd"):
        parse_date("2026-12-03")


@pytest.mark.parametrize("text", ["[" * 100_000 + "]" * 100_000, "[" * 65 + "]" * 65])
def test_a_json_value_nested_too_deep_is_refused_not_a_crash(text: str) -> None:
    with pytest.raises(VariableError, match="more than 64 levels deep"):
        decode_variables({"doc": {"type": "Json", "value": text}})
