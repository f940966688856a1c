"""Payouts (``/payouts/v1/...``: payments from the app's own account, their history and intents, payout
destinations) and refunds (``/payouts/refunds``: list, create, process, reasons).

``POST /payouts/v1/payment`` takes Lean's nested body (``payment_details[]`` with
``account_id``, ``currency`` and ``destination_details[]``) and is de-duplicated on
its ``Idempotency-Key``.  Refund bodies are JSON arrays, as in Lean's requests.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from .._backend import Backend
from .._core import ApiError, Call, Handler, check_uuid, invalid, json_list, missing, one_of, required, slice_page
from .._data import CURRENCY, iso, now_iso
from .._server import Reply
from .payments import idempotent, number_of

__all__ = ["HANDLERS", "new_payout"]

REFUND_REASONS = ("CUSTOMER_REQUEST", "DUPLICATED_PAYMENT", "FRAUDULENT_PAYMENT", "ORDER_CANCELLED")
REFUND_DECISIONS = ("APPROVED", "REJECTED")
PAYOUT_DESTINATION_REQUIRED = ("name", "iban", "display_name", "address", "country", "city")


def _payout_destination(b: Backend, destination_id: Any) -> dict[str, Any]:
    key = check_uuid(destination_id, "payment_destination_id")
    found = b.state.payout_destinations.get(key) or b.state.destinations.get(key)
    if found is None:
        raise ApiError(404, "UNKNOWN_PAYMENT_DESTINATION", f"Payment destination with id {key} was not found.")
    return found


def _payout_target(b: Backend, destination_id: Any) -> dict[str, Any]:
    """A destination a payout may go to: one made with ``POST /payouts/v1/payment/destinations``.  A
    payments destination (``/payments/v1/destinations``) is not one: 404, as for any unknown id."""
    key = check_uuid(destination_id, "payment_destination_id")
    found = b.state.payout_destinations.get(key)
    if found is None:
        raise ApiError(404, "UNKNOWN_PAYMENT_DESTINATION", f"Payout destination with id {key} was not found.")
    return found


def new_payout(b: Backend, account_id: str, target: dict[str, Any], amount: float, currency: str,
               description: str | None, *, when: float | None = None) -> dict[str, Any]:
    """A payout payment (shape of ``GET /payouts/v1/{payment_id}``) and its intent, stored in the state."""
    info = b.world.account(account_id)
    stamp = iso(when) if when is not None else now_iso()
    payment = {
        "id": b.new_id(), "payment_intent_id": b.new_id(), "payment_source_id": b.world.payment_source_id,
        "sender_details": {"account_number": info.account_number if info else None,
                           "iban": info.iban if info else None, "name": b.world.person.full_name},
        "recipient_details": {"account_number": target.get("account_number"), "iban": target.get("iban"),
                              "name": target.get("name")},
        "amount": amount, "currency": currency, "description": description,
        "submission_timestamp": stamp, "initiation_timestamp": stamp, "status": "ACCEPTED_BY_BANK",
        "post_initiation_status": "PROCESSED", "granular_status_code": None, "status_additional_details": None,
        "bank_transaction_reference": f"LEAN{b.ids.randrange(10**11, 10**12)}",
        "destination_id": target["id"], "created_at": stamp, "updated_at": stamp,
        "events": [{"event": "PAYMENT_CREATED", "status": "PENDING_WITH_BANK", "post_initiation_status": None,
                    "published_at": stamp},
                   {"event": "PAYMENT_ACCEPTED", "status": "ACCEPTED_BY_BANK", "post_initiation_status": "PROCESSED",
                    "published_at": stamp}],
    }
    b.state.payout_payments[payment["id"]] = payment
    return payment


def create(b: Backend, call: Call) -> Reply:
    body = call.json()
    details = body.get("payment_details")
    if not isinstance(details, list) or not details:
        raise missing("payment_details")
    planned: list[tuple[str, dict[str, Any], float, str, str | None]] = []
    for group in details:
        if not isinstance(group, dict):
            raise invalid("Each 'payment_details' item must be an object.")
        required(group, "account_id", "currency", "destination_details")
        account_id = check_uuid(group["account_id"], "payment_details[].account_id")
        if b.world.account(account_id) is None:
            raise ApiError(404, "UNKNOWN_ACCOUNT", f"Account with id {account_id} was not found.")
        if group["currency"] != CURRENCY:  # the seeded accounts are all in AED
            raise invalid(f"'payment_details[].currency' must be the account's currency ({CURRENCY}), "
                          f"got {group['currency']!r}.")
        if not isinstance(group["destination_details"], list) or not group["destination_details"]:
            raise missing("payment_details[].destination_details")
        for item in group["destination_details"]:
            if not isinstance(item, dict):
                raise invalid("Each 'destination_details' item must be an object.")
            required(item, "payment_destination_id", "amount")
            planned.append((account_id, _payout_target(b, item["payment_destination_id"]),
                            number_of(item["amount"], "amount"), str(group["currency"]), item.get("description")))

    def make() -> dict[str, Any]:
        made = []
        for account_id, target, amount, currency, description in planned:
            payment = new_payout(b, account_id, target, amount, currency, description)
            b.state.payouts.append({"id": payment["id"], "status": payment["status"], "amount": amount,
                                    "currency": currency, "payment_destination_id": target["id"],
                                    "description": description, "created_at": payment["created_at"]})
            made.append({"payment_intent_id": payment["payment_intent_id"], "initiate_payment_task_id": b.new_id(),
                         "account_number": payment["sender_details"]["account_number"],
                         "iban": payment["sender_details"]["iban"], "bank_identifier": b.world.bank_identifier,
                         "destination_details": {"destination_id": target["id"], "amount": amount,
                                                 "currency": currency, "payment_status": "CREATED",
                                                 "error_message": None,
                                                 "recipient_details": copy.deepcopy(payment["recipient_details"])}})
        return {"end_user_id": b.world.customer_id, "payouts_payment_details": made}

    return idempotent(b, call, "payout", False, make)


def _listed(b: Backend, payment: dict[str, Any]) -> dict[str, Any]:
    target = _payout_destination(b, str(payment["destination_id"]))
    return {"recipient_name": target.get("name"), "recipient_bank_name": target.get("bank_identifier"),
            "recipient_iban": target.get("iban"), "recipient_cool_off_expiry": None,
            "recipient_address": target.get("address"), "recipient_city": target.get("city"),
            "recipient_country": target.get("country"), "description": payment["description"],
            "currency": payment["currency"], "amount": payment["amount"], "created_at": payment["created_at"],
            "updated_at": payment["updated_at"], "payment_intent_id": payment["payment_intent_id"],
            "auto_authorized": True, "pending_manual_authorization": False, "status": payment["status"],
            "post_initiation_status": payment["post_initiation_status"],
            "bank_transaction_reference": payment["bank_transaction_reference"]}


def list_payouts(b: Backend, call: Call) -> Reply:
    number, size = b.paging(call, "page_number", "page_size", 10)
    items = [_listed(b, p) for p in reversed(b.state.payout_payments.values())]
    chunk, page = slice_page(items, number, size)
    return Reply(200, {"content": chunk, "page": page})


def _payment(b: Backend, payment_id: str) -> dict[str, Any]:
    payment = b.state.payout_payments.get(payment_id)
    if payment is None:
        raise ApiError(404, "UNKNOWN_PAYMENT", f"Payout payment with id {payment_id} was not found.")
    return payment


def _shown(payment: dict[str, Any]) -> dict[str, Any]:
    return {k: copy.deepcopy(v) for k, v in payment.items() if k not in {"events", "destination_id", "created_at",
                                                                        "updated_at"}}


def history(b: Backend, call: Call) -> Reply:
    payment = _payment(b, call.args[0])
    chunk, page = slice_page([{"payment_id": payment["id"], "events": copy.deepcopy(payment["events"])}], 0, 10)
    return Reply(200, {"content": chunk, "page": page})


def get(b: Backend, call: Call) -> Reply:
    return Reply(200, _shown(_payment(b, call.args[0])))


def get_intent(b: Backend, call: Call) -> Reply:
    for payment in b.state.payout_payments.values():
        if payment["payment_intent_id"] == call.args[0]:
            target = _payout_destination(b, payment["destination_id"])
            return Reply(200, {"payment_intent_id": payment["payment_intent_id"], "customer_id": b.world.customer_id,
                               "amount": payment["amount"], "currency": payment["currency"],
                               "description": payment["description"], "external_reference": None,
                               "payment": _shown(payment), "payment_destination": copy.deepcopy(target)})
    raise ApiError(404, "UNKNOWN_PAYMENT_INTENT", f"Payout intent with id {call.args[0]} was not found.")


def new_payout_destination(b: Backend, fields: dict[str, Any], *, destination_id: str | None = None) -> dict[str, Any]:
    created: dict[str, Any] = {"id": destination_id or b.new_id(), "status": "CONFIRMED",
                               "short_name": fields.get("display_name"),
               **{k: fields.get(k) for k in ("name", "display_name", "iban", "account_number", "swift_code",
                                             "address", "branch_address", "country", "city", "customer_id",
                                             "currency_iso_code", "postal_code", "bank_identifier")}}
    created["country"] = str(created["country"]).upper()
    created.update(emirate=created["city"] if created["country"] == "ARE" else None, cool_off_expiry=None,
                   ifsc=None, sort_code=None, routing_code=None, transit_code=None)

    b.state.payout_destinations[created["id"]] = created
    return created


def create_destinations(b: Backend, call: Call) -> Reply:
    items = json_list(call)
    for item in items:
        if not isinstance(item, dict):
            raise invalid("Each destination must be an object.")
        required(item, *PAYOUT_DESTINATION_REQUIRED)
        # The format only: Lean's own example request sends an IBAN whose check digits are wrong.
        if not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}", str(item["iban"]).replace(" ", "").upper()):
            raise ApiError(400, "INVALID_IBAN", f"'{item['iban']}' is not an IBAN.")
        if item.get("customer_id") is not None:
            b.customer(item["customer_id"])
    answers = []
    for item in items:
        created = new_payout_destination(b, item)
        answers.append({"add_beneficiary_task_id": b.new_id(), "destination_id": created["id"],
                        "bank_identifier": created["bank_identifier"], "iban": created["iban"],
                        "account_number": created["account_number"], "display_name": created["display_name"],
                        "status": created["status"]})
    return Reply(200, answers)


def get_destination(b: Backend, call: Call) -> Reply:
    found = b.state.payout_destinations.get(call.args[0])
    if found is None:
        raise ApiError(404, "UNKNOWN_PAYMENT_DESTINATION", f"Payout destination {call.args[0]} was not found.")
    return Reply(200, copy.deepcopy(found))


def new_refund(b: Backend, payment: dict[str, Any], amount: float, currency: str, reason: str,
               description: str | None, reference: str | None) -> dict[str, Any]:
    info = b.world.accounts[0]
    refund = {"refund_id": b.new_id(), "payment_id": payment["id"], "status": "CREATED", "amount": amount,
              "currency": currency, "deposit_amount": payment["amount"], "deposit_currency": payment["currency"],
              "reason_code": reason, "description": description, "external_reference": reference,
              "beneficiary": {"name": b.world.person.full_name, "iban": info.iban, "account_id": info.account_id,
                              "city": "Dubai"},
              "created_at": now_iso(), "created_by": b.client_id, "actioned_by": None, "refund_intent_id": None}
    b.state.refunds[refund["refund_id"]] = refund
    return refund


def list_refunds(b: Backend, call: Call) -> Reply:
    number, size = b.paging(call, "page", "size", 10)
    status = (call.param("status") or "").upper()
    items = [copy.deepcopy(r) for r in reversed(b.state.refunds.values()) if not status or r["status"] == status]
    chunk, page = slice_page(items, number, size)
    return Reply(200, {"content": chunk, "page": page})


_CREATED_FIELDS = ("refund_id", "payment_id", "status", "amount", "currency", "reason_code", "description",
                   "external_reference", "beneficiary")


def create_refunds(b: Backend, call: Call) -> Reply:
    items = json_list(call)
    planned = []
    for item in items:
        if not isinstance(item, dict):
            raise invalid("Each refund must be an object.")
        required(item, "payment_id", "amount", "currency", "reason_code")
        payment = b.state.payments.get(check_uuid(item["payment_id"], "payment_id"))
        if payment is None:
            raise ApiError(404, "UNKNOWN_PAYMENT", f"Payment with id {item['payment_id']} was not found.")
        amount = number_of(item["amount"], "amount")
        if item["currency"] != payment["currency"]:
            raise invalid(f"A refund is in the payment's currency ({payment['currency']}), got {item['currency']!r}.")
        if amount > payment["amount"]:
            raise invalid(f"A refund cannot exceed the payment's amount ({payment['amount']:g}).")
        planned.append((payment, amount, str(item["currency"]), one_of(item["reason_code"], "reason_code",
                                                                      REFUND_REASONS), item))
    made = [new_refund(b, payment, amount, currency, reason, item.get("description"), item.get("external_reference"))
            for payment, amount, currency, reason, item in planned]
    return Reply(201, [{k: copy.deepcopy(r[k]) for k in _CREATED_FIELDS} for r in made])


def process_refunds(b: Backend, call: Call) -> Reply:
    items = json_list(call)
    decisions = []
    for item in items:
        if not isinstance(item, dict):
            raise invalid("Each refund decision must be an object.")
        required(item, "refund_id", "status")
        refund = b.state.refunds.get(check_uuid(item["refund_id"], "refund_id"))
        if refund is None:
            raise ApiError(404, "UNKNOWN_REFUND", f"Refund with id {item['refund_id']} was not found.")
        decisions.append((refund, one_of(item["status"], "status", REFUND_DECISIONS)))
    for refund, decision in decisions:
        refund["status"], refund["actioned_by"] = decision, b.client_id
    return Reply(200, [{"refund_id": r["refund_id"], "status": r["status"]} for r, _ in decisions])


def reasons(b: Backend, call: Call) -> Reply:
    """Lean's request has no recorded answer: the reason codes Lean's collection lists (P body notes)."""
    return Reply(200, [{"code": code} for code in REFUND_REASONS])


HANDLERS: dict[str, Handler] = {
    "payouts.create": create,
    "payouts.list": list_payouts,
    "payouts.history": history,
    "payouts.get": get,
    "payouts.get_intent": get_intent,
    "payouts.create_destinations": create_destinations,
    "payouts.get_destination": get_destination,
    "refunds.list": list_refunds,
    "refunds.create": create_refunds,
    "refunds.process": process_refunds,
    "refunds.reasons": reasons,
}
