"""Data API v2: the customer's bank data, read through an entity.

Every call is a data call (see :mod:`lean_mtls.resources._endpoints`): Lean
reports data failures inside successful HTTP answers, ``status: FAILED``,
``RECONNECT_REQUIRED`` or ``CONSENT_EXPIRED`` arrive with HTTP 200 and are
raised as :class:`~lean_mtls.errors.DataFailedError`,
:class:`~lean_mtls.errors.ReconnectRequiredError` and
:class:`~lean_mtls.errors.ConsentExpiredError`.  ``PENDING`` becomes a
:class:`~lean_mtls.PendingResult`, or is waited for inline with ``wait=True``
(typed: ``data.accounts(e, wait=True)["data"]`` passes ``mypy --strict``).

The list calls take ``page``/``size`` (always sent: page 0 and Lean's default
size 50 unless given; size at most 100) and answer
``{"status": "OK", "data": {"type": "<type>", "<type>": [...], "page": {...}}}``;
their ``iter_*`` twins walk every page lazily and yield the items one by one
(waiting through PENDING pages, up to ``wait_timeout`` each).

Every method also takes the per-call options ``idempotency_key=``,
``timeout=``, ``retries=`` and ``headers=`` (:class:`~lean_mtls.resources._base.CallOptions`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Literal, cast, overload

from .._concurrent import DEFAULT_CONCURRENCY, Concurrency, ConcurrencyBudget, as_budget, session_slots
from .._export import ExportRecord, check_kinds
from ..errors import InvalidResponseError
from ._base import check_walk_options, drop_none, segment
from ._endpoints import by_key
from ._pagination import ListWalk, check_page_size, walk_pages
from ._params import DateLike, iso_date, query_bool
from ._results import DEFAULT_WAIT_TIMEOUT, DataOrPending, PendingResult, ResultsResource
from .types import (
    Account,
    Balance,
    Beneficiary,
    DataResult,
    DirectDebit,
    Identity,
    Refresh,
    RefreshPage,
    ScheduledPayment,
    StandingOrder,
    Transaction,
)

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ._base import CallOptions

__all__ = ["DEFAULT_DATA_PAGE_SIZE", "Data", "PendingResult"]

#: Lean's default ``size`` of a Data API v2 page (O: default 50, at most 100).
DEFAULT_DATA_PAGE_SIZE = 50


class Data(ResultsResource):
    """``/data/v2``: accounts, balances, transactions and the rest, refreshes, results."""

    results_path_prefix = "/data/v2/results"

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _query(
        entity_id: str, *, start_date: DateLike | None = None, end_date: DateLike | None = None,
        insights: bool | None = None,
    ) -> dict[str, Any]:
        return drop_none({
            "entity_id": entity_id,
            "start_date": iso_date(start_date, "start_date"),
            "end_date": iso_date(end_date, "end_date"),
            "insights": query_bool(insights),
        })

    def _get(
        self, key: str, path_params: Mapping[str, object], query: dict[str, Any], page: int, size: int, wait: bool,
        wait_timeout: float, options: Mapping[str, Any],
    ) -> DataOrPending:
        paging = by_key(key).paging
        assert paging is not None  # noqa: S101 - every data list endpoint pages
        params = {**paging.params(page, size), **query}
        body = self._call(key, path_params, params=params, options=options)
        return self._resolve(body, wait, wait_timeout, options)

    def _iter(
        self, key: str, path_params: Mapping[str, object], query: dict[str, Any], page_size: int | None,
        wait_timeout: float, concurrency: Concurrency, options: Mapping[str, Any],
    ) -> Iterator[Any]:
        endpoint = by_key(key)
        assert endpoint.paging is not None  # noqa: S101

        def fetch(paging: dict[str, int]) -> Any:
            body = self._call(key, path_params, params={**paging, **query}, options=options)
            return self._resolve(body, True, wait_timeout, options)

        return self._iter_items(fetch, endpoint.paging, item_key=endpoint.item_key, page_size=page_size,
                                 concurrency=concurrency, key=endpoint.key, options=options)

    @overload
    def accounts(
        self, entity_id: str, *, page: int = 0, size: int = DEFAULT_DATA_PAGE_SIZE, wait: Literal[True],
        wait_timeout: float = ..., **options: Unpack[CallOptions],
    ) -> DataResult: ...

    @overload
    def accounts(
        self, entity_id: str, *, page: int = 0, size: int = DEFAULT_DATA_PAGE_SIZE, wait: bool = False,
        wait_timeout: float = ..., **options: Unpack[CallOptions],
    ) -> DataOrPending: ...

    def accounts(
        self, entity_id: str, *, page: int = 0, size: int = DEFAULT_DATA_PAGE_SIZE, wait: bool = False,
        wait_timeout: float = DEFAULT_WAIT_TIMEOUT, **options: Unpack[CallOptions],
    ) -> DataOrPending:
        """``GET /data/v2/accounts``: one page of the entity's accounts.

        Returns a :class:`~lean_mtls.resources.types.DataResult` or, when Lean
        answers PENDING, a :class:`~lean_mtls.PendingResult` (``wait=True``
        waits for the data instead).
        """
        query = self._query(entity_id)
        return self._get("data.accounts", {}, query, page, size, wait, wait_timeout, options)

    def iter_accounts(
        self, entity_id: str, *, page_size: int | None = None, wait_timeout: float = DEFAULT_WAIT_TIMEOUT,
        concurrency: Concurrency = DEFAULT_CONCURRENCY,
        **options: Unpack[CallOptions],
    ) -> Iterator[Account]:
        """Every item of :meth:`accounts`, fetched lazily (100 per request unless ``page_size``)."""
        query = self._query(entity_id)
        return self._iter("data.accounts", {}, query, page_size, wait_timeout, concurrency, options)

    @overload
    def balances(
        self, entity_id: str, account_id: str, *, page: int = 0, size: int = DEFAULT_DATA_PAGE_SIZE,
        wait: Literal[True], wait_timeout: float = ..., **options: Unpack[CallOptions],
    ) -> DataResult: ...

    @overload
    def balances(
        self, entity_id: str, account_id: str, *, page: int = 0, size: int = DEFAULT_DATA_PAGE_SIZE,
        wait: bool = False, wait_timeout: float = ..., **options: Unpack[CallOptions],
    ) -> DataOrPending: ...

    def balances(
        self, entity_id: str, account_id: str, *, page: int = 0, size: int = DEFAULT_DATA_PAGE_SIZE,
        wait: bool = False, wait_timeout: float = DEFAULT_WAIT_TIMEOUT, **options: Unpack[CallOptions],
    ) -> DataOrPending:
        """``GET /data/v2/accounts/{account_id}/balances``.

        Returns a :class:`~lean_mtls.resources.types.DataResult` or, when Lean
        answers PENDING, a :class:`~lean_mtls.PendingResult` (``wait=True``
        waits for the data instead).
        """
        query = self._query(entity_id)
        return self._get("data.balances", {"account_id": account_id}, query, page, size, wait, wait_timeout, options)

    def iter_balances(
        self, entity_id: str, account_id: str, *, page_size: int | None = None,
        wait_timeout: float = DEFAULT_WAIT_TIMEOUT, concurrency: Concurrency = DEFAULT_CONCURRENCY,
        **options: Unpack[CallOptions],
    ) -> Iterator[Balance]:
        """Every item of :meth:`balances`, fetched lazily (100 per request unless ``page_size``)."""
        query = self._query(entity_id)
        ids = {"account_id": account_id}
        return self._iter("data.balances", ids, query, page_size, wait_timeout, concurrency, options)

    @overload
    def transactions(
        self, entity_id: str, account_id: str, *, start_date: DateLike | None = None,
        end_date: DateLike | None = None, insights: bool | None = None, page: int = 0,
        size: int = DEFAULT_DATA_PAGE_SIZE, wait: Literal[True], wait_timeout: float = ...,
        **options: Unpack[CallOptions],
    ) -> DataResult: ...

    @overload
    def transactions(
        self, entity_id: str, account_id: str, *, start_date: DateLike | None = None,
        end_date: DateLike | None = None, insights: bool | None = None, page: int = 0,
        size: int = DEFAULT_DATA_PAGE_SIZE, wait: bool = False, wait_timeout: float = ...,
        **options: Unpack[CallOptions],
    ) -> DataOrPending: ...

    def transactions(
        self, entity_id: str, account_id: str, *, start_date: DateLike | None = None,
        end_date: DateLike | None = None, insights: bool | None = None, page: int = 0,
        size: int = DEFAULT_DATA_PAGE_SIZE, wait: bool = False, wait_timeout: float = DEFAULT_WAIT_TIMEOUT,
        **options: Unpack[CallOptions],
    ) -> DataOrPending:
        """``GET /data/v2/accounts/{account_id}/transactions``.

        ``start_date``/``end_date`` are UTC dates (``datetime.date`` or
        ``"YYYY-MM-DD"``, not in the future; Lean's OpenAPI files); ``insights=True``
        asks Lean to enrich each transaction.

        Returns a :class:`~lean_mtls.resources.types.DataResult` or, when Lean
        answers PENDING, a :class:`~lean_mtls.PendingResult` (``wait=True``
        waits for the data instead).
        """
        query = self._query(entity_id, start_date=start_date, end_date=end_date, insights=insights)
        ids = {"account_id": account_id}
        return self._get("data.transactions", ids, query, page, size, wait, wait_timeout, options)

    def iter_transactions(
        self, entity_id: str, account_id: str, *, start_date: DateLike | None = None,
        end_date: DateLike | None = None, insights: bool | None = None, page_size: int | None = None,
        wait_timeout: float = DEFAULT_WAIT_TIMEOUT, concurrency: Concurrency = DEFAULT_CONCURRENCY,
        **options: Unpack[CallOptions],
    ) -> Iterator[Transaction]:
        """Every item of :meth:`transactions`, fetched lazily (100 per request unless ``page_size``)."""
        query = self._query(entity_id, start_date=start_date, end_date=end_date, insights=insights)
        ids = {"account_id": account_id}
        return self._iter("data.transactions", ids, query, page_size, wait_timeout, concurrency, options)

    @overload
    def beneficiaries(
        self, entity_id: str, account_id: str, *, page: int = 0, size: int = DEFAULT_DATA_PAGE_SIZE,
        wait: Literal[True], wait_timeout: float = ..., **options: Unpack[CallOptions],
    ) -> DataResult: ...

    @overload
    def beneficiaries(
        self, entity_id: str, account_id: str, *, page: int = 0, size: int = DEFAULT_DATA_PAGE_SIZE,
        wait: bool = False, wait_timeout: float = ..., **options: Unpack[CallOptions],
    ) -> DataOrPending: ...

    def beneficiaries(
        self, entity_id: str, account_id: str, *, page: int = 0, size: int = DEFAULT_DATA_PAGE_SIZE,
        wait: bool = False, wait_timeout: float = DEFAULT_WAIT_TIMEOUT, **options: Unpack[CallOptions],
    ) -> DataOrPending:
        """``GET /data/v2/accounts/{account_id}/beneficiaries``.

        Returns a :class:`~lean_mtls.resources.types.DataResult` or, when Lean
        answers PENDING, a :class:`~lean_mtls.PendingResult` (``wait=True``
        waits for the data instead).
        """
        query = self._query(entity_id)
        ids = {"account_id": account_id}
        return self._get("data.beneficiaries", ids, query, page, size, wait, wait_timeout, options)

    def iter_beneficiaries(
        self, entity_id: str, account_id: str, *, page_size: int | None = None,
        wait_timeout: float = DEFAULT_WAIT_TIMEOUT, concurrency: Concurrency = DEFAULT_CONCURRENCY,
        **options: Unpack[CallOptions],
    ) -> Iterator[Beneficiary]:
        """Every item of :meth:`beneficiaries`, fetched lazily (100 per request unless ``page_size``)."""
        query = self._query(entity_id)
        ids = {"account_id": account_id}
        return self._iter("data.beneficiaries", ids, query, page_size, wait_timeout, concurrency, options)

    @overload
    def identities(
        self, entity_id: str, account_id: str, *, page: int = 0, size: int = DEFAULT_DATA_PAGE_SIZE,
        wait: Literal[True], wait_timeout: float = ..., **options: Unpack[CallOptions],
    ) -> DataResult: ...

    @overload
    def identities(
        self, entity_id: str, account_id: str, *, page: int = 0, size: int = DEFAULT_DATA_PAGE_SIZE,
        wait: bool = False, wait_timeout: float = ..., **options: Unpack[CallOptions],
    ) -> DataOrPending: ...

    def identities(
        self, entity_id: str, account_id: str, *, page: int = 0, size: int = DEFAULT_DATA_PAGE_SIZE,
        wait: bool = False, wait_timeout: float = DEFAULT_WAIT_TIMEOUT, **options: Unpack[CallOptions],
    ) -> DataOrPending:
        """``GET /data/v2/accounts/{account_id}/identities``: the account holders.

        Returns a :class:`~lean_mtls.resources.types.DataResult` or, when Lean
        answers PENDING, a :class:`~lean_mtls.PendingResult` (``wait=True``
        waits for the data instead).
        """
        query = self._query(entity_id)
        return self._get("data.identities", {"account_id": account_id}, query, page, size, wait, wait_timeout, options)

    def iter_identities(
        self, entity_id: str, account_id: str, *, page_size: int | None = None,
        wait_timeout: float = DEFAULT_WAIT_TIMEOUT, concurrency: Concurrency = DEFAULT_CONCURRENCY,
        **options: Unpack[CallOptions],
    ) -> Iterator[Identity]:
        """Every item of :meth:`identities`, fetched lazily (100 per request unless ``page_size``)."""
        query = self._query(entity_id)
        ids = {"account_id": account_id}
        return self._iter("data.identities", ids, query, page_size, wait_timeout, concurrency, options)

    @overload
    def identity(
        self, entity_id: str, *, page: int = 0, size: int = DEFAULT_DATA_PAGE_SIZE, wait: Literal[True],
        wait_timeout: float = ..., **options: Unpack[CallOptions],
    ) -> DataResult: ...

    @overload
    def identity(
        self, entity_id: str, *, page: int = 0, size: int = DEFAULT_DATA_PAGE_SIZE, wait: bool = False,
        wait_timeout: float = ..., **options: Unpack[CallOptions],
    ) -> DataOrPending: ...

    def identity(
        self, entity_id: str, *, page: int = 0, size: int = DEFAULT_DATA_PAGE_SIZE, wait: bool = False,
        wait_timeout: float = DEFAULT_WAIT_TIMEOUT, **options: Unpack[CallOptions],
    ) -> DataOrPending:
        """``GET /data/v2/identity``: the identity of the entity's owner, paged like
        the other data calls (the list is ``result["data"]["identities"]``).

        Returns a :class:`~lean_mtls.resources.types.DataResult` or, when Lean
        answers PENDING, a :class:`~lean_mtls.PendingResult` (``wait=True``
        waits for the data instead).
        """
        query = self._query(entity_id)
        return self._get("data.identity", {}, query, page, size, wait, wait_timeout, options)

    def iter_identity(
        self, entity_id: str, *, page_size: int | None = None, wait_timeout: float = DEFAULT_WAIT_TIMEOUT,
        concurrency: Concurrency = DEFAULT_CONCURRENCY,
        **options: Unpack[CallOptions],
    ) -> Iterator[Identity]:
        """Every item of :meth:`identity`, fetched lazily (100 per request unless ``page_size``)."""
        query = self._query(entity_id)
        return self._iter("data.identity", {}, query, page_size, wait_timeout, concurrency, options)

    @overload
    def direct_debits(
        self, entity_id: str, account_id: str, *, page: int = 0, size: int = DEFAULT_DATA_PAGE_SIZE,
        wait: Literal[True], wait_timeout: float = ..., **options: Unpack[CallOptions],
    ) -> DataResult: ...

    @overload
    def direct_debits(
        self, entity_id: str, account_id: str, *, page: int = 0, size: int = DEFAULT_DATA_PAGE_SIZE,
        wait: bool = False, wait_timeout: float = ..., **options: Unpack[CallOptions],
    ) -> DataOrPending: ...

    def direct_debits(
        self, entity_id: str, account_id: str, *, page: int = 0, size: int = DEFAULT_DATA_PAGE_SIZE,
        wait: bool = False, wait_timeout: float = DEFAULT_WAIT_TIMEOUT, **options: Unpack[CallOptions],
    ) -> DataOrPending:
        """``GET /data/v2/accounts/{account_id}/direct-debits``.

        Returns a :class:`~lean_mtls.resources.types.DataResult` or, when Lean
        answers PENDING, a :class:`~lean_mtls.PendingResult` (``wait=True``
        waits for the data instead).
        """
        query = self._query(entity_id)
        ids = {"account_id": account_id}
        return self._get("data.direct_debits", ids, query, page, size, wait, wait_timeout, options)

    def iter_direct_debits(
        self, entity_id: str, account_id: str, *, page_size: int | None = None,
        wait_timeout: float = DEFAULT_WAIT_TIMEOUT, concurrency: Concurrency = DEFAULT_CONCURRENCY,
        **options: Unpack[CallOptions],
    ) -> Iterator[DirectDebit]:
        """Every item of :meth:`direct_debits`, fetched lazily (100 per request unless ``page_size``)."""
        query = self._query(entity_id)
        ids = {"account_id": account_id}
        return self._iter("data.direct_debits", ids, query, page_size, wait_timeout, concurrency, options)

    @overload
    def scheduled_payments(
        self, entity_id: str, account_id: str, *, page: int = 0, size: int = DEFAULT_DATA_PAGE_SIZE,
        wait: Literal[True], wait_timeout: float = ..., **options: Unpack[CallOptions],
    ) -> DataResult: ...

    @overload
    def scheduled_payments(
        self, entity_id: str, account_id: str, *, page: int = 0, size: int = DEFAULT_DATA_PAGE_SIZE,
        wait: bool = False, wait_timeout: float = ..., **options: Unpack[CallOptions],
    ) -> DataOrPending: ...

    def scheduled_payments(
        self, entity_id: str, account_id: str, *, page: int = 0, size: int = DEFAULT_DATA_PAGE_SIZE,
        wait: bool = False, wait_timeout: float = DEFAULT_WAIT_TIMEOUT, **options: Unpack[CallOptions],
    ) -> DataOrPending:
        """``GET /data/v2/accounts/{account_id}/scheduled-payments``.

        Returns a :class:`~lean_mtls.resources.types.DataResult` or, when Lean
        answers PENDING, a :class:`~lean_mtls.PendingResult` (``wait=True``
        waits for the data instead).
        """
        query = self._query(entity_id)
        ids = {"account_id": account_id}
        return self._get("data.scheduled_payments", ids, query, page, size, wait, wait_timeout, options)

    def iter_scheduled_payments(
        self, entity_id: str, account_id: str, *, page_size: int | None = None,
        wait_timeout: float = DEFAULT_WAIT_TIMEOUT, concurrency: Concurrency = DEFAULT_CONCURRENCY,
        **options: Unpack[CallOptions],
    ) -> Iterator[ScheduledPayment]:
        """Every item of :meth:`scheduled_payments`, fetched lazily (100 per request unless ``page_size``)."""
        query = self._query(entity_id)
        ids = {"account_id": account_id}
        return self._iter("data.scheduled_payments", ids, query, page_size, wait_timeout, concurrency, options)

    @overload
    def standing_orders(
        self, entity_id: str, account_id: str, *, page: int = 0, size: int = DEFAULT_DATA_PAGE_SIZE,
        wait: Literal[True], wait_timeout: float = ..., **options: Unpack[CallOptions],
    ) -> DataResult: ...

    @overload
    def standing_orders(
        self, entity_id: str, account_id: str, *, page: int = 0, size: int = DEFAULT_DATA_PAGE_SIZE,
        wait: bool = False, wait_timeout: float = ..., **options: Unpack[CallOptions],
    ) -> DataOrPending: ...

    def standing_orders(
        self, entity_id: str, account_id: str, *, page: int = 0, size: int = DEFAULT_DATA_PAGE_SIZE,
        wait: bool = False, wait_timeout: float = DEFAULT_WAIT_TIMEOUT, **options: Unpack[CallOptions],
    ) -> DataOrPending:
        """``GET /data/v2/accounts/{account_id}/standing-orders``.

        Returns a :class:`~lean_mtls.resources.types.DataResult` or, when Lean
        answers PENDING, a :class:`~lean_mtls.PendingResult` (``wait=True``
        waits for the data instead).
        """
        query = self._query(entity_id)
        ids = {"account_id": account_id}
        return self._get("data.standing_orders", ids, query, page, size, wait, wait_timeout, options)

    def iter_standing_orders(
        self, entity_id: str, account_id: str, *, page_size: int | None = None,
        wait_timeout: float = DEFAULT_WAIT_TIMEOUT, concurrency: Concurrency = DEFAULT_CONCURRENCY,
        **options: Unpack[CallOptions],
    ) -> Iterator[StandingOrder]:
        """Every item of :meth:`standing_orders`, fetched lazily (100 per request unless ``page_size``)."""
        query = self._query(entity_id)
        ids = {"account_id": account_id}
        return self._iter("data.standing_orders", ids, query, page_size, wait_timeout, concurrency, options)

    # ------------------------------------------------------------------ entity export

    def export(
        self, entity_id: str, *, kinds: Iterable[str] = ("transactions",), start_date: DateLike | None = None,
        end_date: DateLike | None = None, insights: bool | None = None, account_ids: Iterable[str] | None = None,
        page_size: int | None = None, concurrency: Concurrency = DEFAULT_CONCURRENCY,
        wait_timeout: float = DEFAULT_WAIT_TIMEOUT, **options: Unpack[CallOptions],
    ) -> Iterator[ExportRecord]:
        """Every item of the chosen lists of every account of the entity, as
        :class:`~lean_mtls.ExportRecord` ``(entity_id, account_id, kind, item)``.

        ``kinds``: any of ``"transactions"`` (the default), ``"balances"``,
        ``"beneficiaries"``, ``"identities"``, ``"direct_debits"``,
        ``"scheduled_payments"``, ``"standing_orders"`` (the ``iter_*`` lists of
        this group).  ``start_date``/``end_date``/``insights`` apply to
        transactions (as in :meth:`iter_transactions`).  ``account_ids``: only
        these accounts (default: every account ``GET /data/v2/accounts`` lists,
        asked for on the first ``next()``).  Per-call ``options`` go with every
        request.

        Order: accounts as Lean lists them, for each the kinds in the order
        given, each list in Lean's page order.  All lists share one
        ``concurrency`` budget (an int, at most the session's ``pool_size``,
        or a :class:`~lean_mtls.ConcurrencyBudget`): the first page of the next
        list is asked for while the last pages of the previous one are in
        flight.  Memory holds at most ``concurrency`` pages; leaving the loop
        cancels the rest.  Errors are raised at the page they happened on
        (e.g. :class:`~lean_mtls.errors.ReconnectRequiredError`), after every
        record before it.  Bad ``kinds``, dates or ids raise
        :class:`~lean_mtls.errors.InvalidRequestError` at the call.  Pair with
        :func:`lean_mtls.write_jsonl` for a JSON-lines file.
        """
        chosen = check_kinds(kinds)
        check_walk_options(by_key("data.accounts"), options)
        tx_query = self._query(entity_id, start_date=start_date, end_date=end_date, insights=insights)
        wanted = None if account_ids is None else list(account_ids)
        for account_id in wanted or ():
            segment(account_id, "account_id")  # a bad id fails now, not pages later
        budget = as_budget(concurrency)
        style = by_key("data.transactions").paging  # every Data API v2 list pages the same way
        assert style is not None  # noqa: S101
        size = check_page_size(page_size, style)
        return self._export(entity_id, chosen, tx_query, size, budget, wanted, wait_timeout, options)

    def _export(
        self, entity_id: str, kinds: tuple[str, ...], tx_query: dict[str, Any], size: int,
        budget: ConcurrencyBudget, account_ids: list[str] | None, wait_timeout: float, options: Mapping[str, Any],
    ) -> Iterator[ExportRecord]:
        if account_ids is None:
            accounts = self._iter("data.accounts", {}, {"entity_id": entity_id}, None, wait_timeout, budget,
                                  options)
            account_ids = [_account_id(account) for account in accounts]

        def walk(account_id: str, kind: str) -> _ExportWalk:
            key = f"data.{kind}"
            endpoint = by_key(key)
            query = tx_query if kind == "transactions" else {"entity_id": entity_id}
            ids = {"account_id": account_id}

            def fetch(paging: dict[str, int]) -> Any:
                body = self._call(key, ids, params={**paging, **query}, options=options)
                return self._resolve(body, True, wait_timeout, options)

            assert endpoint.paging is not None  # noqa: S101 - every data list pages
            return _ExportWalk(fetch, endpoint.paging, endpoint.item_key, size, account_id, kind)

        walks = (walk(account_id, kind) for account_id in account_ids for kind in kinds)
        for source, items in walk_pages(walks, budget, slots=session_slots(self._client)):
            for item in items:
                yield ExportRecord(entity_id, source.account_id, source.kind, item)

    # ------------------------------------------------------------------ refreshes

    def create_refresh(self, entity_id: str, **options: Unpack[CallOptions]) -> Refresh:
        """``POST /data/v2/refreshes``: ask Lean to fetch fresh data from the bank.

        Raises :class:`~lean_mtls.errors.ConsentExpiredError` (HTTP 403) when the
        consent lapsed and :class:`~lean_mtls.errors.RateLimitError` (429
        ``DUPLICATED_REQUEST``) while a refresh of this entity is still pending.
        """
        return cast(Refresh, self._call("data.create_refresh", json={"entity_id": entity_id}, options=options))

    def list_refreshes(
        self, entity_id: str | None = None, *, page: int = 0, size: int = DEFAULT_DATA_PAGE_SIZE,
        **options: Unpack[CallOptions],
    ) -> RefreshPage:
        """``GET /data/v2/refreshes``: one page, the list under ``content``.

        A refresh's ``status`` (``PENDING``/``FINISHED``) is its own progress,
        not a data status: it is returned as is, never waited on.
        """
        params = drop_none({"page": page, "size": size, "entity_id": entity_id})
        return cast(RefreshPage, self._call("data.list_refreshes", params=params, options=options))

    def iter_refreshes(
        self, entity_id: str | None = None, *, page_size: int | None = None,
        concurrency: Concurrency = DEFAULT_CONCURRENCY, **options: Unpack[CallOptions],
    ) -> Iterator[Refresh]:
        """Every refresh (of the entity, if given), fetched lazily."""
        query = drop_none({"entity_id": entity_id})
        endpoint = by_key("data.list_refreshes")
        assert endpoint.paging is not None  # noqa: S101

        def fetch(paging: dict[str, int]) -> Any:
            return self._call("data.list_refreshes", params={**paging, **query}, options=options)

        return self._iter_items(fetch, endpoint.paging, item_key=endpoint.item_key, page_size=page_size,
                                 concurrency=concurrency, key=endpoint.key, options=options)

    def get_refresh(self, refresh_id: str, **options: Unpack[CallOptions]) -> Refresh:
        """``GET /data/v2/refreshes/{refresh_id}``: status and per-item ``data_status``.

        Lean's own request sends the data endpoints' query parameters here; they
        look copied (LEAN_CONTRACT.md) and are not sent.
        """
        return cast(Refresh, self._call("data.get_refresh", {"refresh_id": refresh_id}, options=options))


class _ExportWalk(ListWalk):
    """One list of one account in an export: a page walk that knows where it reads."""

    def __init__(self, fetch: Any, style: Any, item_key: str | None, size: int, account_id: str,
                 kind: str) -> None:
        super().__init__(fetch, style, item_key, size)
        self.account_id = account_id
        self.kind = kind


def _account_id(account: Any) -> str:
    value = account.get("account_id") if isinstance(account, dict) else None
    if not isinstance(value, str) or not value:
        raise InvalidResponseError(
            f"An account in GET /data/v2/accounts has no account_id ({account!r:.120}): pass account_ids= "
            "to export named accounts.",
            status_code=200,
        )
    return value
