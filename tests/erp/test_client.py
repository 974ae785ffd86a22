"""The Tryton JSON-RPC client against a scripted session: wire format, session, error map."""

from __future__ import annotations

import base64
import datetime as dt
from decimal import Decimal

import pytest
import requests

from service_tasks.base import (
    AuthenticationError,
    BusinessRuleError,
    ConnectorError,
    TransientError,
)
from service_tasks.tryton.client import TrytonClient, dumps, loads

from .conftest import Answer, FakeTryton, http, ok, rpc_error

LOGIN = "common.db.login"
PREFS = "model.res.user.get_preferences"


def make_client(fake: FakeTryton, password: str = "secret") -> TrytonClient:
    return TrytonClient(fake, "http://erp.example:8000/", "demo", "admin", password)


def test_calls_carry_the_session_and_the_user_context() -> None:
    fake = FakeTryton({"model.sale.sale.search": [ok([3])]})

    ids = make_client(fake).model("sale.sale").search([("reference", "=", "CRM-1")],
                                                      context={"locations": [5]})

    assert ids == [3]
    login, prefs, search = fake.sent
    assert (login.method, login.params) == (LOGIN, ["admin", {"password": "secret"}, "en"])
    assert "Authorization" not in login.headers
    token = base64.b64encode(b"admin:7:session-token").decode()
    assert search.url == "http://erp.example:8000/demo/rpc/"
    assert search.headers["Authorization"] == f"Session {token}"
    assert search.params == [[["reference", "=", "CRM-1"]], 0, None, None,
                             {"company": 1, "language": "en", "locations": [5]}]
    assert {s.timeout for s in fake.sent} == {10}


def test_the_user_context_is_fetched_once() -> None:
    fake = FakeTryton({"model.party.party.search_count": [ok(6), ok(6)]})
    client = make_client(fake)

    client.model("party.party").search_count([])
    client.model("party.party").search_count([])

    assert fake.methods().count(PREFS) == 1
    assert fake.methods().count(LOGIN) == 1


def test_decimals_and_dates_travel_in_trytons_form() -> None:
    fake = FakeTryton({
        "model.sale.sale.write": [ok(None)],
        "model.sale.sale.read": [ok([{"id": 1, "total_amount":
                                      {"__class__": "Decimal", "decimal": "840.00"},
                                      "sale_date": {"__class__": "date", "year": 2026,
                                                    "month": 3, "day": 1}}])],
    })
    sale = make_client(fake).model("sale.sale")

    sale.write([1], {"unit_price": Decimal("12.50"), "sale_date": dt.date(2026, 3, 1)})
    row = sale.read([1], ["total_amount", "sale_date"])[0]

    sent_values = fake.sent[-2].params[1]
    assert sent_values == {"unit_price": {"__class__": "Decimal", "decimal": "12.50"},
                           "sale_date": {"__class__": "date", "year": 2026, "month": 3,
                                         "day": 1}}
    assert row["total_amount"] == Decimal("840.00")
    assert row["sale_date"] == dt.date(2026, 3, 1)


def test_values_round_trip_exactly() -> None:
    value = {"amount": Decimal("0.10"), "when": dt.datetime(2026, 1, 2, 3, 4, 5, 6),
             "day": dt.date(2026, 1, 2), "at": dt.time(7, 8, 9),
             "after": dt.timedelta(hours=2), "blob": b"\x00\x01", "n": [1, "x", None]}
    assert loads(dumps(value)) == value


def test_aware_datetimes_are_sent_as_utc() -> None:
    cet = dt.timezone(dt.timedelta(hours=1))
    sent = loads(dumps(dt.datetime(2026, 1, 2, 10, 0, tzinfo=cet)))
    assert sent == dt.datetime(2026, 1, 2, 9, 0)


@pytest.mark.parametrize(("answer", "expected", "says"), [
    (requests.ConnectionError("Connection refused"), TransientError, "not reachable"),
    (requests.ReadTimeout("read timed out"), TransientError, "within 10 s"),
    (http(502, "Bad Gateway"), TransientError, "HTTP 502"),
    (http(503), TransientError, "HTTP 503"),
    (http(504), TransientError, "HTTP 504"),
    (http(429), TransientError, "rate-limiting"),
    (rpc_error("ConcurrencyException", "Records were modified"), TransientError,
     "concurrent"),
    (http(403), ConnectorError, "does not allow model.sale.sale.confirm"),
    (http(200, "<html>proxy error</html>"), ConnectorError, "not JSON"),
    (rpc_error("'res.user'", ""), ConnectorError, "failed in model.sale.sale.confirm"),
])
def test_failures_map_onto_the_connector_errors(answer: Answer, expected: type,
                                                 says: str) -> None:
    fake = FakeTryton({"model.sale.sale.confirm": [answer]})

    with pytest.raises(ConnectorError) as caught:
        make_client(fake).model("sale.sale").button("confirm", [1])

    assert type(caught.value) is expected
    assert says in caught.value.message
    assert caught.value.details["method"] == "model.sale.sale.confirm"


def test_an_unreachable_tryton_fails_the_login_as_transient() -> None:
    fake = FakeTryton({LOGIN: [requests.ConnectionError("Connection refused")]})

    with pytest.raises(TransientError, match="not reachable"):
        make_client(fake).model("party.party").search([])


def test_a_user_error_is_a_business_rule_with_trytons_text() -> None:
    fake = FakeTryton({"model.sale.sale.quote": [rpc_error(
        "UserError", "To quote sale 3 you must enter an invoice address.", "", None)]})

    with pytest.raises(BusinessRuleError) as caught:
        make_client(fake).model("sale.sale").button("quote", [3])

    assert caught.value.code == "erp_user_error"
    assert caught.value.message == "To quote sale 3 you must enter an invoice address."


def test_a_user_errors_description_is_part_of_the_message() -> None:
    fake = FakeTryton({"model.party.party.create": [rpc_error(
        "UserError", "The code must be unique.", "Use another code.", None)]})

    with pytest.raises(BusinessRuleError) as caught:
        make_client(fake).model("party.party").create([{"code": "X"}])

    assert caught.value.message == "The code must be unique.\nUse another code."


@pytest.mark.parametrize(("method", "warning", "code"), [
    ("quote", "stock_quantity_warning_12", "insufficient_stock"),
    ("confirm", "89e82d58e56237391e376afeb064a848.credit_limit_amount",
     "credit_limit_exceeded"),
    ("confirm", "4f2a.credit_limit_dunning", "credit_limit_exceeded"),
    ("confirm", "ac05a7.complaint_similar", "erp_warning"),
])
def test_warnings_are_business_rules_and_never_accepted(method: str, warning: str,
                                                        code: str) -> None:
    text = "The party \"Fjord Marine AS\" will exceed their €2000.00 credit limit."
    fake = FakeTryton({f"model.sale.sale.{method}": [rpc_error("UserWarning", warning,
                                                                text, "")]})

    with pytest.raises(BusinessRuleError) as caught:
        make_client(fake).model("sale.sale").button(method, [3])

    assert caught.value.code == code
    assert caught.value.message == text
    assert caught.value.details["warning"] == warning
    # Nothing tried to skip the warning, and the button was pressed once.
    assert not any("res.user.warning" in m for m in fake.methods())
    assert fake.methods().count(f"model.sale.sale.{method}") == 1


def test_an_expired_session_logs_in_again_once() -> None:
    fake = FakeTryton({"model.party.party.search": [http(401), ok([2])]})

    assert make_client(fake).model("party.party").search([]) == [2]

    assert fake.methods() == [LOGIN, PREFS, "model.party.party.search", LOGIN,
                              "model.party.party.search"]


def test_a_session_refused_after_a_fresh_login_is_an_authentication_error() -> None:
    fake = FakeTryton({"model.party.party.search": [http(401), http(401)]})

    with pytest.raises(AuthenticationError):
        make_client(fake).model("party.party").search([])

    assert fake.methods().count(LOGIN) == 2


def test_a_wrong_password_is_an_authentication_error_without_retries() -> None:
    fake = FakeTryton({LOGIN: [http(401, "Unauthorized")]})

    with pytest.raises(AuthenticationError, match="password"):
        make_client(fake, password="wrong").model("party.party").search([])

    assert fake.methods() == [LOGIN]


def test_a_login_asking_for_more_than_a_password_is_an_authentication_error() -> None:
    fake = FakeTryton({LOGIN: [rpc_error("LoginException", "sms_code", "SMS code",
                                         "char")]})

    with pytest.raises(AuthenticationError):
        make_client(fake).login()


def test_the_timeout_is_sent_with_every_request() -> None:
    fake = FakeTryton({"model.party.party.search": [ok([])]})
    client = TrytonClient(fake, "http://erp", "demo", "admin", "pw", timeout=2.5)

    client.model("party.party").search([])

    assert [s.timeout for s in fake.sent] == [2.5, 2.5, 2.5]


def test_logging_out_of_an_expired_session_is_quiet() -> None:
    fake = FakeTryton({"common.db.logout": [http(401)]})
    client = make_client(fake)
    client.login()

    client.logout()

    assert fake.methods() == [LOGIN, "common.db.logout"]
