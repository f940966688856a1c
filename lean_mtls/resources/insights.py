"""Insights: Lean's analysis of an entity's transactions.

These are data calls: Lean answers HTTP 200 with ``status: FAILED`` (or
RECONNECT_REQUIRED / CONSENT_EXPIRED) when it could not compute them, so they
go through ``LeanSession._request_data`` and those statuses raise.  A PENDING
answer (only with ``async_=True``) is returned as is: which results endpoint
serves insights is not documented (UNCERTAIN); try
``session.data.wait_for_results(body["results_id"])``.
"""

from __future__ import annotations

from typing import Any, cast

from ._base import Resource, drop_none
from ._params import DateLike, iso_date, query_bool

__all__ = ["Insights"]


class Insights(Resource):
    """``/insights/v2`` (income, expenses, cashflows) and ``/insights/v1/name-verification``."""

    def _data(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        return cast("dict[str, Any]", self._session._request_data(method, path, **kwargs))

    def income(self, entity_id: str, income_type: str = "ALL") -> dict[str, Any]:
        """``POST /insights/v2/income`` with ``{entity_id, income_type}``."""
        return self._data("POST", "/insights/v2/income", json={"entity_id": entity_id, "income_type": income_type})

    def expenses(self, entity_id: str, *, async_: bool | None = None) -> dict[str, Any]:
        """``GET /insights/v2/expenses?entity_id&async``."""
        params = drop_none({"entity_id": entity_id, "async": query_bool(async_)})
        return self._data("GET", "/insights/v2/expenses", params=params)

    def cashflows(self, entity_id: str, start_date: DateLike | None = None, *,
                  async_: bool | None = None) -> dict[str, Any]:
        """``GET /insights/v2/assets/cashflows?entity_id&start_date&async``."""
        params = drop_none({"entity_id": entity_id, "start_date": iso_date(start_date, "start_date"),
                            "async": query_bool(async_)})
        return self._data("GET", "/insights/v2/assets/cashflows", params=params)

    def name_verification(self, entity_id: str, full_name: str, *, async_: bool | None = None) -> dict[str, Any]:
        """``POST /insights/v1/name-verification``: does ``full_name`` match the
        account holder?  Answers ``match_type`` (PERFECT_MATCH, PARTIAL_MATCH,
        NO_MATCH) and a confidence."""
        payload = drop_none({"entity_id": entity_id, "full_name": full_name, "async": async_})
        return self._data("POST", "/insights/v1/name-verification", json=payload)

    # ------------------------------------------------------------------ KSA
    # LEAN_API.md lists these KSA paths without their parameters.  They are
    # sent like the other entity insights (GET with entity_id, async); the
    # method and parameters are UNCERTAIN, so extra query parameters can be
    # passed through ``params``.

    def _ksa(self, path: str, entity_id: str, async_: bool | None, params: dict[str, Any] | None) -> dict[str, Any]:
        query = drop_none({"entity_id": entity_id, "async": query_bool(async_), **(params or {})})
        return self._data("GET", path, params=query)

    def credit_obligations(self, entity_id: str, *, async_: bool | None = None,
                           params: dict[str, Any] | None = None) -> dict[str, Any]:
        """KSA: ``GET /insights/v2/liabilities/credit-obligations``."""
        return self._ksa("/insights/v2/liabilities/credit-obligations", entity_id, async_, params)

    def non_credit_obligations(self, entity_id: str, *, async_: bool | None = None,
                               params: dict[str, Any] | None = None) -> dict[str, Any]:
        """KSA: ``GET /insights/v2/liabilities/non-credit-obligations``."""
        return self._ksa("/insights/v2/liabilities/non-credit-obligations", entity_id, async_, params)

    def employment_income(self, entity_id: str, *, async_: bool | None = None,
                          params: dict[str, Any] | None = None) -> dict[str, Any]:
        """KSA: ``GET /insights/v2/income/employment``."""
        return self._ksa("/insights/v2/income/employment", entity_id, async_, params)

    def balances(self, entity_id: str, *, async_: bool | None = None,
                 params: dict[str, Any] | None = None) -> dict[str, Any]:
        """KSA: ``GET /insights/v2/assets/balances``."""
        return self._ksa("/insights/v2/assets/balances", entity_id, async_, params)
