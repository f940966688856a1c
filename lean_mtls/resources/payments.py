"""Payments (UAE): intents, payments, destinations and payment sources.

The money moves in LinkSDK (the customer authorises it in their bank); the
backend's part is to create the payment intent beforehand, manage where the
money may go (destinations) and read what happened afterwards.  Payment
sources are created by LinkSDK and can only be read or deleted here.
"""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Iterator, Mapping
from typing import Any, cast

from .._concurrent import DEFAULT_CONCURRENCY, Concurrency
from ._base import Resource, drop_none, segment
from ._pagination import MAX_PAYMENT_INTENTS_PAGE_SIZE, PAYMENT_INTENTS
from ._params import DateTimeLike, iso_datetime
from .types import Payment, PaymentDestination, PaymentIntent, PaymentIntentPage, PaymentSource

__all__ = ["Payments"]

#: Lean's documented reason for removing a payment source.
DEFAULT_DELETE_REASON = "USER_REQUESTED"


def _customer_path(customer_id: str, tail: str) -> str:
    return f"/customers/v1/{segment(customer_id, 'customer_id')}/{tail}"


def new_idempotency_key() -> str:
    """A fresh key for one logical payment call."""
    return str(uuid.uuid4())


class Payments(Resource):
    """``/payments/v1`` and the payment parts of ``/customers/v1/{customer_id}``."""

    #: UNCERTAIN: Lean's Postman collection posts account-on-file payments to
    #: ``/payments/account-on-file``, its OpenAPI file to ``/payments/v1/account-on-file``.
    #: Set this attribute if the one chosen here answers 404.
    account_on_file_path = "/payments/v1/account-on-file"
    payout_path = "/payouts/v1/payment"

    # ------------------------------------------------------------------ money movement (idempotent)

    def create_account_on_file_payment(
        self, payment: Mapping[str, Any], *, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """``POST /payments/v1/account-on-file``: charge a customer's account-on-file consent.

        Lean requires an ``Idempotency-Key`` here.  One is generated for each
        call unless you pass one, and the *same* key is sent on every retry of
        that call, so a retried request cannot pay twice.  Pass your own key
        (derived from your order id) to stay safe across process restarts too.
        """
        key = idempotency_key or new_idempotency_key()
        return cast("dict[str, Any]", self._request(
            "POST", self.account_on_file_path, json=dict(payment), idempotency_key=key))

    def create_payout(self, payout: Mapping[str, Any], *, idempotency_key: str | None = None) -> dict[str, Any]:
        """``POST /payouts/v1/payment``: pay out to a destination.

        Lean accepts an optional ``idempotency-key``; the SDK always sends one
        (generated per call unless given) so retries are safe.
        """
        key = idempotency_key or new_idempotency_key()
        return cast("dict[str, Any]", self._request("POST", self.payout_path, json=dict(payout), idempotency_key=key))

    # ------------------------------------------------------------------ intents

    def create_intent(self, customer_id: str, amount: float, currency: str, *, description: str | None = None,
                      payment_destination_id: str | None = None, purpose_code: str | None = None) -> PaymentIntent:
        """``POST /payments/v1/intents``: what the customer will pay, before LinkSDK ``pay()``.

        ``currency`` is ISO 4217 (``"AED"``); without ``payment_destination_id``
        the app's default destination is paid.  ``purpose_code`` is one of
        FIS, TCS, MWP, OAT, IFS, RNT, LNC, PIN, GDS.
        """
        payload = drop_none({"customer_id": customer_id, "amount": amount, "currency": currency,
                             "description": description, "payment_destination_id": payment_destination_id,
                             "purpose_code": purpose_code})
        return cast(PaymentIntent, self._request("POST", "/payments/v1/intents", json=payload))

    @staticmethod
    def _intent_filters(customer_id: str | None, from_: DateTimeLike | None, to: DateTimeLike | None,
                        status: str | None) -> dict[str, Any]:
        return drop_none({"customer_id": customer_id, "from": iso_datetime(from_), "to": iso_datetime(to),
                          "status": status})

    def list_intents(self, page: int = 0, size: int = MAX_PAYMENT_INTENTS_PAGE_SIZE, *,
                     customer_id: str | None = None, from_: DateTimeLike | None = None,
                     to: DateTimeLike | None = None, status: str | None = None) -> PaymentIntentPage:
        """``GET /payments/v1/intents``: one page of intents, optionally filtered.

        ``from_``/``to`` (sent as ``from``/``to``) are datetimes or ISO 8601 strings.
        """
        params = {**self._intent_filters(customer_id, from_, to, status), "page": page, "size": size}
        return cast(PaymentIntentPage, self._request("GET", "/payments/v1/intents", params=params))

    def iter_intents(self, *, customer_id: str | None = None, from_: DateTimeLike | None = None,
                     to: DateTimeLike | None = None, status: str | None = None,
                     page_size: int | None = None,
                     concurrency: Concurrency = DEFAULT_CONCURRENCY) -> Iterator[PaymentIntent]:
        """Every matching payment intent, fetched lazily (largest pages first)."""
        query = self._intent_filters(customer_id, from_, to, status)

        def fetch(paging: dict[str, int]) -> Any:
            return self._request("GET", "/payments/v1/intents", params={**query, **paging})

        return self._iter_items(fetch, PAYMENT_INTENTS, item_key="data", page_size=page_size, concurrency=concurrency)

    def get_intent(self, payment_intent_id: str) -> PaymentIntent:
        """``GET /payments/v1/intents/{payment_intent_id}``, with its ``payments``."""
        path = f"/payments/v1/intents/{segment(payment_intent_id, 'payment_intent_id')}"
        return cast(PaymentIntent, self._request("GET", path))

    def get_payment(self, payment_id: str) -> Payment:
        """``GET /payments/v1/{payment_id}``: one payment and its bank status."""
        return cast(Payment, self._request("GET", f"/payments/v1/{segment(payment_id, 'payment_id')}"))

    # ------------------------------------------------------------------ destinations

    def create_destination(self, fields: Mapping[str, Any] | None = None, /, **kwargs: Any) -> PaymentDestination:
        """``POST /payments/v1/destinations``: an account payments may be sent to.

        Pass Lean's fields as a dict, as keyword arguments, or both (keywords
        win): ``name, display_name, address, city, country`` (alpha-3),
        ``account_number, iban, swift_code, bank_type, government_identifier``,
        and ``customer_id`` for a customer's own destination.
        """
        payload = {**(fields or {}), **kwargs}
        return cast(PaymentDestination, self._request("POST", "/payments/v1/destinations", json=payload))

    def list_destinations(self) -> builtins.list[PaymentDestination]:
        """``GET /payments/v1/destinations``: the app's destinations."""
        return cast("builtins.list[PaymentDestination]", self._request("GET", "/payments/v1/destinations"))

    def get_destination(self, destination_id: str) -> PaymentDestination:
        """``GET /payments/v1/destinations/{destination_id}``."""
        path = f"/payments/v1/destinations/{segment(destination_id, 'destination_id')}"
        return cast(PaymentDestination, self._request("GET", path))

    def list_customer_destinations(self, customer_id: str) -> builtins.list[PaymentDestination]:
        """``GET /customers/v1/{customer_id}/destinations``."""
        path = _customer_path(customer_id, "destinations")
        return cast("builtins.list[PaymentDestination]", self._request("GET", path))

    # ------------------------------------------------------------------ payment sources

    def list_payment_sources(self, customer_id: str) -> builtins.list[PaymentSource]:
        """``GET /customers/v1/{customer_id}/payment-sources``."""
        path = _customer_path(customer_id, "payment-sources")
        return cast("builtins.list[PaymentSource]", self._request("GET", path))

    def get_payment_source(self, customer_id: str, payment_source_id: str) -> PaymentSource:
        """``GET /customers/v1/{customer_id}/payment-sources/{payment_source_id}``."""
        path = _customer_path(customer_id, f"payment-sources/{segment(payment_source_id, 'payment_source_id')}")
        return cast(PaymentSource, self._request("GET", path))

    def delete_payment_source(self, customer_id: str, payment_source_id: str,
                              reason: str = DEFAULT_DELETE_REASON) -> None:
        """``DELETE /customers/v1/{customer_id}/payment-sources/{payment_source_id}``
        with the JSON body ``{"reason": reason}``."""
        path = _customer_path(customer_id, f"payment-sources/{segment(payment_source_id, 'payment_source_id')}")
        self._request("DELETE", path, json={"reason": reason})
