"""Every resource method: HTTP method, path, query and JSON body (through ``responses``).

The table below pins each method to the one endpoint LEAN_API.md documents
for it; the strict query matcher fails on a missing *or* an extra parameter.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Callable

import pytest
import responses
from responses import matchers

from lean_mtls import (
    BadRequestError,
    ConsentExpiredError,
    DataFailedError,
    InvalidRequestError,
    LeanSession,
    NotFoundError,
    RateLimitError,
)

from .conftest import APP_TOKEN, MOCK_BASE

BASE = MOCK_BASE
OK = {"status": "OK", "results_id": "res-1", "data": {"type": "x", "x": [], "page": None}, "extra": {"kept": 1}}
ENTITY = {"id": "ent-1", "customer_id": "cus-1", "bank_identifier": "LEANMB1", "unknown_field": [1, 2]}
INTENT = {"payment_intent_id": "pi-1", "customer_id": "cus-1", "amount": 100.5, "currency": "AED"}
SOURCE = {"id": "ps-1", "customer_id": "cus-1", "status": "ACTIVE"}
DEST = {"id": "pd-1", "name": "Acme", "status": "ACTIVE"}

Call = Callable[[LeanSession], Any]




_SAME = object()


def case(name: str, call: Call, method: str, path: str, query: dict[str, Any] | None = None,
         body: Any = None, answer: Any = OK, returns: Any = _SAME) -> Any:
    """``returns`` defaults to ``answer``: Lean's JSON is handed back as is."""
    expected = answer if returns is _SAME else returns
    return pytest.param(call, method, path, query or {}, body, answer, expected, id=name)


CASES = [
    # banks
    case("banks.list-filters", lambda s: s.banks.list(
        "BUSINESS", customer_id="cus-1", bank_type="RETAIL", country_codes=["ARE", "SAU"],
        connection_types="OPEN_BANKING"), "GET", "/banks/v1/",
        {"account_types": "BUSINESS", "customer_id": "cus-1", "bank_type": "RETAIL",
         "country_codes": "ARE,SAU", "connection_types": "OPEN_BANKING"}, answer=[{"identifier": "B"}]),
    # customers
    case("customers.create-gov-ids", lambda s: s.customers.create(
        "user-42", [{"type": "EMIRATES_ID", "value": "784-1"}]), "POST", "/customers/v1/",
        body={"app_user_id": "user-42", "government_identifiers": [{"type": "EMIRATES_ID", "value": "784-1"}]},
        answer={"customer_id": "cus-1", "app_user_id": "user-42"}),
    case("customers.list-default", lambda s: s.customers.list(), "GET", "/customers/v1",
         {"page_number": 0, "page_size": 100}, answer={"data": [], "page": {}}),
    case("customers.list-page", lambda s: s.customers.list(3, 7), "GET", "/customers/v1",
         {"page_number": 3, "page_size": 7}, answer={"data": [], "page": {}}),
    case("customers.update", lambda s: s.customers.update("cus-1", [{"type": "EMIRATES_ID", "value": "784-2"}]),
         "PUT", "/customers/v1/cus-1/", body={"government_identifiers": [{"type": "EMIRATES_ID", "value": "784-2"}]},
         answer={"customer_id": "cus-1"}),
    # entities
    case("entities.list", lambda s: s.entities.list("cus-1"), "GET", "/customers/v1/cus-1/entities",
         answer=[ENTITY]),
    case("entities.get", lambda s: s.entities.get("cus-1", "ent-1"), "GET",
         "/customers/v1/cus-1/entities/ent-1", answer=ENTITY),
    case("entities.list_by_date_range", lambda s: s.entities.list_by_date_range(
        dt.date(2026, 1, 1), "2026-01-31", page_number=2, page_size=20), "GET", "/customers/v1/entities",
        {"start_date": "2026-01-01", "end_date": "2026-01-31", "page_number": 2, "page_size": 20},
        answer={"data": [ENTITY], "page": {"number": 2}}),
    case("entities.list_by_date_range-datetime", lambda s: s.entities.list_by_date_range(
        dt.datetime(2026, 1, 1, 23, 59), dt.date(2026, 2, 1)), "GET", "/customers/v1/entities",
        {"start_date": "2026-01-01", "end_date": "2026-02-01", "page_number": 0, "page_size": 100},
        answer={"data": [], "page": {}}),
    case("entities.delete", lambda s: s.entities.delete("cus-1", "ent-1", "CUSTOMER_LEFT"), "DELETE",
         "/customers/v1/cus-1/entities/ent-1", body={"reason": "CUSTOMER_LEFT"}, answer=None),
    # data v2
    case("data.accounts", lambda s: s.data.accounts("ent-1"), "GET", "/data/v2/accounts",
         {"entity_id": "ent-1", "page": 0, "size": 50}),
    case("data.accounts-page", lambda s: s.data.accounts("ent-1", page=2, size=100), "GET", "/data/v2/accounts",
         {"entity_id": "ent-1", "page": 2, "size": 100}),
    case("data.balances", lambda s: s.data.balances("ent-1", "acc-1"), "GET",
         "/data/v2/accounts/acc-1/balances", {"entity_id": "ent-1", "page": 0, "size": 50}),
    case("data.transactions", lambda s: s.data.transactions(
        "ent-1", "acc-1", start_date=dt.date(2026, 1, 1), end_date="2026-03-31", insights=True, page=1, size=10),
        "GET", "/data/v2/accounts/acc-1/transactions",
        {"entity_id": "ent-1", "start_date": "2026-01-01", "end_date": "2026-03-31", "insights": "true",
         "page": 1, "size": 10}),
    case("data.transactions-minimal", lambda s: s.data.transactions("ent-1", "acc-1", insights=False), "GET",
         "/data/v2/accounts/acc-1/transactions", {"entity_id": "ent-1", "insights": "false", "page": 0, "size": 50}),
    case("data.beneficiaries", lambda s: s.data.beneficiaries("ent-1", "acc-1", size=5), "GET",
         "/data/v2/accounts/acc-1/beneficiaries", {"entity_id": "ent-1", "page": 0, "size": 5}),
    case("data.identities", lambda s: s.data.identities("ent-1", "acc-1"), "GET",
         "/data/v2/accounts/acc-1/identities", {"entity_id": "ent-1", "page": 0, "size": 50}),
    case("data.identity", lambda s: s.data.identity("ent-1"), "GET", "/data/v2/identity",
         {"entity_id": "ent-1", "page": 0, "size": 50}),
    case("data.identity-page", lambda s: s.data.identity("ent-1", page=2, size=10), "GET", "/data/v2/identity",
         {"entity_id": "ent-1", "page": 2, "size": 10}),
    case("data.direct_debits", lambda s: s.data.direct_debits("ent-1", "acc-1"), "GET",
         "/data/v2/accounts/acc-1/direct-debits", {"entity_id": "ent-1", "page": 0, "size": 50}),
    case("data.scheduled_payments", lambda s: s.data.scheduled_payments("ent-1", "acc-1", page=0), "GET",
         "/data/v2/accounts/acc-1/scheduled-payments", {"entity_id": "ent-1", "page": 0, "size": 50}),
    case("data.standing_orders", lambda s: s.data.standing_orders("ent-1", "acc-1"), "GET",
         "/data/v2/accounts/acc-1/standing-orders", {"entity_id": "ent-1", "page": 0, "size": 50}),
    case("data.create_refresh", lambda s: s.data.create_refresh("ent-1"), "POST", "/data/v2/refreshes",
         body={"entity_id": "ent-1"}, answer={"refresh_id": "rf-1", "status": "OK"}),
    case("data.list_refreshes", lambda s: s.data.list_refreshes("ent-1", page=1, size=10), "GET",
         "/data/v2/refreshes", {"entity_id": "ent-1", "page": 1, "size": 10}, answer={"content": [], "page": {}}),
    case("data.get_refresh-pending-is-not-waited", lambda s: s.data.get_refresh("rf-1"), "GET",
         "/data/v2/refreshes/rf-1", answer={"refresh_id": "rf-1", "status": "PENDING"}),
    case("data.results", lambda s: s.data.results("res-1"), "GET", "/data/v2/results/res-1"),
    # data v1
    case("data_v1.identity", lambda s: s.data_v1.identity("ent-1"), "POST", "/data/v1/identity",
         body={"entity_id": "ent-1"}),
    case("data_v1.accounts", lambda s: s.data_v1.accounts("ent-1", async_=False), "POST", "/data/v1/accounts",
         body={"entity_id": "ent-1", "async": False}),
    case("data_v1.balance", lambda s: s.data_v1.balance("ent-1", "acc-1"), "POST", "/data/v1/balance",
         body={"entity_id": "ent-1", "account_id": "acc-1"}),
    case("data_v1.transactions", lambda s: s.data_v1.transactions(
        "ent-1", "acc-1", insights=True, start_date="2026-01-01", end_date=dt.date(2026, 1, 31)), "POST",
        "/data/v1/transactions", body={"entity_id": "ent-1", "account_id": "acc-1", "insights": True,
                                       "start_date": "2026-01-01", "end_date": "2026-01-31"}),
    case("data_v1.results", lambda s: s.data_v1.results("res-9"), "GET", "/data/v1/results/res-9"),
    # payments
    case("payments.create_intent", lambda s: s.payments.create_intent(
        "cus-1", 100.5, "AED", description="Order 7", payment_destination_id="pd-1", purpose_code="GDS"),
        "POST", "/payments/v1/intents",
        body={"customer_id": "cus-1", "amount": 100.5, "currency": "AED", "description": "Order 7",
              "payment_destination_id": "pd-1", "purpose_code": "GDS"}, answer=INTENT),
    case("payments.create_intent-minimal", lambda s: s.payments.create_intent("cus-1", 10, "AED"), "POST",
         "/payments/v1/intents", body={"customer_id": "cus-1", "amount": 10, "currency": "AED"}, answer=INTENT),
    case("payments.list_intents-default", lambda s: s.payments.list_intents(), "GET", "/payments/v1/intents",
         {"page": 0, "size": 100}, answer={"data": [INTENT], "page": {}}),
    case("payments.list_intents-filters", lambda s: s.payments.list_intents(
        1, 5, customer_id="cus-1", from_=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
        to="2026-02-01T00:00:00Z", status="COMPLETED"), "GET", "/payments/v1/intents",
        {"page": 1, "size": 5, "customer_id": "cus-1", "from": "2026-01-01T00:00:00+00:00",
         "to": "2026-02-01T00:00:00Z", "status": "COMPLETED"}, answer={"data": [], "page": {}}),
    case("payments.get_intent", lambda s: s.payments.get_intent("pi-1"), "GET", "/payments/v1/intents/pi-1",
         answer=INTENT),
    case("payments.get_payment", lambda s: s.payments.get_payment("pay-1"), "GET", "/payments/v1/pay-1",
         answer={"id": "pay-1", "status": "ACCEPTED_BY_BANK"}),
    case("payments.create_destination", lambda s: s.payments.create_destination(
        name="Acme", display_name="ACME", iban="AE08", address="1 Road", city="Dubai", country="ARE",
        bank_type="RETAIL", government_identifier={"type": "EMIRATES_ID", "value": "784-1"}, customer_id="cus-1"),
        "POST", "/payments/v1/destinations",
        body={"name": "Acme", "iban": "AE08", "display_name": "ACME", "address": "1 Road", "city": "Dubai",
              "country": "ARE", "bank_type": "RETAIL", "customer_id": "cus-1",
              "government_identifier": {"type": "EMIRATES_ID", "value": "784-1"}}, answer=DEST),
    case("payments.list_destinations", lambda s: s.payments.list_destinations(), "GET",
         "/payments/v1/destinations", answer=[DEST]),
    case("payments.get_destination", lambda s: s.payments.get_destination("pd-1"), "GET",
         "/payments/v1/destinations/pd-1", answer=DEST),
    case("payments.list_customer_destinations", lambda s: s.payments.list_customer_destinations("cus-1"), "GET",
         "/customers/v1/cus-1/destinations", answer=[DEST]),
    case("payments.list_payment_sources", lambda s: s.payments.list_payment_sources("cus-1"), "GET",
         "/customers/v1/cus-1/payment-sources", answer=[SOURCE]),
    case("payments.get_payment_source", lambda s: s.payments.get_payment_source("cus-1", "ps-1"), "GET",
         "/customers/v1/cus-1/payment-sources/ps-1", answer=SOURCE),
    case("payments.delete_payment_source", lambda s: s.payments.delete_payment_source("cus-1", "ps-1"), "DELETE",
         "/customers/v1/cus-1/payment-sources/ps-1", body={"reason": "USER_REQUESTED"}, answer={}, returns=None),
    case("payments.create_account_on_file_payment", lambda s: s.payments.create_account_on_file_payment(
        "con-1", Decimal("75.00"), channel="MOBILE", reference="Order 7"), "POST", "/payments/account-on-file",
        body={"consent_id": "con-1", "amount": "75.00", "reference": "Order 7", "risk_details": {"channel": "MOBILE"}},
        answer={}),
    # consents, payouts, refunds
    case("consents.get", lambda s: s.consents.get("con-1"), "GET", "/consents/con-1", answer={"consent_id": "c"}),
    case("consents.list", lambda s: s.consents.list(status="ACTIVE"), "GET", "/consents/v1",
         {"page_number": 0, "page_size": 100, "status": "ACTIVE"}, answer={"data": [], "page": {}}),
    case("payouts.list", lambda s: s.payouts.list(), "GET", "/payouts/v1/payments",
         {"page_number": 0, "page_size": 100}, answer={"content": [], "page": {}}),
    case("payouts.get_destination", lambda s: s.payouts.get_destination("pd-1"), "GET",
         "/payouts/v1/payment/destinations/pd-1", answer={"destination_id": "pd-1"}),
    case("refunds.list", lambda s: s.refunds.list(), "GET", "/payouts/refunds", {"size": 100},
         answer={"content": [], "page": {}}),
    case("refunds.process", lambda s: s.refunds.process([{"refund_id": "rf-1", "status": "REJECTED"}]), "PUT",
         "/payouts/refunds", body=[{"refund_id": "rf-1", "status": "REJECTED"}],
         answer=[{"refund_id": "rf-1", "status": "REJECTED"}]),
    # insights
    case("insights.income", lambda s: s.insights.income("ent-1"), "POST", "/insights/v2/income",
         body={"entity_id": "ent-1", "income_type": "ALL"}),
    case("insights.income-type", lambda s: s.insights.income("ent-1", "SALARY"), "POST", "/insights/v2/income",
         body={"entity_id": "ent-1", "income_type": "SALARY"}),
    case("insights.expenses", lambda s: s.insights.expenses("ent-1", async_=True), "GET", "/insights/v2/expenses",
         {"entity_id": "ent-1", "async": "true"}),
    case("insights.cashflows", lambda s: s.insights.cashflows("ent-1", dt.date(2025, 6, 1)), "GET",
         "/insights/v2/assets/cashflows", {"entity_id": "ent-1", "start_date": "2025-06-01", "async": "false"}),
    case("insights.expenses-sync", lambda s: s.insights.expenses("ent-1"), "GET", "/insights/v2/expenses",
         {"entity_id": "ent-1", "async": "false"}),
    case("insights.name_verification", lambda s: s.insights.name_verification("ent-1", "Jane Doe"), "POST",
         "/insights/v1/name-verification", body={"entity_id": "ent-1", "full_name": "Jane Doe", "async": "false"},
         answer={"status": "OK", "match_type": "PERFECT_MATCH"}),
    # verifications
    case("verifications.verify_account", lambda s: s.verifications.verify_account(
        "AE070331234567890123456", country_code="AE", full_name="Jane Doe",
        identifications=[{"type": "EMIRATES_ID", "value": "784-3"}]), "POST", "/verifications/v1/accounts",
        body={"country_code": "AE", "type": "PERSONAL",
              "account_details": {"type": "IBAN", "value": "AE070331234567890123456"},
              "identifications": [{"type": "FULL_NAME", "value": "Jane Doe"},
                                  {"type": "EMIRATES_ID", "value": "784-3"}]},
        answer={"status": "OK", "verifications": {"account_ownership_verified": True}}),
]


@pytest.mark.parametrize(("call", "method", "path", "query", "body", "answer", "expected"), CASES)
def test_endpoint(session: LeanSession, mock: responses.RequestsMock, call: Call, method: str, path: str,
                  query: dict[str, Any], body: Any, answer: Any, expected: Any) -> None:
    match = [matchers.query_param_matcher(query)]
    if body is not None:
        match.append(matchers.json_params_matcher(body, strict_match=True))
    mock.add(method, BASE + path, json=answer, match=match)

    result = call(session)

    assert result == expected  # Lean's JSON as is, unknown fields included
    request = mock.calls[0].request
    assert request.method == method
    assert request.headers["lean-app-token"] == APP_TOKEN
    if body is None:
        assert not request.body
    assert len(mock.calls) == 1


@responses.activate
def test_banks_list_can_repeat_list_parameters(session: LeanSession) -> None:
    responses.get(f"{BASE}/banks/v1/", json=[],
                  match=[matchers.query_param_matcher({"account_types": "PERSONAL", "country_codes": ["ARE", "SAU"]})])
    session.banks.list_style = "repeat"
    session.banks.list(country_codes=("ARE", "SAU"))
    query = "account_types=PERSONAL&country_codes=ARE&country_codes=SAU"
    assert responses.calls[0].request.url == f"{BASE}/banks/v1/?{query}"


@responses.activate
def test_customers_create_without_identifiers_sends_only_the_user_id(session: LeanSession) -> None:
    responses.post(f"{BASE}/customers/v1/", json={"customer_id": "cus-1"},
                   match=[matchers.json_params_matcher({"app_user_id": "u"}, strict_match=True)])
    assert session.customers.create("u") == {"customer_id": "cus-1"}


@responses.activate
def test_entities_delete_reason_in_query_when_configured(session: LeanSession) -> None:
    responses.delete(f"{BASE}/customers/v1/cus-1/entities/ent-1",
                     match=[matchers.query_param_matcher({"reason": "USER_REQUESTED"})])
    session.entities.delete_reason_in = "query"
    session.entities.delete("cus-1", "ent-1")
    assert not responses.calls[0].request.body


@responses.activate
def test_data_v1_prefix_is_configurable(session: LeanSession) -> None:
    responses.post(f"{BASE}/v1/accounts", json=OK)
    responses.get(f"{BASE}/v1/results/res-1", json=OK)
    session.data_v1.prefix = "/v1"
    assert session.data_v1.accounts("ent-1") == OK
    assert session.data_v1.results("res-1") == OK


@responses.activate
def test_payment_source_delete_with_own_reason(session: LeanSession) -> None:
    responses.delete(f"{BASE}/customers/v1/cus-1/payment-sources/ps-1", json={},
                     match=[matchers.json_params_matcher({"reason": "FRAUD"})])
    session.payments.delete_payment_source("cus-1", "ps-1", reason="FRAUD")
    assert len(responses.calls) == 1


# ---------------------------------------------------------------------- path segments and argument checks


@responses.activate
def test_ids_are_encoded_into_one_segment(session: LeanSession) -> None:
    responses.get(f"{BASE}/data/v2/accounts/..%2Fidentity/balances", json=OK)
    responses.get(f"{BASE}/customers/v1/c%2F1/entities/e%3F1", json=ENTITY)
    responses.get(f"{BASE}/payments/v1/intents/pi%231", json=INTENT)
    session.data.balances("ent-1", "../identity")
    session.entities.get("c/1", "e?1")
    session.payments.get_intent("pi#1")
    assert [c.request.path_url.split("?")[0] for c in responses.calls] == [
        "/data/v2/accounts/..%2Fidentity/balances", "/customers/v1/c%2F1/entities/e%3F1", "/payments/v1/intents/pi%231"]


@pytest.mark.parametrize("call", [
    pytest.param(lambda s: s.payments.get_payment(""), id="payment-id-empty"),
    pytest.param(lambda s: s.data.transactions("ent-1", ".."), id="account-id-dotdot"),
    pytest.param(lambda s: s.data.get_refresh("."), id="refresh-id-dot"),
    pytest.param(lambda s: s.payments.delete_payment_source("cus-1", "a\nb"), id="source-id-newline"),
    pytest.param(lambda s: s.entities.list_by_date_range("01/02/2026", "2026-02-01"), id="bad-date"),
    pytest.param(lambda s: s.data.transactions("ent-1", "acc-1", end_date="2026-13-01"), id="bad-month"),
    pytest.param(lambda s: s.verifications.verify_account("AE07", country_code="AE"), id="no-identification"),
    pytest.param(lambda s: s.verifications.verify_account("AE07", country_code="ARE", full_name="J"),
                 id="alpha-3-country"),
    pytest.param(lambda s: s.verifications.verify_account("1", country_code="US", full_name="J",
                                                          account_details_type="BBAN"), id="bad-details-type"),
    pytest.param(lambda s: s.insights.cashflows("ent-1", None), id="cashflows-without-start-date"),
    pytest.param(lambda s: s.customers.get("cus-1", idempotency_kee="x"), id="misspelt-option"),
    pytest.param(lambda s: s.refunds.process([{"refund_id": "r", "status": "MAYBE"}]), id="refund-decision"),
    pytest.param(lambda s: s.refunds.create([{"payment_id": "p", "amount": 1}]), id="refund-missing-fields"),
    pytest.param(lambda s: s.payouts.create([]), id="payout-empty"),
    pytest.param(lambda s: s.payments.create_account_on_file_payment("c", True, channel="MOBILE"), id="aof-bool"),
    pytest.param(lambda s: s.payments.create_account_on_file_payment("c", "ten", channel="MOBILE"), id="aof-text"),
    pytest.param(lambda s: s.payments.create_account_on_file_payment("c", -5, channel="MOBILE"), id="aof-negative"),
    pytest.param(lambda s: s.payments.create_account_on_file_payment("c", float("nan"), channel="MOBILE"),
                 id="aof-nan"),
    pytest.param(lambda s: s.customers.iter_customers(page_size=0), id="page-size-zero"),
])
def test_invalid_arguments_are_refused_before_sending(session: LeanSession, call: Call) -> None:
    with responses.RequestsMock() as mock:
        with pytest.raises(InvalidRequestError):
            call(session)
        assert len(mock.calls) == 0


# ---------------------------------------------------------------------- error mapping


def _error(status: int, code: str) -> dict[str, Any]:
    return {"timestamp": "2026-11-23T10:00:00Z", "status": code, "message": f"{code} happened", "metadata": None}


@responses.activate
def test_unknown_entity_is_not_found(session: LeanSession) -> None:
    responses.get(f"{BASE}/data/v2/accounts", status=404,
                  json={**_error(404, "UNKNOWN_ENTITY"), "results_id": "res-404"})
    with pytest.raises(NotFoundError) as info:
        session.data.accounts("nope")
    assert info.value.status == "UNKNOWN_ENTITY"
    assert info.value.status_code == 404


@responses.activate
def test_unknown_payment_intent_is_not_found(session: LeanSession) -> None:
    responses.get(f"{BASE}/payments/v1/intents/pi-x", status=404, json=_error(404, "UNKNOWN_PAYMENT_INTENT"))
    with pytest.raises(NotFoundError, match="UNKNOWN_PAYMENT_INTENT"):
        session.payments.get_intent("pi-x")


@responses.activate
def test_amount_under_minimum_is_bad_request(session: LeanSession) -> None:
    responses.post(f"{BASE}/payments/v1/intents", status=400, json=_error(400, "AMOUNT_UNDER_MIN_VALUE"))
    with pytest.raises(BadRequestError) as info:
        session.payments.create_intent("cus-1", 1, "AED")
    assert info.value.status == "AMOUNT_UNDER_MIN_VALUE"


@responses.activate
def test_duplicated_refresh_is_rate_limited(session: LeanSession) -> None:
    responses.post(f"{BASE}/data/v2/refreshes", status=429, json=_error(429, "DUPLICATED_REQUEST"),
                   headers={"Retry-After": "60"})
    with pytest.raises(RateLimitError) as info:
        session.data.create_refresh("ent-1")
    assert info.value.status == "DUPLICATED_REQUEST"
    assert info.value.retry_after == 60.0


@responses.activate
def test_refresh_with_expired_consent_is_consent_expired(session: LeanSession) -> None:
    responses.post(f"{BASE}/data/v2/refreshes", status=403, json=_error(403, "CONSENT_EXPIRED"))
    with pytest.raises(ConsentExpiredError) as info:
        session.data.create_refresh("ent-1")
    assert info.value.status_code == 403


@responses.activate
def test_unknown_customer_on_payment_sources(session: LeanSession) -> None:
    responses.get(f"{BASE}/customers/v1/cus-x/payment-sources", status=404, json=_error(404, "UNKNOWN_CUSTOMER"))
    with pytest.raises(NotFoundError):
        session.payments.list_payment_sources("cus-x")


@pytest.mark.parametrize(("url", "method", "call"), [
    pytest.param(f"{BASE}/verifications/v1/accounts", "POST",
                 lambda s: s.verifications.verify_account("AE07", country_code="AE", full_name="J"),
                 id="verify_account"),
    pytest.param(f"{BASE}/insights/v2/income", "POST", lambda s: s.insights.income("ent-1"), id="income"),
    pytest.param(f"{BASE}/insights/v2/expenses", "GET", lambda s: s.insights.expenses("ent-1"), id="expenses"),
    pytest.param(f"{BASE}/insights/v2/assets/cashflows", "GET", lambda s: s.insights.cashflows("ent-1", "2026-01-01"),
                 id="cashflows"),
    pytest.param(f"{BASE}/insights/v1/name-verification", "POST",
                 lambda s: s.insights.name_verification("ent-1", "J"), id="name_verification"),
])
@responses.activate
def test_insights_and_verifications_raise_on_failed(session: LeanSession, url: str, method: str,
                                                    call: Call) -> None:
    responses.add(method, url, json={"status": "FAILED", "results_id": "res-f",
                                     "status_detail": {"granular_status_code": "UNSUPPORTED_BY_BANK"}})
    with pytest.raises(DataFailedError) as info:
        call(session)
    assert info.value.granular_status_code == "UNSUPPORTED_BY_BANK"
    assert info.value.results_id == "res-f"


def test_every_resource_group_is_reachable_and_cached(session: LeanSession) -> None:
    for name in ("banks", "customers", "entities", "data", "data_v1", "payments", "consents", "payouts", "refunds",
                 "insights", "verifications"):
        group = getattr(session, name)
        assert group is getattr(session, name)
        assert BASE in repr(group)


@pytest.mark.parametrize("bad", [None, b"ent-1", 1.5, True])
def test_ids_must_be_text_so_a_missing_one_cannot_change_the_endpoint(session: LeanSession, bad: object) -> None:
    with responses.RequestsMock() as mock:
        with pytest.raises(InvalidRequestError):
            session.entities.delete("cus-1", bad)  # type: ignore[arg-type]
        with pytest.raises(InvalidRequestError):
            session.entities.get("cus-1", bad)  # type: ignore[arg-type]
        with pytest.raises(InvalidRequestError):
            session.customers.get(bad)  # type: ignore[arg-type]
        assert len(mock.calls) == 0


def test_aware_datetimes_become_utc_days() -> None:
    from lean_mtls.resources._params import iso_date

    dubai = dt.timezone(dt.timedelta(hours=4))
    assert iso_date(dt.datetime(2026, 3, 2, 1, 0, tzinfo=dubai), "start_date") == "2026-03-01"
    assert iso_date(dt.datetime(2026, 3, 2, 1, 0), "start_date") == "2026-03-02"  # naive: taken as given
    assert iso_date(dt.date(2026, 3, 2), "start_date") == "2026-03-02"


@pytest.mark.parametrize(("method", "path"), [
    ("credit_obligations", "/insights/v2/liabilities/credit-obligations"),
    ("non_credit_obligations", "/insights/v2/liabilities/non-credit-obligations"),
    ("employment_income", "/insights/v2/income/employment"),
    ("balances", "/insights/v2/assets/balances"),
    ("freelancer_cashflows", "/insights/v2/assets/freelancers/cashflows"),
])
def test_ksa_insights(session: LeanSession, mock: responses.RequestsMock, method: str, path: str) -> None:
    mock.get(f"{BASE}{path}", json={"status": "OK", "insights": {}},
             match=[matchers.query_param_matcher({"entity_id": "ent-1", "start_date": "2025-01-01", "async": "false"}),
                    matchers.header_matcher({"lean-correlation-id": "corr-1"})])
    call = getattr(session.insights, method)
    assert call("ent-1", dt.date(2025, 1, 1), headers={"lean-correlation-id": "corr-1"})["status"] == "OK"


NATIONAL_ID = [{"type": "NATIONAL_ID", "value": "1234567890"}]
UNIFIED = [{"type": "UNIFIED_NUMBER", "value": "7001234567"}]


@pytest.mark.parametrize(("call", "path", "body"), [
    (lambda s: s.verifications.verify_entity("ent-1", NATIONAL_ID), "/verifications/v2/entity",
     {"entity_id": "ent-1", "identifications": NATIONAL_ID}),
    (lambda s: s.verifications.verify_beneficiary_name("SA2810000011100000461309"),
     "/verifications/v2/beneficiary-name", {"iban": "SA2810000011100000461309"}),
    (lambda s: s.verifications.verify_corporate(UNIFIED, language="en"), "/verifications/v1/corporates",
     {"type": "FULL", "language": "en", "identifications": UNIFIED}),
    (lambda s: s.verifications.verify_corporate_managers(UNIFIED, language="ar"),
     "/verifications/v1/corporates/managers", {"identifications": UNIFIED, "language": "ar"}),
    (lambda s: s.verifications.verify_freelancer(NATIONAL_ID), "/verifications/v1/freelancers",
     {"type": "FULL", "identifications": NATIONAL_ID}),
])
def test_ksa_verifications(session: LeanSession, mock: responses.RequestsMock, call: Call, path: str,
                           body: dict[str, Any]) -> None:
    mock.post(f"{BASE}{path}", json={"status": "OK"}, match=[matchers.json_params_matcher(body, strict_match=True)])
    assert call(session) == {"status": "OK"}


def test_ksa_verification_failure_is_a_data_error(session: LeanSession, mock: responses.RequestsMock) -> None:
    mock.post(f"{BASE}/verifications/v1/freelancers", json={
        "status": "FAILED", "status_detail": {"granular_status_code": "GIVEN_INPUT_CANNOT_BE_VERIFIED"}})
    with pytest.raises(DataFailedError) as info:
        session.verifications.verify_freelancer(NATIONAL_ID)
    assert info.value.granular_status_code == "GIVEN_INPUT_CANNOT_BE_VERIFIED"
