"""Verifications: does this IBAN belong to this person or company?

A stateless check, no customer or entity involved.  Lean reports business
failures (LEAN_ERROR, BANK_ISSUE, UNSUPPORTED_BY_BANK, DISABLED_BY_LEAN,
GIVEN_INPUT_CANNOT_BE_VERIFIED) as HTTP 200 with ``status: FAILED``, so the
call goes through ``LeanSession._request_data`` and those raise
:class:`~lean_mtls.errors.DataFailedError`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from ..errors import InvalidRequestError
from ._base import Resource

__all__ = ["Verifications"]


class Verifications(Resource):
    """``/verifications/v1``."""

    def verify_account(
        self,
        iban: str,
        *,
        country_code: str,
        full_name: str | None = None,
        identifications: Sequence[Mapping[str, str]] = (),
        account_type: str = "PERSONAL",
    ) -> dict[str, Any]:
        """``POST /verifications/v1/accounts``.

        Sends ``{country_code, type: account_type, account_details: {type:
        "IBAN", value: iban}, identifications: [...]}``.  ``full_name`` adds
        ``{"type": "FULL_NAME", "value": full_name}``; ``identifications`` adds
        others as given (e.g. ``{"type": "EMIRATES_ID", "value": ...}``).  At
        least one identification is required.  ``country_code`` has no default:
        Lean's docs do not say whether it is alpha-2 (``"AE"``) or alpha-3
        (``"ARE"``) here (UNCERTAIN); other endpoints use alpha-3.
        """
        idents = [{"type": "FULL_NAME", "value": full_name}] if full_name is not None else []
        idents += [dict(item) for item in identifications]
        if not idents:
            raise InvalidRequestError("verify_account needs full_name= or identifications= to compare against.")
        payload = {
            "country_code": country_code,
            "type": account_type,
            "account_details": {"type": "IBAN", "value": iban},
            "identifications": idents,
        }
        return cast("dict[str, Any]", self._session._request_data("POST", "/verifications/v1/accounts", json=payload))

    # ------------------------------------------------------------------ KSA
    # LEAN_API.md lists these KSA paths without their bodies: the body is sent
    # as given (UNCERTAIN shapes; see Lean's KSA Postman collection).

    def _post(self, path: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return cast("dict[str, Any]", self._session._request_data("POST", path, json=dict(body)))

    def verify_entity(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """KSA: ``POST /verifications/v2/entity``."""
        return self._post("/verifications/v2/entity", body)

    def verify_beneficiary_name(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """KSA: ``POST /verifications/v2/beneficiary-name``."""
        return self._post("/verifications/v2/beneficiary-name", body)

    def verify_corporate(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """KSA: ``POST /verifications/v1/corporates``."""
        return self._post("/verifications/v1/corporates", body)

    def verify_corporate_managers(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """KSA: ``POST /verifications/v1/corporates/managers``."""
        return self._post("/verifications/v1/corporates/managers", body)

    def verify_freelancer(self, body: Mapping[str, Any]) -> dict[str, Any]:
        """KSA: ``POST /verifications/v1/freelancers``."""
        return self._post("/verifications/v1/freelancers", body)
