"""Insights: Lean's analysis of an entity's transactions.

These are data calls: Lean answers HTTP 200 with ``status: FAILED`` (or
RECONNECT_REQUIRED / CONSENT_EXPIRED) when it could not compute them, and
those statuses raise.  A PENDING answer (only with ``async_=True``) is
returned as is: which results endpoint serves insights is not documented
(UNCERTAIN); try ``session.data.wait_for_results(body["results_id"])``.

``async`` is always sent (``false`` unless ``async_=True``), as Lean's own
requests do; insights computed over a period take ``start_date`` (required:
Lean's OpenAPI files mark it so and Lean's requests always send it).  Lean's
requests also send a ``lean-correlation-id`` header: pass one with
``headers={"lean-correlation-id": ...}``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from ..errors import InvalidRequestError
from ._base import Resource
from ._params import DateLike, iso_date, query_bool
from .types import InsightResult, NameVerificationResult

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ._base import CallOptions

__all__ = ["Insights"]


class Insights(Resource):
    """``/insights/v2`` (income, expenses, cashflows, KSA insights) and ``/insights/v1/name-verification``."""

    def _period(self, key: str, entity_id: str, start_date: DateLike, async_: bool,
                options: Any) -> InsightResult:
        if start_date is None:
            raise InvalidRequestError(f"{key} needs start_date= (Lean requires it): a datetime.date or 'YYYY-MM-DD'.")
        params = {"entity_id": entity_id, "start_date": iso_date(start_date, "start_date"),
                  "async": query_bool(async_)}
        return cast(InsightResult, self._call(key, params=params, options=options))

    def income(self, entity_id: str, income_type: str = "ALL", **options: Unpack[CallOptions]) -> InsightResult:
        """``POST /insights/v2/income`` with ``{entity_id, income_type}`` (``ALL`` is Lean's example)."""
        payload = {"entity_id": entity_id, "income_type": income_type}
        return cast(InsightResult, self._call("insights.income", json=payload, options=options))

    def expenses(self, entity_id: str, *, async_: bool = False, **options: Unpack[CallOptions]) -> InsightResult:
        """``GET /insights/v2/expenses?entity_id&async``."""
        params = {"entity_id": entity_id, "async": query_bool(async_)}
        return cast(InsightResult, self._call("insights.expenses", params=params, options=options))

    def cashflows(self, entity_id: str, start_date: DateLike, *, async_: bool = False,
                  **options: Unpack[CallOptions]) -> InsightResult:
        """``GET /insights/v2/assets/cashflows?entity_id&start_date&async``: cash flows from ``start_date``."""
        return self._period("insights.cashflows", entity_id, start_date, async_, options)

    def name_verification(self, entity_id: str, full_name: str, *, async_: bool = False,
                          **options: Unpack[CallOptions]) -> NameVerificationResult:
        """``POST /insights/v1/name-verification`` (UAE): does ``full_name`` match the
        account holder?  Answers ``match_type`` (PERFECT_MATCH, PARTIAL_MATCH,
        NO_MATCH) and a confidence."""
        payload = {"entity_id": entity_id, "full_name": full_name, "async": async_}
        return cast(NameVerificationResult, self._call("insights.name_verification", json=payload,
                                                       options=options))

    # ------------------------------------------------------------------ KSA

    def credit_obligations(self, entity_id: str, start_date: DateLike, *, async_: bool = False,
                           **options: Unpack[CallOptions]) -> InsightResult:
        """KSA: ``GET /insights/v2/liabilities/credit-obligations?entity_id&start_date&async``."""
        return self._period("insights.credit_obligations", entity_id, start_date, async_, options)

    def non_credit_obligations(self, entity_id: str, start_date: DateLike, *, async_: bool = False,
                               **options: Unpack[CallOptions]) -> InsightResult:
        """KSA: ``GET /insights/v2/liabilities/non-credit-obligations?entity_id&start_date&async``."""
        return self._period("insights.non_credit_obligations", entity_id, start_date, async_, options)

    def employment_income(self, entity_id: str, start_date: DateLike, *, async_: bool = False,
                          **options: Unpack[CallOptions]) -> InsightResult:
        """KSA: ``GET /insights/v2/income/employment?entity_id&start_date&async``."""
        return self._period("insights.employment_income", entity_id, start_date, async_, options)

    def balances(self, entity_id: str, start_date: DateLike, *, async_: bool = False,
                 **options: Unpack[CallOptions]) -> InsightResult:
        """KSA: ``GET /insights/v2/assets/balances?entity_id&start_date&async`` (cash balances)."""
        return self._period("insights.balances", entity_id, start_date, async_, options)

    def freelancer_cashflows(self, entity_id: str, start_date: DateLike, *, async_: bool = False,
                             **options: Unpack[CallOptions]) -> InsightResult:
        """KSA: ``GET /insights/v2/assets/freelancers/cashflows?entity_id&start_date&async``
        (path from Lean's OpenAPI files: the collection's URL is empty)."""
        return self._period("insights.freelancer_cashflows", entity_id, start_date, async_, options)
