"""Insights: Lean's analysis of an entity's transactions.

These are data calls: Lean answers HTTP 200 with ``status: FAILED`` (or
RECONNECT_REQUIRED / CONSENT_EXPIRED) when it could not compute them, and
those statuses raise.  Like the Data API calls, an insight can answer
``status: PENDING`` with a ``results_id`` (when the bank is slow, or with
``async_=True``): the method then returns a :class:`~lean_mtls.PendingResult`
(reading it as data raises :class:`~lean_mtls.errors.ResultPendingError`), or
waits for the result inline with ``wait=True`` (up to ``wait_timeout``
seconds; typed: ``insights.cashflows(e, d, wait=True)["insights"]`` passes
``mypy --strict``).  The wait polls ``GET /data/v2/results/{results_id}``,
the results endpoint Lean documents; that it also serves insights is
UNCERTAIN (Lean's docs name no other).

``async`` is always sent (``false`` unless ``async_=True``), as Lean's own
requests do: in the query as ``true``/``false``, and in name verification's
JSON body as the string ``"true"``/``"false"`` (Lean's request sends a
string there).  Insights computed over a period take ``start_date``
(required: Lean's OpenAPI files mark it so and Lean's requests always send
it).  Lean's requests also send a ``lean-correlation-id`` header: pass one
with ``headers={"lean-correlation-id": ...}``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, Union, cast, overload

from ..errors import InvalidRequestError
from ._params import DateLike, iso_date, query_bool
from ._results import DEFAULT_WAIT_TIMEOUT, PendingResult, ResultsResource
from .types import InsightResult, NameVerificationResult

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ._base import CallOptions

__all__ = ["Insights"]

#: An insight, or a handle on one Lean is still computing.
InsightOrPending = Union[InsightResult, PendingResult]
NameVerificationOrPending = Union[NameVerificationResult, PendingResult]


class Insights(ResultsResource):
    """``/insights/v2`` (income, expenses, cashflows, KSA insights) and ``/insights/v1/name-verification``."""

    results_path_prefix = "/data/v2/results"

    def _period(self, key: str, entity_id: str, start_date: DateLike, async_: bool, wait: bool,
                wait_timeout: float, options: Any) -> InsightOrPending:
        if start_date is None:
            raise InvalidRequestError(f"{key} needs start_date= (Lean requires it): a datetime.date or 'YYYY-MM-DD'.")
        params = {"entity_id": entity_id, "start_date": iso_date(start_date, "start_date"),
                  "async": query_bool(async_)}
        return cast(InsightOrPending,
                    self._data_call(key, params=params, wait=wait, wait_timeout=wait_timeout, options=options))

    @overload
    def income(
        self, entity_id: str, income_type: str = "ALL", *,
        wait: Literal[True], wait_timeout: float = ..., **options: Unpack[CallOptions],
    ) -> InsightResult: ...

    @overload
    def income(
        self, entity_id: str, income_type: str = "ALL", *,
        wait: bool = False, wait_timeout: float = ..., **options: Unpack[CallOptions],
    ) -> InsightOrPending: ...

    def income(
        self, entity_id: str, income_type: str = "ALL", *,
        wait: bool = False, wait_timeout: float = DEFAULT_WAIT_TIMEOUT, **options: Unpack[CallOptions],
    ) -> InsightOrPending:
        """``POST /insights/v2/income`` with ``{entity_id, income_type}`` (``ALL`` is Lean's example)."""
        payload = {"entity_id": entity_id, "income_type": income_type}
        return cast(InsightOrPending, self._data_call("insights.income", json=payload, wait=wait,
                                                      wait_timeout=wait_timeout, options=options))

    @overload
    def expenses(
        self, entity_id: str, *, async_: bool = False,
        wait: Literal[True], wait_timeout: float = ..., **options: Unpack[CallOptions],
    ) -> InsightResult: ...

    @overload
    def expenses(
        self, entity_id: str, *, async_: bool = False,
        wait: bool = False, wait_timeout: float = ..., **options: Unpack[CallOptions],
    ) -> InsightOrPending: ...

    def expenses(
        self, entity_id: str, *, async_: bool = False,
        wait: bool = False, wait_timeout: float = DEFAULT_WAIT_TIMEOUT, **options: Unpack[CallOptions],
    ) -> InsightOrPending:
        """``GET /insights/v2/expenses?entity_id&async``."""
        params = {"entity_id": entity_id, "async": query_bool(async_)}
        return cast(InsightOrPending, self._data_call("insights.expenses", params=params, wait=wait,
                                                      wait_timeout=wait_timeout, options=options))

    @overload
    def cashflows(
        self, entity_id: str, start_date: DateLike, *, async_: bool = False,
        wait: Literal[True], wait_timeout: float = ..., **options: Unpack[CallOptions],
    ) -> InsightResult: ...

    @overload
    def cashflows(
        self, entity_id: str, start_date: DateLike, *, async_: bool = False,
        wait: bool = False, wait_timeout: float = ..., **options: Unpack[CallOptions],
    ) -> InsightOrPending: ...

    def cashflows(
        self, entity_id: str, start_date: DateLike, *, async_: bool = False,
        wait: bool = False, wait_timeout: float = DEFAULT_WAIT_TIMEOUT, **options: Unpack[CallOptions],
    ) -> InsightOrPending:
        """``GET /insights/v2/assets/cashflows?entity_id&start_date&async``: cash flows from ``start_date``."""
        return self._period("insights.cashflows", entity_id, start_date, async_, wait, wait_timeout, options)

    @overload
    def name_verification(
        self, entity_id: str, full_name: str, *, async_: bool = False,
        wait: Literal[True], wait_timeout: float = ..., **options: Unpack[CallOptions],
    ) -> NameVerificationResult: ...

    @overload
    def name_verification(
        self, entity_id: str, full_name: str, *, async_: bool = False,
        wait: bool = False, wait_timeout: float = ..., **options: Unpack[CallOptions],
    ) -> NameVerificationOrPending: ...

    def name_verification(
        self, entity_id: str, full_name: str, *, async_: bool = False,
        wait: bool = False, wait_timeout: float = DEFAULT_WAIT_TIMEOUT, **options: Unpack[CallOptions],
    ) -> NameVerificationOrPending:
        """``POST /insights/v1/name-verification`` (UAE): does ``full_name`` match the
        account holder?  Answers ``match_type`` (PERFECT_MATCH, PARTIAL_MATCH,
        NO_MATCH) and a confidence.  ``async`` is sent as the string
        ``"true"``/``"false"``, as in Lean's request."""
        payload = {"entity_id": entity_id, "full_name": full_name, "async": query_bool(async_)}
        return cast(NameVerificationOrPending,
                    self._data_call("insights.name_verification", json=payload, wait=wait,
                                    wait_timeout=wait_timeout, options=options))

    # ------------------------------------------------------------------ KSA

    @overload
    def credit_obligations(
        self, entity_id: str, start_date: DateLike, *, async_: bool = False,
        wait: Literal[True], wait_timeout: float = ..., **options: Unpack[CallOptions],
    ) -> InsightResult: ...

    @overload
    def credit_obligations(
        self, entity_id: str, start_date: DateLike, *, async_: bool = False,
        wait: bool = False, wait_timeout: float = ..., **options: Unpack[CallOptions],
    ) -> InsightOrPending: ...

    def credit_obligations(
        self, entity_id: str, start_date: DateLike, *, async_: bool = False,
        wait: bool = False, wait_timeout: float = DEFAULT_WAIT_TIMEOUT, **options: Unpack[CallOptions],
    ) -> InsightOrPending:
        """KSA: ``GET /insights/v2/liabilities/credit-obligations?entity_id&start_date&async``."""
        return self._period("insights.credit_obligations", entity_id, start_date, async_, wait, wait_timeout,
                            options)

    @overload
    def non_credit_obligations(
        self, entity_id: str, start_date: DateLike, *, async_: bool = False,
        wait: Literal[True], wait_timeout: float = ..., **options: Unpack[CallOptions],
    ) -> InsightResult: ...

    @overload
    def non_credit_obligations(
        self, entity_id: str, start_date: DateLike, *, async_: bool = False,
        wait: bool = False, wait_timeout: float = ..., **options: Unpack[CallOptions],
    ) -> InsightOrPending: ...

    def non_credit_obligations(
        self, entity_id: str, start_date: DateLike, *, async_: bool = False,
        wait: bool = False, wait_timeout: float = DEFAULT_WAIT_TIMEOUT, **options: Unpack[CallOptions],
    ) -> InsightOrPending:
        """KSA: ``GET /insights/v2/liabilities/non-credit-obligations?entity_id&start_date&async``."""
        return self._period("insights.non_credit_obligations", entity_id, start_date, async_, wait, wait_timeout,
                            options)

    @overload
    def employment_income(
        self, entity_id: str, start_date: DateLike, *, async_: bool = False,
        wait: Literal[True], wait_timeout: float = ..., **options: Unpack[CallOptions],
    ) -> InsightResult: ...

    @overload
    def employment_income(
        self, entity_id: str, start_date: DateLike, *, async_: bool = False,
        wait: bool = False, wait_timeout: float = ..., **options: Unpack[CallOptions],
    ) -> InsightOrPending: ...

    def employment_income(
        self, entity_id: str, start_date: DateLike, *, async_: bool = False,
        wait: bool = False, wait_timeout: float = DEFAULT_WAIT_TIMEOUT, **options: Unpack[CallOptions],
    ) -> InsightOrPending:
        """KSA: ``GET /insights/v2/income/employment?entity_id&start_date&async``."""
        return self._period("insights.employment_income", entity_id, start_date, async_, wait, wait_timeout,
                            options)

    @overload
    def balances(
        self, entity_id: str, start_date: DateLike, *, async_: bool = False,
        wait: Literal[True], wait_timeout: float = ..., **options: Unpack[CallOptions],
    ) -> InsightResult: ...

    @overload
    def balances(
        self, entity_id: str, start_date: DateLike, *, async_: bool = False,
        wait: bool = False, wait_timeout: float = ..., **options: Unpack[CallOptions],
    ) -> InsightOrPending: ...

    def balances(
        self, entity_id: str, start_date: DateLike, *, async_: bool = False,
        wait: bool = False, wait_timeout: float = DEFAULT_WAIT_TIMEOUT, **options: Unpack[CallOptions],
    ) -> InsightOrPending:
        """KSA: ``GET /insights/v2/assets/balances?entity_id&start_date&async`` (cash balances)."""
        return self._period("insights.balances", entity_id, start_date, async_, wait, wait_timeout,
                            options)

    @overload
    def freelancer_cashflows(
        self, entity_id: str, start_date: DateLike, *, async_: bool = False,
        wait: Literal[True], wait_timeout: float = ..., **options: Unpack[CallOptions],
    ) -> InsightResult: ...

    @overload
    def freelancer_cashflows(
        self, entity_id: str, start_date: DateLike, *, async_: bool = False,
        wait: bool = False, wait_timeout: float = ..., **options: Unpack[CallOptions],
    ) -> InsightOrPending: ...

    def freelancer_cashflows(
        self, entity_id: str, start_date: DateLike, *, async_: bool = False,
        wait: bool = False, wait_timeout: float = DEFAULT_WAIT_TIMEOUT, **options: Unpack[CallOptions],
    ) -> InsightOrPending:
        """KSA: ``GET /insights/v2/assets/freelancers/cashflows?entity_id&start_date&async``
        (path from Lean's OpenAPI files: the collection's URL is empty)."""
        return self._period("insights.freelancer_cashflows", entity_id, start_date, async_, wait, wait_timeout,
                            options)
