"""Order sync end to end: an order activated in the CRM becomes a confirmed ERP sales order.

Started the way users start it (the CRM's ``order.activated`` webhook), checked in both
systems: the ERP sale (reference, lines, state, stock), the CRM order (ERP number, status),
the owner's CRM tasks and e-mails.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.e2e.conftest import FJORD, SAM, SAM_EMAIL, Crm, Erp, Flow, Mailbox, wait_until

pytestmark = pytest.mark.slow

# Loading ramps: the demo ERP starts with one; barcode scanners: none at all.
SCANNER = "BF-510"


def synced(crm: Crm, erp: Erp, flow: Flow, order_id: str) -> dict[str, object]:
    """Wait for the order's one instance to complete; return its ERP sale."""
    [inst] = flow.started("order_sync", order_id)
    flow.wait_for(inst["id"], "completed")
    [sale] = erp.sales(order_id)
    return sale


def test_an_activated_order_becomes_a_confirmed_erp_order_and_the_crm_shows_it(
        crm: Crm, erp: Erp, flow: Flow, mailbox: Mailbox) -> None:
    racking_before = erp.stock("BF-100")
    order_id = crm.create_order([("BF-100", 2), ("BF-300", 1, 140.0)])

    sale = synced(crm, erp, flow, order_id)

    erp_order = erp.order(order_id)
    assert erp_order["state"] in ("confirmed", "processing")
    assert erp_order["crm_account_id"] == "001000000000001AAA"
    assert [(line["product_code"], line["quantity"], line["unit_price"])
            for line in erp_order["lines"]] == [("BF-100", 2, "420.00"), ("BF-300", 1, "140.00")]
    crm_order = crm.get("Order", order_id)
    assert Decimal(erp_order["total"]) == Decimal(str(crm_order["TotalAmount"])) == 980
    assert erp.stock("BF-100") == racking_before - 2  # the ERP now reserves what it ships
    assert crm_order["ERP_Order_Number__c"] == sale["number"]
    assert crm_order["Status"] == "Synced to ERP"
    assert crm_order["ERP_Status__c"] in ("Confirmed", "Processing")

    [task] = crm.tasks(order_id)
    assert task["OwnerId"] == SAM
    assert task["Subject"] == f"Order {crm_order['OrderNumber']} is in the ERP as " \
                              f"{sale['number']}"
    mail = mailbox.wait_for(SAM_EMAIL, str(sale["number"]))
    assert f"your order {crm_order['OrderNumber']} for Acme Industrial GmbH is now ERP " \
           f"order {sale['number']}" in mail.body
    assert "total 980.00" in mail.body


def test_a_short_order_waits_for_the_restock_message_then_syncs(
        crm: Crm, erp: Erp, flow: Flow, mailbox: Mailbox) -> None:
    wanted = int(erp.stock(SCANNER)) + 2
    order_id = crm.create_order([(SCANNER, wanted)])
    [inst] = flow.started("order_sync", order_id)
    flow.wait_for(inst["id"], "waiting", at="wait_for_restock")

    crm_order = crm.get("Order", order_id)
    assert crm_order["Status"] == "Awaiting restock"
    assert crm_order["ERP_Order_Number__c"] is None
    [task] = crm.tasks(order_id)
    assert task["Subject"] == f"Order {crm_order['OrderNumber']} waits for stock"
    assert task["Description"] == f"{SCANNER}: {wanted} wanted, {wanted - 2} available"
    assert erp.sales(order_id) == []

    # A restock message that comes too early: the check finds too little and waits again,
    # without a second task for the owner.
    flow.send_message("stock_replenished", order_id)
    wait_until(lambda: flow.elements_done(inst["id"]).count("check_stock_again") >= 1)
    flow.wait_for(inst["id"], "waiting", at="wait_for_restock")
    assert len(crm.tasks(order_id)) == 1 and erp.sales(order_id) == []

    erp.add_stock(SCANNER, 5)
    answer = flow.send_message("stock_replenished", order_id)
    assert answer["delivered_to"] == [inst["id"]]
    flow.wait_for(inst["id"], "completed")

    [sale] = erp.sales(order_id)
    assert sale["state"] in ("confirmed", "processing")
    crm_order = crm.get("Order", order_id)
    assert (crm_order["Status"], crm_order["ERP_Order_Number__c"]) == ("Synced to ERP",
                                                                      sale["number"])
    assert [t["Subject"].split(" ", 2)[2] for t in crm.tasks(order_id)] == [
        "waits for stock", f"is in the ERP as {sale['number']}"]
    mailbox.wait_for(SAM_EMAIL, str(sale["number"]))


def test_the_daily_re_check_syncs_a_short_order_without_a_message(
        crm: Crm, erp: Erp, flow: Flow) -> None:
    with flow.deployed_variant("order_sync.bpmn", {">P1D<": ">PT1S<"}):
        order_id = crm.create_order([(SCANNER, int(erp.stock(SCANNER)) + 1)])
        [inst] = flow.started("order_sync", order_id)
        flow.wait_for(inst["id"], "waiting", at="wait_for_restock")
        assert crm.get("Order", order_id)["Status"] == "Awaiting restock"
        erp.add_stock(SCANNER, 3)
        flow.wait_for(inst["id"], "completed")
    assert "a_day_passed" in flow.elements_done(inst["id"])
    [sale] = erp.sales(order_id)
    assert crm.get("Order", order_id)["ERP_Order_Number__c"] == sale["number"]


def test_a_webhook_delivered_twice_and_a_second_activation_event_make_one_erp_order(
        crm: Crm, erp: Erp, flow: Flow, mailbox: Mailbox) -> None:
    order_id = crm.create_order([("BF-110", 4)])
    event = crm.wait_delivered(order_id, "order.activated")
    sale = synced(crm, erp, flow, order_id)

    again = crm.redeliver(event)  # the same event id: at-least-once delivery
    assert again["duplicate"] is True
    assert len(flow.instances("order_sync", order_id)) == 1

    second = crm.redeliver(event, new_event_id=True)  # another event about the same order
    assert second["outcome"] == "started"
    [newer] = second["instance_ids"]
    done = flow.wait_for(newer, "completed")
    assert "order_already_in_erp" in flow.elements_done(done["id"])

    assert [s["number"] for s in erp.sales(order_id)] == [sale["number"]]
    assert crm.get("Order", order_id)["ERP_Order_Number__c"] == sale["number"]
    assert len(crm.tasks(order_id)) == 1
    assert len([m for m in mailbox.to(SAM_EMAIL) if str(sale["number"]) in m.subject]) == 1


def test_an_erp_outage_ends_in_an_incident_and_a_retry_after_it_syncs_the_order_once(
        crm: Crm, erp: Erp, flow: Flow, mailbox: Mailbox) -> None:
    erp.stop()
    order_id = crm.create_order([("BF-120", 10)])
    [inst] = flow.started("order_sync", order_id)

    def incident() -> list[dict[str, object]]:
        flow.hurry_retries(inst["id"])  # the back-off of a minute per try, passed at once
        return flow.incidents(inst["id"])

    [opened] = wait_until(incident, timeout=30, message="no incident after the retries")
    assert opened["element_id"] == "look_up_order"  # the first step that asks the ERP
    assert opened["details"]["attempts"] == 4  # R4/PT1M: four tries in all
    assert "erp.find_order failed 4 time(s)" in str(opened["message"])
    assert flow.instance(inst["id"])["status"] == "incident"
    assert crm.get("Order", order_id)["Status"] == "Activated"

    erp.start()
    flow.retry_incident(str(opened["id"]))
    flow.wait_for(inst["id"], "completed")

    [sale] = erp.sales(order_id)
    assert sale["state"] in ("confirmed", "processing")
    crm_order = crm.get("Order", order_id)
    assert (crm_order["Status"], crm_order["ERP_Order_Number__c"]) == ("Synced to ERP",
                                                                      sale["number"])
    mailbox.wait_for(SAM_EMAIL, str(sale["number"]))
    assert flow.incidents(inst["id"]) == []


def test_an_order_the_credit_limit_does_not_allow_goes_back_to_its_owner(
        crm: Crm, erp: Erp, flow: Flow, mailbox: Mailbox) -> None:
    # Fjord Marine may owe 2,000 at most; three pallet trucks cost 2,670.
    order_id = crm.create_order([("BF-200", 3)], account=FJORD)
    [inst] = flow.started("order_sync", order_id)
    flow.wait_for(inst["id"], "completed")
    assert "order_not_synced" in flow.elements_done(inst["id"])

    [sale] = erp.sales(order_id)
    assert sale["state"] in ("draft", "quotation")  # kept unconfirmed; nothing ships
    crm_order = crm.get("Order", order_id)
    assert (crm_order["Status"], crm_order["ERP_Order_Number__c"]) == ("Activated", None)
    [task] = crm.tasks(order_id)
    assert task["Subject"] == f"Order {crm_order['OrderNumber']} could not be synced to the ERP"
    assert "credit" in task["Description"].lower()
    mail = mailbox.wait_for(SAM_EMAIL, "could not be synced")
    assert "Please correct it in the CRM" in mail.body


def test_an_order_whose_data_the_mapping_rejects_goes_back_to_its_owner(
        crm: Crm, erp: Erp, flow: Flow, mailbox: Mailbox) -> None:
    account = crm.client.create("Account", {"Name": "Narnia Trading", "OwnerId": SAM,
                                            "BillingCountry": "Narnia"})
    order_id = crm.create_order([("BF-100", 1)], account=account)
    [inst] = flow.started("order_sync", order_id)
    flow.wait_for(inst["id"], "completed")

    assert erp.sales(order_id) == [] and erp.customer(account) is None
    [task] = crm.tasks(order_id)
    assert "could not be synced" in task["Subject"]
    assert "account.address.country = 'Narnia': is not in table 'country'" in \
        task["Description"]
    mailbox.wait_for(SAM_EMAIL, "could not be synced")
