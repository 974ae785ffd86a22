"""Salesforce's Opportunity in the sandbox: stages, derived closed/won flags, SOQL, seed."""

from __future__ import annotations

import pytest

from .conftest import ACME, BOREALIS, Api

DEAL = {"Name": "Acme: mezzanine", "AccountId": ACME, "StageName": "Prospecting",
        "Amount": 15000.456, "CloseDate": "2025-09-30", "Probability": 10}


def test_an_opportunity_is_created_with_an_006_id_an_owner_and_open_flags(api: Api) -> None:
    deal_id = api.create("Opportunity", DEAL)
    assert deal_id.startswith("006")
    deal = api.get("Opportunity", deal_id)
    assert deal["attributes"]["type"] == "Opportunity"
    assert (deal["StageName"], deal["Amount"], deal["CloseDate"], deal["Probability"]) == (
        "Prospecting", 15000.46, "2025-09-30", 10.0)
    assert deal["OwnerId"] == "005000000000001AAA"   # the acting user
    assert (deal["IsClosed"], deal["IsWon"]) == (False, False)


def test_closing_the_stage_sets_is_closed_and_is_won(api: Api) -> None:
    deal_id = api.create("Opportunity", DEAL)
    assert api.patch("Opportunity", deal_id, {"StageName": "Closed Won"}).status_code == 204
    assert (api.get("Opportunity", deal_id)["IsClosed"],
            api.get("Opportunity", deal_id)["IsWon"]) == (True, True)
    api.patch("Opportunity", deal_id, {"StageName": "Closed Lost"})
    lost = api.get("Opportunity", deal_id)
    assert (lost["IsClosed"], lost["IsWon"]) == (True, False)


@pytest.mark.parametrize(("body", "code", "fields"), [
    ({**DEAL, "StageName": "Won"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", ["StageName"]),
    ({k: v for k, v in DEAL.items() if k != "StageName"}, "REQUIRED_FIELD_MISSING",
     ["StageName"]),
    ({k: v for k, v in DEAL.items() if k != "CloseDate"}, "REQUIRED_FIELD_MISSING",
     ["CloseDate"]),
    ({k: v for k, v in DEAL.items() if k != "Name"}, "REQUIRED_FIELD_MISSING", ["Name"]),
    ({**DEAL, "IsWon": True}, "INVALID_FIELD_FOR_INSERT_UPDATE", ["IsWon"]),
    ({**DEAL, "Amount": "lots"}, "JSON_PARSER_ERROR", ["Amount"]),
    ({**DEAL, "AccountId": "01t000000000001AAA"}, "FIELD_INTEGRITY_EXCEPTION", ["AccountId"]),
])
def test_bad_opportunities_get_salesforce_errors_and_nothing_is_stored(
        api: Api, body: dict[str, object], code: str, fields: list[str]) -> None:
    before = api.query("SELECT COUNT() FROM Opportunity").json["totalSize"]
    answer = api.call("POST", "/sobjects/Opportunity", json=body)
    assert answer.status_code == 400
    assert answer.json[0]["errorCode"] == code and answer.json[0]["fields"] == fields
    assert answer.json[0]["message"]
    assert api.query("SELECT COUNT() FROM Opportunity").json["totalSize"] == before


def test_a_bad_stage_on_update_is_refused_and_the_stage_kept(api: Api) -> None:
    deal_id = api.create("Opportunity", DEAL)
    refused = api.patch("Opportunity", deal_id, {"StageName": "Shipped"})
    assert refused.json[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert "StageName: bad value for restricted picklist field: Shipped" in \
        refused.json[0]["message"]
    assert api.get("Opportunity", deal_id)["StageName"] == "Prospecting"


def test_soql_over_opportunities_filters_dates_flags_and_reaches_the_account(
        api: Api) -> None:
    won = api.create("Opportunity", {**DEAL, "Name": "Won in June", "AccountId": BOREALIS,
                                     "StageName": "Closed Won", "CloseDate": "2025-06-15"})
    api.create("Opportunity", {**DEAL, "Name": "Won in May", "AccountId": BOREALIS,
                               "StageName": "Closed Won", "CloseDate": "2025-05-15"})
    answer = api.query(
        "SELECT Id, Name, Amount, Account.Name FROM Opportunity WHERE AccountId = "
        f"'{BOREALIS}' AND (IsWon = true AND CloseDate >= 2025-06-01 AND "
        "CloseDate <= 2025-06-30) ORDER BY CloseDate")
    assert answer.status_code == 200, answer.json
    assert [(r["Id"], r["Name"], r["Account"]["Name"]) for r in answer.json["records"]] == [
        (won, "Won in June", "Borealis Retail Ltd")]
    open_acme = api.query(f"SELECT StageName FROM Opportunity WHERE AccountId = '{ACME}' "
                          "AND IsClosed = false ORDER BY StageName").json["records"]
    assert [r["StageName"] for r in open_acme] == ["Proposal/Price Quote", "Qualification"]


def test_the_demo_data_holds_open_won_and_lost_opportunities(api: Api) -> None:
    rows = api.query("SELECT Name, StageName, IsClosed, IsWon, Account.Name FROM Opportunity "
                     "ORDER BY Name").json["records"]
    assert len(rows) == 6
    won = [r for r in rows if r["IsWon"]]
    assert [(r["Name"], r["Account"]["Name"]) for r in won] == [
        ("Evergreen: loading ramps", "Evergreen Outdoor Inc")]
    assert sum(not r["IsClosed"] for r in rows) == 4


def test_deleting_an_account_deletes_its_opportunities(api: Api) -> None:
    account = api.create("Account", {"Name": "Gamma Tools"})
    deal_id = api.create("Opportunity", {**DEAL, "AccountId": account})
    assert api.call("DELETE", f"/sobjects/Account/{account}").status_code == 204
    assert api.call("GET", f"/sobjects/Opportunity/{deal_id}").status_code == 404
