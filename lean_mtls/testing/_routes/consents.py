"""Account-on-file consents: ``POST /consents/account-on-file`` (also ``/consents/v1/account-on-file``),
``GET /consents/{consent_id}`` (+ ``/balance``, ``/history``), ``GET /consents/v1`` and the revocation
``POST /consents/v1/{consent_id}/revocation`` (Lean's OpenAPI files).

A created consent is ``AWAITING_AUTHORISATION`` until the customer authorises
it in LinkSDK (:meth:`~lean_mtls.testing.FakeLean.authorize_consent`); the
seeded one (``seeded_ids["consent_id"]``) is ``AUTHORIZED``.
"""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from .._backend import Backend
from .._core import PURPOSE_CODES, ApiError, Call, Handler, invalid, missing, page_info, required, slice_page
from .._data import now_iso
from .._server import Reply
from .payments import consumption, destination, number_of

__all__ = ["HANDLERS", "new_consent"]

PERIOD_TYPES = ("DAY", "DAILY", "WEEK", "WEEKLY", "MONTH", "MONTHLY", "YEAR", "YEARLY")
_LIMITS = ("max_individual_amount", "max_cumulative_amount", "max_cumulative_number_of_payments",
           "max_cumulative_amount_per_period", "max_cumulative_number_of_payments_per_period")


def new_consent(b: Backend, customer_id: str, destination_id: str, *, currency: str, purpose: str,
                reference: str | None, description: str | None, controls: dict[str, Any], status: str,
                consent_id: str | None = None) -> dict[str, Any]:
    """A consent in the shape ``GET /consents/{id}`` answers, stored in the state."""
    now = dt.datetime.now(dt.timezone.utc)
    consent: dict[str, Any] = {
        "id": consent_id or b.new_id(), "bank_identifier": None, "application_id": b.client_id,
        "start_date_time": now_iso(),
        "expiration_date_time": (now + dt.timedelta(days=365)).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "customer_id": customer_id, "status": status, "destination_account_id": destination_id,
        "reference": reference, "description": description, "consented_account": None, "currency": currency,
        "purpose": purpose, "payment_purpose": {"code": purpose, "description": description or purpose},
        "control_parameters": {"type": "VariableOnDemand", **controls},
        "payment_consumption": {"cumulative_number_of_payments": 0, "cumulative_value_of_payments": 0.0,
                                "cumulative_number_of_payments_in_current_period": 0,
                                "cumulative_value_of_payments_in_current_period": 0.0},
        "immediate_payment": None,
        "history": [{"id": b.new_id(), "type": "CONSENT_CREATED", "description": "Consent created",
                     "timestamp": now_iso(), "updated_by": "LEAN", "reason": None}],
    }
    b.state.aof_consents[consent["id"]] = consent
    return consent


def _public(consent: dict[str, Any]) -> dict[str, Any]:
    shown = {key: copy.deepcopy(value) for key, value in consent.items() if key != "history"}
    shown["consent_id"] = consent["id"]
    return shown


def _controls(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise missing("control_parameters")
    required(value, "period_type", "max_individual_amount")
    if str(value["period_type"]).upper() not in PERIOD_TYPES:
        raise invalid(f"'control_parameters.period_type' must be one of Year, Month, Daily, got "
                      f"{value['period_type']!r}.")
    controls: dict[str, Any] = {"period_type": str(value["period_type"]).upper()}
    for name in _LIMITS:
        raw = value.get(name)
        controls[name] = None if raw in (None, "") else number_of(raw, f"control_parameters.{name}")
    return controls


def create(b: Backend, call: Call) -> Reply:
    body = call.json()
    required(body, "customer_id", "destination_account_id", "currency", "purpose", "control_parameters")
    customer_id = b.customer(body["customer_id"])["customer_id"]
    target = destination(b, body["destination_account_id"])
    purpose = str(body["purpose"]).upper()
    if purpose not in PURPOSE_CODES:
        raise invalid(f"'purpose' must be one of {', '.join(sorted(PURPOSE_CODES))}.")
    consent = new_consent(b, customer_id, target["id"], currency=str(body["currency"]), purpose=purpose,
                          reference=body.get("reference"), description=body.get("description"),
                          controls=_controls(body["control_parameters"]), status="AWAITING_AUTHORISATION")
    answer = _public(consent)
    answer.pop("consent_id")
    return Reply(200, answer)


def _consent(b: Backend, call: Call) -> dict[str, Any]:
    consent = b.state.aof_consents.get(call.args[0])
    if consent is None:
        raise ApiError(404, "UNKNOWN_CONSENT", f"Consent with id {call.args[0]} was not found.")
    return consent


def get(b: Backend, call: Call) -> Reply:
    consent = _consent(b, call)
    consumption(b, consent)  # counters of the current period, from the payments made
    return Reply(200, _public(consent))


def balance(b: Backend, call: Call) -> Reply:
    """What the consent still allows: Lean's example has no body (UNCERTAIN); the emulator's own shape."""
    consent = _consent(b, call)
    controls, used = consent["control_parameters"], consumption(b, consent)
    limit = controls.get("max_cumulative_amount")
    return Reply(200, {"consent_id": consent["id"], "currency": consent["currency"],
                       "max_individual_amount": controls.get("max_individual_amount"),
                       "remaining_cumulative_amount": None if limit is None
                       else limit - used["cumulative_value_of_payments"],
                       "payment_consumption": copy.deepcopy(used)})


def history(b: Backend, call: Call) -> Reply:
    events = list(reversed(_consent(b, call)["history"]))
    page = page_info(0, max(1, len(events)), len(events))
    page.pop("sort")
    return Reply(200, {"data": copy.deepcopy(events), "page": page})


def list_consents(b: Backend, call: Call) -> Reply:
    number, size = b.paging(call, "page_number", "page_size", 10)
    customer_id = call.param("customer_id")
    items = [_public(c) for c in b.state.aof_consents.values() if not customer_id or c["customer_id"] == customer_id]
    chunk, page = slice_page(items, number, size)
    page["sort"] = ["start_date_time: DESC"]  # Lean's consents page lists its sort orders as strings
    return Reply(200, {"data": chunk, "page": page})


def revoke(b: Backend, call: Call) -> Reply:
    consent = _consent(b, call)
    if consent["status"] == "REVOKED":
        raise ApiError(409, "CONSENT_ALREADY_REVOKED", f"Consent {consent['id']} is already revoked.")
    consent["status"] = "REVOKED"
    consent["history"].append({"id": b.new_id(), "type": "CONSENT_REVOKED", "description": "Consent revoked",
                               "timestamp": now_iso(), "updated_by": "APPLICATION", "reason": None})
    return Reply(200, _public(consent))


HANDLERS: dict[str, Handler] = {
    "consents.create": create,
    "consents.get": get,
    "consents.balance": balance,
    "consents.history": history,
    "consents.list": list_consents,
    "consents.revoke": revoke,
}
