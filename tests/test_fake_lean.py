"""FakeLean through the real SDK, over real mutual TLS: every endpoint group,
both pagination styles, data statuses, faults, OAuth, webhooks, threads,
shutdown, and the pytest plugin used from a separate test directory."""

from __future__ import annotations

import datetime as dt
import os
import signal
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

import pytest

from lean_mtls import (
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    ConsentExpiredError,
    DataFailedError,
    LeanAPIError,
    LeanConnectionError,
    LeanSession,
    NotFoundError,
    RateLimitError,
    ReconnectRequiredError,
    RetryPolicy,
    ServerError,
    webhooks,
)
from lean_mtls.resources.data import PendingResult
from lean_mtls.testing import FakeLean, RecordedRequest
from lean_mtls.testing._data import build_world, iban_is_valid, make_iban
from lean_mtls.testing.fake import BOTH_HEADERS_MESSAGE, port_is_open

ERROR_KEYS = {"timestamp", "status", "message", "metadata"}
#: A well-formed id that names nothing.
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture(scope="module")
def lean() -> Iterator[FakeLean]:
    with FakeLean(transactions=3000) as server:
        yield server


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def session(lean: FakeLean, sleeps: Sleeps) -> Iterator[LeanSession]:
    with lean.session(retries=RetryPolicy(retries=2, sleep=sleeps)) as s:
        s.data.sleep = sleeps  # PENDING waits are recorded, not slept
        yield s
    lean.clear_faults()
    assert lean.errors == []


def query(request: RecordedRequest) -> dict[str, list[str]]:
    return parse_qs(urlsplit(request.path).query)


def last(lean: FakeLean, path_prefix: str) -> RecordedRequest:
    return [r for r in lean.requests if urlsplit(r.path).path.startswith(path_prefix)][-1]


def assert_lean_error(error: LeanAPIError, http_status: int, status: str) -> None:
    assert error.status_code == http_status and error.status == status
    assert isinstance(error.body, dict) and set(error.body) >= ERROR_KEYS and error.body["metadata"] is None


# ----------------------------------------------------------------------------- banks, customers, entities


def test_banks_with_filters(session: LeanSession) -> None:
    banks = session.banks.list()
    ids = [b["identifier"] for b in banks]
    assert "LEANMB1" in ids and "ENBD_UAE" in ids and "RAKBANK_UAE" in ids
    mock = banks[ids.index("LEANMB1")]
    assert mock["mock"] is True and mock["country_code"] == "ARE"
    assert {"transfer_limits", "availability", "supported_account_types", "connection_type"} <= set(mock)
    assert [b["identifier"] for b in session.banks.list(country_codes=["SAU"])] == ["ALRAJHI_KSA"]
    assert "RAKBANK_UAE" not in [b["identifier"] for b in session.banks.list("BUSINESS")]
    direct = session.banks.list(connection_types="DIRECT_CONNECTION", country_codes=["ARE", "SAU"])
    assert {b["connection_type"] for b in direct} == {"DIRECT_CONNECTION"}
    with pytest.raises(BadRequestError) as info:
        session.banks.list("CORPORATE")
    assert_lean_error(info.value, 400, "INVALID_PARAMETERS")


def test_customers(session: LeanSession, lean: FakeLean) -> None:
    created = session.customers.create("user-customers-1")
    assert set(created) == {"customer_id", "app_user_id"} and created["app_user_id"] == "user-customers-1"
    with pytest.raises(ConflictError) as info:
        session.customers.create("user-customers-1")
    assert_lean_error(info.value, 409, "CUSTOMER_ALREADY_EXISTS")
    assert set(info.value.body) == ERROR_KEYS
    assert session.customers.get(created["customer_id"]) == created
    assert session.customers.get_by_app_user_id("user-customers-1") == created
    updated = session.customers.update(created["customer_id"], [{"type": "EMIRATES_ID", "value": "784-1990-1"}])
    assert updated is not None and updated["government_identifiers"] == [{"type": "EMIRATES_ID", "value": "784-1990-1"}]
    with pytest.raises(NotFoundError) as missing:
        session.customers.get(UNKNOWN_ID)
    assert_lean_error(missing.value, 404, "UNKNOWN_CUSTOMER")
    with pytest.raises(BadRequestError) as malformed:  # Lean checks the id's form before looking it up
        session.customers.get("no-such-customer")
    assert_lean_error(malformed.value, 400, "INVALID_PARAMETERS")
    with pytest.raises(BadRequestError):
        session.customers.create("")

    for n in range(2, 6):
        session.customers.create(f"user-customers-{n}")
    first = session.customers.list(page_number=0, page_size=2)
    assert len(first["data"]) == 2 and first["page"]["number"] == 0 and first["page"]["size"] == 2
    everyone = list(session.customers.iter_customers(page_size=2))
    assert len(everyone) == first["page"]["total_elements"] >= 6
    assert everyone[0]["customer_id"] == lean.customer_id
    assert query(last(lean, "/customers/v1"))["page_size"] == ["2"]  # the page_number/page_size style


def test_entities(session: LeanSession, lean: FakeLean) -> None:
    entities = session.entities.list(lean.customer_id)
    assert [e["id"] for e in entities] == [lean.entity_id]
    entity = session.entities.get(lean.customer_id, lean.entity_id)
    assert entity["bank_identifier"] == "LEANMB1" and entity["permissions"]["transactions"] is True
    consent = entity["consents"][0]
    assert consent["consent_status"] == "ACTIVE" and len(consent["accounts"]) == 3
    assert consent["permissions"]["balance"] is True  # an object of booleans, as Lean's
    today = dt.date.today()
    page = session.entities.list_by_date_range(today - dt.timedelta(days=60), today)
    assert [e["id"] for e in page["data"]] == [lean.entity_id] and page["page"]["total_elements"] == 1
    assert list(session.entities.iter_by_date_range("2000-01-01", "2000-12-31")) == []
    with pytest.raises(NotFoundError):
        session.entities.get(lean.customer_id, UNKNOWN_ID)
    with pytest.raises(BadRequestError):
        session.entities.get(lean.customer_id, "nope")
    try:
        session.entities.delete(lean.customer_id, lean.entity_id)
        assert session.entities.list(lean.customer_id) == []
        with pytest.raises(NotFoundError) as info:
            session.data.accounts(lean.entity_id)
        assert_lean_error(info.value, 404, "UNKNOWN_ENTITY")
    finally:
        lean.reset()


# ----------------------------------------------------------------------------- data v2


def test_accounts_balances_identity_and_account_lists(session: LeanSession, lean: FakeLean) -> None:
    result = session.data.accounts(lean.entity_id)
    assert isinstance(result, dict) and result["status"] == "OK" and result["results_id"]
    data = result["data"]
    assert data["type"] == "accounts" and data["page"]["total_elements"] == 3
    current = data["accounts"][0]
    assert current["account_id"] == lean.account_ids[0] and current["account_sub_type"] == "CURRENT"
    assert current["currency"] == "AED" and iban_is_valid(current["account"][0]["identification"])
    assert [a["account_id"] for a in session.data.iter_accounts(lean.entity_id, page_size=2)] == lean.account_ids

    balances = session.data.balances(lean.entity_id, lean.account_ids[0])
    assert isinstance(balances, dict)
    assert {b["type"] for b in balances["data"]["balances"]} == {"CLOSING_AVAILABLE", "CLOSING_BOOKED"}
    assert balances["data"]["balances"][0]["amount"]["currency"] == "AED"
    card = list(session.data.iter_balances(lean.entity_id, lean.account_ids[2]))
    assert card[0]["credit_line"][0]["amount"]["amount"] == 30_000.0

    identity = session.data.identity(lean.entity_id)
    assert isinstance(identity, dict) and identity["data"]["type"] == "identities"
    party = identity["data"]["identities"][0]  # Lean's shape: a page of parties, not one object
    assert party["full_legal_name"] == lean.person_name.upper() and party["national_id"].startswith("784-")
    assert party["mobile_number"] and party["address"]["country"] == "AE" and identity["data"]["page"]

    account = lean.account_ids[0]
    assert len(list(session.data.iter_identities(lean.entity_id, account))) == 1
    assert len(list(session.data.iter_beneficiaries(lean.entity_id, account))) == 3
    assert len(list(session.data.iter_direct_debits(lean.entity_id, account))) == 2
    assert len(list(session.data.iter_scheduled_payments(lean.entity_id, account))) == 1
    orders = session.data.standing_orders(lean.entity_id, account)
    assert isinstance(orders, dict) and orders["data"]["standing_orders"][0]["standing_order_status_code"] == "ACTIVE"
    assert orders["data"]["standing_orders"][0]["frequency"]["frequency_type"] == "MONTHLY"
    assert orders["data"]["type"] == "standing-orders"  # Lean's spelling of the type
    for call in (session.data.beneficiaries, session.data.direct_debits, session.data.scheduled_payments,
                 session.data.identities):
        assert call(lean.entity_id, account)["status"] == "OK"  # type: ignore[index]
    with pytest.raises(NotFoundError) as info:
        session.data.balances(lean.entity_id, UNKNOWN_ID)
    assert_lean_error(info.value, 404, "UNKNOWN_ACCOUNT")
    assert info.value.body["results_id"]  # data errors carry one, as Lean's do
    with pytest.raises(BadRequestError) as malformed:
        session.data.balances(lean.entity_id, "not-an-account")
    assert_lean_error(malformed.value, 400, "INVALID_PARAMETERS")


def test_transactions_paging_and_date_filters(session: LeanSession, lean: FakeLean) -> None:
    account = lean.account_ids[0]
    everything = list(session.data.iter_transactions(lean.entity_id, account))
    assert len(everything) == 3000 and len({t["transaction_id"] for t in everything}) == 3000
    stamps = [t["booking_date_time"] for t in everything]
    assert stamps == sorted(stamps, reverse=True)  # newest first
    assert stamps[0][:10] < dt.datetime.now(dt.timezone.utc).date().isoformat()
    assert query(last(lean, "/data/v2/accounts"))["size"] == ["100"]  # the page/size style, largest pages
    sample = everything[0]
    assert sample["amount"]["currency"] == "AED" and sample["credit_debit_indicator"] in {"CREDIT", "DEBIT"}
    assert sample["status"] == "BOOKED" and "balance" in sample and sample["insights"] is None
    assert any("SALARY" in t["transaction_information"] for t in everything)
    assert {t["credit_debit_indicator"] for t in everything} == {"CREDIT", "DEBIT"}

    start, end = "2000-01-01", stamps[len(stamps) // 2][:10]
    in_range = [t for t in everything if t["booking_date_time"][:10] <= end]
    filtered = list(session.data.iter_transactions(lean.entity_id, account, start_date=start, end_date=end,
                                                   insights=True))
    assert [t["transaction_id"] for t in filtered] == [t["transaction_id"] for t in in_range]
    assert filtered[0]["insights"]["category"]

    page = session.data.transactions(lean.entity_id, account, page=2, size=7)
    assert isinstance(page, dict)
    assert page["data"]["page"] == {**page["data"]["page"], "number": 2, "size": 7, "total_elements": 3000,
                                    "total_pages": 429}
    assert [t["transaction_id"] for t in page["data"]["transactions"]] == \
        [t["transaction_id"] for t in everything[14:21]]
    with pytest.raises(BadRequestError):
        session.data.transactions(lean.entity_id, account, size=101)
    with pytest.raises(BadRequestError):
        session.data.transactions(lean.entity_id, account, end_date=dt.date.today() + dt.timedelta(days=30))
    assert len(list(session.data.iter_transactions(lean.entity_id, lean.account_ids[2]))) == 300


def test_refreshes(session: LeanSession, lean: FakeLean, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lean, "refresh_duration", 60.0)  # PENDING for as long as this test needs it
    created = session.data.create_refresh(lean.entity_id)
    assert created["status"] == "OK" and created["message"] == "Data refresh triggered successfully"
    with pytest.raises(RateLimitError) as info:
        session.data.create_refresh(lean.entity_id)
    assert_lean_error(info.value, 429, "DUPLICATED_REQUEST")
    listed = session.data.list_refreshes(lean.entity_id)
    seeded = lean.seeded_ids["refresh_id"]  # a refresh that finished yesterday
    assert [r["refresh_id"] for r in listed["content"]] == [created["refresh_id"], seeded]
    assert [r["status"] for r in listed["content"]] == ["PENDING", "FINISHED"]
    monkeypatch.setattr(lean, "refresh_duration", 0.0)  # ... and now it is done
    refresh = session.data.get_refresh(created["refresh_id"])
    assert refresh["status"] == "FINISHED" and refresh["data_status"]["accounts"] == "OK"
    assert [r["refresh_id"] for r in session.data.iter_refreshes(lean.entity_id, page_size=1)] == \
        [created["refresh_id"], seeded]
    with pytest.raises(NotFoundError):
        session.data.create_refresh(UNKNOWN_ID)
    lean.expire_consent()
    with pytest.raises(LeanAPIError) as expired:
        session.data.create_refresh(lean.entity_id)
    assert_lean_error(expired.value, 403, "CONSENT_EXPIRED")


# ----------------------------------------------------------------------------- data statuses


def test_pending_then_ok(session: LeanSession, lean: FakeLean, sleeps: Sleeps) -> None:
    lean.set_data_status("PENDING")
    pending = session.data.accounts(lean.entity_id)
    assert isinstance(pending, PendingResult) and pending.results_id
    assert pending.wait()["data"]["accounts"][0]["account_id"] == lean.account_ids[0]

    lean.set_data_status("PENDING", pending_polls=2)
    pending = session.data.transactions(lean.entity_id, lean.account_ids[0], size=5)
    assert isinstance(pending, PendingResult) and pending.results_id is not None
    sleeps.clear()
    result = session.data.wait_for_results(pending.results_id)
    assert len(result["data"]["transactions"]) == 5 and len(sleeps) == 2  # two more PENDING polls
    with pytest.raises(NotFoundError) as info:
        session.data.results(UNKNOWN_ID)
    assert_lean_error(info.value, 404, "UNKNOWN_RESULTS_ID")

    lean.set_data_status("PENDING", times=2)  # iterators wait through PENDING pages
    assert len(list(session.data.iter_transactions(lean.entity_id, lean.account_ids[0], page_size=100))) == 3000


@pytest.mark.parametrize(("status", "error", "granular"), [
    ("FAILED", DataFailedError, "BANK_ISSUE"),
    ("RECONNECT_REQUIRED", ReconnectRequiredError, None),
    ("CONSENT_EXPIRED", ConsentExpiredError, None),
])
def test_failure_statuses(session: LeanSession, lean: FakeLean, status: str, error: type[Exception],
                          granular: str | None) -> None:
    lean.set_data_status(status)
    with pytest.raises(error) as info:
        session.data.balances(lean.entity_id, lean.account_ids[0])
    raised: Any = info.value
    assert raised.status == status and raised.status_code == 200 and raised.results_id
    assert raised.granular_status_code == granular
    lean.set_data_status(status, granular_status_code="BANK_MAINTENANCE")
    with pytest.raises(error) as again:
        session.data_v1.accounts(lean.entity_id)
    assert again.value.granular_status_code == "BANK_MAINTENANCE"  # type: ignore[attr-defined]
    assert session.data.balances(lean.entity_id, lean.account_ids[0])["status"] == "OK"  # type: ignore[index]


# ----------------------------------------------------------------------------- data v1, insights, verifications


def test_data_v1(session: LeanSession, lean: FakeLean) -> None:
    identity = session.data_v1.identity(lean.entity_id)
    assert isinstance(identity, dict) and identity["status"] == "OK" and identity["payload"]["full_name"]
    accounts = session.data_v1.accounts(lean.entity_id)
    assert [a["id"] for a in accounts["payload"]["accounts"]] == lean.account_ids  # type: ignore[index]
    balance = session.data_v1.balance(lean.entity_id, lean.account_ids[1])
    assert isinstance(balance, dict) and balance["payload"]["currency_code"] == "AED"
    pending = session.data_v1.transactions(lean.entity_id, lean.account_ids[1], async_=True)
    assert isinstance(pending, PendingResult)
    transactions = pending.wait()["payload"]["transactions"]
    assert len(transactions) == 24 and {"id", "description", "amount", "timestamp"} <= set(transactions[0])


def test_insights(session: LeanSession, lean: FakeLean) -> None:
    income = session.insights.income(lean.entity_id)
    salary = income["insights"]["salary"]  # Lean's shape: salary and non_salary, each with totals per month
    assert income["status"] == "OK" and income["type"] == "income" and salary["total"]["amount"] > 0
    assert len(salary["monthly_totals"]) >= 12 and {"month", "year", "is_month_complete"} <= set(
        salary["monthly_totals"][0])
    assert income["insights"]["non_salary"]["currency"] == "AED"
    expenses = session.insights.expenses(lean.entity_id)["insights"]
    categories = expenses["total"]["breakdown"][0]["breakdowns"]
    assert categories[0]["amount"] > 0 and {c["category"] for c in categories} >= {"GROCERIES", "FOOD_AND_DRINK",
                                                                                     "HOUSING"}
    flows = session.insights.cashflows(lean.entity_id, dt.date.today() - dt.timedelta(days=90))
    assert 3 <= len(flows["insights"]["monthly_totals"]) <= 4
    assert flows["insights"]["total"]["inwards"][0]["amount"]["currency"] == "AED"
    with pytest.raises(BadRequestError) as no_start:  # Lean's OpenAPI files: start_date is required
        session.request_json("GET", "/insights/v2/assets/cashflows", params={"entity_id": lean.entity_id})
    assert_lean_error(no_start.value, 400, "MISSING_PARAMETERS")
    name = lean.person_name
    perfect = session.insights.name_verification(lean.entity_id, name)["data"]  # under data, as Lean's
    assert perfect["match_type"] == "PERFECT_MATCH" and perfect["full_name_retrieved"] == name
    partial = session.insights.name_verification(lean.entity_id, name.split()[0] + " Smith")["data"]
    assert partial["match_type"] == "PARTIAL_MATCH" and 0 < partial["confidence"] < 1
    lean.set_data_status("FAILED")
    with pytest.raises(DataFailedError):
        session.insights.expenses(lean.entity_id)


@pytest.mark.parametrize("path", ["/insights/v2/liabilities/credit-obligations",
                                  "/insights/v2/liabilities/non-credit-obligations", "/insights/v2/income/employment",
                                  "/insights/v2/assets/balances", "/insights/v2/assets/freelancers/cashflows"])
def test_ksa_insights_are_served(session: LeanSession, lean: FakeLean, path: str) -> None:
    since = (dt.date.today() - dt.timedelta(days=180)).isoformat()
    answer = session.request_json("GET", path, params={"entity_id": lean.entity_id, "start_date": since})
    assert answer["status"] == "OK" and answer["results_id"] and isinstance(answer["insights"], dict)
    with pytest.raises(BadRequestError):
        session.request_json("GET", path, params={"entity_id": lean.entity_id})


def _verify(session: LeanSession, value: str, name: str, country: str = "AE", kind: str = "IBAN",
            **extra: Any) -> Any:
    """Lean's own request body for account verification (P)."""
    body = {"country_code": country, "type": "PERSONAL", "account_details": {"type": kind, "value": value},
            "identifications": [{"type": "FULL_NAME", "value": name}], **extra}
    return session.request_json("POST", "/verifications/v1/accounts", json=body)


def test_verifications(session: LeanSession, lean: FakeLean) -> None:
    account = session.data.accounts(lean.entity_id)["data"]["accounts"][0]  # type: ignore[index]
    iban, holder = account["account"][0]["identification"], account["account"][0]["name"]
    ok = _verify(session, iban, holder)
    assert ok["status"] == "OK" and ok["verifications"]["account_ownership_verified"] is True
    assert ok["verifications"]["account_status"] == "ACTIVE" and ok["results_id"]
    assert _verify(session, iban, "Someone Else")["verifications"]["account_ownership_verified"] is False
    abroad = _verify(session, "12345678", "Jane Doe", country="GB", kind="ACCOUNT_ID",
                     bank_identifier={"type": "CLEARING_ID", "value": "200000"})
    assert abroad["status"] == "OK"
    for wrong in ({"country_code": "ARE"}, {"account_details": {"type": "PAN", "value": iban}},
                  {"bank_identifier": {"type": "SWIFT", "value": "X"}}, {"type": "SOMEONE"}):
        body = {"country_code": "AE", "type": "PERSONAL", "account_details": {"type": "IBAN", "value": iban},
                "identifications": [{"type": "FULL_NAME", "value": holder}], **wrong}
        with pytest.raises(BadRequestError) as invalid:
            session.request_json("POST", "/verifications/v1/accounts", json=body)
        assert_lean_error(invalid.value, 400, "INVALID_PARAMETERS")
    with pytest.raises(BadRequestError) as absent:
        session.request_json("POST", "/verifications/v1/accounts", json={"country_code": "AE"})
    assert_lean_error(absent.value, 400, "MISSING_PARAMETERS")
    with pytest.raises(BadRequestError) as info:
        _verify(session, "AE000000000000000000000", "x")
    assert_lean_error(info.value, 400, "INVALID_IBAN")
    unknown = _verify(session, make_iban("044", "77"), "x")
    assert unknown["status"] == "FAILED" and unknown["verifications"] is None
    assert unknown["status_detail"]["granular_status_code"] == "GIVEN_INPUT_CANNOT_BE_VERIFIED"
    lean.set_data_status("FAILED", granular_status_code="BANK_ISSUE")
    failed = _verify(session, iban, holder)
    assert failed["status"] == "FAILED" and failed["status_detail"]["granular_status_code"] == "BANK_ISSUE"


# ----------------------------------------------------------------------------- payments


DESTINATION = {"name": "Acme Trading LLC", "display_name": "Acme", "address": "Office 5, Al Quoz", "city": "Dubai",
               "country": "ARE", "account_number": "1234567890123", "iban": "AE070331234567890123456",
               "swift_code": "BOMLAEAD", "bank_type": "RETAIL",
               "government_identifier": {"type": "TRADE_LICENSE", "value": "TRN-100000000000003"}}


def test_intents_payments_destinations_sources(session: LeanSession, lean: FakeLean) -> None:
    intent = session.payments.create_intent(lean.customer_id, 150.5, "AED", description="Order 42",
                                            purpose_code="GDS")
    assert intent["amount"] == 150.5 and intent["payments"] == []
    assert intent["payment_destination"]["id"] == lean.default_destination_id
    assert {k: v for k, v in session.payments.get_intent(intent["payment_intent_id"]).items()
            if k in intent and k != "payment_destination"} == {k: v for k, v in intent.items()
                                                               if k != "payment_destination"}
    with pytest.raises(BadRequestError) as small:
        session.payments.create_intent(lean.customer_id, 5, "AED")
    assert_lean_error(small.value, 400, "AMOUNT_UNDER_MIN_VALUE")
    with pytest.raises(NotFoundError):
        session.payments.create_intent(UNKNOWN_ID, 50, "AED")

    payment = lean.complete_intent(intent["payment_intent_id"])
    fetched = session.payments.get_payment(payment["id"])
    assert fetched["status"] == "ACCEPTED_BY_BANK" and fetched["payment_intent_id"] == intent["payment_intent_id"]
    assert session.payments.get_intent(intent["payment_intent_id"])["payments"][0]["id"] == payment["id"]
    listed = session.payments.list_intents(page=0, size=1, customer_id=lean.customer_id)
    assert listed["data"][0]["payment_intent_id"] == intent["payment_intent_id"]
    assert listed["page"]["total_elements"] == 2  # the seeded intent and this one
    assert query(last(lean, "/payments/v1/intents"))["size"] == ["1"]
    assert len(list(session.payments.iter_intents(customer_id=lean.customer_id, page_size=1))) == 2
    assert len(list(session.payments.iter_intents(status="ACCEPTED_BY_BANK"))) == 2

    with pytest.raises(BadRequestError) as missing:
        session.request_json("POST", "/payments/v1/destinations", json={"name": "Half a destination"})
    assert missing.value.status == "MISSING_PARAMETERS"
    destination = session.payments.create_destination(**DESTINATION, customer_id=lean.customer_id)
    assert destination["status"] == "CONFIRMED" and destination["iban"] == DESTINATION["iban"]
    assert session.payments.get_destination(destination["id"])["iban"] == destination["iban"]
    assert destination["id"] in [d["id"] for d in session.payments.list_destinations()]
    assert [d["id"] for d in session.payments.list_customer_destinations(lean.customer_id)] == [destination["id"]]
    to_it = session.payments.create_intent(lean.customer_id, 20, "AED", payment_destination_id=destination["id"])
    assert to_it["payment_destination"]["name"] == "Acme Trading LLC"

    sources = session.payments.list_payment_sources(lean.customer_id)
    assert [s["id"] for s in sources] == [lean.payment_source_id] and sources[0]["status"] == "ACTIVE"
    assert session.payments.get_payment_source(lean.customer_id, lean.payment_source_id)["bank_identifier"]
    try:
        session.payments.delete_payment_source(lean.customer_id, lean.payment_source_id)
        assert session.payments.list_payment_sources(lean.customer_id) == []
        deletion = [r for r in lean.requests if r.method == "DELETE"][-1]
        assert deletion.json() == {"reason": "USER_REQUESTED"}
    finally:
        lean.reset()


def test_account_on_file_and_payouts_are_idempotent(session: LeanSession, lean: FakeLean, sleeps: Sleeps) -> None:
    before = len(lean.account_on_file_payments)
    consent_id = lean.seeded_ids["consent_id"]  # an authorised account-on-file consent
    body = {"consent_id": consent_id, "amount": "75.00", "reference": "Subscription",
            "risk_details": {"channel": "MOBILE"}}  # Lean's request body (P)
    pay = session.payments.create_account_on_file_payment
    first = pay(consent_id, "75.00", channel="MOBILE", reference="Subscription", idempotency_key="order-1")
    again = pay(consent_id, "75.00", channel="MOBILE", reference="Subscription", idempotency_key="order-1")
    assert first == again and first["status"] == "ACCEPTED_BY_BANK" and first["amount"] == 75.0
    assert len(lean.account_on_file_payments) == before + 1
    lean.fail_next(503)  # the SDK retries the POST with the same generated key
    retried = pay(consent_id, "75.00", channel="MOBILE", reference="Subscription")
    assert len(sleeps) == 1 and len(lean.account_on_file_payments) == before + 2
    keys = [r.headers["idempotency-key"] for r in lean.requests if "account-on-file" in r.path]
    assert keys[-1] == keys[-2] and retried["payment_id"] != first["payment_id"]
    for path in ("/payments/account-on-file", "/payments/v1/account-on-file"):  # Lean requires the header
        with pytest.raises(BadRequestError) as info:
            session.request_json("POST", path, json=body)
        assert info.value.status == "MISSING_PARAMETERS"
    flat = {"customer_id": lean.customer_id, "amount": "75.00", "currency": "AED"}  # not Lean's body
    with pytest.raises(BadRequestError) as refused:
        session.request_json("POST", "/payments/account-on-file", json=flat, headers={"Idempotency-Key": "x"})
    assert refused.value.status == "MISSING_PARAMETERS"
    consent = session.request_json("GET", f"/consents/{consent_id}")
    assert consent["payment_consumption"]["cumulative_number_of_payments"] == 2

    payout = [{"account_id": lean.account_ids[0], "currency": "AED", "destination_details": [
        {"authorize_payment": False, "payment_destination_id": lean.seeded_ids["payout_destination_id"],
         "amount": 900, "description": "Invoice 7"}]}]  # Lean's nested payment_details (P)
    one = session.payouts.create(payout, idempotency_key="payout-1")
    assert session.payouts.create(payout, idempotency_key="payout-1") == one
    made = one["payouts_payment_details"][0]
    assert made["destination_details"]["amount"] == 900 and made["destination_details"]["payment_status"] == "CREATED"
    assert session.payouts.create(payout)["payouts_payment_details"][0]["payment_intent_id"] != \
        made["payment_intent_id"]
    assert len(lean.payouts) == 2
    with pytest.raises(BadRequestError):  # the old flat body is not Lean's
        session.request_json("POST", "/payouts/v1/payment", json={
            "payment_destination_id": lean.default_destination_id, "amount": 900, "currency": "AED"},
            idempotency_key="flat-1")


def test_consents_payouts_and_refunds(session: LeanSession, lean: FakeLean) -> None:
    created = session.consents.create(
        lean.customer_id, lean.default_destination_id, currency="AED", description="Gym", reference="GYM-1",
        purpose="FIS", control_parameters={"period_type": "Month", "max_individual_amount": "500"},
        government_identifier={"type": "EMIRATES_ID", "value": "784-1990-1234567-1"})
    assert created["status"] == "AWAITING_AUTHORISATION"
    assert created["control_parameters"]["max_individual_amount"] == 500
    with pytest.raises(BadRequestError):  # not authorised yet
        session.payments.create_account_on_file_payment(created["id"], "10", channel="WEB")
    lean.authorize_consent(created["id"])
    listed = session.consents.list(0, 10)
    assert {c["consent_id"] for c in listed["data"]} == {created["id"], lean.seeded_ids["consent_id"]}
    history = session.consents.history(created["id"])
    assert history["data"][0]["type"] == "CONSENT_CREATED"
    assert {c["consent_id"] for c in session.consents.iter_consents(page_size=1)} == {
        created["id"], lean.seeded_ids["consent_id"]}
    revoked = session.consents.revoke(created["id"])
    assert revoked is not None and revoked["status"] == "REVOKED"

    payouts = session.payouts.list(0, 10)
    assert lean.seeded_ids["payout_intent_id"] in [p["payment_intent_id"] for p in payouts["content"]]
    payout_id = lean.seeded_ids["payout_id"]
    assert session.payouts.get(payout_id)["status"] == "ACCEPTED_BY_BANK"
    events = session.payouts.history(payout_id)["content"][0]["events"]
    assert [e["status"] for e in events] == ["PENDING_WITH_BANK", "ACCEPTED_BY_BANK"]
    intent = session.payouts.get_intent(lean.seeded_ids["payout_intent_id"])
    assert intent["payment"]["id"] == payout_id

    refunds = session.refunds.create([{
        "payment_id": lean.seeded_ids["payment_id"], "amount": 20, "currency": "AED",
        "reason_code": "ORDER_CANCELLED", "description": "Cancelled", "external_reference": "R-1"}])
    assert refunds[0]["status"] == "CREATED"
    decided = session.refunds.process([{"refund_id": refunds[0]["refund_id"], "status": "APPROVED"}])
    assert decided == [{"refund_id": refunds[0]["refund_id"], "status": "APPROVED"}]
    approved = session.refunds.list(10, status="APPROVED")
    assert [r["refund_id"] for r in approved["content"]] == [refunds[0]["refund_id"]]
    with pytest.raises(BadRequestError):
        session.request_json("POST", "/payouts/refunds", json=[{"payment_id": lean.seeded_ids["payment_id"],
                                                                "amount": 1, "currency": "AED",
                                                                "reason_code": "BORED"}])
    assert {r["code"] for r in session.refunds.reasons()} >= {"CUSTOMER_REQUEST"}


# ----------------------------------------------------------------------------- errors, faults, auth


def test_unknown_path_wrong_method_and_credentials(session: LeanSession, lean: FakeLean) -> None:
    with pytest.raises(NotFoundError) as unknown:
        session.request_json("GET", "/banks/v9/")
    assert_lean_error(unknown.value, 404, "INVALID_URL")
    with pytest.raises(LeanAPIError) as method:
        session.request_json("DELETE", "/banks/v1/")
    assert_lean_error(method.value, 405, "INVALID_HTTP_METHOD")

    with lean.session(app_token="not-the-token") as wrong, pytest.raises(AuthenticationError) as info:
        wrong.banks.list()
    assert_lean_error(info.value, 401, "INVALID_TOKEN")

    with lean.session(retries=0) as raw:
        raw.auth = None  # bypass the SDK's own refusal to mix the two schemes
        response = raw.get("/banks/v1/", headers={"lean-app-token": lean.app_token, "Authorization": "Bearer x"})
        assert response.status_code == 400
        assert response.json()["status"] == "INVALID_PARAMETERS" and response.json()["message"] == BOTH_HEADERS_MESSAGE
        assert raw.get("/banks/v1/").status_code == 401


def test_429_retry_after_and_5xx(session: LeanSession, lean: FakeLean, sleeps: Sleeps) -> None:
    lean.fail_next(429, retry_after=0.25)
    assert session.banks.list()
    assert sleeps == [0.25]
    sleeps.clear()
    lean.fail_next(503, times=2)
    assert session.customers.get(lean.customer_id)
    assert len(sleeps) == 2 and sleeps[1] > sleeps[0] / 2  # exponential backoff, with jitter

    with lean.session(retries=0) as once:
        lean.fail_next(503)
        with pytest.raises(ServerError) as gateway:
            once.banks.list()
        assert gateway.value.status_code == 503 and "Service Temporarily Unavailable" in str(gateway.value)
        lean.fail_next(429, retry_after=7)
        with pytest.raises(RateLimitError) as limited:
            once.banks.list()
        assert limited.value.retry_after == 7 and limited.value.status == "RATE_LIMIT_EXCEEDED"
        lean.fail_next(500, body="<html><title>Oops</title></html>")
        with pytest.raises(ServerError) as html:
            once.banks.list()
        assert "Oops" in str(html.value)


def test_oauth(lean: FakeLean) -> None:
    token_calls = sum(r.path == "/oauth2/token" for r in lean.requests)
    with lean.session(auth="oauth", retries=0) as oauth:
        assert oauth.banks.list() and oauth.customers.get(lean.customer_id)
        sent = last(lean, "/customers/v1")
        assert sent.headers["authorization"].startswith("Bearer ") and "lean-app-token" not in sent.headers
        token_request = last(lean, "/oauth2/token")
        form = parse_qs(token_request.body.decode())
        assert form["grant_type"] == ["client_credentials"] and form["scope"] == ["api"]
        assert sum(r.path == "/oauth2/token" for r in lean.requests) == token_calls + 1  # cached
        lean.revoke_tokens()  # the SDK gets a 401, fetches a new token and replays once
        assert oauth.banks.list()
        assert sum(r.path == "/oauth2/token" for r in lean.requests) == token_calls + 2
    with lean.session(auth="oauth", client_secret="wrong-client-secret", retries=0) as bad, \
            pytest.raises(AuthenticationError) as info:
        bad.banks.list()
    assert info.value.status_code == 401 and info.value.body["error"] == "invalid_client"  # type: ignore[index]


def test_a_client_without_a_certificate_is_refused_by_tls(lean: FakeLean) -> None:
    seen, refused = len(lean.requests), len(lean.handshake_errors)
    with LeanSession(lean.app_token, ca=str(lean.ca_file), base_url=lean.url, retries=0) as no_cert, \
            pytest.raises(LeanConnectionError):
        no_cert.banks.list()
    deadline = time.monotonic() + 5  # the server records the refusal just after sending its alert
    while len(lean.handshake_errors) == refused and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(lean.requests) == seen and len(lean.handshake_errors) > refused


# ----------------------------------------------------------------------------- webhooks


class _Receiver(BaseHTTPRequestHandler):
    secret: ClassVar[str] = ""
    events: ClassVar[list[webhooks.WebhookEvent]] = []

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        try:
            type(self).events.append(webhooks.verify_request(dict(self.headers), body, self.secret))
            self.send_response(200)
        except webhooks.WebhookSignatureError:
            self.send_response(401)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def receiver(lean: FakeLean) -> Iterator[tuple[str, list[webhooks.WebhookEvent]]]:
    handler = type("Receiver", (_Receiver,), {"secret": lean.webhook_secret, "events": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/lean/webhooks", handler.events
    server.shutdown()
    server.server_close()


def test_webhooks_are_signed_as_lean_does(lean: FakeLean, receiver: tuple[str, list[Any]]) -> None:
    url, events = receiver
    assert lean.send_webhook(url, "results.ready", {"id": "results-1"}) == 200
    event = events[-1]
    assert isinstance(event, webhooks.ResultsReadyEvent) and event.results_id == "results-1"
    assert event.message == "Your results are ready." and event.event_id and event.timestamp
    sent = lean.webhooks_sent[-1]
    assert sent["status"] == 200 and set(sent["body"]) == {"type", "message", "payload", "event_id", "timestamp"}
    impostor = FakeLean(webhook_secret="someone-elses-secret", transactions=0)  # never started: not needed
    assert impostor.send_webhook(url, "payment.created", {"id": "p1"}) == 401
    assert len(events) == 1


def _lean_webhook_shape(event_type: str) -> Any:
    from lean_mtls.testing._contract import load_contract

    return next(w["body"] for w in load_contract()["webhooks"] if w["body"]["type"] == event_type)


def test_state_changes_send_lean_webhooks_by_themselves(lean: FakeLean, session: LeanSession,
                                                         receiver: tuple[str, list[Any]],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from lean_mtls.testing._shapes import shape_mismatches

    url, events = receiver
    monkeypatch.setattr(lean, "refresh_duration", 0.05)
    monkeypatch.setattr(lean, "webhook_url", url)
    refresh = session.data.create_refresh(lean.entity_id)  # finishes 0.05 s later
    intent = session.payments.create_intent(lean.customer_id, 80, "AED")
    payment = lean.complete_intent(intent["payment_intent_id"])  # the customer pays
    lean.update_payment(payment["id"], "FAILED")  # the bank changes its mind
    lean.set_data_status("PENDING")
    pending = session.data.accounts(lean.entity_id)  # results announced by webhook
    sent = lean.wait_for_webhooks()
    by_type = {s["body"]["type"]: s["body"] for s in sent if s["url"] == url}
    assert set(by_type) >= {"entity.data.refresh.updated", "payment_intent.created", "payment.created",
                            "payment.updated", "results.ready"}
    assert all(s["status"] == 200 for s in sent if s["url"] == url) and lean.errors == []
    refreshed = by_type["entity.data.refresh.updated"]
    assert refreshed["payload"]["refresh_id"] == refresh["refresh_id"] and refreshed["payload"]["status"] == "FINISHED"
    assert by_type["payment.updated"]["payload"]["status"] == "FAILED"
    assert by_type["results.ready"]["payload"]["id"] == pending.results_id  # type: ignore[union-attr]
    for event_type in ("entity.data.refresh.updated", "payment.created", "payment.updated",
                       "payment_intent.created"):
        assert shape_mismatches(_lean_webhook_shape(event_type), by_type[event_type]) == [], event_type
        assert by_type[event_type]["message"] == webhooks_message(event_type)
    parsed = {type(e).__name__ for e in events}
    assert {"EntityDataRefreshUpdatedEvent", "ResultsReadyEvent"} <= parsed  # the SDK's own parser reads them


def webhooks_message(event_type: str) -> str:
    from lean_mtls.testing._core import WEBHOOK_MESSAGES

    return WEBHOOK_MESSAGES[event_type]


def test_routes_follow_lean_spelling(session: LeanSession, lean: FakeLean) -> None:
    assert session.get("/banks/v1/").status_code == 200  # as Lean spells it
    missing = session.get("/banks/v1")  # no such path at Lean
    assert missing.status_code == 404 and missing.json()["status"] == "INVALID_URL"
    wrong_method = session.post("/customers/v1", json={"app_user_id": "spelling"})  # Lean: POST /customers/v1/
    assert wrong_method.status_code == 405 and "GET" in wrong_method.headers["Allow"]
    created = session.post("/customers/v1/", json={"app_user_id": "spelling"})
    assert created.status_code == 200
    assert session.get("/payments/v1/intents").json()["data"]  # a literal segment beats /payments/v1/{payment_id}
    malformed = session.get("/payouts/v1/not-a-uuid")
    assert malformed.status_code == 400 and malformed.json()["status"] == "INVALID_PARAMETERS"
    assert lean.unrouted_endpoints() == []


# ----------------------------------------------------------------------------- concurrency and lifecycle


def test_threads_share_one_session(lean: FakeLean) -> None:
    errors: list[BaseException] = []
    done: list[int] = []
    with lean.session() as shared:
        def worker(n: int) -> None:
            try:
                for i in range(50):
                    kind = (n + i) % 4
                    if kind == 0:
                        assert shared.banks.list()
                    elif kind == 1:
                        assert shared.data.accounts(lean.entity_id)["status"] == "OK"  # type: ignore[index]
                    elif kind == 2:
                        page = shared.data.transactions(lean.entity_id, lean.account_ids[0], page=i % 30, size=100)
                        assert len(page["data"]["transactions"]) == 100  # type: ignore[index]
                    else:
                        shared.customers.create(f"thread-{n}-{i}")
                    done.append(1)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert errors == [] and len(done) == 400 and lean.errors == []


def test_clean_shutdown_removes_the_key(tmp_path: Path) -> None:
    server = FakeLean(transactions=10).start()
    port, folder, key = server.port, server.directory, server.key_file
    assert port_is_open(port)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700 and stat.S_IMODE(key.stat().st_mode) == 0o600
    assert b"PRIVATE KEY" in key.read_bytes()
    server.stop()
    assert not port_is_open(port) and not folder.exists()
    server.stop()  # idempotent
    with pytest.raises(ConfigurationError):
        server.start()

    kept = tmp_path / "certs"
    with FakeLean(transactions=10, directory=kept) as other:
        assert other.cert_file.parent == kept
    assert sorted(p.name for p in kept.iterdir()) == ["fakelean_cert.crt", "fakelean_private_key.pem",
                                                      "lean_public_cert_chain.pem"]


_SIGNALLED_CHILD = """
import signal, sys, time
from lean_mtls.testing import FakeLean
if sys.argv[1] == "chained":
    def previous(signum, frame):
        print("previous handler ran", flush=True)
        sys.exit(3)
    signal.signal(signal.SIGTERM, previous)
server = FakeLean(transactions=0).start()
print(server.directory, flush=True)
while True:
    time.sleep(0.05)
"""


def _signalled(signum: int, mode: str = "plain") -> tuple[Path, int, str]:
    """Run a process holding a FakeLean, send it ``signum``; its key directory and exit status."""
    child = subprocess.Popen([sys.executable, "-c", _SIGNALLED_CHILD, mode], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None
        folder = Path(child.stdout.readline().strip())
        assert (folder / "fakelean_private_key.pem").exists()
        child.send_signal(signum)
        out, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    return folder, child.returncode, out + err


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="POSIX signals")
@pytest.mark.parametrize("name", ["SIGTERM", "SIGHUP"])
def test_the_key_directory_is_removed_when_the_process_is_terminated(name: str) -> None:
    signum = getattr(signal, name)
    folder, status, output = _signalled(signum)
    assert not folder.exists(), output
    assert status == -signum  # still dies of the signal, as whoever sent it expects


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="POSIX signals")
def test_a_handler_installed_before_still_runs_after_the_cleanup() -> None:
    folder, status, output = _signalled(signal.SIGTERM, "chained")
    assert not folder.exists()
    assert status == 3 and "previous handler ran" in output


def test_not_running_and_optional_client_certificate() -> None:
    idle = FakeLean(transactions=0)
    with pytest.raises(ConfigurationError):
        idle.session()
    assert idle.requests == [] and idle.customer_id and len(idle.account_ids) == 3
    with FakeLean(transactions=5, require_client_cert=False) as open_lean, \
            LeanSession(open_lean.app_token, ca=str(open_lean.ca_file), base_url=open_lean.url) as no_cert:
        assert no_cert.banks.list()


def test_missing_trustme_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "trustme", None)
    with pytest.raises(ConfigurationError, match=r"pip install trustme.*/path/to/lean-mtls\[testing\]"):
        FakeLean(transactions=0).start()


def test_seeded_data_is_deterministic() -> None:
    # How fast the data is built and paged is measured in bench/, not asserted here.
    a, b, c = FakeLean(seed=3, transactions=0), FakeLean(seed=3, transactions=0), FakeLean(seed=4, transactions=0)
    assert (a.customer_id, a.entity_id, a.account_ids) == (b.customer_id, b.entity_id, b.account_ids)
    assert a.customer_id != c.customer_id
    world = build_world(3, 100_000)
    table = world.table(world.accounts[0].account_id)
    assert len(table) == 100_000
    deep = [table.transaction(i) for i in table.newest_first(0, len(table), 999, 100)]
    assert len(deep) == 100
    again = build_world(3, 100_000).table(world.accounts[0].account_id)
    assert again.transaction(5) == table.transaction(5)


# ----------------------------------------------------------------------------- the pytest plugin


def _plugin_registered() -> bool:
    from importlib.metadata import entry_points

    found = entry_points()
    group = found.select(group="pytest11") if hasattr(found, "select") else found.get("pytest11", [])  # type: ignore[attr-defined]
    return any(ep.value.startswith("lean_mtls.testing.pytest_plugin") for ep in group)


def test_importing_the_plugin_starts_nothing() -> None:
    code = ("import sys, threading; import lean_mtls.testing.pytest_plugin; "
            "assert 'trustme' not in sys.modules, 'trustme imported'; "
            "assert threading.active_count() == 1, 'a thread was started'")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_the_plugin_from_a_separate_test_directory() -> None:
    """``tests/plugin_user`` is a user's project: its own pytest.ini, files named
    check_*.py (so this repository's run never collects them), no import of
    lean_mtls.testing; the fixtures come from the plugin."""
    project = Path(__file__).parent / "plugin_user"
    command = [sys.executable, "-m", "pytest", "-q", "check_my_app.py"]
    if not _plugin_registered():  # before the pytest11 entry point is installed
        command[3:3] = ["-p", "lean_mtls.testing.pytest_plugin"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(project.parents[1]), os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "11 passed" in result.stdout
