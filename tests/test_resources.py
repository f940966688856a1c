"""Endpoint wrappers: method, path, query and body (through ``responses``)."""

from __future__ import annotations

import json

import pytest
import responses
from responses import matchers

from lean_mtls import ConflictError, InvalidRequestError, LeanSession, NotFoundError

from .conftest import APP_TOKEN, MOCK_BASE

BASE = MOCK_BASE
CUSTOMER = {"customer_id": "1f9b7c1e-0d3a-4a52-9a7e-2b1d5c6e7f80", "app_user_id": "user-42"}



@responses.activate
def test_banks_list(session: LeanSession) -> None:
    banks = [{"identifier": "LEANMB1", "name": "Lean Mock Bank", "extra_field_from_lean": {"kept": True}}]
    responses.get(f"{BASE}/banks/v1/", json=banks,
                  match=[matchers.query_param_matcher({"account_types": "PERSONAL"})])
    assert session.banks.list() == banks
    call = responses.calls[0].request
    assert call.headers["lean-app-token"] == APP_TOKEN
    assert call.headers["Accept"] == "application/json"


@responses.activate
def test_banks_list_with_account_types(session: LeanSession) -> None:
    responses.get(f"{BASE}/banks/v1/", json=[],
                  match=[matchers.query_param_matcher({"account_types": "BUSINESS"})])
    assert session.banks.list(account_types="BUSINESS") == []


@responses.activate
def test_customers_create(session: LeanSession) -> None:
    responses.post(f"{BASE}/customers/v1/", json=CUSTOMER,
                   match=[matchers.json_params_matcher({"app_user_id": "user-42"})])
    assert session.customers.create("user-42") == CUSTOMER
    assert responses.calls[0].request.headers["Content-Type"] == "application/json"


@responses.activate
def test_customers_create_conflict(session: LeanSession) -> None:
    responses.post(f"{BASE}/customers/v1/", status=409, json={
        "timestamp": "2026-11-23T10:00:00Z", "status": "CUSTOMER_ALREADY_EXISTS",
        "message": "Customer with app_user_id user-42 already exists", "metadata": None})
    with pytest.raises(ConflictError) as info:
        session.customers.create("user-42")
    assert info.value.status == "CUSTOMER_ALREADY_EXISTS"


@responses.activate
def test_customers_get(session: LeanSession) -> None:
    responses.get(f"{BASE}/customers/v1/{CUSTOMER['customer_id']}", json=CUSTOMER)
    assert session.customers.get(CUSTOMER["customer_id"]) == CUSTOMER


@responses.activate
def test_customers_get_unknown(session: LeanSession) -> None:
    responses.get(f"{BASE}/customers/v1/nope", status=404,
                  json={"status": "UNKNOWN_CUSTOMER", "message": "no such customer"})
    with pytest.raises(NotFoundError, match="UNKNOWN_CUSTOMER"):
        session.customers.get("nope")


@responses.activate
def test_customers_get_by_app_user_id_is_percent_encoded(session: LeanSession) -> None:
    responses.get(f"{BASE}/customers/v1/app-user-id/a%2Fb%20c%3F%23", json=CUSTOMER)
    assert session.customers.get_by_app_user_id("a/b c?#") == CUSTOMER
    assert responses.calls[0].request.url == f"{BASE}/customers/v1/app-user-id/a%2Fb%20c%3F%23"


@pytest.mark.parametrize("bad", ["", ".", "..", "a\nb"])
def test_path_parameters_cannot_escape_their_segment(session: LeanSession, bad: str) -> None:
    with responses.RequestsMock() as mock:  # any request reaching the transport fails the test
        with pytest.raises(InvalidRequestError):
            session.customers.get(bad)
        assert len(mock.calls) == 0


@responses.activate
def test_dot_dot_inside_a_value_stays_in_its_segment(session: LeanSession) -> None:
    responses.get(f"{BASE}/customers/v1/..%2F..%2Fbanks", json=CUSTOMER)
    session.customers.get("../../banks")
    assert responses.calls[0].request.url == f"{BASE}/customers/v1/..%2F..%2Fbanks"


def test_resource_groups_are_cached_per_session(session: LeanSession) -> None:
    assert session.banks is session.banks
    assert session.customers is session.customers
    assert json.dumps(repr(session.banks))
