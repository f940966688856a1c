"""The SDK's requests against Lean's published contract (issue 9, items 6a and 6c).

Generated from the endpoint list (``lean_mtls/resources/_endpoints.py``) and
the vendored contract (``lean_mtls/testing/lean_contract.json``), by
LEAN_CONTRACT.md's request-side rule:

* every query and body name Lean's request sends (not marked ``optional`` in
  Lean's remarks, not a copied-looking parameter) is sent by the SDK method:
  always when the list marks it required, and when the caller gives it
  otherwise (each such contract name is listed in :data:`OPTIONAL_BY_CHOICE`
  with the reason);
* every name the SDK sends is in the contract, or in the endpoint's
  documented optional set (a :class:`Param` whose ``source`` is not ``P``);
* method and path as Lean spells them; an ``Idempotency-Key`` on every call
  whose endpoint's rule is not ``none``.

Each SDK method is called twice and its request captured on the wire (through
``responses``): once with only the required arguments, once with every
optional one.  A list endpoint without a call here, or a method named in the
list that the session does not have, fails :func:`test_every_endpoint_has_a_method`.

Run ``python -m tests.test_conformance_sdk`` for the right / wrong / missing
counts out of Lean's 63 endpoints.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from lean_mtls import LeanSession, webhooks
from lean_mtls.resources._endpoints import ENDPOINTS, Endpoint, by_key, contract_endpoints
from lean_mtls.testing._contract import load_contract

from .conftest import APP_TOKEN, MOCK_BASE
from .test_endpoints import body_names

AUTH_BASE = "https://auth.lean.test"
CLIENT_SECRET = "conformance-client-secret-0001"
CONTRACT = load_contract()
LEAN = {(e["method"], e["path"]): e for e in CONTRACT["endpoints"]}

# ---------------------------------------------------------------------- names on the wire


def _declared(name: str, declared: set[str]) -> bool:
    """``name`` is declared itself, or is an object/list whose members are."""
    return name in declared or any(d.startswith((name + ".", name + "[]")) for d in declared)


def lean_names(endpoint: Endpoint) -> set[str]:
    """Query and body names Lean's own requests send for ``endpoint`` (all variants)."""
    lean = LEAN[(endpoint.method, endpoint.path)]
    shapes = [lean.get("body"), *(lean.get("body_variants") or [])]
    return set(lean["query"]).union(*(body_names(shape) for shape in shapes if shape is not None))


def lean_optional(endpoint: Endpoint) -> set[str]:
    """Names Lean's remarks mark ``optional`` or give a default (the remarks name a
    field by its last segment), with everything inside such a field."""
    notes = LEAN[(endpoint.method, endpoint.path)].get("body_notes") or {}
    marked = {key for key, note in notes.items() if "optional" in str(note).lower() or "default" in str(note).lower()}
    return {name for name in lean_names(endpoint) if marked & set(re.split(r"[.\[\]]+", name))}


#: Contract names the SDK sends only when the caller gives them, and why.
OPTIONAL_BY_CHOICE: dict[tuple[str, str], str] = {
    ("data.list_refreshes", "entity_id"): "a filter: without it the app's refreshes are listed (O)",
    ("verifications.verify_account", "bank_identifier"): "only some countries' examples send it (P variants)",
    ("verifications.verify_account", "bank_identifier.type"): "only some countries' examples send it",
    ("verifications.verify_account", "bank_identifier.value"): "only some countries' examples send it",
    ("payments.create_intent", "payment_destination_id"): "O: without it the app's default destination is paid",
    ("payments.create_intent", "purpose_code"): "O: optional purpose code",
    ("payments.create_account_on_file_payment", "reference"):
        "free text; Lean's remarks on the consent request mark reference optional",
    ("payments.create_account_on_file_payment", "creditor_reference"):
        "free text; Lean's remarks on the consent request mark creditor_reference optional",
    ("payouts.create", "payment_details[].destination_details[].description"): "free text (O)",
    ("refunds.list", "status"): "a filter of the list",
    ("refunds.create", "[].description"): "free text",
    ("refunds.create", "[].external_reference"): "the caller's own reference",
    **{("payouts.create_destinations", f"[].{name}"): "O: optional destination fields (KSA example sends them)"
       for name in ("bank_identifier", "account_number", "swift_code", "branch_address", "customer_id",
                    "currency_iso_code", "postal_code")},
}

# ---------------------------------------------------------------------- wire capture


@dataclass
class Captured:
    method: str
    path: str
    query: dict[str, list[str]]
    body: Any
    headers: dict[str, str]

    @property
    def names(self) -> set[str]:
        return set(self.query) | body_names(self.body)


def _answer(endpoint: Endpoint, path: str) -> Any:
    """An answer that ends any page walk at once and satisfies the data checks."""
    if endpoint.host == "auth":
        return {"access_token": "customer-token-for-conformance", "token_type": "Bearer", "expires_in": 3600,
                "scope": "customer.x"}
    if endpoint.data_call:
        items = endpoint.item_key or "x"
        return {"status": "OK", "results_id": "r", "data": {"type": items, items: [], "page": {"number": 0,
                "total_pages": 1}}, "content": []}
    if endpoint.paging is not None:
        return {endpoint.item_key or "data": [], "page": {"number": 0, "total_pages": 1}}
    return {}


@dataclass
class Wire:
    """Every request the SDK sent, matched to the endpoint it is for."""

    calls: list[Captured] = field(default_factory=list)

    def callback(self, request: Any) -> tuple[int, dict[str, str], str]:
        url = urlsplit(request.url)
        raw = request.body
        if isinstance(raw, bytes):
            raw = raw.decode()
        body: Any = None
        if raw:
            content_type = request.headers.get("Content-Type", "")
            body = dict(parse_qs(raw)) if "form" in content_type else json.loads(raw)
        self.calls.append(Captured(request.method, url.path, parse_qs(url.query, keep_blank_values=True), body,
                                   dict(request.headers)))
        endpoint = endpoint_for(request.method, url.path, url.netloc)
        return 200, {"Content-Type": "application/json"}, json.dumps(_answer(endpoint, url.path))


def _template_regex(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)) + "$")


def endpoint_for(method: str, path: str, netloc: str) -> Endpoint:
    host = "auth" if netloc == urlsplit(AUTH_BASE).netloc else "api"
    matches = [e for e in ENDPOINTS if e.method == method and e.host == host
               and any(_template_regex(p).match(path) for p in (e.path, *e.alt_paths))]
    # The most specific template wins (literal segments over parameters).
    matches.sort(key=lambda e: e.path.count("{"))
    assert matches, f"no endpoint in the list for {method} {path}"
    return matches[0]


@pytest.fixture()
def wire() -> Iterator[Wire]:
    capture = Wire()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for method in ("GET", "POST", "PUT", "DELETE"):
            mock.add_callback(method, re.compile(r"https://(auth\.)?lean\.test/.*"), callback=capture.callback)
        yield capture


@pytest.fixture()
def oauth_session(client_files: Any) -> Iterator[LeanSession]:
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=client_files.ca,
                     base_url=MOCK_BASE, auth_url=AUTH_BASE, client_secret=CLIENT_SECRET, retries=0) as s:
        yield s


# ---------------------------------------------------------------------- the calls

Call = Callable[[LeanSession], Any]
DAY = dt.date(2026, 1, 1)
GOV_ID = {"type": "EMIRATES_ID", "value": "784-1990-1234567-1"}
IDS = [{"type": "NATIONAL_ID", "value": "1000000001"}]


def walk(iterator: Iterator[Any]) -> list[Any]:
    return list(iterator)


@dataclass(frozen=True)
class Case:
    minimal: Call
    full: Call | None = None  # the same as minimal when there is nothing optional


def _dest(**extra: Any) -> Call:
    def call(s: LeanSession) -> Any:
        return s.payments.create_destination(name="Acme", display_name="ACME", iban="AE070331234567890123456",
                                             address="1 Road", city="Dubai", country="ARE", bank_type="RETAIL",
                                             government_identifier=GOV_ID, **extra)
    return call


PAYOUT_DETAILS = [{"account_id": "acc-1", "currency": "AED",
                   "destination_details": [{"payment_destination_id": "pd-1", "amount": 100}]}]
PAYOUT_FULL = [{"account_id": "acc-1", "currency": "AED", "destination_details": [
    {"payment_destination_id": "pd-1", "amount": 100, "description": "Invoice 7", "authorize_payment": False}]}]
PAYOUT_DESTINATION = {"name": "Acme", "iban": "SA0080000000123456789012", "display_name": "ACME", "address": "1 Road",
                      "country": "SAU", "city": "Riyadh"}
PAYOUT_DESTINATION_FULL = {**PAYOUT_DESTINATION, "bank_identifier": "LEAN_SME_MB1_KSA", "account_number": "1",
                           "swift_code": "RJHISARI", "branch_address": "2 Road", "customer_id": "cus-1",
                           "currency_iso_code": "SAR", "postal_code": "12345"}
REFUND = {"payment_id": "pay-1", "amount": 10, "currency": "AED", "reason_code": "DUPLICATED_PAYMENT"}
CONTROL = {"period_type": "Month", "max_individual_amount": "500"}
CONTROL_FULL = {**CONTROL, "max_cumulative_number_of_payments": "10", "max_cumulative_amount_per_period": "1000",
                "max_cumulative_number_of_payments_per_period": "4", "max_cumulative_amount": "5000"}


def _consent(**extra: Any) -> Call:
    def call(s: LeanSession) -> Any:
        return s.consents.create("cus-1", "pd-1", currency="AED", description="Gym", purpose="FIS",
                                 government_identifier=GOV_ID, **extra)
    return call


#: Lean's customer ids are UUIDs (the customer token's scope takes nothing else).
CUSTOMER_1 = "36f6b2d4-0c5e-4a8b-9a0e-5a1b2c3d0475"
CUSTOMER_2 = "8a2f0c51-7d3e-4b19-a6c4-2e9d1f0b7c33"

CASES: dict[str, Case] = {
    "customers.access_token": Case(lambda s: s.customers.access_token(CUSTOMER_1),
                                   lambda s: s.customers.access_token(CUSTOMER_2)),  # CUSTOMER_1's is cached
    "customers.create": Case(lambda s: s.customers.create("user-1"),
                             lambda s: s.customers.create("user-1", [GOV_ID])),
    "customers.list": Case(lambda s: s.customers.list()),
    "customers.iter_customers": Case(lambda s: walk(s.customers.iter_customers())),
    "customers.get_by_app_user_id": Case(lambda s: s.customers.get_by_app_user_id("user-1")),
    "customers.get": Case(lambda s: s.customers.get("cus-1")),
    "customers.update": Case(lambda s: s.customers.update("cus-1", [GOV_ID])),
    "entities.list": Case(lambda s: s.entities.list("cus-1")),
    "entities.get": Case(lambda s: s.entities.get("cus-1", "ent-1")),
    "entities.list_by_date_range": Case(lambda s: s.entities.list_by_date_range(DAY, DAY)),
    "entities.iter_by_date_range": Case(lambda s: walk(s.entities.iter_by_date_range(DAY, DAY))),
    "entities.delete": Case(lambda s: s.entities.delete("cus-1", "ent-1")),
    "data.accounts": Case(lambda s: s.data.accounts("ent-1")),
    "data.iter_accounts": Case(lambda s: walk(s.data.iter_accounts("ent-1"))),
    "data.transactions": Case(lambda s: s.data.transactions("ent-1", "acc-1"),
                              lambda s: s.data.transactions("ent-1", "acc-1", start_date=DAY, end_date=DAY,
                                                            insights=True)),
    "data.iter_transactions": Case(lambda s: walk(s.data.iter_transactions("ent-1", "acc-1"))),
    "data.balances": Case(lambda s: s.data.balances("ent-1", "acc-1")),
    "data.iter_balances": Case(lambda s: walk(s.data.iter_balances("ent-1", "acc-1"))),
    "data.beneficiaries": Case(lambda s: s.data.beneficiaries("ent-1", "acc-1")),
    "data.iter_beneficiaries": Case(lambda s: walk(s.data.iter_beneficiaries("ent-1", "acc-1"))),
    "data.identities": Case(lambda s: s.data.identities("ent-1", "acc-1")),
    "data.iter_identities": Case(lambda s: walk(s.data.iter_identities("ent-1", "acc-1"))),
    "data.direct_debits": Case(lambda s: s.data.direct_debits("ent-1", "acc-1")),
    "data.iter_direct_debits": Case(lambda s: walk(s.data.iter_direct_debits("ent-1", "acc-1"))),
    "data.scheduled_payments": Case(lambda s: s.data.scheduled_payments("ent-1", "acc-1")),
    "data.iter_scheduled_payments": Case(lambda s: walk(s.data.iter_scheduled_payments("ent-1", "acc-1"))),
    "data.standing_orders": Case(lambda s: s.data.standing_orders("ent-1", "acc-1")),
    "data.iter_standing_orders": Case(lambda s: walk(s.data.iter_standing_orders("ent-1", "acc-1"))),
    "data.identity": Case(lambda s: s.data.identity("ent-1")),
    "data.iter_identity": Case(lambda s: walk(s.data.iter_identity("ent-1"))),
    "data.get_refresh": Case(lambda s: s.data.get_refresh("rf-1")),
    "data.create_refresh": Case(lambda s: s.data.create_refresh("ent-1")),
    "data.list_refreshes": Case(lambda s: s.data.list_refreshes(), lambda s: s.data.list_refreshes("ent-1")),
    "data.iter_refreshes": Case(lambda s: walk(s.data.iter_refreshes()), lambda s: walk(s.data.iter_refreshes("e"))),
    "data.results": Case(lambda s: s.data.results("res-1")),
    "data.wait_for_results": Case(lambda s: s.data.wait_for_results("res-1")),
    "data_v1.identity": Case(lambda s: s.data_v1.identity("ent-1"), lambda s: s.data_v1.identity("ent-1", async_=True)),
    "data_v1.accounts": Case(lambda s: s.data_v1.accounts("ent-1"), lambda s: s.data_v1.accounts("ent-1", async_=True)),
    "data_v1.balance": Case(lambda s: s.data_v1.balance("ent-1", "acc-1"),
                            lambda s: s.data_v1.balance("ent-1", "acc-1", async_=False)),
    "data_v1.transactions": Case(lambda s: s.data_v1.transactions("ent-1", "acc-1"),
                                 lambda s: s.data_v1.transactions("ent-1", "acc-1", insights=True, start_date=DAY,
                                                                  end_date=DAY, async_=False)),
    "data_v1.results": Case(lambda s: s.data_v1.results("res-1")),
    "data_v1.wait_for_results": Case(lambda s: s.data_v1.wait_for_results("res-1")),
    "insights.income": Case(lambda s: s.insights.income("ent-1")),
    "insights.expenses": Case(lambda s: s.insights.expenses("ent-1")),
    "insights.cashflows": Case(lambda s: s.insights.cashflows("ent-1", DAY)),
    "insights.credit_obligations": Case(lambda s: s.insights.credit_obligations("ent-1", DAY)),
    "insights.non_credit_obligations": Case(lambda s: s.insights.non_credit_obligations("ent-1", DAY)),
    "insights.employment_income": Case(lambda s: s.insights.employment_income("ent-1", DAY)),
    "insights.balances": Case(lambda s: s.insights.balances("ent-1", DAY)),
    "insights.freelancer_cashflows": Case(lambda s: s.insights.freelancer_cashflows("ent-1", DAY)),
    "insights.name_verification": Case(lambda s: s.insights.name_verification("ent-1", "Jane Doe")),
    "banks.list": Case(lambda s: s.banks.list(),
                       lambda s: s.banks.list("BUSINESS", customer_id="c", bank_type="RETAIL", country_codes=["ARE"],
                                              connection_types="OPEN_BANKING")),
    "verifications.verify_account": Case(
        lambda s: s.verifications.verify_account("AE070331234567890123456", country_code="AE", full_name="J"),
        lambda s: s.verifications.verify_account("123", country_code="BD", full_name="J",
                                                 account_details_type="ACCOUNT_ID", bank_identifier="MTBLBDDH")),
    "verifications.verify_entity": Case(lambda s: s.verifications.verify_entity("ent-1", IDS)),
    "verifications.verify_beneficiary_name": Case(
        lambda s: s.verifications.verify_beneficiary_name("SA2810000011100000461309")),
    "verifications.verify_corporate_managers": Case(
        lambda s: s.verifications.verify_corporate_managers(IDS, language="en")),
    "verifications.verify_corporate": Case(lambda s: s.verifications.verify_corporate(IDS, language="en")),
    "verifications.verify_freelancer": Case(lambda s: s.verifications.verify_freelancer(IDS)),
    "payments.create_intent": Case(lambda s: s.payments.create_intent("cus-1", 100, "AED"),
                                   lambda s: s.payments.create_intent("cus-1", 100, "AED", description="x",
                                                                      payment_destination_id="pd-1",
                                                                      purpose_code="FIS")),
    "payments.get_intent": Case(lambda s: s.payments.get_intent("pi-1")),
    "payments.get_payment": Case(lambda s: s.payments.get_payment("pay-1")),
    "payments.list_intents": Case(lambda s: s.payments.list_intents(),
                                  lambda s: s.payments.list_intents(customer_id="c", from_=DAY, to=DAY, status="S")),
    "payments.iter_intents": Case(lambda s: walk(s.payments.iter_intents())),
    "consents.create": Case(_consent(control_parameters=CONTROL),
                            _consent(control_parameters=CONTROL_FULL, reference="GYM-1",
                                     immediate_payment={"amount": 10, "reference": "r", "creditor_reference": "c"})),
    "payments.create_account_on_file_payment": Case(
        lambda s: s.payments.create_account_on_file_payment("con-1", 10, channel="MOBILE"),
        lambda s: s.payments.create_account_on_file_payment("con-1", 10, channel="MOBILE", reference="r",
                                                            creditor_reference="c")),
    "consents.get": Case(lambda s: s.consents.get("con-1")),
    "consents.balance": Case(lambda s: s.consents.balance("con-1")),
    "consents.history": Case(lambda s: s.consents.history("con-1")),
    "consents.list": Case(lambda s: s.consents.list(), lambda s: s.consents.list(customer_id="c", status="ACTIVE")),
    "consents.iter_consents": Case(lambda s: walk(s.consents.iter_consents())),
    "consents.revoke": Case(lambda s: s.consents.revoke("con-1")),
    "payments.list_payment_sources": Case(lambda s: s.payments.list_payment_sources("cus-1")),
    "payments.get_payment_source": Case(lambda s: s.payments.get_payment_source("cus-1", "ps-1")),
    "payments.delete_payment_source": Case(lambda s: s.payments.delete_payment_source("cus-1", "ps-1")),
    "payments.create_destination": Case(_dest(), _dest(account_number="1", swift_code="S", branch_address="b",
                                                       customer_id="c", bank_identifier="B", currency="AED")),
    "payments.list_destinations": Case(lambda s: s.payments.list_destinations()),
    "payments.get_destination": Case(lambda s: s.payments.get_destination("pd-1")),
    "payments.list_customer_destinations": Case(lambda s: s.payments.list_customer_destinations("cus-1")),
    "payouts.create": Case(lambda s: s.payouts.create(PAYOUT_DETAILS), lambda s: s.payouts.create(PAYOUT_FULL)),
    "payouts.list": Case(lambda s: s.payouts.list(),
                         lambda s: s.payouts.list(amount_min=1, amount_max=9, from_=DAY, to=DAY)),
    "payouts.iter_payouts": Case(lambda s: walk(s.payouts.iter_payouts())),
    "payouts.history": Case(lambda s: s.payouts.history("pay-1")),
    "payouts.get": Case(lambda s: s.payouts.get("pay-1")),
    "payouts.get_intent": Case(lambda s: s.payouts.get_intent("pi-1")),
    "payouts.create_destinations": Case(lambda s: s.payouts.create_destinations([PAYOUT_DESTINATION]),
                                        lambda s: s.payouts.create_destinations([PAYOUT_DESTINATION_FULL])),
    "payouts.get_destination": Case(lambda s: s.payouts.get_destination("pd-1")),
    "refunds.list": Case(lambda s: s.refunds.list(), lambda s: s.refunds.list(status="FAILED", page=1)),
    "refunds.iter_refunds": Case(lambda s: walk(s.refunds.iter_refunds()),
                                 lambda s: walk(s.refunds.iter_refunds(status="FAILED"))),
    "refunds.create": Case(lambda s: s.refunds.create([REFUND]),
                           lambda s: s.refunds.create([{**REFUND, "description": "d", "external_reference": "e"}])),
    "refunds.process": Case(lambda s: s.refunds.process([{"refund_id": "rf-1", "status": "APPROVED"}])),
    "refunds.reasons": Case(lambda s: s.refunds.reasons()),
}

# ---------------------------------------------------------------------- checking one endpoint


def _calls_of(endpoint: Endpoint) -> list[str]:
    return [name for name in endpoint.all_methods() if name in CASES]


def check_requests(endpoint: Endpoint, method_name: str, minimal: Captured, full: Captured) -> list[str]:
    """What is wrong with the two captured requests of ``method_name`` (empty: nothing)."""
    problems: list[str] = []
    for captured in (minimal, full):
        if captured.method != endpoint.method:
            problems.append(f"{method_name} sent {captured.method}, Lean's is {endpoint.method}")
        templates = (endpoint.path, *endpoint.alt_paths)
        if not _template_regex(endpoint.path).match(captured.path):
            problems.append(f"{method_name} sent {captured.path}, Lean's path is {templates[0]}")
    declared = {p.name for p in (*endpoint.query, *endpoint.body)}
    required = {p.name for p in (*endpoint.query, *endpoint.body) if p.required}
    paging = set(endpoint.paging.params(0, 1)) if endpoint.paging and method_name.split(".")[1].startswith("iter_") \
        else set()
    missing_required = {n for n in required - minimal.names if not (paging and n in paging)}
    if missing_required:
        problems.append(f"{method_name} does not always send {sorted(missing_required)}")
    if endpoint.contract:
        copied = {p.name for p in endpoint.query if p.copied}
        wanted = lean_names(endpoint) - copied
        unsent = {n for n in wanted - full.names if not _declared(n, full.names)}
        if unsent:
            problems.append(f"{method_name} cannot send Lean's {sorted(unsent)}")
        allowed = lean_names(endpoint) | {p.name for p in (*endpoint.query, *endpoint.body) if p.source != "P"}
        extra = {n for n in minimal.names | full.names if n not in allowed and not _declared(n, allowed)}
        if extra:
            problems.append(f"{method_name} sends {sorted(extra)}, in neither Lean's request nor a documented source")
    else:
        extra = {n for n in minimal.names | full.names if not _declared(n, declared)}
        if extra:
            problems.append(f"{method_name} sends undeclared {sorted(extra)}")
    if endpoint.idempotency != "none":
        for captured in (minimal, full):
            if not captured.headers.get("Idempotency-Key"):
                problems.append(f"{method_name} sent no Idempotency-Key")
    return problems


def capture(session: LeanSession, wire: Wire, call: Call, endpoint: Endpoint) -> Captured:
    before = len(wire.calls)
    call(session)
    mine = [c for c in wire.calls[before:] if endpoint_for(c.method, c.path,
            urlsplit(AUTH_BASE).netloc if endpoint.host == "auth" else urlsplit(MOCK_BASE).netloc) == endpoint]
    assert mine, f"no request to {endpoint.method} {endpoint.path}"
    return mine[0]


def verdicts(session: LeanSession, oauth: LeanSession, wire: Wire) -> dict[str, list[str]]:
    """``{endpoint key: problems}`` for every endpoint of the list (``["missing"]`` when it has no method)."""
    results: dict[str, list[str]] = {}
    for endpoint in ENDPOINTS:
        names = _calls_of(endpoint)
        if endpoint.key not in CASES or not _has_method(session, endpoint.key):
            results[endpoint.key] = ["missing"]
            continue
        problems: list[str] = []
        for name in names:
            case = CASES[name]
            client = oauth if endpoint.host == "auth" else session
            minimal = capture(client, wire, case.minimal, endpoint)
            full = capture(client, wire, case.full or case.minimal, endpoint)
            problems += check_requests(endpoint, name, minimal, full)
        results[endpoint.key] = problems
    return results


def _has_method(session: LeanSession, name: str) -> bool:
    group, method = name.split(".", 1)
    return callable(getattr(getattr(session, group, None), method, None))


# ---------------------------------------------------------------------- the tests


def test_every_endpoint_has_a_method(session: LeanSession) -> None:
    for endpoint in ENDPOINTS:
        for name in endpoint.all_methods():
            assert _has_method(session, name), f"{endpoint.method} {endpoint.path}: session has no {name}"
            assert name in CASES, f"{name} ({endpoint.method} {endpoint.path}) has no conformance call"
    assert set(CASES) == {name for endpoint in ENDPOINTS for name in endpoint.all_methods()}


def test_contract_names_sent_only_on_request_have_a_reason() -> None:
    for endpoint in contract_endpoints():
        required = {p.name for p in (*endpoint.query, *endpoint.body) if p.required}
        copied = {p.name for p in endpoint.query if p.copied}
        for name in lean_names(endpoint) - copied - lean_optional(endpoint):
            if name in required or any(r.startswith((name + ".", name + "[]")) for r in required):
                continue
            assert (endpoint.key, name) in OPTIONAL_BY_CHOICE, (endpoint.key, name)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.key)
def test_requests_on_the_wire_follow_lean_s_contract(session: LeanSession, oauth_session: LeanSession,
                                                      wire: Wire, endpoint: Endpoint) -> None:
    problems: list[str] = []
    for name in _calls_of(endpoint):
        case = CASES[name]
        client = oauth_session if endpoint.host == "auth" else session
        minimal = capture(client, wire, case.minimal, endpoint)
        full = capture(client, wire, case.full or case.minimal, endpoint)
        problems += check_requests(endpoint, name, minimal, full)
    assert not problems


def test_all_63_contract_endpoints_are_right(session: LeanSession, oauth_session: LeanSession, wire: Wire) -> None:
    results = verdicts(session, oauth_session, wire)
    contract = [e.key for e in contract_endpoints()]
    right = [k for k in contract if not results[k]]
    assert len(contract) == 63
    assert len(right) == 63, {k: results[k] for k in contract if results[k]}


def test_customer_token_request_is_lean_s(oauth_session: LeanSession, wire: Wire) -> None:
    token = oauth_session.customers.access_token(CUSTOMER_1)
    form = wire.calls[-1].body
    assert wire.calls[-1].path == "/oauth2/token"
    assert form["scope"] == [f"customer.{CUSTOMER_1}"] and form["grant_type"] == ["client_credentials"]
    assert token.access_token == "customer-token-for-conformance"
    assert "customer-token-for-conformance" not in repr(token)


# ---------------------------------------------------------------------- typed answers

#: TypedDict -> (endpoint key, where its object is in Lean's answer: dotted keys, ``[]`` for list items).
TYPED_ANSWERS: dict[str, tuple[str, str]] = {
    "Bank": ("banks.list", "[]"),
    "Customer": ("customers.get", ""),
    "CustomerPage": ("customers.list", ""),
    "Entity": ("entities.get", ""),
    "EntityPage": ("entities.list_by_date_range", ""),
    "DataResult": ("data.accounts", ""),
    "Account": ("data.accounts", "data.accounts.[]"),
    "Balance": ("data.balances", "data.balances.[]"),
    "Transaction": ("data.transactions", "data.transactions.[]"),
    "Beneficiary": ("data.beneficiaries", "data.beneficiaries.[]"),
    "Identity": ("data.identity", "data.identities.[]"),
    "DirectDebit": ("data.direct_debits", "data.direct_debits.[]"),
    "ScheduledPayment": ("data.scheduled_payments", "data.scheduled_payments.[]"),
    "StandingOrder": ("data.standing_orders", "data.standing_orders.[]"),
    "Refresh": ("data.get_refresh", ""),
    "RefreshPage": ("data.list_refreshes", ""),
    "PaymentIntent": ("payments.create_intent", ""),
    "PaymentIntentPage": ("payments.list_intents", ""),
    "Payment": ("payments.get_payment", ""),
    "PaymentDestination": ("payments.list_destinations", "[]"),
    "PaymentSource": ("payments.get_payment_source", ""),
    "Consent": ("consents.get", ""),
    "ConsentPage": ("consents.list", ""),
    "ConsentHistory": ("consents.history", ""),
    "Payout": ("payouts.get", ""),
    "PayoutPage": ("payouts.list", ""),
    "PayoutSummary": ("payouts.list", "content.[]"),
    "PayoutCreated": ("payouts.create", ""),
    "PayoutHistory": ("payouts.history", ""),
    "PayoutIntent": ("payouts.get_intent", ""),
    "PayoutDestination": ("payouts.create_destinations", "[]"),
    "Refund": ("refunds.list", "content.[]"),
    "RefundPage": ("refunds.list", ""),
    "InsightResult": ("insights.income", ""),
    "NameVerificationResult": ("insights.name_verification", ""),
    "VerificationResult": ("verifications.verify_account", ""),
    "ManagersVerificationResult": ("verifications.verify_corporate_managers", ""),
}

#: Endpoints whose answers a TypedDict above also describes (same type, other endpoints).
ALSO_TYPED: dict[str, tuple[str, ...]] = {
    "InsightResult": ("insights.expenses", "insights.cashflows", "insights.credit_obligations",
                      "insights.non_credit_obligations", "insights.employment_income", "insights.balances",
                      "insights.freelancer_cashflows"),
    "VerificationResult": ("verifications.verify_entity", "verifications.verify_beneficiary_name",
                           "verifications.verify_corporate", "verifications.verify_freelancer"),
}


def _at(body: Any, where: str) -> Any:
    for part in filter(None, where.split(".")):
        if part == "[]":
            body = body[0] if isinstance(body, list) and body else None
        else:
            body = body.get(part) if isinstance(body, dict) else None
    return body


def _kind(value: Any) -> str | None:
    if value is None:
        return None  # null matches anything (LEAN_CONTRACT.md)
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "list"
    if isinstance(value, bool) or value == "<boolean>":
        return "boolean"
    if isinstance(value, (int, float)) or value in ("<integer>", "<number>"):
        return "number"
    return "string"


def _kinds(annotation: Any) -> set[str]:
    """The JSON kinds a TypedDict field's type admits."""
    import typing

    if annotation is Any:
        return {"object", "list", "boolean", "number", "string"}
    origin = typing.get_origin(annotation)
    if origin is typing.Union:
        return set().union(*(_kinds(arg) for arg in typing.get_args(annotation) if arg is not type(None)))
    base = origin or annotation
    if base is bool:
        return {"boolean"}
    if base in (int, float):
        return {"number"}
    if base is str:
        return {"string"}
    if base is list:
        return {"list"}
    if base is dict or typing.is_typeddict(base):
        return {"object"}
    return {"object", "list", "boolean", "number", "string"}


@pytest.mark.parametrize(("name", "where"), TYPED_ANSWERS.items(), ids=list(TYPED_ANSWERS))
def test_typed_answers_have_lean_s_fields_and_kinds(name: str, where: tuple[str, str]) -> None:
    import typing

    from lean_mtls.resources import types

    hints = typing.get_type_hints(getattr(types, name))
    examples = []
    for key in (where[0], *ALSO_TYPED.get(name, ())):
        endpoint = by_key(key)
        examples += [r["body"] for r in LEAN[(endpoint.method, endpoint.path)]["responses"]
                     if r["status"] is None or 200 <= r["status"] < 300]
    objects = [obj for obj in (_at(body, where[1]) for body in examples) if isinstance(obj, dict)]
    assert objects, f"no 2xx example of {where}"
    for obj in objects:
        for key, value in obj.items():
            assert key in hints, f"{name} lacks Lean's field {key!r}"
            kind = _kind(value)
            assert kind is None or kind in _kinds(hints[key]), f"{name}.{key}: Lean sends a {kind}, typed {hints[key]}"


# ---------------------------------------------------------------------- webhooks (item 6c)

_MARKERS: dict[str, Any] = {"<string>": "text", "<uuid>": "0f8fad5b-d9cb-469f-a165-70867728950e",
                            "<integer>": 42, "<number>": 42.5, "<boolean>": True, "<date>": "2026-01-01",
                            "<date-time>": "2026-01-01T10:00:00Z"}


def materialize(shape: Any) -> Any:
    """A concrete JSON value of Lean's shape (type markers replaced by values)."""
    if isinstance(shape, dict):
        return {key: materialize(value) for key, value in shape.items()}
    if isinstance(shape, list):
        return [materialize(item) for item in shape]
    return _MARKERS.get(shape, shape) if isinstance(shape, str) else shape


SAMPLES = CONTRACT["webhooks"]
SECRET = "whsec-conformance-0001"


def test_there_are_lean_s_11_webhook_samples() -> None:
    assert len(SAMPLES) == 11


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s["file"])
def test_each_lean_webhook_sample_parses_into_its_typed_event(sample: dict[str, Any]) -> None:
    body = json.dumps(materialize(sample["body"])).encode()
    event = webhooks.verify(body, webhooks.sign(body, SECRET), SECRET)
    expected = webhooks.EVENT_TYPES[sample["body"]["type"]]
    assert type(event) is expected
    payload = json.loads(body)["payload"]
    assert event.payload == payload and event.type == sample["body"]["type"]
    assert event.event_id == _MARKERS["<uuid>"] and event.parsed_timestamp is not None
    shortcuts = {name: attr for cls in type(event).__mro__ for name, attr in vars(cls).items()
                 if type(attr).__name__ == "_PayloadText"}
    assert shortcuts, f"{expected.__name__} has no typed shortcut"
    for name, attr in shortcuts.items():
        # A shortcut reads a key Lean sends, and returns its text.
        assert attr.key in payload, f"{expected.__name__}.{name} reads payload.{attr.key}, absent from Lean's sample"
        value = payload[attr.key]
        assert getattr(event, name) == (value if isinstance(value, str) else None)


if __name__ == "__main__":  # pragma: no cover - the report behind the issue note
    import tempfile
    from pathlib import Path

    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("app-1234")
    folder = Path(tempfile.mkdtemp())
    (folder / "c.pem").write_bytes(cert.cert_chain_pems[0].bytes())
    (folder / "k.pem").write_bytes(cert.private_key_pem.bytes())
    ca.cert_pem.write_to_path(str(folder / "ca.pem"))
    files = dict(cert=folder / "c.pem", key=folder / "k.pem", ca=folder / "ca.pem")
    capture_wire = Wire()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock, \
            LeanSession(APP_TOKEN, base_url=MOCK_BASE, retries=0, **files) as plain, \
            LeanSession(APP_TOKEN, base_url=MOCK_BASE, auth_url=AUTH_BASE, client_secret=CLIENT_SECRET, retries=0,
                        **files) as oauth:
        for verb in ("GET", "POST", "PUT", "DELETE"):
            mock.add_callback(verb, re.compile(r"https://(auth\.)?lean\.test/.*"), callback=capture_wire.callback)
        found = verdicts(plain, oauth, capture_wire)
    keys = [e.key for e in contract_endpoints()]
    missing = [k for k in keys if found[k] == ["missing"]]
    wrong = [k for k in keys if found[k] and found[k] != ["missing"]]
    print(f"SDK against Lean's contract: right {len(keys) - len(missing) - len(wrong)}, wrong {len(wrong)}, "
          f"missing {len(missing)} (of {len(keys)})")
    for key in wrong + missing:
        print(f"  {key}: {'; '.join(found[key])}")
    others = [e.key for e in ENDPOINTS if not e.contract]
    print(f"Endpoints beyond the contract: {len(others)}, with problems: "
          f"{[k for k in others if found[k]]}")
    _ = by_key  # re-exported for interactive use
