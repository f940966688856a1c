"""Payments: intents and payments (``/payments/v1/...``), payment destinations, a customer's payment
sources (``/customers/v1/{customer_id}/payment-sources``) and account-on-file payments
(``POST /payments/account-on-file``, Idempotency-Key required; ``/payments/v1/account-on-file`` too).
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from .._backend import Backend
from .._core import (
    PAYMENT_LIMITS,
    PURPOSE_CODES,
    ApiError,
    Call,
    Handler,
    check_uuid,
    invalid,
    is_number,
    missing,
    parse_datetime,
    required,
    slice_page,
)
from .._data import CURRENCY, iban_is_valid, now_iso
from .._server import Reply

__all__ = ["HANDLERS", "amount_of", "destination", "idempotent"]


def number_of(value: Any, name: str) -> float:
    """An amount as Lean's requests send it: a JSON number or a numeric string (account-on-file)."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ApiError(400, "INVALID_AMOUNT", f"'{name}' must be a number, got {value!r}.") from None
    if not is_number(value) or value <= 0:
        raise ApiError(400, "INVALID_AMOUNT", f"'{name}' must be a positive number, got {value!r}.")
    return float(value)


def amount_of(body: Mapping[str, Any], default_currency: str | None = None) -> tuple[float, str]:
    amount, currency = body.get("amount"), body.get("currency") or default_currency
    if amount is None:
        raise missing("amount")
    if currency is None:
        raise missing("currency")
    value = number_of(amount, "amount")
    if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
        raise invalid(f"'currency' must be an ISO 4217 code such as AED, got {currency!r}.")
    low, high = PAYMENT_LIMITS.get(currency, (0.01, float("inf")))
    if value < low:
        raise ApiError(400, "AMOUNT_UNDER_MIN_VALUE", f"The minimum amount is {currency} {low:g}.")
    if value > high:
        raise ApiError(400, "AMOUNT_OVER_MAX_VALUE", f"The maximum amount is {currency} {high:,.0f}.")
    return value, currency


def destination_extras(currency: str, postal_code: str | None = None) -> dict[str, Any]:
    """A destination's fields that only matter outside the UAE or to Lean's payee checks (null here)."""
    return {"currency_iso_code": currency, "owner_type": "BUSINESS", "confirmation_of_payee_status": None,
            "postal_code": postal_code, "ifsc": None, "sort_code": None, "routing_number": None,
            "transit_code": None}


def destination(b: Backend, destination_id: Any) -> dict[str, Any]:
    found = b.state.destinations.get(check_uuid(destination_id, "payment_destination_id"))
    if found is None:
        raise ApiError(404, "UNKNOWN_PAYMENT_DESTINATION",
                       f"Payment destination with id {destination_id} was not found.")
    return found


def create_intent(b: Backend, call: Call) -> Reply:
    body = call.json()
    required(body, "amount", "currency", "customer_id")
    amount, currency = amount_of(body)
    customer_id = b.customer(body["customer_id"])["customer_id"]
    purpose = body.get("purpose_code")
    if purpose is not None and purpose not in PURPOSE_CODES:
        raise invalid(f"'purpose_code' must be one of {', '.join(sorted(PURPOSE_CODES))}.")
    target = destination(b, body.get("payment_destination_id") or b.world.default_destination_id)
    stamp = now_iso()
    intent = {
        "payment_intent_id": b.new_id(),
        "customer_id": customer_id,
        "amount": amount,
        "currency": currency,
        "description": body.get("description"),
        "purpose_code": purpose,
        "payments": [],
        "payment_destination": copy.deepcopy(target),
        "created_at": stamp,
        "updated_at": stamp,
    }
    b.state.intents[intent["payment_intent_id"]] = intent
    b.emit("payment_intent.created", {"intent_id": intent["payment_intent_id"], "amount": amount,
                                      "currency": currency, "status": "INTENT_CREATED",
                                      "reason": intent["description"], "metadata": None})
    return Reply(200, copy.deepcopy(intent))


def list_intents(b: Backend, call: Call) -> Reply:
    number, size = b.paging(call, "page", "size", 20)
    customer_id, status = call.param("customer_id"), call.param("status")
    since, until = parse_datetime(call.param("from"), "from"), parse_datetime(call.param("to"), "to")
    items = []
    for intent in reversed(b.state.intents.values()):
        created = parse_datetime(intent["created_at"], "created_at")
        assert created is not None  # noqa: S101 - always set
        if customer_id and intent["customer_id"] != customer_id:
            continue
        if (since and created < since) or (until and created > until):
            continue
        if status and not any(p["status"] == status for p in intent["payments"]):
            continue
        items.append(intent)
    chunk, page = slice_page(items, number, size)
    return Reply(200, {"data": copy.deepcopy(chunk), "page": page})


def get_intent(b: Backend, call: Call) -> Reply:
    intent = b.state.intents.get(call.args[0])
    if intent is None:
        raise ApiError(404, "UNKNOWN_PAYMENT_INTENT", f"Payment intent with id {call.args[0]} was not found.")
    return Reply(200, copy.deepcopy(intent))


def get_payment(b: Backend, call: Call) -> Reply:
    payment = b.state.payments.get(call.args[0])
    if payment is None:
        raise ApiError(404, "UNKNOWN_PAYMENT", f"Payment with id {call.args[0]} was not found.")
    return Reply(200, copy.deepcopy(payment))


#: Fields Lean's request sends to create a payment destination (P; OpenAPI adds account_number for non-IBAN).
DESTINATION_REQUIRED = ("name", "display_name", "address", "city", "country", "iban", "bank_type",
                        "government_identifier")


def create_destination(b: Backend, call: Call) -> Reply:
    body = call.json()
    required(body, *DESTINATION_REQUIRED)
    if not isinstance(body["country"], str) or not re.fullmatch(r"[A-Za-z]{3}", body["country"]):
        raise invalid("'country' must be an ISO 3166 alpha-3 code such as ARE.")
    identifier = body["government_identifier"]
    if not isinstance(identifier, dict) or not identifier.get("type") or not identifier.get("value"):
        raise invalid("'government_identifier' must be an object with 'type' (e.g. EMIRATES_ID) and 'value'.")
    iban = body["iban"]
    if not isinstance(iban, str) or not iban_is_valid(iban):
        raise ApiError(400, "INVALID_IBAN", f"'{iban}' is not a valid IBAN.")
    customer_id = body.get("customer_id")
    if customer_id is not None:
        b.customer(customer_id)
    created: dict[str, Any] = {
        "id": b.new_id(),
        "customer_id": customer_id,
        **{name: body.get(name) for name in ("name", "display_name", "address", "city", "account_number",
                                             "swift_code", "branch_address", "bank_type")},
        "iban": iban.replace(" ", "").upper(),
        "government_identifier": {"type": identifier["type"], "value": identifier["value"]},
        "country": body["country"].upper(),
        "bank_identifier": body.get("bank_identifier"),
        "currency": body.get("currency") or CURRENCY,
        **destination_extras(body.get("currency") or CURRENCY, body.get("postal_code")),
        "status": "CONFIRMED",
        "default": False,
        "created_at": now_iso(),
    }
    b.state.destinations[created["id"]] = created
    return Reply(200, copy.deepcopy(created))


def list_destinations(b: Backend, call: Call) -> Reply:
    return Reply(200, copy.deepcopy(list(b.state.destinations.values())))


def get_destination(b: Backend, call: Call) -> Reply:
    return Reply(200, copy.deepcopy(destination(b, call.args[0])))


def customer_destinations(b: Backend, call: Call) -> Reply:
    b.customer(call.args[0])
    return Reply(200, copy.deepcopy([d for d in b.state.destinations.values()
                                     if d.get("customer_id") == call.args[0]]))


def _sources(b: Backend, customer_id: str) -> list[dict[str, Any]]:
    b.customer(customer_id)
    return [s for s in b.state.payment_sources.values() if s["customer_id"] == customer_id]


def list_payment_sources(b: Backend, call: Call) -> Reply:
    return Reply(200, copy.deepcopy(_sources(b, call.args[0])))


def _source(b: Backend, call: Call) -> dict[str, Any]:
    for source in _sources(b, call.args[0]):
        if source["id"] == call.args[1]:
            return source
    raise ApiError(404, "UNKNOWN_PAYMENT_SOURCE", f"Payment source with id {call.args[1]} was not found.")


def get_payment_source(b: Backend, call: Call) -> Reply:
    return Reply(200, copy.deepcopy(_source(b, call)))


def delete_payment_source(b: Backend, call: Call) -> Reply:
    source = _source(b, call)  # the body's reason (required, USER_REQUESTED) is checked before routing here
    del b.state.payment_sources[source["id"]]
    return Reply(200, {})


def idempotent(b: Backend, call: Call, kind: str, required_key: bool, make: Callable[[], Any]) -> Reply:
    """Run ``make`` once per ``Idempotency-Key``; a repeated key gets the first answer again."""
    key = call.headers.get("idempotency-key")
    if not key:
        if required_key:
            raise ApiError(400, "MISSING_PARAMETERS", "The 'Idempotency-Key' header is required.")
        return Reply(200, make())
    fingerprint = _fingerprint(call.body)
    stored = b.state.idempotent.get((kind, key))
    if stored is not None:
        if stored[0] != fingerprint:
            # The key names another request: replaying the first answer would tell the caller that
            # this one (another amount, another destination) was done.  FakeLean's choice, as the
            # IETF Idempotency-Key draft (422) and Stripe (400) refuse it; Lean's answer is
            # UNCERTAIN: 409 with Lean's error body, which the SDK raises as ConflictError.
            raise ApiError(409, "IDEMPOTENCY_KEY_REUSED",
                           "This Idempotency-Key was already used with a different request body; "
                           "use a new key for a new request.")
        return Reply(stored[1], copy.deepcopy(stored[2]), {"Idempotent-Replayed": "true"})
    answer = make()
    b.state.idempotent[(kind, key)] = (fingerprint, 200, copy.deepcopy(answer))
    return Reply(200, answer)


def _fingerprint(raw: bytes) -> str:
    """The request body as a value: the same JSON in another key order or spacing is the same request."""
    try:
        text = json.dumps(json.loads(raw), sort_keys=True, separators=(",", ":"))
    except ValueError:
        text = raw.decode("utf-8", "replace")
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _period_start(period_type: str, now: dt.datetime) -> str:
    """The first day (ISO date) of the consent's current period (``period_type`` upper-cased)."""
    day = now.date()
    if period_type.startswith("DA") or period_type == "DAY":
        start = day
    elif period_type.startswith("WEEK"):
        start = day - dt.timedelta(days=day.weekday())
    elif period_type.startswith("MONTH"):
        start = day.replace(day=1)
    else:  # YEAR, YEARLY
        start = day.replace(month=1, day=1)
    return start.isoformat()


def consumption(b: Backend, consent: dict[str, Any]) -> dict[str, Any]:
    """The consent's ``payment_consumption``, derived from the payments made on it (so the balance
    always agrees with them, and a new period starts from zero)."""
    made = [p for p in b.state.aof_payments if p["consent_id"] == consent["id"]]
    start = _period_start(str(consent["control_parameters"].get("period_type") or "MONTH").upper(),
                          dt.datetime.now(dt.timezone.utc))
    current = [p for p in made if p["created_at"][:10] >= start]
    used = {"cumulative_number_of_payments": len(made),
            "cumulative_value_of_payments": round(sum(p["amount"] for p in made), 2),
            "cumulative_number_of_payments_in_current_period": len(current),
            "cumulative_value_of_payments_in_current_period": round(sum(p["amount"] for p in current), 2)}
    consent["payment_consumption"] = used
    return dict(used)


def check_consent_limits(b: Backend, consent: dict[str, Any], amount: float) -> None:
    """Refuse a payment the consent's ``control_parameters`` do not allow: above
    ``max_individual_amount``, or past a cumulative or per-period amount or count.  Lean's error code
    for this is UNCERTAIN: 400 ``CONSENT_LIMIT_EXCEEDED`` with Lean's error body, naming the limit."""
    controls = consent["control_parameters"]
    used = consumption(b, consent)
    checks = (
        ("max_individual_amount", amount),
        ("max_cumulative_amount", used["cumulative_value_of_payments"] + amount),
        ("max_cumulative_number_of_payments", used["cumulative_number_of_payments"] + 1),
        ("max_cumulative_amount_per_period", used["cumulative_value_of_payments_in_current_period"] + amount),
        ("max_cumulative_number_of_payments_per_period",
         used["cumulative_number_of_payments_in_current_period"] + 1),
    )
    for name, value in checks:
        limit = controls.get(name)
        if limit is not None and value > limit + 1e-9:
            raise ApiError(400, "CONSENT_LIMIT_EXCEEDED",
                           f"The payment would exceed the consent's {name} ({limit:g}): {value:g}.")


def account_on_file(b: Backend, call: Call) -> Reply:
    """Lean's body: ``consent_id``, ``amount`` (a string), ``reference``, ``creditor_reference``,
    ``risk_details.channel`` (P); the consent must exist and be authorised."""
    body = call.json()
    required(body, "consent_id", "amount", "risk_details")
    risk = body["risk_details"]
    if not isinstance(risk, dict) or not risk.get("channel"):
        raise missing("risk_details.channel")
    consent = b.state.aof_consents.get(check_uuid(body["consent_id"], "consent_id"))
    if consent is None:
        raise ApiError(404, "UNKNOWN_CONSENT", f"Consent with id {body['consent_id']} was not found.")
    if consent["status"] != "AUTHORIZED":
        raise ApiError(400, "INVALID_CONSENT_STATUS",
                       f"Consent {consent['id']} is {consent['status']}; the customer must authorise it first.")
    amount, currency = amount_of(body, consent["currency"])
    if call.headers.get("idempotency-key") and ("account-on-file", call.headers["idempotency-key"]) \
            not in b.state.idempotent:
        check_consent_limits(b, consent, amount)  # a replayed request was within them the first time

    def make() -> dict[str, Any]:
        stamp = now_iso()
        payment = {
            "payment_id": b.new_id(),
            "status": "ACCEPTED_BY_BANK",
            "amount": amount,
            "currency": currency,
            "customer_id": consent["customer_id"],
            "consent_id": consent["id"],
            "reference": body.get("reference"),
            "creditor_reference": body.get("creditor_reference"),
            "bank_transaction_reference": f"LEAN{b.ids.randrange(10**11, 10**12)}",
            "created_at": stamp,
            "updated_at": stamp,
        }
        b.state.aof_payments.append(copy.deepcopy(payment))
        consumption(b, consent)
        b.emit("payment.created", {"id": payment["payment_id"], "amount": amount, "currency": currency,
                                   "status": payment["status"], "customer_id": consent["customer_id"],
                                   "payment_destination_id": consent["destination_account_id"],
                                   "bank_transaction_reference": payment["bank_transaction_reference"],
                                   "intent_id": None, "reason": payment["reference"], "metadata": None})
        return payment

    return idempotent(b, call, "account-on-file", True, make)


HANDLERS: dict[str, Handler] = {
    "payments.create_intent": create_intent,
    "payments.get_intent": get_intent,
    "payments.get_payment": get_payment,
    "payments.list_intents": list_intents,
    "payments.create_account_on_file_payment": account_on_file,
    "payments.list_payment_sources": list_payment_sources,
    "payments.get_payment_source": get_payment_source,
    "payments.delete_payment_source": delete_payment_source,
    "payments.create_destination": create_destination,
    "payments.list_destinations": list_destinations,
    "payments.get_destination": get_destination,
    "payments.list_customer_destinations": customer_destinations,
}
