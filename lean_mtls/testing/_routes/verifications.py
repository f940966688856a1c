"""Verifications: account verification (``/verifications/v1/accounts``, UAE and KSA apps) and the KSA ones
(entity ownership, beneficiary name, corporates, corporate managers, freelancers).

Each is a data call (``status``, ``results_id``, ``status_detail``; answers
under ``verifications``): a queued ``set_data_status("FAILED",
granular_status_code="BANK_ISSUE")`` gives Lean's FAILED answer with that code.
Request bodies are checked as Lean documents them: account verification needs
``country_code`` (ISO 3166 alpha-2), ``type``, ``account_details.type``
(``IBAN`` or ``ACCOUNT_ID``) and ``.value``, and ``identifications``; the
optional ``bank_identifier`` is ``BIC`` or ``CLEARING_ID``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

from .._backend import Backend
from .._core import OK_MESSAGE, ApiError, Call, Handler, invalid, missing, name_match, one_of, required
from .._data import iban_is_valid, now_iso
from .._server import Reply

__all__ = ["HANDLERS"]

ACCOUNT_DETAIL_TYPES = ("IBAN", "ACCOUNT_ID")
BANK_IDENTIFIER_TYPES = ("BIC", "CLEARING_ID")
ACCOUNT_HOLDER_TYPES = ("PERSONAL", "BUSINESS")
#: Lean's requests send FULL_NAME, and GIVEN_NAME for the US (P); FAMILY_NAME is its sibling (UNCERTAIN).
NAME_IDENTIFICATIONS = ("FULL_NAME", "GIVEN_NAME", "FAMILY_NAME")
#: Countries whose IBAN check digits the emulator checks (it answers as their banks' confirmation
#: service); Lean's own requests for other countries carry IBANs whose check digits do not add up.
CHECKED_IBAN_COUNTRIES = frozenset({"AE", "SA"})
CORPORATE_TYPES = ("FULL", "BASIC", "CONTRACT", "ADDRESS")
FREELANCER_TYPES = ("FULL", "FULL_LIST", "BASIC")
#: Identification types Lean's KSA requests send.
KSA_IDENTIFICATIONS = ("NATIONAL_ID", "IQAMA", "UNIFIED_NUMBER", "CR_NUMBER", "FREELANCE_LICENSE")
#: Country -> the bank identifier (BIC) the emulator's verification service answers with.
_BANKS = {"AE": ("EBILAEADXXX", "Emirates NBD", "بنك الإمارات دبي الوطني"),
          "SA": ("NCBKSAJE", "Saudi National Bank", "البنك الأهلي السعودي")}


def _bank_name(known: tuple[str, str, str] | None) -> dict[str, str] | None:
    return {"en": known[1], "ar": known[2]} if known is not None else None


def _reply(b: Backend, figures: Callable[[], Any]) -> Reply:
    def body(results_id: str) -> dict[str, Any]:
        return {"status": "OK", "results_id": results_id, "message": OK_MESSAGE, "meta": None,
                "timestamp": now_iso(), "status_detail": None, "verifications": figures()}

    return b.data_reply(body, empty_key="verifications")


def _identifications(body: dict[str, Any], allowed: tuple[str, ...] | None) -> list[dict[str, str]]:
    items = body.get("identifications")
    if not isinstance(items, list) or not items:
        raise missing("identifications")
    for item in items:
        if not isinstance(item, dict) or not item.get("type") or not isinstance(item.get("value"), str):
            raise invalid("Each identification needs a 'type' and a string 'value'.")
        if allowed is not None:
            one_of(item["type"], "identifications[].type", allowed)
    return items


#: Accounts at other banks that the emulator's verification service knows: the IBANs of Lean's own
#: example requests (P), so that Lean's requests are answered as in Lean's examples.
SANDBOX_ACCOUNTS = {"AE420260001015819612801": "Omar Khalid Al Mansoori",
                    "SA2810000011100000461309": "Abdullah Saleh Al Harbi"}


def _owners(b: Backend) -> dict[str, str]:
    owners = dict(SANDBOX_ACCOUNTS)
    owners.update({a.iban: b.world.person.full_name for a in b.world.accounts if a.iban})
    owners.update({str(d.get("iban") or "").replace(" ", "").upper(): str(d.get("name"))
                   for d in b.state.destinations.values() if d.get("iban")})
    return owners


def verify_account(b: Backend, call: Call) -> Reply:
    body = call.json()
    required(body, "country_code", "type", "account_details", "identifications")
    country = str(body["country_code"]).upper()
    if not re.fullmatch(r"[A-Z]{2}", country):
        raise invalid("'country_code' must be an ISO 3166 alpha-2 code such as AE or SA, "
                      f"got {body['country_code']!r}.")
    one_of(body["type"], "type", ACCOUNT_HOLDER_TYPES)
    details = body["account_details"]
    if not isinstance(details, dict):
        raise invalid("'account_details' must be an object with 'type' and 'value'.")
    required(details, "type", "value")
    detail_type = one_of(details["type"], "account_details.type", ACCOUNT_DETAIL_TYPES)
    bank_identifier = body.get("bank_identifier")
    if bank_identifier is not None:
        if not isinstance(bank_identifier, dict) or not bank_identifier.get("value"):
            raise invalid("'bank_identifier' must be an object with 'type' (BIC or CLEARING_ID) and 'value'.")
        one_of(bank_identifier.get("type"), "bank_identifier.type", BANK_IDENTIFIER_TYPES)
    names = [i["value"] for i in _identifications(body, NAME_IDENTIFICATIONS)]
    value = str(details["value"]).replace(" ", "").upper()
    holder: str | None = names[0]
    if detail_type == "IBAN":
        checked = value[:2] in CHECKED_IBAN_COUNTRIES
        if (checked and not iban_is_valid(value)) or not re.fullmatch(r"[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}", value):
            raise ApiError(400, "INVALID_IBAN", f"'{details['value']}' is not a valid IBAN.")
        holder = _owners(b).get(value) if checked else names[0]
        if holder is None and value[:2] == "SA":
            raise ApiError(404, "DATA_NOT_FOUND", "No account was found for this IBAN.")
        if holder is None:
            b.queue_failure("GIVEN_INPUT_CANNOT_BE_VERIFIED", "The bank holding this IBAN did not confirm it.")
    bic = (bank_identifier or {}).get("value") if bank_identifier else None
    known = _BANKS.get(country)

    def figures() -> dict[str, Any]:
        match = [name_match(name, holder or "") for name in names]
        code = bic or (known[0] if known is not None else None)
        identifiers = [{"type": "BIC", "value": code}] if code else None
        return {"account_holder_name": holder, "account_ownership_verified": any(m[0] == "PERFECT_MATCH"
                                                                                 for m in match),
                "account_status": "ACTIVE", "account_currency": None,
                "bank_details": {"bank_identifiers": identifiers, "bank_name": _bank_name(known)}
                if identifiers else None,
                "matching": None, "verification_method": "CONFIRMATION_OF_PAYEE_SERVICE"}

    return _reply(b, figures)


def verify_entity(b: Backend, call: Call) -> Reply:
    body = call.json()
    required(body, "entity_id", "identifications")
    entity = b.entity(body["entity_id"])
    ids = _identifications(body, KSA_IDENTIFICATIONS)
    verified = entity["id"] == b.world.entity_id and any(i["value"] == b.world.person.emirates_id for i in ids)
    return _reply(b, lambda: {
        "entity_ownership_verified": verified, "verification_method": "OPEN_BANKING",
        "ibans": [{"iban": a.iban, "iban_ownership_verified": verified} for a in b.world.accounts if a.iban]})


def verify_beneficiary_name(b: Backend, call: Call) -> Reply:
    body = call.json()
    required(body, "iban")
    iban = str(body["iban"]).replace(" ", "").upper()
    if not iban_is_valid(iban):
        raise ApiError(400, "INVALID_IBAN", f"'{body['iban']}' is not a valid IBAN.")
    holder = _owners(b).get(iban)
    if holder is None:
        raise ApiError(404, "DATA_NOT_FOUND", "No account was found for this IBAN.")
    return _reply(b, lambda: {"beneficiary_name": holder, "account_status": "ACTIVE"})


def _text(en: str | None) -> dict[str, Any]:
    return {"en": en, "ar": None}


def verify_corporate_managers(b: Backend, call: Call) -> Reply:
    body = call.json()
    required(body, "identifications", "language")
    _identifications(body, KSA_IDENTIFICATIONS)
    person = b.world.person
    return _reply(b, lambda: [{"name": _text(person.full_name), "type": _text("Manager"), "is_licensed": True,
                               "identity": {"id": person.emirates_id, "type": _text("National ID")},
                               "nationality": {"type": _text("Saudi")},
                               "positions": [_text("General Manager")],
                               "permissions": [{"id": 1, "name": _text("Sign contracts"), "can_issue_poa": True,
                                                "can_delegate": False, "special_condition_text": _text(None),
                                                "exercise_method_id": 1,
                                                "exercise_method_description": _text("Individually")}]}])


def verify_corporate(b: Backend, call: Call) -> Reply:
    body = call.json()
    required(body, "type", "identifications")
    kind = one_of(body["type"], "type", CORPORATE_TYPES)
    number = _identifications(body, KSA_IDENTIFICATIONS)[0]["value"]

    def figures() -> dict[str, Any]:
        if kind == "ADDRESS":
            return {"addresses": [{"city": "RIYADH", "status": "Active", "is_primary_address": "true"}]}
        return {"status": _text("Active"), "company_name": _text("FakeLean Trading Company"),
                "commercial_registry": {"national_number": number, "registration_number": None},
                "in_liquidation_process": False, "has_e_commerce": False}

    return _reply(b, figures)


def verify_freelancer(b: Backend, call: Call) -> Reply:
    body = call.json()
    required(body, "type", "identifications")
    kind = one_of(body["type"], "type", FREELANCER_TYPES)
    national_id = _identifications(body, KSA_IDENTIFICATIONS)[0]["value"]
    person = b.world.person
    today = dt.date.today()
    certificate: dict[str, Any] = {
        "number": f"FL-{national_id[-6:]}", "status": "ACTIVE",
        "issue_date": (today - dt.timedelta(days=200)).isoformat(),
        "expiry_date": (today + dt.timedelta(days=165)).isoformat(), "revoked_at": None, "canceled_at": None,
        "speciality": {"code": "SD001", "name": {"en": "Software development", "ar": None},
                       "category": {"code": "IT001", "name": {"en": "Information technology", "ar": None}}}}
    if kind == "BASIC":  # Lean's BASIC answer: the certificate's status and expiry only
        certificate.update(number=None, issue_date=None, speciality=None)
    return _reply(b, lambda: {
        "certificate_ownership_verified": "VERIFIED", "national_id": national_id,
        "national_id_expiry_date": None if kind == "BASIC" else (today + dt.timedelta(days=900)).isoformat(),
        "name": {"en": person.full_name, "ar": None} if kind != "BASIC" else {"en": None, "ar": None},
        "gender": person.gender.upper() if kind != "BASIC" else None, "certificate": [certificate]})


HANDLERS: dict[str, Handler] = {
    "verifications.verify_account": verify_account,
    "verifications.verify_entity": verify_entity,
    "verifications.verify_beneficiary_name": verify_beneficiary_name,
    "verifications.verify_corporate_managers": verify_corporate_managers,
    "verifications.verify_corporate": verify_corporate,
    "verifications.verify_freelancer": verify_freelancer,
}
