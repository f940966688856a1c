"""Verifications: does this account belong to this person or company?

Stateless checks, no customer or entity involved (except KSA's entity
ownership).  Lean reports business failures (LEAN_ERROR, BANK_ISSUE,
UNSUPPORTED_BY_BANK, DISABLED_BY_LEAN, GIVEN_INPUT_CANNOT_BE_VERIFIED) as
HTTP 200 with ``status: FAILED``: these are data calls, and those raise
:class:`~lean_mtls.errors.DataFailedError`.  A ``status: PENDING`` answer
(with a ``results_id``) is returned as a :class:`~lean_mtls.PendingResult`, as
for the Data API; ``wait=True`` waits for the result instead (up to
``wait_timeout`` seconds, polling ``GET /data/v2/results/{results_id}``;
that this endpoint serves verification results is UNCERTAIN).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Union, cast, overload

from ..errors import InvalidRequestError
from ._results import DEFAULT_WAIT_TIMEOUT, PendingResult, ResultsResource
from .types import ManagersVerificationResult, VerificationResult

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ._base import CallOptions

__all__ = ["Verifications"]

#: ``[{"type": "NATIONAL_ID", "value": "..."}]``: Lean's identification objects.
Identifications = Sequence[Mapping[str, str]]
AccountDetailsType = Literal["IBAN", "ACCOUNT_ID"]
BankIdentifierType = Literal["BIC", "CLEARING_ID"]

#: A verification, or a handle on one Lean is still running (``status: PENDING``).
VerificationOrPending = Union[VerificationResult, PendingResult]
ManagersOrPending = Union[ManagersVerificationResult, PendingResult]

_ALPHA2 = re.compile(r"[A-Z]{2}")
_ACCOUNT_DETAILS_TYPES = ("IBAN", "ACCOUNT_ID")
_BANK_IDENTIFIER_TYPES = ("BIC", "CLEARING_ID")


def _identifications(values: Identifications, what: str) -> list[dict[str, str]]:
    items = [dict(item) for item in values]
    if not items:
        raise InvalidRequestError(f"{what} needs at least one identification, e.g. "
                                  '[{"type": "NATIONAL_ID", "value": "..."}].')
    for item in items:
        if set(item) != {"type", "value"}:
            raise InvalidRequestError(f"Each identification is {{'type': ..., 'value': ...}}, got keys {sorted(item)}.")
    return items


def _choice(value: str, allowed: Sequence[str], name: str) -> str:
    if value not in allowed:
        raise InvalidRequestError(f"{name} must be one of {', '.join(allowed)} (Lean's values), got {value!r}.")
    return value


class Verifications(ResultsResource):
    """``/verifications/v1`` and ``/verifications/v2``."""

    results_path_prefix = "/data/v2/results"

    @overload
    def verify_account(
        self, account_value: str, *, country_code: str, full_name: str | None = None,
        identifications: Identifications = (), account_type: str = "PERSONAL",
        account_details_type: AccountDetailsType = "IBAN", bank_identifier: str | None = None,
        bank_identifier_type: BankIdentifierType | None = None,
        wait: Literal[True], wait_timeout: float = ..., **options: Unpack[CallOptions],
    ) -> VerificationResult: ...

    @overload
    def verify_account(
        self, account_value: str, *, country_code: str, full_name: str | None = None,
        identifications: Identifications = (), account_type: str = "PERSONAL",
        account_details_type: AccountDetailsType = "IBAN", bank_identifier: str | None = None,
        bank_identifier_type: BankIdentifierType | None = None,
        wait: bool = False, wait_timeout: float = ..., **options: Unpack[CallOptions],
    ) -> VerificationOrPending: ...

    def verify_account(
        self, account_value: str, *, country_code: str, full_name: str | None = None,
        identifications: Identifications = (), account_type: str = "PERSONAL",
        account_details_type: AccountDetailsType = "IBAN", bank_identifier: str | None = None,
        bank_identifier_type: BankIdentifierType | None = None,
        wait: bool = False, wait_timeout: float = DEFAULT_WAIT_TIMEOUT, **options: Unpack[CallOptions],
    ) -> VerificationOrPending:
        """``POST /verifications/v1/accounts``: does the account belong to this person or company?

        Sends ``{country_code, type: account_type, account_details: {type:
        account_details_type, value: account_value}, identifications: [...]}``
        and, when ``bank_identifier`` is given, ``bank_identifier: {type:
        bank_identifier_type (default "BIC"), value: bank_identifier}``;
        ``bank_identifier_type`` without ``bank_identifier`` raises
        :class:`~lean_mtls.errors.InvalidRequestError`.  Following Lean's
        per-country examples: ``account_details_type`` is ``"IBAN"`` (AE, SA,
        BE, FR, ...) or ``"ACCOUNT_ID"`` (US, GB, IN, ...); ``bank_identifier``
        a ``"BIC"`` (e.g. ``"MTBLBDDH"``) or a ``"CLEARING_ID"`` (e.g. an IFSC
        or sort code); ``country_code`` ISO 3166 alpha-2 (``"AE"``, ``"SA"``,
        ``"GB"``); ``account_type`` ``"PERSONAL"`` or ``"BUSINESS"``.
        ``full_name`` adds ``{"type": "FULL_NAME", "value": full_name}``;
        ``identifications`` adds others as given (``GIVEN_NAME``,
        ``EMIRATES_ID``, ...).  At least one identification is required.
        """
        idents = [{"type": "FULL_NAME", "value": full_name}] if full_name is not None else []
        idents += [dict(item) for item in identifications]
        if not idents:
            raise InvalidRequestError("verify_account needs full_name= or identifications= to compare against.")
        if not isinstance(country_code, str) or not _ALPHA2.fullmatch(country_code):
            raise InvalidRequestError(
                f"country_code must be an ISO 3166 alpha-2 code such as 'AE', 'SA' or 'GB', got {country_code!r}.")
        payload: dict[str, Any] = {
            "country_code": country_code,
            "type": account_type,
            "account_details": {"type": _choice(account_details_type, _ACCOUNT_DETAILS_TYPES, "account_details_type"),
                                "value": account_value},
            "identifications": idents,
        }
        if bank_identifier is not None:
            kind = _choice(bank_identifier_type or "BIC", _BANK_IDENTIFIER_TYPES, "bank_identifier_type")
            payload["bank_identifier"] = {"type": kind, "value": bank_identifier}
        elif bank_identifier_type is not None:
            # Sending the type alone is not Lean's shape, and dropping it would
            # verify against a bank the caller did not mean.
            raise InvalidRequestError(
                f"bank_identifier_type={bank_identifier_type!r} needs bank_identifier= (the {bank_identifier_type} "
                "itself); pass both, or neither.")
        return self._post("verifications.verify_account", payload, wait, wait_timeout, options)

    def _post(self, key: str, payload: Any, wait: bool, wait_timeout: float, options: Any) -> VerificationOrPending:
        return cast(VerificationOrPending,
                    self._data_call(key, json=payload, wait=wait, wait_timeout=wait_timeout, options=options))

    # ------------------------------------------------------------------ KSA

    @overload
    def verify_entity(
        self, entity_id: str, identifications: Identifications, *,
        wait: Literal[True], wait_timeout: float = ..., **options: Unpack[CallOptions],
    ) -> VerificationResult: ...

    @overload
    def verify_entity(
        self, entity_id: str, identifications: Identifications, *,
        wait: bool = False, wait_timeout: float = ..., **options: Unpack[CallOptions],
    ) -> VerificationOrPending: ...

    def verify_entity(
        self, entity_id: str, identifications: Identifications, *,
        wait: bool = False, wait_timeout: float = DEFAULT_WAIT_TIMEOUT, **options: Unpack[CallOptions],
    ) -> VerificationOrPending:
        """KSA: ``POST /verifications/v2/entity``: does the entity belong to the person
        (``identifications`` e.g. ``[{"type": "NATIONAL_ID", "value": "..."}]``)?"""
        payload = {"entity_id": entity_id, "identifications": _identifications(identifications, "verify_entity")}
        return self._post("verifications.verify_entity", payload, wait, wait_timeout, options)

    @overload
    def verify_beneficiary_name(
        self, iban: str, *,
        wait: Literal[True], wait_timeout: float = ..., **options: Unpack[CallOptions],
    ) -> VerificationResult: ...

    @overload
    def verify_beneficiary_name(
        self, iban: str, *,
        wait: bool = False, wait_timeout: float = ..., **options: Unpack[CallOptions],
    ) -> VerificationOrPending: ...

    def verify_beneficiary_name(
        self, iban: str, *,
        wait: bool = False, wait_timeout: float = DEFAULT_WAIT_TIMEOUT, **options: Unpack[CallOptions],
    ) -> VerificationOrPending:
        """KSA: ``POST /verifications/v2/beneficiary-name`` with ``{iban}``: the account holder's name."""
        return self._post("verifications.verify_beneficiary_name", {"iban": iban}, wait, wait_timeout, options)

    @overload
    def verify_corporate(
        self, identifications: Identifications, *, language: str, type: str = "FULL",
        wait: Literal[True], wait_timeout: float = ..., **options: Unpack[CallOptions],
    ) -> VerificationResult: ...

    @overload
    def verify_corporate(
        self, identifications: Identifications, *, language: str, type: str = "FULL",
        wait: bool = False, wait_timeout: float = ..., **options: Unpack[CallOptions],
    ) -> VerificationOrPending: ...

    def verify_corporate(
        self, identifications: Identifications, *, language: str, type: str = "FULL",  # noqa: A002
        wait: bool = False, wait_timeout: float = DEFAULT_WAIT_TIMEOUT, **options: Unpack[CallOptions],
    ) -> VerificationOrPending:
        """KSA: ``POST /verifications/v1/corporates`` with ``{type, language, identifications}``
        (e.g. ``[{"type": "UNIFIED_NUMBER", "value": "..."}]``; ``type`` ``FULL`` as in Lean's example)."""
        payload = {"type": type, "language": language,
                   "identifications": _identifications(identifications, "verify_corporate")}
        return self._post("verifications.verify_corporate", payload, wait, wait_timeout, options)

    @overload
    def verify_corporate_managers(
        self, identifications: Identifications, *, language: str,
        wait: Literal[True], wait_timeout: float = ..., **options: Unpack[CallOptions],
    ) -> ManagersVerificationResult: ...

    @overload
    def verify_corporate_managers(
        self, identifications: Identifications, *, language: str,
        wait: bool = False, wait_timeout: float = ..., **options: Unpack[CallOptions],
    ) -> ManagersOrPending: ...

    def verify_corporate_managers(
        self, identifications: Identifications, *, language: str,
        wait: bool = False, wait_timeout: float = DEFAULT_WAIT_TIMEOUT, **options: Unpack[CallOptions],
    ) -> ManagersOrPending:
        """KSA: ``POST /verifications/v1/corporates/managers`` with ``{identifications, language}``."""
        payload = {"identifications": _identifications(identifications, "verify_corporate_managers"),
                   "language": language}
        return cast(ManagersOrPending, self._data_call("verifications.verify_corporate_managers", json=payload,
                                                       wait=wait, wait_timeout=wait_timeout, options=options))

    @overload
    def verify_freelancer(
        self, identifications: Identifications, *, type: str = "FULL",
        wait: Literal[True], wait_timeout: float = ..., **options: Unpack[CallOptions],
    ) -> VerificationResult: ...

    @overload
    def verify_freelancer(
        self, identifications: Identifications, *, type: str = "FULL",
        wait: bool = False, wait_timeout: float = ..., **options: Unpack[CallOptions],
    ) -> VerificationOrPending: ...

    def verify_freelancer(
        self, identifications: Identifications, *, type: str = "FULL",  # noqa: A002
        wait: bool = False, wait_timeout: float = DEFAULT_WAIT_TIMEOUT, **options: Unpack[CallOptions],
    ) -> VerificationOrPending:
        """KSA: ``POST /verifications/v1/freelancers`` with ``{type, identifications}``
        (e.g. ``[{"type": "NATIONAL_ID", "value": "..."}]``)."""
        payload = {"type": type, "identifications": _identifications(identifications, "verify_freelancer")}
        return self._post("verifications.verify_freelancer", payload, wait, wait_timeout, options)
