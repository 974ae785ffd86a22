"""SOQL: the subset the sandbox answers, its errors, paging, and the API usage counter."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import ACME, BEAMS, BOREALIS, RACKING, Api
from .helpers import FakeClock


def names(answer: Any) -> list[str]:
    assert answer.status_code == 200, answer.json
    return [r["Name"] for r in answer.json["records"]]


def test_a_query_answers_salesforce_shaped_records(api: Api) -> None:
    answer = api.query(f"SELECT Id, Name FROM Account WHERE Id = '{ACME}'").json
    assert answer == {"totalSize": 1, "done": True, "records": [{
        "attributes": {"type": "Account",
                       "url": f"/services/data/v60.0/sobjects/Account/{ACME}"},
        "Id": ACME, "Name": "Acme Industrial GmbH"}]}


@pytest.mark.parametrize(("where", "expected"), [
    ("Tier__c = 'gold'", ["Acme Industrial GmbH", "Evergreen Outdoor Inc"]),
    ("tier__c = 'GOLD'", ["Acme Industrial GmbH", "Evergreen Outdoor Inc"]),
    ("Tier__c != 'gold' AND BillingCountry IN ('GB', 'NL')",
     ["Borealis Retail Ltd", "Delta Foods BV"]),
    ("Name LIKE 'C%'", ["Cobalt Systems SA"]),
    ("Name LIKE '%a_ine%'", ["Fjord Marine AS"]),
    ("BillingCountry NOT IN ('DE', 'GB', 'FR', 'NL')",
     ["Evergreen Outdoor Inc", "Fjord Marine AS"]),
    ("(Tier__c = 'bronze' OR Tier__c = 'gold') AND NOT BillingCountry = 'US'",
     ["Acme Industrial GmbH", "Cobalt Systems SA", "Fjord Marine AS"]),
    ("Name > 'D' AND Name <= 'Evergreen Outdoor Inc'", ["Delta Foods BV",
                                                         "Evergreen Outdoor Inc"]),
    ("AccountNumber = null AND Phone != null AND Name >= 'F'", ["Fjord Marine AS"]),
    ("Owner.Name = 'Sam Seller' AND Owner.IsActive = true AND Name LIKE 'B%'",
     ["Borealis Retail Ltd"]),
    ("CreatedDate = 2025-03-01T09:00:00Z AND Name LIKE 'A%'", ["Acme Industrial GmbH"]),
    ("CreatedDate > 2025-03-01T10:00:00+01:00 AND Name LIKE 'A%'", []),
    ("CreatedDate < 2025-03-01T10:00:00.000+01:00", []),
])
def test_where_conditions(api: Api, where: str, expected: list[str]) -> None:
    assert names(api.query(f"SELECT Name FROM Account WHERE {where} ORDER BY Name")) == expected


def test_not_equal_includes_records_without_a_value(api: Api) -> None:
    api.create("Account", {"Name": "Zeta (no tier)"})
    found = names(api.query("SELECT Name FROM Account WHERE Tier__c != 'gold' ORDER BY Name"))
    assert "Zeta (no tier)" in found and "Acme Industrial GmbH" not in found


def test_numbers_dates_and_booleans(api: Api) -> None:
    order_id = api.order([(RACKING, 2, 420.0), (BEAMS, 10, 65.0)])
    items = api.query(f"SELECT Quantity FROM OrderItem WHERE OrderId = '{order_id}' AND "
                      "Quantity >= 2.5 AND UnitPrice < 100").json["records"]
    assert [i["Quantity"] for i in items] == [10.0]
    orders = api.query("SELECT Id FROM Order WHERE EffectiveDate = 2025-03-01 AND "
                       "TotalAmount > 1000").json
    assert [r["Id"] for r in orders["records"]] == [order_id]
    inactive = api.query("SELECT COUNT() FROM Product2 WHERE IsActive = false").json
    assert inactive == {"totalSize": 0, "done": True, "records": []}


def test_parent_fields_come_back_nested(api: Api) -> None:
    order_id = api.order([(RACKING, 1, 420.0)], account=BOREALIS)
    record = api.query("SELECT Quantity, Product2.ProductCode, Order.Account.Name, "
                       f"Order.Account.Owner.Email FROM OrderItem WHERE OrderId = '{order_id}'"
                       ).json["records"][0]
    assert record["Product2"]["ProductCode"] == "BF-100"
    assert record["Product2"]["attributes"]["type"] == "Product2"
    assert record["Order"]["Account"]["Name"] == "Borealis Retail Ltd"
    assert record["Order"]["Account"]["Owner"]["Email"] == "sam.seller@example.com"
    case_id = api.create("Case", {"Subject": "No account"})
    case = api.query(f"SELECT Subject, Account.Name FROM Case WHERE Id = '{case_id}'"
                     ).json["records"][0]
    assert case["Account"] is None


def test_order_by_directions_nulls_limit_and_offset(api: Api) -> None:
    api.create("Account", {"Name": "Aardvark (no phone)"})
    first = names(api.query("SELECT Name FROM Account ORDER BY Phone NULLS FIRST, Name "
                            "LIMIT 2"))
    assert first == ["Aardvark (no phone)", "Evergreen Outdoor Inc"]
    desc = names(api.query("SELECT Name FROM Account ORDER BY Tier__c DESC, Name ASC "
                           "LIMIT 3 OFFSET 1"))
    assert desc == ["Delta Foods BV", "Acme Industrial GmbH", "Evergreen Outdoor Inc"]
    nulls_last = names(api.query("SELECT Name FROM Account ORDER BY Tier__c DESC"))
    assert nulls_last[-1] == "Aardvark (no phone)"


def test_string_escapes(api: Api) -> None:
    api.create("Account", {"Name": "O'Brien 100% Tools_Ltd"})
    assert names(api.query(r"SELECT Name FROM Account WHERE Name = 'O\'Brien 100% Tools_Ltd'"))
    assert names(api.query(r"SELECT Name FROM Account WHERE Name LIKE '%100\% Tools\_%'"))
    assert not names(api.query(r"SELECT Name FROM Account WHERE Name LIKE '%100\%Tools%'"))


@pytest.mark.parametrize(("soql", "code", "text"), [
    ("SELECT Id FORM Account", "MALFORMED_QUERY", "unexpected token: 'FORM'"),
    ("SELECT Id FROM Account WHERE", "MALFORMED_QUERY", "unexpected token: <EOF>"),
    ("SELECT Id FROM Account WHERE Name = 'a' AND Phone = 'b' OR Tier__c = 'c'",
     "MALFORMED_QUERY", "unexpected token: 'OR'"),
    ("SELECT Id FROM Account WHERE Name = 'open", "MALFORMED_QUERY", "unterminated"),
    ("SELECT Id, Id FROM Account", "MALFORMED_QUERY", "duplicate field selected: Id"),
    ("SELECT Id FROM Account GROUP BY Name", "MALFORMED_QUERY", "unexpected token: 'GROUP'"),
    ("SELECT Colour FROM Account", "INVALID_FIELD", "No such column 'Colour' on entity "
                                                    "'Account'"),
    ("SELECT Boss.Name FROM Account", "INVALID_FIELD", "Didn't understand relationship 'Boss'"),
    ("SELECT What.Name FROM Task", "INVALID_FIELD", "polymorphic"),
    ("SELECT Id FROM Invoice", "INVALID_TYPE", "sObject type 'Invoice' is not supported"),
    ("SELECT Id FROM Product2 WHERE IsActive = 'true'", "INVALID_QUERY_FILTER_OPERATOR",
     "must be of type boolean and should not be enclosed in quotes"),
    ("SELECT Id FROM Order WHERE EffectiveDate > 2025-03-01T00:00:00Z",
     "INVALID_QUERY_FILTER_OPERATOR", "must be of type date"),
    ("SELECT Id FROM Account WHERE Name < null", "INVALID_QUERY_FILTER_OPERATOR", "null"),
])
def test_query_errors_say_what_and_where(api: Api, soql: str, code: str, text: str) -> None:
    answer = api.query(soql)
    assert answer.status_code == 400
    error = answer.json[0]
    assert error["errorCode"] == code
    assert text in error["message"]
    assert "ERROR at Row:1:Column:" in error["message"]


def test_the_error_points_at_the_column(api: Api) -> None:
    message = api.query("SELECT Id FORM Account").json[0]["message"]
    assert message == ("\nSELECT Id FORM Account\n          ^\nERROR at Row:1:Column:11\n"
                       "unexpected token: 'FORM'")


def test_an_empty_query_is_refused(api: Api) -> None:
    assert api.call("GET", "/query").json[0]["errorCode"] == "MALFORMED_QUERY"


def test_large_answers_come_in_pages(make_app: Any) -> None:
    api = Api(make_app(QUERY_BATCH_SIZE=5).test_client())
    first = api.query("SELECT ProductCode FROM Product2 ORDER BY ProductCode").json
    assert (first["totalSize"], first["done"], len(first["records"])) == (12, False, 5)
    assert first["nextRecordsUrl"].startswith("/services/data/v60.0/query/01g")
    codes = [r["ProductCode"] for r in first["records"]]
    url = first["nextRecordsUrl"]
    pages = 1
    while url:
        page = api.call("GET", url.removeprefix("/services/data/v60.0")).json
        codes += [r["ProductCode"] for r in page["records"]]
        url = page.get("nextRecordsUrl")
        pages += 1
        assert page["done"] is (url is None)
    assert pages == 3
    assert codes == sorted(codes) and len(set(codes)) == 12


def test_a_bad_cursor_is_refused(api: Api) -> None:
    answer = api.call("GET", "/query/01gnosuchcursor0-5")
    assert answer.status_code == 400
    assert answer.json[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_every_answer_reports_api_usage(api: Api) -> None:
    first = api.call("GET", f"/sobjects/Account/{ACME}")
    assert first.headers["Sforce-Limit-Info"] == "api-usage=1/5000"
    failed = api.query("SELECT nonsense")
    assert failed.headers["Sforce-Limit-Info"] == "api-usage=2/5000"
    missing = api.call("GET", "/sobjects/Account/001000000000999AAA")
    assert missing.status_code == 404
    assert missing.headers["Sforce-Limit-Info"] == "api-usage=3/5000"
    limits = api.call("GET", "/limits").json
    assert limits == {"DailyApiRequests": {"Max": 5000, "Remaining": 4996}}


def test_the_daily_limit_refuses_further_calls_until_the_next_day(make_app: Any,
                                                                  clock: FakeClock) -> None:
    client = make_app(API_DAILY_LIMIT=3).test_client()
    api = Api(client)
    for _ in range(3):
        assert api.call("GET", f"/sobjects/Account/{ACME}").status_code == 200
    refused = api.call("GET", f"/sobjects/Account/{ACME}")
    assert refused.status_code == 403
    assert refused.json[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    assert refused.headers["Sforce-Limit-Info"] == "api-usage=3/3"
    clock.advance(24 * 3600)
    assert Api(client).call("GET", f"/sobjects/Account/{ACME}").status_code == 200
