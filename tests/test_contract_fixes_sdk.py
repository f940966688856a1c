"""BREAK-9, SDK side: the caller's idempotency key, PENDING insights and
verifications, option checks at the call, verify_account's bank identifier,
name verification's ``async`` spelling (mocked transport: wrappers and
wire shapes; the FakeLean runs are in test_contract_fixes_fake.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
import responses

from lean_mtls import InvalidRequestError, LeanSession, PendingResult, ResultPendingError
from lean_mtls.resources._endpoints import ENDPOINTS

from .conftest import MOCK_BASE

BASE = MOCK_BASE
PAYOUT = [{"account_id": "a", "currency": "AED",
           "destination_details": [{"payment_destination_id": "d", "amount": 100}]}]
PENDING = {"status": "PENDING", "results_id": "res-7", "message": "Please wait for a webhook or try again later.",
           "data": None}


def _keys(mock: responses.RequestsMock) -> list[list[str]]:
    """Every Idempotency-Key value of each request (all spellings)."""
    return [[v for k, v in call.request.headers.items() if k.lower() == "idempotency-key"] for call in mock.calls]


# ---------------------------------------------------------------------- 1: the caller's key is the key

MONEY: dict[str, tuple[str, str, Callable[..., Any]]] = {
    "payouts.create": ("POST", "/payouts/v1/payment", lambda s, **o: s.payouts.create(PAYOUT, **o)),
    "aof": ("POST", "/payments/account-on-file",
            lambda s, **o: s.payments.create_account_on_file_payment("con-1", "10.00", channel="MOBILE", **o)),
    # not money-moving: a caller's key is still sent as given
    "customers.create": ("POST", "/customers/v1/", lambda s, **o: s.customers.create("u-1", **o)),
    "banks.list": ("GET", "/banks/v1/", lambda s, **o: s.banks.list(**o)),
}


@pytest.mark.parametrize("spelling", ["Idempotency-Key", "idempotency-key", "IDEMPOTENCY-KEY", "iDeMpOtEnCy-KeY"])
@pytest.mark.parametrize("call", list(MONEY))
def test_an_idempotency_key_header_is_the_key_sent(session: LeanSession, mock: responses.RequestsMock,
                                                   call: str, spelling: str) -> None:
    method, path, send = MONEY[call]
    mock.add(method, f"{BASE}{path}", json={})
    mock.add(method, f"{BASE}{path}", json={})
    send(session, headers={spelling: "order-1"})
    send(session, headers={spelling: "order-1"})
    assert _keys(mock) == [["order-1"], ["order-1"]]  # one header, the caller's, never a fresh uuid


@pytest.mark.parametrize("call", list(MONEY))
def test_the_same_key_twice_is_sent_once(session: LeanSession, mock: responses.RequestsMock, call: str) -> None:
    method, path, send = MONEY[call]
    mock.add(method, f"{BASE}{path}", json={})
    send(session, idempotency_key="k-1", headers={"idempotency-key": "k-1", "lean-correlation-id": "c"})
    assert _keys(mock) == [["k-1"]]
    assert mock.calls[0].request.headers["lean-correlation-id"] == "c"


@pytest.mark.parametrize("headers", [{"Idempotency-Key": "B"}, {"idempotency-key": "B"},
                                     {"Idempotency-Key": "A", "IDEMPOTENCY-KEY": "B"}])
@pytest.mark.parametrize("call", list(MONEY))
def test_two_different_keys_are_refused(session: LeanSession, call: str, headers: dict[str, str]) -> None:
    _, _, send = MONEY[call]
    with responses.RequestsMock() as mock:
        with pytest.raises(InvalidRequestError, match="idempotency"):
            send(session, idempotency_key="A", headers=headers)
        assert len(mock.calls) == 0


def test_session_request_honours_a_header_key_in_any_case(session: LeanSession,
                                                          mock: responses.RequestsMock) -> None:
    mock.post(f"{BASE}/payouts/v1/payment", json={})
    mock.post(f"{BASE}/payouts/v1/payment", json={})
    session.request("POST", f"{BASE}/payouts/v1/payment", json={}, idempotency_key="same",
                    headers={"idempotency-key": "same"})
    session.request("POST", f"{BASE}/payouts/v1/payment", json={}, headers={"idempotency-key": "mine"})
    assert _keys(mock) == [["same"], ["mine"]]
    with pytest.raises(InvalidRequestError):
        session.request("POST", f"{BASE}/payouts/v1/payment", json={}, idempotency_key="A",
                        headers={"IDEMPOTENCY-KEY": "B"})


def test_without_a_key_money_still_gets_a_fresh_one_per_call(session: LeanSession,
                                                            mock: responses.RequestsMock) -> None:
    mock.post(f"{BASE}/payouts/v1/payment", json={})
    mock.post(f"{BASE}/payouts/v1/payment", json={})
    session.payouts.create(PAYOUT)
    session.payouts.create(PAYOUT, headers={"lean-correlation-id": "c"})
    (first,), (second,) = _keys(mock)
    assert len(first) == len(second) == 36 and first != second


# ---------------------------------------------------------------------- 10: options of a walk, at the call

def _account_walk(kind: str) -> Callable[..., Any]:
    return lambda s, **o: getattr(s.data, f"iter_{kind}")("e", "a", **o)


WALKS: dict[str, Callable[..., Any]] = {
    "data.iter_transactions": lambda s, **o: s.data.iter_transactions("e", "a", **o),
    "data.iter_accounts": lambda s, **o: s.data.iter_accounts("e", **o),
    **{f"data.iter_{kind}": _account_walk(kind)
       for kind in ("balances", "beneficiaries", "identities", "direct_debits", "scheduled_payments",
                    "standing_orders")},
    "data.iter_identity": lambda s, **o: s.data.iter_identity("e", **o),
    "data.iter_refreshes": lambda s, **o: s.data.iter_refreshes("e", **o),
    "data.export": lambda s, **o: s.data.export("e", **o),
    "customers.iter_customers": lambda s, **o: s.customers.iter_customers(**o),
    "entities.iter_by_date_range": lambda s, **o: s.entities.iter_by_date_range("2026-01-01", "2026-02-01", **o),
    "payments.iter_intents": lambda s, **o: s.payments.iter_intents(**o),
    "consents.iter_consents": lambda s, **o: s.consents.iter_consents(**o),
    "payouts.iter_payouts": lambda s, **o: s.payouts.iter_payouts(**o),
    "refunds.iter_refunds": lambda s, **o: s.refunds.iter_refunds(**o),
}


def test_every_iter_method_is_covered() -> None:
    listed = {m for e in ENDPOINTS for m in e.all_methods() if m.split(".")[1].startswith("iter_")}
    assert listed <= set(WALKS), listed - set(WALKS)


@pytest.mark.parametrize("options", [{"bogus": 1}, {"timeot": 3}, {"headers": ["a"]}, {"idempotency_key": ""},
                                     {"idempotency_key": "one-key"}, {"headers": {"Idempotency-Key": "k"}},
                                     {"headers": {"idempotency-key": "k"}}])
@pytest.mark.parametrize("walk", list(WALKS))
def test_a_walk_refuses_bad_options_at_the_call(session: LeanSession, walk: str, options: dict[str, Any]) -> None:
    with responses.RequestsMock() as mock:
        with pytest.raises(InvalidRequestError):
            WALKS[walk](session, **options)  # not at the first next()
        assert len(mock.calls) == 0


def test_a_walk_still_takes_the_other_options(session: LeanSession, mock: responses.RequestsMock) -> None:
    mock.get(f"{BASE}/customers/v1", json={"data": [{"customer_id": "c"}], "page": {"number": 0, "total_pages": 1}})
    items = list(session.customers.iter_customers(timeout=5, retries=0, headers={"lean-correlation-id": "c-1"}))
    assert items == [{"customer_id": "c"}]
    assert mock.calls[0].request.headers["lean-correlation-id"] == "c-1"
    assert "Idempotency-Key" not in mock.calls[0].request.headers


# ---------------------------------------------------------------------- 10: bank identifier, async spelling


@pytest.mark.parametrize("kind", ["BIC", "CLEARING_ID"])
def test_a_bank_identifier_type_alone_is_refused(session: LeanSession, kind: Any) -> None:
    with responses.RequestsMock() as mock:
        with pytest.raises(InvalidRequestError, match="bank_identifier"):
            session.verifications.verify_account("123", country_code="GB", full_name="J",
                                                 account_details_type="ACCOUNT_ID", bank_identifier_type=kind)
        assert len(mock.calls) == 0


@pytest.mark.parametrize(("kind", "sent"), [(None, "BIC"), ("BIC", "BIC"), ("CLEARING_ID", "CLEARING_ID")])
def test_a_bank_identifier_is_sent_with_its_type(session: LeanSession, mock: responses.RequestsMock,
                                                 kind: Any, sent: str) -> None:
    mock.post(f"{BASE}/verifications/v1/accounts", json={"status": "OK", "verifications": {}})
    extra = {} if kind is None else {"bank_identifier_type": kind}
    session.verifications.verify_account("123", country_code="IN", full_name="J", account_details_type="ACCOUNT_ID",
                                         bank_identifier="ALLA0211480", **extra)
    body = json.loads(mock.calls[0].request.body)
    assert body["bank_identifier"] == {"type": sent, "value": "ALLA0211480"}
    assert body["account_details"]["type"] == "ACCOUNT_ID"


@pytest.mark.parametrize(("async_", "sent"), [(False, "false"), (True, "true")])
def test_name_verification_sends_async_as_lean_s_string(session: LeanSession, mock: responses.RequestsMock,
                                                        async_: bool, sent: str) -> None:
    mock.post(f"{BASE}/insights/v1/name-verification", json={"status": "OK", "data": {}})
    session.insights.name_verification("e", "Jane Doe", async_=async_)
    assert json.loads(mock.calls[0].request.body)["async"] == sent


# ---------------------------------------------------------------------- 3: PENDING insights and verifications

IDS = {"e": "ent-1"}
PENDING_CALLS: dict[str, tuple[str, str, Callable[..., Any]]] = {
    "insights.income": ("POST", "/insights/v2/income", lambda s, **o: s.insights.income("e", **o)),
    "insights.expenses": ("GET", "/insights/v2/expenses", lambda s, **o: s.insights.expenses("e", **o)),
    "insights.cashflows": ("GET", "/insights/v2/assets/cashflows",
                           lambda s, **o: s.insights.cashflows("e", "2026-01-01", **o)),
    "insights.credit_obligations": ("GET", "/insights/v2/liabilities/credit-obligations",
                                    lambda s, **o: s.insights.credit_obligations("e", "2026-01-01", **o)),
    "insights.non_credit_obligations": ("GET", "/insights/v2/liabilities/non-credit-obligations",
                                        lambda s, **o: s.insights.non_credit_obligations("e", "2026-01-01", **o)),
    "insights.employment_income": ("GET", "/insights/v2/income/employment",
                                   lambda s, **o: s.insights.employment_income("e", "2026-01-01", **o)),
    "insights.balances": ("GET", "/insights/v2/assets/balances",
                          lambda s, **o: s.insights.balances("e", "2026-01-01", **o)),
    "insights.freelancer_cashflows": ("GET", "/insights/v2/assets/freelancers/cashflows",
                                      lambda s, **o: s.insights.freelancer_cashflows("e", "2026-01-01", **o)),
    "insights.name_verification": ("POST", "/insights/v1/name-verification",
                                   lambda s, **o: s.insights.name_verification("e", "J", **o)),
    "verifications.verify_account": ("POST", "/verifications/v1/accounts",
                                     lambda s, **o: s.verifications.verify_account("AE07", country_code="AE",
                                                                                    full_name="J", **o)),
    "verifications.verify_entity": ("POST", "/verifications/v2/entity",
                                    lambda s, **o: s.verifications.verify_entity(
                                        "e", [{"type": "NATIONAL_ID", "value": "1"}], **o)),
    "verifications.verify_beneficiary_name": ("POST", "/verifications/v2/beneficiary-name",
                                              lambda s, **o: s.verifications.verify_beneficiary_name("SA28", **o)),
    "verifications.verify_corporate": ("POST", "/verifications/v1/corporates",
                                       lambda s, **o: s.verifications.verify_corporate(
                                           [{"type": "UNIFIED_NUMBER", "value": "7"}], language="en", **o)),
    "verifications.verify_corporate_managers": ("POST", "/verifications/v1/corporates/managers",
                                                lambda s, **o: s.verifications.verify_corporate_managers(
                                                    [{"type": "UNIFIED_NUMBER", "value": "7"}], language="en", **o)),
    "verifications.verify_freelancer": ("POST", "/verifications/v1/freelancers",
                                        lambda s, **o: s.verifications.verify_freelancer(
                                            [{"type": "NATIONAL_ID", "value": "1"}], **o)),
}


def test_every_pending_endpoint_of_the_list_is_covered() -> None:
    """The endpoint list's ``pending=True`` is a promise; each such method is tested below
    (Data API methods are in test_data_status.py)."""
    pending = {e.key for e in ENDPOINTS if e.pending and e.group in ("insights", "verifications")}
    assert pending == set(PENDING_CALLS)
    data_calls = {e.key for e in ENDPOINTS if e.data_call and e.group in ("insights", "verifications")}
    assert data_calls == pending  # none of them hands a PENDING body over as the result


@pytest.mark.parametrize("key", list(PENDING_CALLS))
def test_a_pending_answer_is_a_pending_result(session: LeanSession, mock: responses.RequestsMock, key: str) -> None:
    method, path, call = PENDING_CALLS[key]
    mock.add(method, f"{BASE}{path}", json=PENDING, status=202)
    result = call(session)
    assert isinstance(result, PendingResult) and result.results_id == "res-7"
    with pytest.raises(ResultPendingError, match="wait"):
        result["insights"]


@pytest.mark.parametrize("key", list(PENDING_CALLS))
def test_wait_true_polls_the_results_endpoint(session: LeanSession, mock: responses.RequestsMock, key: str) -> None:
    method, path, call = PENDING_CALLS[key]
    done = {"status": "OK", "results_id": "res-7", "insights": {"total": 1}, "verifications": {}, "data": {}}
    mock.add(method, f"{BASE}{path}", json=PENDING, status=202)
    mock.get(f"{BASE}/data/v2/results/res-7", json=PENDING)
    mock.get(f"{BASE}/data/v2/results/res-7", json=done)
    sleeps: list[float] = []
    resource = getattr(session, key.split(".")[0])
    resource.sleep = sleeps.append
    assert call(session, wait=True, idempotency_key="k-9") == done
    assert len(sleeps) == 1
    polls = [c.request for c in mock.calls[1:]]
    assert [p.method for p in polls] == ["GET", "GET"]
    assert all("Idempotency-Key" not in p.headers for p in polls)  # a poll is a GET: the call's key stays on it


@pytest.mark.parametrize("key", list(PENDING_CALLS))
def test_an_ok_answer_is_returned_as_is(session: LeanSession, mock: responses.RequestsMock, key: str) -> None:
    method, path, call = PENDING_CALLS[key]
    ok = {"status": "OK", "insights": {"a": 1}}
    mock.add(method, f"{BASE}{path}", json=ok)
    assert call(session) == ok and call.__class__ is not PendingResult


# ---------------------------------------------------------------------- deletion reasons


@pytest.mark.parametrize("reason", ["", "user requested", "USER_REQUESTED ", "bogus", None, 7, b"USER_REQUESTED"])
@pytest.mark.parametrize("call", ["entities.delete", "payments.delete_payment_source"])
def test_a_deletion_reason_that_is_not_a_code_is_refused(session: LeanSession, call: str, reason: Any) -> None:
    group, name = call.split(".")
    with responses.RequestsMock() as mock:
        with pytest.raises(InvalidRequestError, match="reason"):
            getattr(getattr(session, group), name)("c", "x", reason=reason)
        assert len(mock.calls) == 0


@pytest.mark.parametrize("where", ["body", "query"])
def test_an_entity_deletion_sends_its_reason_where_configured(session: LeanSession, mock: responses.RequestsMock,
                                                              where: Any) -> None:
    mock.delete(f"{BASE}/customers/v1/c/entities/e", json={})
    session.entities.delete_reason_in = where
    session.entities.delete("c", "e")
    request = mock.calls[0].request
    if where == "body":
        assert json.loads(request.body) == {"reason": "USER_REQUESTED"}
    else:
        assert request.url.endswith("?reason=USER_REQUESTED") and not request.body
