"""Records through the REST API: create, read, change, delete, upsert, and the CRM's checks."""

from __future__ import annotations

import pytest

from crm_sandbox.schema import id18, normalize_id

from .conftest import ACME, BEAMS, BOREALIS, RACKING, Api
from .helpers import FakeClock


def test_a_new_database_holds_the_demo_data_with_the_agreed_ids(api: Api) -> None:
    acme = api.get("Account", ACME)
    assert (acme["Name"], acme["Tier__c"], acme["BillingCity"], acme["BillingCountry"]) == (
        "Acme Industrial GmbH", "gold", "Berlin", "DE")
    assert acme["OwnerId"] == "005000000000001AAA"
    assert api.get("User", "005000000000002AAA")["Name"] == "Fiona Finance"
    fjord = api.get("Account", "001000000000006AAA")
    assert fjord["Name"] == "Fjord Marine AS" and fjord["BillingPostalCode"] == "5003"
    contacts = api.query("SELECT Email FROM Contact ORDER BY Email").json["records"]
    assert [c["Email"] for c in contacts] == sorted([
        "orders@acme.example", "buying@borealis.example", "achats@cobalt.example",
        "inkoop@delta.example", "purchasing@evergreen.example", "innkjop@fjord.example"])
    products = api.query("SELECT ProductCode, Name FROM Product2 ORDER BY ProductCode")
    assert products.json["totalSize"] == 12
    assert products.json["records"][0]["ProductCode"] == "BF-100"
    assert api.get("Product2", "01t000000000012AAA")["Name"] == "Loading ramp"


def test_a_restart_keeps_the_data_and_does_not_seed_again(make_app, api: Api) -> None:
    api.patch("Account", ACME, {"Phone": "+49 30 7654321"})
    again = Api(make_app().test_client())
    assert again.get("Account", ACME)["Phone"] == "+49 30 7654321"
    assert again.query("SELECT COUNT() FROM Account").json["totalSize"] == 6


def test_create_read_update_delete(api: Api, clock: FakeClock) -> None:
    created = api.call("POST", "/sobjects/Account", json={"Name": "Gamma Tools", "Tier__c":
                                                          "silver"})
    assert created.status_code == 201
    assert created.json == {"id": created.json["id"], "success": True, "errors": []}
    account_id = created.json["id"]
    assert account_id.startswith("001") and len(account_id) == 18
    assert normalize_id(account_id) == account_id

    record = api.get("Account", account_id)
    assert record["attributes"] == {"type": "Account",
                                    "url": f"/services/data/v60.0/sobjects/Account/{account_id}"}
    assert record["OwnerId"] == "005000000000001AAA"   # the acting user, as in Salesforce
    assert record["CreatedDate"] == "2025-03-01T09:00:00.000+0000"
    assert record["CreatedDate"] == record["LastModifiedDate"] == record["SystemModstamp"]

    clock.advance(90)
    assert api.patch("Account", account_id, {"Phone": "+49 89 1"}).status_code == 204
    changed = api.get("Account", account_id)
    assert changed["Phone"] == "+49 89 1"
    assert changed["SystemModstamp"] == "2025-03-01T09:01:30.000+0000"
    assert changed["CreatedDate"] == "2025-03-01T09:00:00.000+0000"

    only = api.call("GET", f"/sobjects/Account/{account_id}", query_string={"fields": "Name"})
    assert set(only.json) == {"attributes", "Name"}

    assert api.call("DELETE", f"/sobjects/Account/{account_id}").status_code == 204
    gone = api.call("GET", f"/sobjects/Account/{account_id}")
    assert gone.status_code == 404
    assert gone.json[0]["errorCode"] == "NOT_FOUND"


def test_a_15_character_id_finds_the_record(api: Api) -> None:
    assert api.get("Account", ACME[:15])["Id"] == ACME
    assert id18(ACME[:15]) == ACME


@pytest.mark.parametrize(("sobject", "body", "status", "code", "fields"), [
    ("Account", {}, 400, "REQUIRED_FIELD_MISSING", ["Name"]),
    ("Account", {"Name": "X", "Colour": "red"}, 400, "INVALID_FIELD", ["Colour"]),
    ("Account", {"Name": "X", "Tier__c": "platinum"}, 400,
     "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", ["Tier__c"]),
    ("Contact", {"LastName": "Y", "Email": "not-an-address"}, 400, "INVALID_EMAIL_ADDRESS",
     ["Email"]),
    ("Contact", {"LastName": "Y", "AccountId": "123"}, 400, "MALFORMED_ID", ["AccountId"]),
    ("Contact", {"LastName": "Y", "AccountId": "01t000000000001AAA"}, 400,
     "FIELD_INTEGRITY_EXCEPTION", ["AccountId"]),
    ("Contact", {"LastName": "Y", "AccountId": "001000000000999AAA"}, 400,
     "INVALID_CROSS_REFERENCE_KEY", ["AccountId"]),
    ("Order", {"AccountId": ACME, "EffectiveDate": "1 March"}, 400, "JSON_PARSER_ERROR",
     ["EffectiveDate"]),
    ("Order", {"AccountId": ACME, "EffectiveDate": "2025-03-01", "TotalAmount": 5}, 400,
     "INVALID_FIELD_FOR_INSERT_UPDATE", ["TotalAmount"]),
    ("Product2", {"Name": "Z", "IsActive": "maybe"}, 400, "JSON_PARSER_ERROR", ["IsActive"]),
])
def test_bad_records_get_salesforce_errors(api: Api, sobject: str, body: dict[str, object],
                                           status: int, code: str, fields: list[str]) -> None:
    answer = api.call("POST", f"/sobjects/{sobject}", json=body)
    assert answer.status_code == status
    assert answer.json[0]["errorCode"] == code
    assert answer.json[0]["fields"] == fields
    assert answer.json[0]["message"]


def test_unknown_objects_records_and_bodies(api: Api) -> None:
    assert api.call("GET", "/sobjects/Invoice/001000000000001AAA").json[0]["errorCode"] == \
        "NOT_FOUND"
    assert api.call("GET", "/sobjects/Account/not-an-id").status_code == 404
    bad = api.call("POST", "/sobjects/Account", data="{nope", content_type="application/json")
    assert bad.status_code == 400 and bad.json[0]["errorCode"] == "JSON_PARSER_ERROR"
    assert api.call("PUT", f"/sobjects/Account/{ACME}").json[0]["errorCode"] == \
        "METHOD_NOT_ALLOWED"
    assert api.call("GET", "/no-such-resource").status_code == 404


def test_order_totals_follow_the_items(api: Api) -> None:
    order_id = api.order([(RACKING, 2, 420.0), (BEAMS, 3, 65.0)])
    order = api.get("Order", order_id)
    assert order["TotalAmount"] == 1035.0
    assert order["Status"] == "Draft" and order["OrderNumber"] == "00000100"
    items = api.query(f"SELECT Id, TotalPrice FROM OrderItem WHERE OrderId = '{order_id}' "
                      "ORDER BY TotalPrice").json["records"]
    assert [i["TotalPrice"] for i in items] == [195.0, 840.0]
    assert api.call("DELETE", f"/sobjects/OrderItem/{items[0]['Id']}").status_code == 204
    assert api.get("Order", order_id)["TotalAmount"] == 840.0


def test_an_order_is_activated_only_with_products_and_then_frozen(api: Api) -> None:
    empty = api.order([])
    refused = api.patch("Order", empty, {"Status": "Activated"})
    assert refused.status_code == 400
    assert refused.json[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"

    order_id = api.order([(RACKING, 1, 420.0)], activate=True)
    late = api.call("POST", "/sobjects/OrderItem", json={
        "OrderId": order_id, "Product2Id": BEAMS, "Quantity": 1, "UnitPrice": 65})
    assert late.status_code == 400 and late.json[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    assert api.call("DELETE", f"/sobjects/Order/{order_id}").json[0]["errorCode"] == \
        "DELETE_FAILED"
    assert api.patch("Order", order_id, {"Status": "Synced to ERP",
                                         "ERP_Order_Number__c": "SO-1001"}).status_code == 204
    assert api.patch("Order", order_id, {"Status": "Shipped"}).json[0]["errorCode"] == \
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"


def test_deleting_keeps_references_whole(api: Api) -> None:
    refused = api.call("DELETE", f"/sobjects/Account/{ACME}")
    assert refused.status_code == 400 and refused.json[0]["errorCode"] == "DELETE_FAILED"
    order_id = api.order([(RACKING, 1, 420.0)])
    task_id = api.create("Task", {"WhatId": order_id, "Subject": "Call back"})
    case_id = api.create("Case", {"AccountId": BOREALIS, "Related_Order__c": order_id,
                                  "Subject": "Late"})
    assert api.call("DELETE", f"/sobjects/Order/{order_id}").status_code == 204
    assert api.query(f"SELECT COUNT() FROM OrderItem WHERE OrderId = '{order_id}'"
                     ).json["totalSize"] == 0
    assert api.call("GET", f"/sobjects/Task/{task_id}").status_code == 404
    assert api.get("Case", case_id)["Related_Order__c"] is None


def test_upsert_by_external_id_creates_updates_or_reports_several(api: Api) -> None:
    path = "/sobjects/Account/ERP_Customer_Id__c/C-1001"
    created = api.call("PATCH", path, json={"Name": "Helix Parts"})
    assert created.status_code == 201
    assert created.json["created"] is True
    updated = api.call("PATCH", path, json={"Phone": "+49 40 1"})
    assert updated.status_code == 200
    assert updated.json == {"id": created.json["id"], "success": True, "errors": [],
                            "created": False}
    record = api.call("GET", path).json
    assert (record["Name"], record["Phone"]) == ("Helix Parts", "+49 40 1")

    api.create("Account", {"Name": "Helix Parts (copy)", "ERP_Customer_Id__c": "C-1001"})
    several = api.call("PATCH", path, json={"Phone": "+49 40 2"})
    assert several.status_code == 300
    assert len(several.json) == 2
    assert all(u.startswith("/services/data/v60.0/sobjects/Account/001") for u in several.json)
    assert api.get("Account", created.json["id"])["Phone"] == "+49 40 1"


def test_upsert_refuses_a_field_that_is_not_an_external_id(api: Api) -> None:
    answer = api.call("PATCH", "/sobjects/Account/Name/Acme", json={"Phone": "1"})
    assert answer.status_code == 404
    assert "external ID" in answer.json[0]["message"]
    body_key = api.call("PATCH", "/sobjects/Account/ERP_Customer_Id__c/C-9",
                        json={"Name": "N", "ERP_Customer_Id__c": "C-9"})
    assert body_key.status_code == 400


def test_a_task_key_is_unique(api: Api) -> None:
    api.create("Task", {"WhatId": ACME, "Subject": "A", "Bridgeflow_Key__c": "i-1:notify"})
    again = api.call("POST", "/sobjects/Task", json={"WhatId": ACME, "Subject": "B",
                                                     "Bridgeflow_Key__c": "i-1:notify"})
    assert again.status_code == 400
    assert again.json[0]["errorCode"] == "DUPLICATE_VALUE"
