"""Lean's own requests replayed through the SDK: the VALUES of Lean's vocabulary
on the wire (issue 9 item 6a, BREAK-9 finding 2).

The name rule of test_conformance_sdk.py cannot see a method that sends the
right names with the wrong enum value (``account_details.type`` always
``IBAN``).  Here each of Lean's request bodies that fixes a value (the body,
every ``body_variants`` entry, and each value Lean's remarks allow in
``body_notes``) is turned into the SDK call a user would make for it; the
body on the wire must carry, at every place Lean's body has a literal value
(``IBAN``/``ACCOUNT_ID``, ``BIC``/``CLEARING_ID``, alpha-2 country codes,
``FULL_NAME``, ``MOBILE``, ``DUPLICATED_PAYMENT``, ...), that same value.
Type markers (``<string>``) are filled with sample values first.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from typing import Any, Callable

import pytest
import responses

from lean_mtls import LeanSession
from lean_mtls.resources._endpoints import by_key, contract_endpoints
from lean_mtls.testing._contract import load_contract

from .conftest import MOCK_BASE

CONTRACT = load_contract()
LEAN = {(e["method"], e["path"]): e for e in CONTRACT["endpoints"]}
Call = Callable[[LeanSession], Any]
SAMPLE: dict[str, Any] = {"<string>": "sample", "<integer>": 100, "<number>": 100.5, "<boolean>": False,
                          "<uuid>": "6b0d549b-6f03-475a-9600-a35a099950d8", "<date>": "2026-01-01"}
#: Sample values where a marker stands for something the SDK checks (amounts, limits).
FILLED: dict[str, Any] = {"amount": "10.00", "period_type": "Month", "max_individual_amount": "500",
                          "max_cumulative_number_of_payments": "10", "max_cumulative_amount_per_period": "1000",
                          "max_cumulative_number_of_payments_per_period": "4"}


def fill(value: Any, key: str = "") -> Any:
    """Lean's body with every type marker replaced by a sample value."""
    if isinstance(value, dict):
        return {k: fill(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, key) for v in value]
    if isinstance(value, str) and value.startswith("<") and value.endswith(">"):
        return FILLED.get(key, SAMPLE.get(value, "sample"))
    return value


def literals(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """``(dotted path, value)`` of each literal (non-marker) leaf of Lean's body."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from literals(v, f"{path}.{k}" if path else k)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from literals(v, f"{path}[{i}]")
    elif not (isinstance(value, str) and value.startswith("<") and value.endswith(">")):
        yield path, value


def at(body: Any, path: str) -> Any:
    """The value at ``path`` (``a.b[0].c``) of ``body``; ``KeyError`` when absent."""
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        body = body[int(part[1:-1])] if part.startswith("[") else body[part]
    return body


# ---------------------------------------------------------------------- Lean's body -> the user's SDK call


def _verify_account(b: dict[str, Any]) -> Call:
    bank = b.get("bank_identifier") or {}
    return lambda s: s.verifications.verify_account(
        b["account_details"]["value"], country_code=b["country_code"], account_type=b["type"],
        account_details_type=b["account_details"]["type"], identifications=b["identifications"],
        bank_identifier=bank.get("value"), bank_identifier_type=bank.get("type"))


def _consent(b: dict[str, Any]) -> Call:
    return lambda s: s.consents.create(
        b["customer_id"], b["destination_account_id"], currency=b["currency"], description=b["description"],
        purpose=b["purpose"], control_parameters=b["control_parameters"],
        government_identifier=b["government_identifier"], reference=b.get("reference"),
        immediate_payment=b.get("immediate_payment"))


def _aof(b: dict[str, Any]) -> Call:
    return lambda s: s.payments.create_account_on_file_payment(
        b["consent_id"], b["amount"], channel=b["risk_details"]["channel"], reference=b.get("reference"),
        creditor_reference=b.get("creditor_reference"))


def _destination(b: dict[str, Any]) -> Call:
    return lambda s: s.payments.create_destination(**b)


def _intent(b: dict[str, Any]) -> Call:
    return lambda s: s.payments.create_intent(
        b["customer_id"], b["amount"], b["currency"], description=b.get("description"),
        payment_destination_id=b.get("payment_destination_id"), purpose_code=b.get("purpose_code"))


REPLAY: dict[str, Callable[[Any], Call]] = {
    "insights.income": lambda b: lambda s: s.insights.income(b["entity_id"], b["income_type"]),
    "verifications.verify_account": _verify_account,
    "payments.create_intent": _intent,
    "consents.create": _consent,
    "payments.create_account_on_file_payment": _aof,
    "payments.delete_payment_source": lambda b: lambda s: s.payments.delete_payment_source("c", "p",
                                                                                           reason=b["reason"]),
    "payments.create_destination": _destination,
    "payouts.create": lambda b: lambda s: s.payouts.create(b["payment_details"]),
    "payouts.create_destinations": lambda b: lambda s: s.payouts.create_destinations(b),
    "refunds.create": lambda b: lambda s: s.refunds.create(b),
    "refunds.process": lambda b: lambda s: s.refunds.process(b),
    "verifications.verify_entity": lambda b: lambda s: s.verifications.verify_entity(b["entity_id"],
                                                                                      b["identifications"]),
    "verifications.verify_beneficiary_name": lambda b: lambda s: s.verifications.verify_beneficiary_name(b["iban"]),
    "verifications.verify_corporate_managers": lambda b: lambda s: s.verifications.verify_corporate_managers(
        b["identifications"], language=b["language"]),
    "verifications.verify_corporate": lambda b: lambda s: s.verifications.verify_corporate(
        b["identifications"], language=b["language"], type=b["type"]),
    "verifications.verify_freelancer": lambda b: lambda s: s.verifications.verify_freelancer(
        b["identifications"], type=b["type"]),
}


def _note_values(note: str) -> list[str]:
    """The values a remark allows: ``"APPROVED or REJECTED"``, ``"Year, Month, Daily"``; [] for other remarks."""
    parts = [p.strip() for p in re.split(r",|\bOR\b|\bor\b", note)]
    return parts if len(parts) > 1 and all(re.fullmatch(r"[A-Za-z_]+", p) for p in parts) else []


def _with_field(body: Any, name: str, value: str) -> Any:
    """``body`` with every field called ``name`` set to ``value``."""
    body = copy.deepcopy(body)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for k in node:
                if k == name:
                    node[k] = value
                else:
                    walk(node[k])
        elif isinstance(node, list):
            for item in node:
                walk(item)
    walk(body)
    return body


def lean_bodies() -> Iterator[tuple[str, str, Any]]:
    """``(endpoint key, label, Lean's body)`` for every body of Lean's requests, every
    variant, and every value a remark allows for a field."""
    for endpoint in contract_endpoints():
        lean = LEAN[(endpoint.method, endpoint.path)]
        if endpoint.body_kind != "json" or lean.get("body") is None:
            continue
        bodies = [lean["body"], *(lean.get("body_variants") or [])]
        for i, body in enumerate(bodies):
            label = body.get("country_code", str(i)) if isinstance(body, dict) else str(i)
            yield endpoint.key, label, body
        for field_name, note in (lean.get("body_notes") or {}).items():
            for value in _note_values(str(note)):
                yield endpoint.key, f"{field_name}={value}", _with_field(lean["body"], field_name, value)


CASES = list(lean_bodies())


def test_every_body_with_lean_s_values_has_a_replay() -> None:
    with_values = {key for key, _, body in CASES if any(True for _ in literals(body))}
    assert with_values <= set(REPLAY), sorted(with_values - set(REPLAY))
    # the remarks' enumerations are replayed too (refund reasons and decisions, consent periods)
    labels = {label for _, label, _ in CASES}
    assert {"reason_code=FRAUDULENT_PAYMENT", "status=REJECTED", "period_type=Daily"} <= labels


@pytest.mark.parametrize(("key", "label", "body"), [c for c in CASES if c[0] in REPLAY],
                         ids=[f"{k}[{label}]" for k, label, _ in CASES if k in REPLAY])
def test_lean_s_values_reach_the_wire(session: LeanSession, key: str, label: str, body: Any) -> None:
    endpoint = by_key(key)
    filled = fill(body)
    answer: Any = {"status": "OK"} if endpoint.data_call else ([] if isinstance(body, list) else {})
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(endpoint.method, re.compile(re.escape(MOCK_BASE) + r"/.*"), json=answer)
        REPLAY[key](filled)(session)
        sent = json.loads(mock.calls[-1].request.body)
    wrong = {}
    for path, value in literals(body):
        try:
            got = at(sent, path)
        except (KeyError, IndexError, TypeError):
            got = "<not sent>"
        if got != value:
            wrong[path] = (value, got)
    assert not wrong, f"{key} [{label}]: Lean's value -> what the SDK sent: {wrong}"
