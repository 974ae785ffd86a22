"""Field mappings: the shipped files, every type, every check of a file, the operation, the CLI."""

from __future__ import annotations

import json
import shutil
from copy import deepcopy
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from service_tasks.base import BusinessRuleError, InvalidParameters
from service_tasks.mapping import (
    MappingFileError,
    MappingSet,
    json_ready,
    load_mapping,
    operations,
)
from web.cli import main

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "processes" / "mappings"
FIXTURES = ROOT / "tests" / "fixtures" / "mappings"
ORDER: dict[str, Any] = json.loads((FIXTURES / "order_sample.json").read_text())


class Ctx:
    instance_id = "i-1"
    business_key = None
    element_id = "map_order"
    attempt = 1
    idempotency_key = "i-1:map_order"


def failures_of(exc: pytest.ExceptionInfo[BusinessRuleError]) -> dict[str, str]:
    return {f["field"]: f["message"] for f in exc.value.details["failures"]}


# -- the shipped mapping files --------------------------------------------------------------

def test_the_shipped_files_load_as_one_set() -> None:
    assert MappingSet(SHIPPED).names() == ["crm_order_to_erp", "erp_order_status_to_crm"]


def test_crm_order_becomes_erp_order_parameters() -> None:
    mapped = load_mapping(SHIPPED / "crm_order_to_erp.yaml").apply(ORDER)
    assert json_ready(mapped) == {
        "crm_order_id": "801000000000001AAA",
        "crm_account_id": "001000000000006AAA",
        "lines": [{"product_code": "BF-100", "quantity": 2, "unit_price": "420.00"},
                  {"product_code": "BF-300", "quantity": 1, "unit_price": "149.00"}],
        "name": "Fjord Marine AS", "tier": "bronze", "email": "innkjop@fjord.example",
        "phone": "+47 55 00 00 00", "street": "Bryggen 1", "postal_code": "5003",
        "city": "Bergen", "country_code": "NO",
    }
    # The CRM stores quantities as doubles; the ERP wants whole numbers.
    assert type(mapped["lines"][0]["quantity"]) is int


@pytest.mark.parametrize("country,code", [
    ("Germany", "DE"), ("DE", "DE"), ("United Kingdom", "GB"), ("uk", "GB"),
    ("France", "FR"), (" Netherlands ", "NL"), ("USA", "US"), ("NO", "NO"), ("norway", "NO"),
])
def test_country_names_and_codes_become_iso_codes(country: str, code: str) -> None:
    order = deepcopy(ORDER)
    order["account"]["address"]["country"] = country
    mapped = load_mapping(SHIPPED / "crm_order_to_erp.yaml").apply(order)
    assert mapped["country_code"] == code


def test_optional_customer_fields_may_be_blank() -> None:
    order = deepcopy(ORDER)
    order["account"].update(phone=None, contact_email="")
    order["account"]["address"]["street"] = "  "
    del order["account"]["address"]["city"]
    mapped = load_mapping(SHIPPED / "crm_order_to_erp.yaml").apply(order)
    assert not {"phone", "email", "street", "city"} & set(mapped)


def test_a_bad_order_names_every_failing_field_and_value() -> None:
    order = deepcopy(ORDER)
    order["items"].append({"product_code": "", "quantity": -2, "unit_price": "abc"})
    order["items"][0]["quantity"] = 1.5
    order["account"].update(contact_email="not-an-address")
    order["account"]["address"]["country"] = "Narnia"
    del order["order_id"]
    with pytest.raises(BusinessRuleError) as exc:
        load_mapping(SHIPPED / "crm_order_to_erp.yaml").apply(order)
    assert exc.value.code == "mapping_failed"
    message = exc.value.message
    assert message.startswith("mapping 'crm_order_to_erp' failed for 7 field(s)")
    for part in ("order_id: is required", "items[0].quantity = 1.5: is not a whole number",
                 "items[2].product_code: is required", "items[2].quantity = -2: must be at "
                 "least 1", "items[2].unit_price = 'abc': is not a number",
                 "account.address.country = 'Narnia': is not in table 'country'",
                 "account.contact_email = 'not-an-address': does not match"):
        assert part in message
    failure = next(f for f in exc.value.details["failures"] if f["field"] == "items[2].quantity")
    assert failure == {"field": "items[2].quantity", "target": "lines[2].quantity",
                       "value": "-2", "message": "must be at least 1 (type integer)"}


@pytest.mark.parametrize("items", [None, "absent"])
def test_an_order_without_items_cannot_become_lines(items: Any) -> None:
    order = deepcopy(ORDER)
    if items == "absent":
        del order["items"]
    else:
        order["items"] = items
    with pytest.raises(BusinessRuleError) as exc:
        load_mapping(SHIPPED / "crm_order_to_erp.yaml").apply(order)
    assert failures_of(exc) == {"items": "the list is missing, but lines[].product_code, "
                                         "lines[].quantity, lines[].unit_price are required"}


def test_an_order_with_no_items_has_no_lines() -> None:
    order = dict(ORDER, items=[])
    assert load_mapping(SHIPPED / "crm_order_to_erp.yaml").apply(order)["lines"] == []


@pytest.mark.parametrize("state,text,status", [
    ("draft", "Draft", "Synced to ERP"), ("quotation", "Quotation", "Synced to ERP"),
    ("confirmed", "Confirmed", "Synced to ERP"), ("processing", "Processing", "Synced to ERP"),
    ("done", "Done", "Synced to ERP"), ("cancelled", "Cancelled", "Cancelled"),
])
def test_erp_states_become_crm_status(state: str, text: str, status: str) -> None:
    mapped = load_mapping(SHIPPED / "erp_order_status_to_crm.yaml").apply(
        {"number": "SO-0042", "state": state})
    assert mapped == {"ERP_Order_Number__c": "SO-0042", "ERP_Status__c": text,
                      "Status": status}


def test_an_unknown_erp_state_is_refused() -> None:
    with pytest.raises(BusinessRuleError) as exc:
        load_mapping(SHIPPED / "erp_order_status_to_crm.yaml").apply({"state": "shipped"})
    assert set(failures_of(exc)) == {"state"}
    assert "state = 'shipped': is not in table 'erp_state_text'" in exc.value.message


# -- types and options ----------------------------------------------------------------------

SHIPMENT: dict[str, Any] = {
    "ref": "SH-1001", "consignee": {"city": "Bergen"}, "weight_g": 12345,
    "insured": "yes", "ship_date": "03.11.2026", "delivered_at": "2026-11-05T10:30:00+02:00",
    "carrier": "dhl", "meta": {"dock": 4, "tags": ["fragile"]},
    "boxes": [{"article": "BF-100", "items": [{"serial_no": 7}, {"serial_no": "A8"}]},
              {"article": "BF-110", "items": []}],
}


def test_every_type_converts() -> None:
    mapping = load_mapping(FIXTURES / "all_types.yaml")
    assert mapping.name == "all_types"
    record = dict(SHIPMENT, carrier="DHL")
    assert json_ready(mapping.apply(record)) == {
        "reference": "SH-1001", "customer": {"address": {"city": "Bergen"}},
        "parcels": 1, "weight_kg": "12.35", "insured": True, "ship_date": "2026-11-03",
        "delivered_at": "2026-11-05T08:30:00+00:00", "carrier": "dhl_express",
        "carrier_code": 1, "raw_meta": {"dock": 4, "tags": ["fragile"]}, "source": "warehouse",
        "packages": [{"sku": "BF-100", "unit": "piece",
                      "contents": [{"serial": "7"}, {"serial": "A8"}]},
                     {"sku": "BF-110", "unit": "piece", "contents": []}],
    }


def test_rounding_is_half_up_and_exact() -> None:
    mapping = load_mapping(FIXTURES / "all_types.yaml")
    mapped = mapping.apply({"ref": "SH-1", "boxes": [], "weight_g": "2345"})  # 2.345 kg
    assert mapped["weight_kg"] == Decimal("2.35")
    assert mapping.apply({"ref": "SH-1", "boxes": [], "weight_g": 4.9})["weight_kg"] == 0


@pytest.mark.parametrize("value,expected", [
    (True, True), ("no", False), ("OFF", False), (1, True), ("0", False),
])
def test_boolean_spellings(value: Any, expected: bool) -> None:
    mapping = load_mapping(FIXTURES / "all_types.yaml")
    assert mapping.apply({"ref": "SH-1", "boxes": [], "insured": value})["insured"] is expected


def test_case_sensitive_enum_and_conversion_failures() -> None:
    mapping = load_mapping(FIXTURES / "all_types.yaml")
    with pytest.raises(BusinessRuleError) as exc:
        mapping.apply({"ref": "X-1", "carrier": "dhl", "insured": "maybe", "parcels": "2.5",
                       "parcel_count": True, "ship_date": "2026-11-03",
                       "delivered_at": "yesterday", "consignee": {"city": "Lower Saxony"},
                       "boxes": [{"items": [{"serial_no": 1}]}, "BF-7"]})
    assert failures_of(exc) == {
        "ref": "does not match the pattern SH-[0-9]+ (type string)",
        "consignee.city": "is longer than 10 characters (type string)",
        "parcel_count": "expected a number, not true/false (type integer)",
        "insured": "expected true/false, yes/no, 1/0 or on/off (type boolean)",
        "ship_date": "is not a date (%d.%m.%Y) (type date)",
        "delivered_at": "is not a date and time (ISO 8601) (type datetime)",
        "carrier": "is not in table 'carrier_code (inline)' (known: DHL, UPS) (type enum)",
        "boxes[0].article": "is required but missing",
        "boxes[1]": "expected an object",
    }


def test_a_source_path_through_a_non_object_fails() -> None:
    mapping = load_mapping(FIXTURES / "all_types.yaml")
    with pytest.raises(BusinessRuleError) as exc:
        mapping.apply({"ref": "SH-1", "consignee": "Bergen", "boxes": {"article": "x"}})
    assert failures_of(exc) == {"consignee.city": "consignee is str, not an object",
                                "boxes": "expected a list"}


def test_a_record_that_is_not_an_object_is_a_modelling_mistake() -> None:
    with pytest.raises(InvalidParameters):
        load_mapping(FIXTURES / "all_types.yaml").apply([1, 2])  # type: ignore[arg-type]


def test_toml_files_are_read_the_same_way() -> None:
    mapping = load_mapping(FIXTURES / "shipment.toml")
    assert mapping.name == "shipment_toml"
    assert mapping.apply({"ref": "SH-9", "weight_g": 1250}) == {
        "reference": "SH-9", "weight_kg": Decimal("1.3"), "carrier": "dhl_express"}


def test_yaml_keeps_norway_leading_zeros_and_decimals_as_written(tmp_path: Path) -> None:
    path = tmp_path / "strict.yaml"
    path.write_text("enums:\n  t: {NO: NO, yes: 0123, off: 0.1}\n"
                    "fields:\n  - {to: x, from: x, type: enum, table: t}\n")
    mapping = load_mapping(path)
    assert [mapping.apply({"x": v})["x"] for v in ("NO", "yes", "off")] == [
        "NO", "0123", Decimal("0.1")]


# -- checking files -------------------------------------------------------------------------

def test_a_broken_file_reports_every_problem_at_once() -> None:
    with pytest.raises(MappingFileError) as exc:
        load_mapping(FIXTURES / "broken.yaml")
    found = {(p.line, p.field): p.message for p in exc.value.problems}
    file = str(FIXTURES / "broken.yaml")
    assert all(p.file == file for p in exc.value.problems)
    assert found[(2, "amount")].startswith("unknown type 'money' (known: string, integer,")
    assert found[(5, "status")].startswith("type enum needs a 'table'")
    assert found[(8, "quantity")] == ("default 'many' is not a valid integer: "
                                      "is not a number")
    assert found[(12, "amount")] == "target 'amount' is also written by the field on line 2"
    assert found[(14, "name")].startswith("unknown key 'requried' for type string")
    assert found[(17, "lines[].sku")].startswith("'to' enters 1 list(s) ([]) but 'from' "
                                                 "enters 0")
    assert found[(19, "flag")].startswith("give either 'from'")
    assert "'' is not a field name" in found[(22, "bad..path")]
    assert found[(24, "price")] == "'places' must be a whole number from 0 to 20"
    assert len(exc.value.problems) == 9
    assert [p.line for p in exc.value.problems] == [2, 5, 8, 12, 14, 17, 19, 22, 24]
    assert str(exc.value).startswith("9 problem(s) in mapping files:\n  " + file + ":2 [amount]")


@pytest.mark.parametrize("name,line,text", [
    ("syntax_error.yaml", 6, "YAML syntax error: mapping values are not allowed here"),
    ("duplicate_key.yaml", 4, "the key 'from' is written twice"),
    ("syntax_error.toml", 3, "TOML syntax error: Invalid value (at line 3, column 8)"),
])
def test_syntax_errors_name_the_line(name: str, line: int, text: str) -> None:
    with pytest.raises(MappingFileError) as exc:
        load_mapping(FIXTURES / name)
    [problem] = exc.value.problems
    assert (problem.file, problem.line, problem.message) == (str(FIXTURES / name), line, text)


@pytest.mark.parametrize("body,message", [
    ("- a\n", "the file must hold an entry with 'fields'"),
    ("fields: []\ncolour: red\n", "unknown key 'colour'"),
    ("fields:\n  - {to: a.b, from: x}\n  - {to: a, from: y}\n",
     "target 'a' collides with 'a.b': 'a' cannot be both a value and an object"),
    ("fields:\n  - {to: 'l[].x', from: 'i[].x'}\n  - {to: 'l[].y', from: 'j[].y'}\n",
     "'l[]' is filled from 'i[]' by l[].x but from 'j[]' here"),
    ("fields:\n  - {to: 'l[].x', value: 1, type: integer}\n",
     "a constant inside 'l[]' needs another field that reads a list into it"),
    ("fields:\n  - {to: x, from: y, type: integer, min: 5, max: 1}\n",
     "'min' is greater than 'max'"),
    ("fields:\n  - {to: x, from: y, type: enum, table: nope}\n",
     "table 'nope' is not defined under 'enums' (defined: none)"),
    ("enums: {t: {a: 1, A: 2}}\nfields:\n  - {to: x, from: y, type: enum, table: t}\n",
     "'A' differs from another key only in case"),
    ("fields:\n  - {to: x, from: 'items[]'}\n", "must end in a field name, not in []"),
    ("fields:\n  - {to: x, value: '1.5', type: integer}\n",
     "value '1.5' is not a valid integer: is not a whole number"),
    ("fields:\n  - {to: x, from: y, type: date, format: dmy}\n",
     "'format' must be a strptime format"),
    ("fields:\n  - {to: x, from: y, pattern: '('}\n", "'pattern' is not a valid regular"),
])
def test_each_check_of_a_file(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "m.yaml"
    path.write_text(body)
    with pytest.raises(MappingFileError) as exc:
        load_mapping(path)
    assert message in str(exc.value)


def test_a_mapping_set_reports_the_problems_of_every_file(tmp_path: Path) -> None:
    for name in ("broken.yaml", "syntax_error.toml", "all_types.yaml"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    shutil.copy(FIXTURES / "all_types.yaml", tmp_path / "again.yml")
    (tmp_path / "notes.txt").write_text("not a mapping")
    with pytest.raises(MappingFileError) as exc:
        MappingSet(tmp_path)
    files = {Path(p.file).name for p in exc.value.problems}
    assert files == {"broken.yaml", "syntax_error.toml"}
    (tmp_path / "broken.yaml").unlink()
    (tmp_path / "syntax_error.toml").unlink()
    (tmp_path / "again.yml").write_text((FIXTURES / "all_types.yaml").read_text()
                                        .replace("description:", "name: all_types\n"
                                                 "description:"))
    with pytest.raises(MappingFileError) as exc:
        MappingSet(tmp_path)
    assert "the name 'all_types' is also used by" in str(exc.value)


def test_a_missing_directory_is_reported() -> None:
    with pytest.raises(MappingFileError, match="does not exist"):
        MappingSet(FIXTURES / "nope")


# -- the operation --------------------------------------------------------------------------

def test_the_operation_returns_a_json_record() -> None:
    apply = operations(MappingSet(SHIPPED))["mapping.apply"]
    result = apply({"mapping": "crm_order_to_erp", "record": ORDER}, Ctx())
    assert json.loads(json.dumps(result)) == result
    assert result["record"]["lines"][0] == {"product_code": "BF-100", "quantity": 2,
                                            "unit_price": "420.00"}


@pytest.mark.parametrize("params,message", [
    ({"record": {}}, "missing parameter(s): mapping"),
    ({"mapping": "crm_order_to_erp"}, "missing parameter(s): record"),
    ({"mapping": "nope", "record": {}}, "no mapping named 'nope'"),
    ({"mapping": "crm_order_to_erp", "record": "x"}, "'record' must be an object"),
])
def test_the_operation_refuses_bad_parameters(params: dict[str, Any], message: str) -> None:
    apply = operations(MappingSet(SHIPPED))["mapping.apply"]
    with pytest.raises(InvalidParameters, match=message.replace("(", r"\(").replace(")", r"\)")):
        apply(params, Ctx())


def test_the_operation_raises_the_business_error_for_bad_data() -> None:
    apply = operations(MappingSet(SHIPPED))["mapping.apply"]
    with pytest.raises(BusinessRuleError) as exc:
        apply({"mapping": "erp_order_status_to_crm", "record": {"state": "lost"}}, Ctx())
    assert exc.value.code == "mapping_failed"


# -- bridgeflow mapping test ----------------------------------------------------------------

def test_cli_prints_the_mapped_record() -> None:
    result = CliRunner().invoke(main, ["mapping", "test", str(SHIPPED / "crm_order_to_erp.yaml"),
                                       str(FIXTURES / "order_sample.json")])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["lines"][1] == {"product_code": "BF-300", "quantity": 1,
                                                    "unit_price": "149.00"}


def test_cli_prints_every_failure(tmp_path: Path) -> None:
    sample = tmp_path / "bad.json"
    sample.write_text(json.dumps({"state": "lost", "number": 42}))
    result = CliRunner().invoke(main, ["mapping", "test",
                                       str(SHIPPED / "erp_order_status_to_crm.yaml"),
                                       str(sample)])
    assert result.exit_code == 1
    assert result.output.splitlines()[0] == ("error: mapping 'erp_order_status_to_crm' failed "
                                             "for 2 field(s)")
    assert "  state = 'lost': is not in table 'erp_state_text'" in result.output


def test_cli_prints_the_problems_of_a_broken_file() -> None:
    result = CliRunner().invoke(main, ["mapping", "test", str(FIXTURES / "broken.yaml"),
                                       str(FIXTURES / "order_sample.json")])
    assert result.exit_code == 1
    assert "error: 9 problem(s) in" in result.output
    assert "broken.yaml:2 [amount]: unknown type 'money'" in result.output


def test_cli_refuses_a_sample_that_is_not_json(tmp_path: Path) -> None:
    sample = tmp_path / "s.json"
    sample.write_text("{nope")
    result = CliRunner().invoke(main, ["mapping", "test", str(SHIPPED / "crm_order_to_erp.yaml"),
                                       str(sample)])
    assert result.exit_code == 2 and "not JSON" in result.output
