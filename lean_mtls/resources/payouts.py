"""Payouts (UAE): paying out from the app's own accounts to destinations.

A payout sends money from one of the app's connected accounts
(``account_id``) to payout destinations.  Lean accepts an optional
``Idempotency-Key`` on the payout; the SDK always sends one (generated per
call unless given), so a retried request cannot pay twice.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from .._concurrent import DEFAULT_CONCURRENCY, Concurrency
from ._base import Resource, drop_none
from ._endpoints import MAX_LIST_PAGE_SIZE, PAYOUTS
from ._params import DateTimeLike, iso_datetime
from ._shapes import require_list
from .types import Payout, PayoutCreated, PayoutDestination, PayoutHistory, PayoutIntent, PayoutPage, PayoutSummary

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ._base import CallOptions

__all__ = ["Payouts"]

#: What every payout destination needs (Lean's "Create Payouts Destination(s)" request).
REQUIRED_DESTINATION_FIELDS = ("name", "iban", "display_name", "address", "country", "city")


def _payment_details(items: Sequence[Mapping[str, Any]]) -> builtins.list[dict[str, Any]]:
    details = require_list(items, ("account_id", "currency", "destination_details"), "payment_details")
    for index, detail in enumerate(details):
        detail["destination_details"] = require_list(
            detail["destination_details"], ("payment_destination_id", "amount"),
            f"payment_details[{index}].destination_details")
    return details


class Payouts(Resource):
    """``/payouts/v1``."""

    def create(self, payment_details: Sequence[Mapping[str, Any]], **options: Unpack[CallOptions]) -> PayoutCreated:
        """``POST /payouts/v1/payment``: pay out to one or more destinations.

        ``payment_details`` is Lean's list: ``[{"account_id": ..., "currency":
        "AED", "destination_details": [{"payment_destination_id": ...,
        "amount": 100, "description": ..., "authorize_payment": False}]}]``
        (``authorize_payment`` defaults to false at Lean).  An
        ``Idempotency-Key`` is always sent (``idempotency_key=`` or a new uuid4).
        """
        payload = {"payment_details": _payment_details(payment_details)}
        return cast(PayoutCreated, self._call("payouts.create", json=payload, options=options))

    @staticmethod
    def _filters(amount_min: float | None, amount_max: float | None, from_: DateTimeLike | None,
                 to: DateTimeLike | None) -> dict[str, Any]:
        return drop_none({"amount_min": amount_min, "amount_max": amount_max,
                          "from": iso_datetime(from_), "to": iso_datetime(to)})

    def list(self, page_number: int = 0, page_size: int = MAX_LIST_PAGE_SIZE, *, amount_min: float | None = None,
             amount_max: float | None = None, from_: DateTimeLike | None = None, to: DateTimeLike | None = None,
             **options: Unpack[CallOptions]) -> PayoutPage:
        """``GET /payouts/v1/payments``: one page, ``{"content": [...], "page": {...}}``
        (filters from Lean's OpenAPI files)."""
        params = {**PAYOUTS.params(page_number, page_size), **self._filters(amount_min, amount_max, from_, to)}
        return cast(PayoutPage, self._call("payouts.list", params=params, options=options))

    def iter_payouts(self, *, amount_min: float | None = None, amount_max: float | None = None,
                     from_: DateTimeLike | None = None, to: DateTimeLike | None = None,
                     page_size: int | None = None,
concurrency: Concurrency = DEFAULT_CONCURRENCY, **options: Unpack[CallOptions]) -> Iterator[PayoutSummary]:
        """Every payout (matching the filters), fetched lazily."""
        query = self._filters(amount_min, amount_max, from_, to)

        def fetch(paging: dict[str, int]) -> Any:
            return self._call("payouts.list", params={**query, **paging}, options=options)

        return self._iter_items(fetch, PAYOUTS, item_key="content", page_size=page_size, concurrency=concurrency,
                                 key="payouts.list", options=options)

    def history(self, payment_id: str, **options: Unpack[CallOptions]) -> PayoutHistory:
        """``GET /payouts/v1/payments/{payment_id}/history``: the payout's status changes."""
        return cast(PayoutHistory, self._call("payouts.history", {"payment_id": payment_id}, options=options))

    def get(self, payment_id: str, **options: Unpack[CallOptions]) -> Payout:
        """``GET /payouts/v1/{payment_id}``: one payout."""
        return cast(Payout, self._call("payouts.get", {"payment_id": payment_id}, options=options))

    def get_intent(self, payment_intent_id: str, **options: Unpack[CallOptions]) -> PayoutIntent:
        """``GET /payouts/v1/intents/{payment_intent_id}``: a payout intent and its payments."""
        ids = {"payment_intent_id": payment_intent_id}
        return cast(PayoutIntent, self._call("payouts.get_intent", ids, options=options))

    def create_destinations(self, destinations: Sequence[Mapping[str, Any]],
                            **options: Unpack[CallOptions]) -> builtins.list[PayoutDestination]:
        """``POST /payouts/v1/payment/destinations``: add payout destinations (a list).

        Each is ``{name, iban, display_name, address, country (alpha-3), city}``
        plus, as in Lean's request, ``bank_identifier, account_number,
        swift_code, branch_address, customer_id, currency_iso_code,
        postal_code``.  Lean answers one ``{destination_id, status, ...}`` per item.
        """
        body = require_list(destinations, REQUIRED_DESTINATION_FIELDS, "destinations")
        return cast("builtins.list[PayoutDestination]",
                    self._call("payouts.create_destinations", json=body, options=options))

    def get_destination(self, destination_id: str, **options: Unpack[CallOptions]) -> PayoutDestination:
        """``GET /payouts/v1/payment/destinations/{destination_id}``."""
        ids = {"destination_id": destination_id}
        return cast(PayoutDestination, self._call("payouts.get_destination", ids, options=options))
