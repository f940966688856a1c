"""Account-on-file consents (UAE): a customer's standing permission for the
app to pull payments from their account within agreed limits.

The customer authorises a consent in LinkSDK after :meth:`Consents.create`;
payments on it are made with
:meth:`~lean_mtls.resources.payments.Payments.create_account_on_file_payment`.
Paths are those of Lean's Postman collection and current guide
(``/consents/...``); Lean's OpenAPI files list ``/consents/v1/...`` for some
of them (UNCERTAIN): :attr:`Consents.account_on_file_path` is configurable.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, cast

from .._concurrent import DEFAULT_CONCURRENCY, Concurrency
from ._base import Resource, drop_none
from ._endpoints import CONSENTS, MAX_LIST_PAGE_SIZE, by_key
from ._shapes import require_keys
from .types import Consent, ConsentBalance, ConsentHistory, ConsentPage

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ._base import CallOptions

__all__ = ["Consents"]

#: The control parameters Lean's request always sends (its remarks mark the others optional).
REQUIRED_CONTROL_PARAMETERS = ("period_type", "max_individual_amount")


class Consents(Resource):
    """``/consents``: account-on-file consents, their balance and history."""

    #: ``/consents/account-on-file`` (Lean's collection, the default) or
    #: ``/consents/v1/account-on-file`` (Lean's OpenAPI files).
    account_on_file_path = by_key("consents.create").path

    def create(
        self,
        customer_id: str,
        destination_account_id: str,
        *,
        currency: str,
        description: str,
        purpose: str,
        control_parameters: Mapping[str, Any],
        government_identifier: Mapping[str, str],
        reference: str | None = None,
        immediate_payment: Mapping[str, Any] | None = None,
        **options: Unpack[CallOptions],
    ) -> Consent:
        """``POST /consents/account-on-file``: a consent for the customer to authorise in LinkSDK.

        ``currency`` ``"AED"``; ``purpose`` a payment purpose code (``"FIS"``,
        ...); ``control_parameters`` Lean's limits: ``period_type``
        (``Year``, ``Month``, ``Daily`` in Lean's remarks) and
        ``max_individual_amount`` are required, ``max_cumulative_number_of_payments``,
        ``max_cumulative_amount_per_period``,
        ``max_cumulative_number_of_payments_per_period`` optional.
        ``government_identifier`` ``{"type": "EMIRATES_ID", "value": ...}`` (Lean's
        request always sends it: UAE Open Finance ties long-lived consents to it);
        ``immediate_payment`` ``{amount, reference, creditor_reference}`` pays
        at once when the consent is authorised.  The answer's ``status`` is
        ``AWAITING_AUTHORISATION``.
        """
        payload = drop_none({
            "customer_id": customer_id,
            "destination_account_id": destination_account_id,
            "currency": currency,
            "description": description,
            "reference": reference,
            "purpose": purpose,
            "control_parameters": require_keys(control_parameters, REQUIRED_CONTROL_PARAMETERS, "control_parameters"),
            "government_identifier": require_keys(government_identifier, ("type", "value"), "government_identifier"),
            "immediate_payment": None if immediate_payment is None else require_keys(
                immediate_payment, ("amount",), "immediate_payment"),
        })
        return cast(Consent, self._call("consents.create", json=payload, options=options,
                                        path=self.account_on_file_path))

    def get(self, consent_id: str, **options: Unpack[CallOptions]) -> Consent:
        """``GET /consents/{consent_id}``: the consent, its status and limits."""
        return cast(Consent, self._call("consents.get", {"consent_id": consent_id}, options=options))

    def balance(self, consent_id: str, **options: Unpack[CallOptions]) -> ConsentBalance:
        """``GET /consents/{consent_id}/balance``: what is left to pay under the consent's limits."""
        return cast(ConsentBalance, self._call("consents.balance", {"consent_id": consent_id}, options=options))

    def history(self, consent_id: str, **options: Unpack[CallOptions]) -> ConsentHistory:
        """``GET /consents/{consent_id}/history``: the consent's status changes and payments."""
        return cast(ConsentHistory, self._call("consents.history", {"consent_id": consent_id}, options=options))

    def list(self, page_number: int = 0, page_size: int = MAX_LIST_PAGE_SIZE, *, customer_id: str | None = None,
             status: str | None = None, **options: Unpack[CallOptions]) -> ConsentPage:
        """``GET /consents/v1``: one page of consents, ``{"data": [...], "page": {...}}``.

        ``customer_id`` and ``status`` filters are from Lean's OpenAPI files.
        """
        params = {**CONSENTS.params(page_number, page_size), **drop_none({"customer_id": customer_id,
                                                                          "status": status})}
        return cast(ConsentPage, self._call("consents.list", params=params, options=options))

    def iter_consents(self, *, customer_id: str | None = None, status: str | None = None,
                      page_size: int | None = None,
concurrency: Concurrency = DEFAULT_CONCURRENCY, **options: Unpack[CallOptions]) -> Iterator[Consent]:
        """Every consent (of the customer / in the status, if given), fetched lazily."""
        query = drop_none({"customer_id": customer_id, "status": status})

        def fetch(paging: dict[str, int]) -> Any:
            return self._call("consents.list", params={**query, **paging}, options=options)

        return self._iter_items(fetch, CONSENTS, item_key="data", page_size=page_size, concurrency=concurrency,
                                 key="consents.list", options=options)

    def revoke(self, consent_id: str, **options: Unpack[CallOptions]) -> dict[str, Any] | None:
        """``POST /consents/v1/{consent_id}/revocation`` (Lean's OpenAPI files; not in
        Lean's Postman collection, UNCERTAIN): end the consent."""
        return cast("dict[str, Any] | None", self._call("consents.revoke", {"consent_id": consent_id},
                                                         options=options))
