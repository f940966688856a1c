"""Payments (UAE): intents, payments, destinations, payment sources and
account-on-file payments.

The money moves in LinkSDK (the customer authorises it in their bank) or on an
account-on-file consent; the backend's part is to create the payment intent
beforehand, manage where the money may go (destinations), charge a consent,
and read what happened afterwards.  Payment sources are created by LinkSDK
and can only be read or deleted here.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Mapping
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, Union, cast

from .._concurrent import DEFAULT_CONCURRENCY, Concurrency
from ..errors import InvalidRequestError
from ._base import Resource, drop_none, reason_code
from ._endpoints import MAX_LIST_PAGE_SIZE, PAYMENT_INTENTS, by_key
from ._params import DateTimeLike, iso_datetime
from ._shapes import require_keys
from .types import (
    AccountOnFilePayment,
    Payment,
    PaymentDestination,
    PaymentIntent,
    PaymentIntentPage,
    PaymentSource,
)

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ._base import CallOptions

__all__ = ["Payments"]

#: Lean's documented reason for removing a payment source.
DEFAULT_DELETE_REASON = "USER_REQUESTED"
#: An amount: a number, a ``Decimal`` or a decimal string.
Amount = Union[int, float, Decimal, str]


def _decimal_text(amount: object) -> str:
    """``amount`` as the decimal string Lean's account-on-file request sends (``"75.00"``)."""
    if isinstance(amount, bool) or not isinstance(amount, (int, float, Decimal, str)):
        raise InvalidRequestError(f"amount must be a number or a decimal string, got {type(amount).__name__}.")
    try:
        value = Decimal(str(amount).strip())
    except InvalidOperation:
        raise InvalidRequestError(f"amount must be a decimal number such as '75.00', got {amount!r}.") from None
    if not value.is_finite() or value <= 0:
        raise InvalidRequestError(f"amount must be a positive amount, got {amount!r}.")
    return str(amount).strip() if isinstance(amount, str) else str(value)


class Payments(Resource):
    """``/payments/v1``, ``/payments/account-on-file`` and the payment parts of
    ``/customers/v1/{customer_id}``."""

    #: Lean's Postman collection and current guide post account-on-file
    #: payments to ``/payments/account-on-file`` (the default); its OpenAPI
    #: files to ``/payments/v1/account-on-file``.  Set this attribute to the
    #: other one if your account answers 404.
    account_on_file_path = by_key("payments.create_account_on_file_payment").path

    # ------------------------------------------------------------------ account on file (idempotent)

    def create_account_on_file_payment(
        self,
        consent_id: str,
        amount: Amount,
        *,
        channel: str,
        reference: str | None = None,
        creditor_reference: str | None = None,
        **options: Unpack[CallOptions],
    ) -> AccountOnFilePayment:
        """``POST /payments/account-on-file``: charge a customer's account-on-file consent.

        Sends ``{consent_id, amount, reference, creditor_reference,
        risk_details: {channel}}`` (``channel`` e.g. ``"MOBILE"``, as in Lean's
        example; ``amount`` is sent as a decimal string, as Lean's example does).
        Lean requires an ``Idempotency-Key`` here: one is generated for each
        call unless you pass ``idempotency_key=``, and the *same* key is sent
        on every retry of that call, so a retried request cannot pay twice.
        Pass your own key (derived from your order id) to stay safe across
        process restarts too.  The path is :attr:`account_on_file_path`.
        """
        payload = drop_none({
            "consent_id": consent_id,
            "amount": _decimal_text(amount),
            "reference": reference,
            "creditor_reference": creditor_reference,
            "risk_details": {"channel": channel},
        })
        return cast(AccountOnFilePayment, self._call(
            "payments.create_account_on_file_payment", json=payload, options=options,
            path=self.account_on_file_path))

    # ------------------------------------------------------------------ intents

    def create_intent(self, customer_id: str, amount: float, currency: str, *, description: str | None = None,
                      payment_destination_id: str | None = None, purpose_code: str | None = None,
                      **options: Unpack[CallOptions]) -> PaymentIntent:
        """``POST /payments/v1/intents``: what the customer will pay, before LinkSDK ``pay()``.

        ``currency`` is ISO 4217 (``"AED"``); without ``payment_destination_id``
        the app's default destination is paid (Lean's OpenAPI files).
        ``purpose_code`` is one of FIS, TCS, MWP, OAT, IFS, RNT, LNC, PIN, GDS.
        """
        payload = drop_none({"customer_id": customer_id, "amount": amount, "currency": currency,
                             "description": description, "payment_destination_id": payment_destination_id,
                             "purpose_code": purpose_code})
        return cast(PaymentIntent, self._call("payments.create_intent", json=payload, options=options))

    @staticmethod
    def _intent_filters(customer_id: str | None, from_: DateTimeLike | None, to: DateTimeLike | None,
                        status: str | None) -> dict[str, Any]:
        return drop_none({"customer_id": customer_id, "from": iso_datetime(from_), "to": iso_datetime(to),
                          "status": status})

    def list_intents(self, page: int = 0, size: int = MAX_LIST_PAGE_SIZE, *,
                     customer_id: str | None = None, from_: DateTimeLike | None = None,
                     to: DateTimeLike | None = None, status: str | None = None,
                     **options: Unpack[CallOptions]) -> PaymentIntentPage:
        """``GET /payments/v1/intents``: one page of intents, optionally filtered
        (filters and paging from Lean's OpenAPI files).

        ``from_``/``to`` (sent as ``from``/``to``) are datetimes or ISO 8601 strings.
        """
        params = {**self._intent_filters(customer_id, from_, to, status), **PAYMENT_INTENTS.params(page, size)}
        return cast(PaymentIntentPage, self._call("payments.list_intents", params=params, options=options))

    def iter_intents(self, *, customer_id: str | None = None, from_: DateTimeLike | None = None,
                     to: DateTimeLike | None = None, status: str | None = None,
                     page_size: int | None = None,
concurrency: Concurrency = DEFAULT_CONCURRENCY, **options: Unpack[CallOptions]) -> Iterator[PaymentIntent]:
        """Every matching payment intent, fetched lazily (largest pages first)."""
        query = self._intent_filters(customer_id, from_, to, status)

        def fetch(paging: dict[str, int]) -> Any:
            return self._call("payments.list_intents", params={**query, **paging}, options=options)

        return self._iter_items(fetch, PAYMENT_INTENTS, item_key="data", page_size=page_size, concurrency=concurrency,
                                 key="payments.list_intents", options=options)

    def get_intent(self, payment_intent_id: str, **options: Unpack[CallOptions]) -> PaymentIntent:
        """``GET /payments/v1/intents/{payment_intent_id}``, with its ``payments``."""
        ids = {"payment_intent_id": payment_intent_id}
        return cast(PaymentIntent, self._call("payments.get_intent", ids, options=options))

    def get_payment(self, payment_id: str, **options: Unpack[CallOptions]) -> Payment:
        """``GET /payments/v1/{payment_id}``: one payment and its bank status."""
        return cast(Payment, self._call("payments.get_payment", {"payment_id": payment_id}, options=options))

    # ------------------------------------------------------------------ destinations

    def create_destination(
        self,
        *,
        name: str,
        display_name: str,
        iban: str,
        address: str,
        city: str,
        country: str,
        bank_type: str,
        government_identifier: Mapping[str, str],
        account_number: str | None = None,
        swift_code: str | None = None,
        branch_address: str | None = None,
        customer_id: str | None = None,
        bank_identifier: str | None = None,
        currency: str | None = None,
        **options: Unpack[CallOptions],
    ) -> PaymentDestination:
        """``POST /payments/v1/destinations``: an account payments may be sent to.

        Lean's request sends ``name, display_name, iban, address, city,
        country`` (ISO alpha-3, ``"ARE"``), ``bank_type`` (``"RETAIL"``) and
        ``government_identifier`` (``{"type": "EMIRATES_ID", "value": ...}``).
        From Lean's OpenAPI files: ``account_number, swift_code,
        branch_address, bank_identifier, currency``, and ``customer_id`` for a
        customer's own destination (otherwise it belongs to the app).
        """
        payload = drop_none({
            "name": name, "display_name": display_name, "iban": iban, "address": address, "city": city,
            "country": country, "bank_type": bank_type,
            "government_identifier": require_keys(government_identifier, ("type", "value"), "government_identifier"),
            "account_number": account_number, "swift_code": swift_code, "branch_address": branch_address,
            "customer_id": customer_id, "bank_identifier": bank_identifier, "currency": currency,
        })
        return cast(PaymentDestination, self._call("payments.create_destination", json=payload, options=options))

    def list_destinations(self, **options: Unpack[CallOptions]) -> builtins.list[PaymentDestination]:
        """``GET /payments/v1/destinations``: the app's destinations."""
        return cast("builtins.list[PaymentDestination]", self._call("payments.list_destinations", options=options))

    def get_destination(self, destination_id: str, **options: Unpack[CallOptions]) -> PaymentDestination:
        """``GET /payments/v1/destinations/{destination_id}`` (Lean's OpenAPI files)."""
        ids = {"destination_id": destination_id}
        return cast(PaymentDestination, self._call("payments.get_destination", ids, options=options))

    def list_customer_destinations(self, customer_id: str,
                                   **options: Unpack[CallOptions]) -> builtins.list[PaymentDestination]:
        """``GET /customers/v1/{customer_id}/destinations`` (Lean's OpenAPI files)."""
        ids = {"customer_id": customer_id}
        return cast("builtins.list[PaymentDestination]",
                    self._call("payments.list_customer_destinations", ids, options=options))

    # ------------------------------------------------------------------ payment sources

    def list_payment_sources(self, customer_id: str, **options: Unpack[CallOptions]) -> builtins.list[PaymentSource]:
        """``GET /customers/v1/{customer_id}/payment-sources``."""
        ids = {"customer_id": customer_id}
        return cast("builtins.list[PaymentSource]", self._call("payments.list_payment_sources", ids, options=options))

    def get_payment_source(self, customer_id: str, payment_source_id: str,
                           **options: Unpack[CallOptions]) -> PaymentSource:
        """``GET /customers/v1/{customer_id}/payment-sources/{payment_source_id}``."""
        ids = {"customer_id": customer_id, "payment_source_id": payment_source_id}
        return cast(PaymentSource, self._call("payments.get_payment_source", ids, options=options))

    def delete_payment_source(self, customer_id: str, payment_source_id: str,
                              reason: str = DEFAULT_DELETE_REASON, **options: Unpack[CallOptions]) -> None:
        """``DELETE /customers/v1/{customer_id}/payment-sources/{payment_source_id}``
        with the JSON body ``{"reason": reason}``."""
        ids = {"customer_id": customer_id, "payment_source_id": payment_source_id}
        self._call("payments.delete_payment_source", ids, json={"reason": reason_code(reason)}, options=options)
