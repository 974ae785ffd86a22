"""The demo data a new CRM database starts with; its ids match the ERP demo's."""

from __future__ import annotations

from .records import Records
from .schema import named

SAM = "005000000000001AAA"
FIONA = "005000000000002AAA"

USERS = [
    (SAM, "Sam Seller", "sam.seller@example.com"),
    (FIONA, "Fiona Finance", "fiona.finance@example.com"),
]

# Id, Name, Tier__c, Phone, street, postal code, city, country, contact (first, last, e-mail)
ACCOUNTS = [
    ("001000000000001AAA", "Acme Industrial GmbH", "gold", "+49 30 1234567", "Hauptstraße 1",
     "10115", "Berlin", "DE", ("Anna", "Becker", "orders@acme.example")),
    ("001000000000002AAA", "Borealis Retail Ltd", "silver", "+44 20 7946 0000",
     "12 King Street", "EC2V 8AA", "London", "GB", ("Ben", "Hughes", "buying@borealis.example")),
    ("001000000000003AAA", "Cobalt Systems SA", "bronze", "+33 4 72 00 00 00",
     "5 Rue de la République", "69002", "Lyon", "FR",
     ("Claire", "Dubois", "achats@cobalt.example")),
    ("001000000000004AAA", "Delta Foods BV", "silver", "+31 10 000 0000", "Coolsingel 40",
     "3011 AD", "Rotterdam", "NL", ("Daan", "de Vries", "inkoop@delta.example")),
    ("001000000000005AAA", "Evergreen Outdoor Inc", "gold", "+1 303 555 0100",
     "1600 Market St", "80202", "Denver", "US",
     ("Emily", "Carter", "purchasing@evergreen.example")),
    ("001000000000006AAA", "Fjord Marine AS", "bronze", "+47 55 00 00 00", "Bryggen 1", "5003",
     "Bergen", "NO", ("Fredrik", "Nilsen", "innkjop@fjord.example")),
]

PRODUCTS = [
    ("BF-100", "Pallet racking bay", 420.00),
    ("BF-110", "Shelf beam pair", 65.00),
    ("BF-120", "Wire mesh deck", 38.50),
    ("BF-200", "Hand pallet truck", 890.00),
    ("BF-210", "Electric stacker", 6400.00),
    ("BF-300", "Safety barrier 2 m", 149.00),
    ("BF-310", "Column guard", 42.00),
    ("BF-400", "Storage bin small (pack of 20)", 55.00),
    ("BF-410", "Storage bin large (pack of 10)", 72.00),
    ("BF-500", "Label printer", 310.00),
    ("BF-510", "Barcode scanner", 189.00),
    ("BF-600", "Loading ramp", 2350.00),
]


# Account number (in ACCOUNTS), Name, StageName, Amount, CloseDate, Probability
OPPORTUNITIES = [
    (1, "Acme: second warehouse racking", "Proposal/Price Quote", 48000.00, "2026-12-18", 75),
    (1, "Acme: safety barriers, hall 3", "Qualification", 6500.00, "2027-01-29", 20),
    (2, "Borealis: store back-room shelving", "Negotiation/Review", 12400.00, "2026-12-11", 90),
    (3, "Cobalt: label printers", "Closed Lost", 2100.00, "2026-10-30", 0),
    (5, "Evergreen: electric stackers", "Needs Analysis", 25600.00, "2027-02-26", 20),
    (5, "Evergreen: loading ramps", "Closed Won", 9400.00, "2026-11-13", 100),
]


def _seed_id(prefix: str, n: int) -> str:
    # Seed ids use pod "00" and end in AAA (the checksum of an all-digit id), like the ERP's.
    return f"{prefix}{n:012d}AAA"


def seed(records: Records) -> None:
    """Insert the demo users, accounts, contacts, products and opportunities (a new database
    only)."""
    for user_id, name, email in USERS:
        records.create(named("User"), {"Name": name, "Email": email, "Username": email},
                       record_id=user_id)
    for n, (account_id, name, tier, phone, street, postal, city, country,
            (first, last, email)) in enumerate(ACCOUNTS, start=1):
        records.create(named("Account"), {
            "Name": name, "Tier__c": tier, "Phone": phone, "BillingStreet": street,
            "BillingPostalCode": postal, "BillingCity": city, "BillingCountry": country,
            "OwnerId": SAM}, record_id=account_id)
        records.create(named("Contact"), {"AccountId": account_id, "FirstName": first,
                                          "LastName": last, "Email": email},
                       record_id=_seed_id("003", n))
    for n, (code, name, price) in enumerate(PRODUCTS, start=1):
        records.create(named("Product2"), {"Name": name, "ProductCode": code, "IsActive": True,
                                           "List_Price__c": price},
                       record_id=_seed_id("01t", n))
    for n, (account, name, stage, amount, close, probability) in enumerate(OPPORTUNITIES,
                                                                          start=1):
        records.create(named("Opportunity"), {
            "Name": name, "AccountId": ACCOUNTS[account - 1][0], "OwnerId": SAM,
            "StageName": stage, "Amount": amount, "CloseDate": close,
            "Probability": probability}, record_id=_seed_id("006", n))
