"""BREAK-9, emulator side: FakeLean refuses what Lean refuses (UUID spellings,
wrong bodies, reused idempotency keys, account-on-file consent limits), over
real mutual TLS with plain ``requests`` and through the SDK."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from lean_mtls import BadRequestError, ConflictError, LeanSession
from lean_mtls.testing import FakeLean


@pytest.fixture(scope="module")
def lean() -> Iterator[FakeLean]:
    with FakeLean(transactions=50) as server:
        yield server


@pytest.fixture()
def fresh(lean: FakeLean) -> FakeLean:
    lean.reset()
    return lean


@pytest.fixture()
def http(lean: FakeLean) -> Iterator[requests.Session]:
    with requests.Session() as s:
        s.trust_env = False  # this machine's REQUESTS_CA_BUNDLE would replace verify (see the README)
        s.verify = str(lean.ca_file)
        s.cert = (str(lean.cert_file), str(lean.key_file))
        s.headers["lean-app-token"] = lean.app_token
        yield s


@pytest.fixture()
def session(fresh: FakeLean) -> Iterator[LeanSession]:
    with fresh.session() as s:
        yield s


def send(lean: FakeLean, http: requests.Session, method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
    response = http.request(method, lean.url + path, **kwargs)
    return response.status_code, (response.json() if response.content else None)


# ---------------------------------------------------------------------- 8: UUIDs


def _spellings(good: str) -> dict[str, str]:
    return {"hyphenless": good.replace("-", ""), "braces": "{" + good + "}", "urn": f"urn:uuid:{good}",
            "spaces": f" {good} ", "short": good[:-1], "long": good + "0", "bad hex": "g" + good[1:],
            "moved hyphens": good[:7] + "-" + good[7] + good[9:]}


@pytest.mark.parametrize("form", list(_spellings("6b0d549b-6f03-475a-9600-a35a099950d8")))
def test_only_the_canonical_uuid_spelling_is_an_id(fresh: FakeLean, http: requests.Session, form: str) -> None:
    ids = fresh.seeded_ids
    entity, account = _spellings(ids["entity_id"])[form], _spellings(ids["account_id"])[form]
    customer = _spellings(ids["customer_id"])[form]
    cases = [("GET", "/data/v2/accounts", {"params": {"entity_id": entity, "page": 0, "size": 5}}),
             ("GET", f"/data/v2/accounts/{account}/balances",
              {"params": {"entity_id": ids["entity_id"], "page": 0, "size": 5}}),
             ("POST", "/data/v2/refreshes", {"json": {"entity_id": entity}}),
             ("GET", f"/customers/v1/{customer}", {})]
    for method, path, kwargs in cases:
        status, body = send(fresh, http, method, path.replace(" ", "%20"), **kwargs)
        assert (status, body["status"]) == (400, "INVALID_PARAMETERS"), (method, path, body)


@pytest.mark.parametrize("case", [str.upper, str.lower, lambda s: s[:9] + s[9:].upper()])
def test_ids_are_found_in_any_letter_case(fresh: FakeLean, http: requests.Session, case: Any) -> None:
    ids = fresh.seeded_ids
    status, body = send(fresh, http, "GET", "/data/v2/accounts",
                        params={"entity_id": case(ids["entity_id"]), "page": 0, "size": 5})
    assert status == 200 and body["status"] == "OK"
    status, body = send(fresh, http, "GET", f"/data/v2/accounts/{case(ids['account_id'])}/balances",
                        params={"entity_id": case(ids["entity_id"]), "page": 0, "size": 5})
    assert status == 200 and body["status"] == "OK"
    status, body = send(fresh, http, "GET", f"/customers/v1/{case(ids['customer_id'])}")
    assert status == 200 and body["customer_id"] == ids["customer_id"]
    status, _ = send(fresh, http, "GET", f"/consents/{case(ids['consent_id'])}")
    assert status == 200


# ---------------------------------------------------------------------- 7: wrong bodies


def _payout(ids: dict[str, str], **change: Any) -> list[dict[str, Any]]:
    detail = {"payment_destination_id": ids["payout_destination_id"], "amount": 100, **change.pop("detail", {})}
    return [{"account_id": ids["account_id"], "currency": "AED", "destination_details": [detail], **change}]


WRONG: dict[str, tuple[str, str, Any, int, str]] = {
    # (method, path template, body (a function of the seeded ids), HTTP status, Lean's status)
    "payout currency ZZZ": ("POST", "/payouts/v1/payment", lambda i: {"payment_details": _payout(i, currency="ZZZ")},
                            400, "INVALID_PARAMETERS"),
    "payout currency lower-case": ("POST", "/payouts/v1/payment",
                                   lambda i: {"payment_details": _payout(i, currency="aed")}, 400,
                                   "INVALID_PARAMETERS"),
    "payout currency not the account's": ("POST", "/payouts/v1/payment",
                                          lambda i: {"payment_details": _payout(i, currency="USD")}, 400,
                                          "INVALID_PARAMETERS"),
    "payout to a payments destination": ("POST", "/payouts/v1/payment", lambda i: {"payment_details": _payout(
        i, detail={"payment_destination_id": i["destination_id"]})}, 404, "UNKNOWN_PAYMENT_DESTINATION"),
    "payout destination_details an object": ("POST", "/payouts/v1/payment", lambda i: {"payment_details": [
        {"account_id": i["account_id"], "currency": "AED", "destination_details": {}}]}, 400, "INVALID_PARAMETERS"),
    "refund in another currency": ("POST", "/payouts/refunds", lambda i: [
        {"payment_id": i["payment_id"], "amount": 1, "currency": "USD", "reason_code": "CUSTOMER_REQUEST"}],
        400, "INVALID_PARAMETERS"),
    "refund currency unknown": ("POST", "/payouts/refunds", lambda i: [
        {"payment_id": i["payment_id"], "amount": 1, "currency": "XXX", "reason_code": "CUSTOMER_REQUEST"}],
        400, "INVALID_PARAMETERS"),
    "refund decision outside the remark": ("PUT", "/payouts/refunds", lambda i: [
        {"refund_id": i["refund_id"], "status": "MAYBE"}], 400, "INVALID_PARAMETERS"),
    "aof channel": ("POST", "/payments/account-on-file", lambda i: {
        "consent_id": i["consent_id"], "amount": "10.00", "risk_details": {"channel": "CARRIER_PIGEON"}},
        400, "INVALID_PARAMETERS"),
    "aof risk_details a string": ("POST", "/payments/account-on-file", lambda i: {
        "consent_id": i["consent_id"], "amount": "10.00", "risk_details": "MOBILE"}, 400, "INVALID_PARAMETERS"),
    "consent period_type": ("POST", "/consents/account-on-file", lambda i: {
        "customer_id": i["customer_id"], "destination_account_id": i["destination_id"], "currency": "AED",
        "description": "d", "purpose": "FIS", "control_parameters": {"period_type": "Fortnight",
                                                                     "max_individual_amount": "10"},
        "government_identifier": {"type": "EMIRATES_ID", "value": "784-1990-1234567-1"}}, 400, "INVALID_PARAMETERS"),
    "consent currency": ("POST", "/consents/account-on-file", lambda i: {
        "customer_id": i["customer_id"], "destination_account_id": i["destination_id"], "currency": "DOGE",
        "description": "d", "purpose": "FIS", "control_parameters": {"period_type": "Month",
                                                                     "max_individual_amount": "10"},
        "government_identifier": {"type": "EMIRATES_ID", "value": "784-1990-1234567-1"}}, 400, "INVALID_PARAMETERS"),
    "corporates language": ("POST", "/verifications/v1/corporates", lambda i: {
        "type": "FULL", "language": "klingon", "identifications": [{"type": "UNIFIED_NUMBER", "value": "7"}]},
        400, "INVALID_PARAMETERS"),
    "managers language": ("POST", "/verifications/v1/corporates/managers", lambda i: {
        "language": "xx", "identifications": [{"type": "UNIFIED_NUMBER", "value": "7"}]}, 400, "INVALID_PARAMETERS"),
    "account verification details type": ("POST", "/verifications/v1/accounts", lambda i: {
        "country_code": "AE", "type": "PERSONAL", "account_details": {"type": "IBAN_NUMBER", "value": "AE07"},
        "identifications": [{"type": "FULL_NAME", "value": "J"}]}, 400, "INVALID_PARAMETERS"),
    "account verification bank identifier type": ("POST", "/verifications/v1/accounts", lambda i: {
        "country_code": "IN", "type": "PERSONAL", "account_details": {"type": "ACCOUNT_ID", "value": "1"},
        "bank_identifier": {"type": "IFSC", "value": "ALLA0211480"},
        "identifications": [{"type": "FULL_NAME", "value": "J"}]}, 400, "INVALID_PARAMETERS"),
    "name verification full_name a number": ("POST", "/insights/v1/name-verification", lambda i: {
        "entity_id": i["entity_id"], "full_name": 123, "async": "false"}, 400, "INVALID_PARAMETERS"),
    "name verification full_name a list": ("POST", "/insights/v1/name-verification", lambda i: {
        "entity_id": i["entity_id"], "full_name": ["J"], "async": "false"}, 400, "INVALID_PARAMETERS"),
    "name verification full_name missing": ("POST", "/insights/v1/name-verification", lambda i: {
        "entity_id": i["entity_id"], "async": "false"}, 400, "MISSING_PARAMETERS"),
    "income entity_id a number": ("POST", "/insights/v2/income", lambda i: {"entity_id": 7, "income_type": "ALL"},
                                  400, "INVALID_PARAMETERS"),
    "delete payment source without a body": ("DELETE", "/customers/v1/{customer_id}/payment-sources/"
                                             "{payment_source_id}", lambda i: None, 400, "MISSING_PARAMETERS"),
    "delete payment source, empty object": ("DELETE", "/customers/v1/{customer_id}/payment-sources/"
                                            "{payment_source_id}", lambda i: {}, 400, "MISSING_PARAMETERS"),
    "delete payment source, unknown reason": ("DELETE", "/customers/v1/{customer_id}/payment-sources/"
                                              "{payment_source_id}", lambda i: {"reason": "BOGUS"}, 400,
                                              "INVALID_PARAMETERS"),
    "delete entity without a body": ("DELETE", "/customers/v1/{customer_id}/entities/{entity_id}", lambda i: None,
                                     400, "MISSING_PARAMETERS"),
    "delete entity, unknown reason": ("DELETE", "/customers/v1/{customer_id}/entities/{entity_id}",
                                      lambda i: {"reason": "BOGUS"}, 400, "INVALID_PARAMETERS"),
}


@pytest.mark.parametrize("case", list(WRONG))
def test_wrong_bodies_are_refused_as_lean_does(fresh: FakeLean, http: requests.Session, case: str) -> None:
    method, template, make, status, code = WRONG[case]
    ids = fresh.seeded_ids
    before = (len(fresh.payouts), len(fresh.account_on_file_payments))
    body = make(ids)
    kwargs: dict[str, Any] = {} if body is None else {"data": json.dumps(body),
                                                      "headers": {"Content-Type": "application/json"}}
    got_status, got = send(fresh, http, method, template.format(**ids), headers={"Idempotency-Key": f"k-{case}"},
                           **{k: v for k, v in kwargs.items() if k != "headers"})
    assert (got_status, got["status"]) == (status, code), got
    assert (len(fresh.payouts), len(fresh.account_on_file_payments)) == before  # nothing was done
    if method == "DELETE":  # and the thing is still there
        assert send(fresh, http, "GET", template.format(**ids))[0] == 200


def test_an_entity_deletion_may_give_its_reason_in_the_query(session: LeanSession, fresh: FakeLean) -> None:
    """Lean's OpenAPI files allow the reason in the query or the body (``Entities.delete_reason_in``)."""
    ids = fresh.seeded_ids
    session.entities.delete_reason_in = "query"
    with pytest.raises(BadRequestError) as info:
        session.entities.delete(ids["customer_id"], ids["entity_id"], reason="BOGUS")
    assert info.value.status == "INVALID_PARAMETERS"
    session.entities.delete(ids["customer_id"], ids["entity_id"])  # USER_REQUESTED, in the query
    assert all(e["id"] != ids["entity_id"] for e in session.entities.list(ids["customer_id"]))


def test_lean_s_own_bodies_still_pass(fresh: FakeLean, http: requests.Session) -> None:
    ids = fresh.seeded_ids
    ok = [("DELETE", f"/customers/v1/{ids['customer_id']}/payment-sources/{ids['payment_source_id']}",
           {"reason": "USER_REQUESTED"}),
          ("POST", "/verifications/v1/corporates", {"type": "FULL", "language": "EN",
                                                    "identifications": [{"type": "UNIFIED_NUMBER", "value": "7"}]}),
          ("POST", "/insights/v1/name-verification", {"entity_id": ids["entity_id"], "full_name": "J",
                                                      "async": False}),  # older clients' boolean
          ("POST", "/payouts/v1/payment", {"payment_details": _payout(ids, detail={"amount": "100"})})]
    for method, path, body in ok:
        status, answer = send(fresh, http, method, path, json=body, headers={"Idempotency-Key": path})
        assert status // 100 == 2, (path, answer)


# ---------------------------------------------------------------------- 9: a key reused with another body


def test_a_key_reused_with_another_body_is_refused(session: LeanSession, fresh: FakeLean) -> None:
    ids = fresh.seeded_ids
    before = len(fresh.payouts)
    first = session.payouts.create(_payout(ids), idempotency_key="order-1")
    assert session.payouts.create(_payout(ids), idempotency_key="order-1") == first  # the same request: replayed
    with pytest.raises(ConflictError) as info:
        session.payouts.create(_payout(ids, detail={"amount": 5000}), idempotency_key="order-1")
    assert info.value.status == "IDEMPOTENCY_KEY_REUSED" and info.value.status_code == 409
    assert len(fresh.payouts) == before + 1
    pay = session.payments.create_account_on_file_payment
    made = pay(ids["consent_id"], "100.00", channel="MOBILE", idempotency_key="aof-1")
    assert pay(ids["consent_id"], "100.00", channel="MOBILE", idempotency_key="aof-1") == made
    for other in ({"amount": "999.00"}, {"reference": "another"}):
        with pytest.raises(ConflictError):
            pay(ids["consent_id"], other.get("amount", "100.00"), channel="MOBILE", idempotency_key="aof-1",
                reference=other.get("reference"))


def test_the_same_body_in_another_key_order_is_the_same_request(fresh: FakeLean, http: requests.Session) -> None:
    ids = fresh.seeded_ids
    body = {"consent_id": ids["consent_id"], "amount": "10.00", "risk_details": {"channel": "MOBILE"}}
    one = send(fresh, http, "POST", "/payments/account-on-file", data=json.dumps(body),
               headers={"Idempotency-Key": "same", "Content-Type": "application/json"})
    two = send(fresh, http, "POST", "/payments/account-on-file",
               data=json.dumps(dict(reversed(list(body.items()))), indent=2),
               headers={"Idempotency-Key": "same", "Content-Type": "application/json"})
    assert one == two and one[0] == 200


# ---------------------------------------------------------------------- 4: account-on-file consent limits


def _consent(session: LeanSession, fresh: FakeLean, **controls: Any) -> str:
    ids = fresh.seeded_ids
    consent = session.consents.create(ids["customer_id"], ids["destination_id"], currency="AED", description="Gym",
                                      purpose="FIS", control_parameters={"period_type": "Month", **controls},
                                      government_identifier={"type": "EMIRATES_ID", "value": "784-1990-1234567-1"})
    fresh.authorize_consent(consent["id"])
    return str(consent["id"])


def _limit(session: LeanSession, consent_id: str, amount: str) -> str:
    with pytest.raises(BadRequestError) as info:
        session.payments.create_account_on_file_payment(consent_id, amount, channel="MOBILE")
    assert info.value.status == "CONSENT_LIMIT_EXCEEDED"
    return str(info.value)


def test_a_payment_above_the_individual_limit_is_refused(session: LeanSession, fresh: FakeLean) -> None:
    seeded = fresh.seeded_ids["consent_id"]  # max_individual_amount 5000
    assert "max_individual_amount" in _limit(session, seeded, "999999.00")
    assert "max_individual_amount" in _limit(session, seeded, "5000.01")
    assert session.payments.create_account_on_file_payment(seeded, "5000.00", channel="MOBILE")["status"] \
        == "ACCEPTED_BY_BANK"
    small = _consent(session, fresh, max_individual_amount="100")
    _limit(session, small, "500.00")
    assert session.consents.balance(small)["payment_consumption"]["cumulative_number_of_payments"] == 0


def test_period_and_cumulative_limits_count(session: LeanSession, fresh: FakeLean) -> None:
    by_count = _consent(session, fresh, max_individual_amount="100", max_cumulative_number_of_payments_per_period="2")
    for _ in range(2):
        session.payments.create_account_on_file_payment(by_count, "10.00", channel="MOBILE")
    assert "per_period" in _limit(session, by_count, "10.00")
    by_amount = _consent(session, fresh, max_individual_amount="100", max_cumulative_amount_per_period="150")
    session.payments.create_account_on_file_payment(by_amount, "100.00", channel="MOBILE")
    assert "max_cumulative_amount_per_period" in _limit(session, by_amount, "50.01")
    session.payments.create_account_on_file_payment(by_amount, "50.00", channel="MOBILE")  # exactly the limit
    overall = _consent(session, fresh, max_individual_amount="100", max_cumulative_amount="40",
                       max_cumulative_number_of_payments="5")
    session.payments.create_account_on_file_payment(overall, "30.00", channel="MOBILE")
    assert "max_cumulative_amount" in _limit(session, overall, "10.01")
    few = _consent(session, fresh, max_individual_amount="100", max_cumulative_number_of_payments="1")
    session.payments.create_account_on_file_payment(few, "10.00", channel="MOBILE")
    assert "max_cumulative_number_of_payments" in _limit(session, few, "10.00")


def test_the_balance_agrees_with_the_payments(session: LeanSession, fresh: FakeLean) -> None:
    seeded = fresh.seeded_ids["consent_id"]
    for amount in ("100.00", "250.50"):
        session.payments.create_account_on_file_payment(seeded, amount, channel="MOBILE")
    _limit(session, seeded, "6000.00")  # a refused payment counts for nothing
    used = session.consents.balance(seeded)["payment_consumption"]
    made = [p for p in fresh.account_on_file_payments if p["consent_id"] == seeded]
    assert used["cumulative_number_of_payments"] == len(made) == 2
    assert used["cumulative_value_of_payments"] == pytest.approx(350.5)
    assert used["cumulative_number_of_payments_in_current_period"] == 2
    assert used["cumulative_value_of_payments_in_current_period"] == pytest.approx(350.5)
    assert session.consents.get(seeded)["payment_consumption"] == used


# ---------------------------------------------------------------------- 6: KSA answers from FakeLean's state
# (the shape side, with Lean's example fill-in turned off, is test_conformance_fake.py's
# test_core_answers_are_modelled_whole: an emptied ``total`` or ``monthly_totals: [{}]`` fails it)

KSA_INSIGHTS = ("credit_obligations", "non_credit_obligations", "employment_income", "balances",
                "freelancer_cashflows")


def _currencies(value: Any) -> set[str]:
    if isinstance(value, dict):
        found = {value["currency"]} if isinstance(value.get("currency"), str) else set()
        return found.union(*(_currencies(v) for v in value.values()))
    if isinstance(value, list):
        return set().union(*(_currencies(v) for v in value))
    return set()


@pytest.mark.parametrize("name", KSA_INSIGHTS)
def test_ksa_insights_are_in_the_accounts_currency_without_placeholders(session: LeanSession, fresh: FakeLean,
                                                                       name: str) -> None:
    answer = getattr(session.insights, name)(fresh.entity_id, "2025-01-01", wait=True)
    assert _currencies(answer) <= {"AED"}  # the seeded accounts' currency, never Lean's example's SAR
    assert "FakeLean" not in json.dumps(answer)


def test_ksa_figures_agree_with_the_data_api(session: LeanSession, fresh: FakeLean) -> None:
    entity, account = fresh.entity_id, fresh.account_ids[0]
    closing = next(b for b in session.data.balances(entity, account, wait=True)["data"]["balances"]
                   if b["type"] == "CLOSING_AVAILABLE")["amount"]["amount"]
    balances = session.insights.balances(entity, "2025-01-01", wait=True)["insights"]
    assert balances["total"]["current_balance"]["amount"] == pytest.approx(closing)
    assert balances["monthly_totals"] and all(m["average_balance"]["amount"] is not None
                                              for m in balances["monthly_totals"])
    flows = session.insights.freelancer_cashflows(entity, "2025-01-01", wait=True)["insights"]["total"]
    assert flows["current_balance_amount"]["amount"] == pytest.approx(closing)
    inflows = flows["inflows"]
    periods = {p["period"]: p["total_amount"]["amount"] for p in inflows["periods"]}
    assert 0 < periods["P3M"] <= periods["P6M"] <= periods["P12M"] <= inflows["total_amount"]["amount"]
    assert inflows["transactions_count"] > 0
    credit = session.insights.credit_obligations(entity, "2025-01-01", wait=True)["insights"]
    assert sum(m["credit_cards_spending"]["count"] for m in credit["monthly_totals"]) > 0  # the seeded card
