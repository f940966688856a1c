"""Refunds (UAE): returning a customer's payment, then approving or rejecting it.

Refunds are created as a list (``POST /payouts/refunds``), then processed
(``PUT /payouts/refunds``: each ``APPROVED`` or ``REJECTED``).  Lean's
remarks list the reason codes ``CUSTOMER_REQUEST``, ``DUPLICATED_PAYMENT``,
``FRAUDULENT_PAYMENT`` and ``ORDER_CANCELLED``; :meth:`Refunds.reasons`
asks Lean for the current list.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, cast

from .._concurrent import DEFAULT_CONCURRENCY, Concurrency
from ..errors import InvalidRequestError
from ._base import Resource, drop_none
from ._endpoints import MAX_LIST_PAGE_SIZE, REFUNDS
from ._shapes import require_list
from .types import Refund, RefundPage

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ._base import CallOptions

__all__ = ["Refunds"]

REQUIRED_REFUND_FIELDS = ("payment_id", "amount", "currency", "reason_code")
#: Lean's decisions on a refund (its remarks on "Process Refunds").
RefundDecision = Literal["APPROVED", "REJECTED"]
_DECISIONS = ("APPROVED", "REJECTED")


class Refunds(Resource):
    """``/payouts/refunds``."""

    def list(self, size: int = MAX_LIST_PAGE_SIZE, *, status: str | None = None, page: int | None = None,
             **options: Unpack[CallOptions]) -> RefundPage:
        """``GET /payouts/refunds``: one page, ``{"content": [...], "page": {...}}``.

        ``size`` is always sent (as Lean's request does); ``status`` filters
        (e.g. ``"FAILED"``); ``page`` picks a page (its name is UNCERTAIN:
        Lean's request sends none, its answer has a Spring page object).
        """
        params = drop_none({"size": size, "status": status, "page": page})
        return cast(RefundPage, self._call("refunds.list", params=params, options=options))

    def iter_refunds(self, *, status: str | None = None, page_size: int | None = None,

concurrency: Concurrency = DEFAULT_CONCURRENCY, **options: Unpack[CallOptions]) -> Iterator[Refund]:
        """Every refund (in ``status``, if given), fetched lazily; stops with
        :class:`~lean_mtls.errors.InvalidResponseError` if Lean ignores ``page``."""
        query = drop_none({"status": status})

        def fetch(paging: dict[str, int]) -> Any:
            return self._call("refunds.list", params={**query, **paging}, options=options)

        return self._iter_items(fetch, REFUNDS, item_key="content", page_size=page_size, concurrency=concurrency,
                                 key="refunds.list", options=options)

    def create(self, refunds: Sequence[Mapping[str, Any]], **options: Unpack[CallOptions]) -> builtins.list[Refund]:
        """``POST /payouts/refunds``: ask to refund payments (a list).

        Each item is ``{payment_id, amount, currency, reason_code}`` plus
        optional ``description`` and ``external_reference``.  Lean answers 201
        with the refunds it created.
        """
        body = require_list(refunds, REQUIRED_REFUND_FIELDS, "refunds")
        return cast("builtins.list[Refund]", self._call("refunds.create", json=body, options=options))

    def process(self, decisions: Sequence[Mapping[str, Any]],
                **options: Unpack[CallOptions]) -> builtins.list[Refund]:
        """``PUT /payouts/refunds``: approve or reject refunds, each
        ``{"refund_id": ..., "status": "APPROVED" | "REJECTED"}``."""
        body = require_list(decisions, ("refund_id", "status"), "decisions")
        for item in body:
            if item["status"] not in _DECISIONS:
                raise InvalidRequestError(
                    f"A refund decision's status is APPROVED or REJECTED, got {item['status']!r}.")
        return cast("builtins.list[Refund]", self._call("refunds.process", json=body, options=options))

    def reasons(self, **options: Unpack[CallOptions]) -> Any:
        """``GET /payouts/refunds/reasons``: the reason codes Lean accepts (Lean
        recorded no example answer; returned as parsed)."""
        return self._call("refunds.reasons", options=options)
