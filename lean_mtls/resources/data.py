"""Data API v2: the customer's bank data, read through an entity.

Every call goes through ``LeanSession._request_data`` because Lean reports
data failures inside successful HTTP answers: ``status: FAILED``,
``RECONNECT_REQUIRED`` or ``CONSENT_EXPIRED`` arrive with HTTP 200 and are
raised here as :class:`~lean_mtls.errors.DataFailedError`,
:class:`~lean_mtls.errors.ReconnectRequiredError` and
:class:`~lean_mtls.errors.ConsentExpiredError`.  ``PENDING`` becomes a
:class:`~lean_mtls.resources._results.PendingResult`, or is waited for inline
with ``wait=True``.

The list calls take ``page``/``size`` (size at most 100) and answer
``{"status": "OK", "data": {"type": "<type>", "<type>": [...], "page": {...}}}``;
their ``iter_*`` twins walk every page lazily and yield the items one by one
(waiting through PENDING pages, up to ``wait_timeout`` each).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

from .._concurrent import DEFAULT_CONCURRENCY, Concurrency
from ._base import drop_none, segment
from ._pagination import DATA_V2, REFRESHES
from ._params import DateLike, iso_date, query_bool
from ._results import DEFAULT_WAIT_TIMEOUT, DataOrPending, PendingResult, ResultsResource
from .types import Account, Balance, Refresh, RefreshPage, Transaction

__all__ = ["Data", "PendingResult"]

_PREFIX = "/data/v2"


class Data(ResultsResource):
    """``/data/v2``: accounts, balances, transactions and the rest, refreshes, results.

    Single-page calls return a :class:`~lean_mtls.resources.types.DataResult`
    (the items are under ``result["data"]["<type>"]``) or a ``PendingResult``.
    ``page``/``size`` left at ``None`` use Lean's defaults (0 and 50).
    """

    results_path_prefix = f"{_PREFIX}/results"

    # ------------------------------------------------------------------ helpers

    def _get(self, path: str, query: dict[str, Any], wait: bool, wait_timeout: float) -> DataOrPending:
        body = self._session._request_data("GET", path, params=drop_none(query))
        return self._resolve(body, wait, wait_timeout)

    def _iter(self, path: str, item_key: str, query: dict[str, Any], page_size: int | None,
              wait_timeout: float, concurrency: Concurrency) -> Iterator[Any]:
        def fetch(paging: dict[str, int]) -> Any:
            return self._get(path, {**query, **paging}, True, wait_timeout)

        return self._iter_items(fetch, DATA_V2, item_key=item_key, page_size=page_size, concurrency=concurrency)

    @staticmethod
    def _account_path(account_id: str, tail: str) -> str:
        return f"{_PREFIX}/accounts/{segment(account_id, 'account_id')}/{tail}"

    # ------------------------------------------------------------------ accounts

    def accounts(self, entity_id: str, *, page: int | None = None, size: int | None = None,
                 wait: bool = False, wait_timeout: float = DEFAULT_WAIT_TIMEOUT) -> DataOrPending:
        """``GET /data/v2/accounts``: one page of the entity's accounts."""
        query = {"entity_id": entity_id, "page": page, "size": size}
        return self._get(f"{_PREFIX}/accounts", query, wait, wait_timeout)

    def iter_accounts(self, entity_id: str, *, page_size: int | None = None,
                      wait_timeout: float = DEFAULT_WAIT_TIMEOUT,
                      concurrency: Concurrency = DEFAULT_CONCURRENCY) -> Iterator[Account]:
        """Every account of the entity, fetched lazily 100 per request."""
        query = {"entity_id": entity_id}
        return self._iter(f"{_PREFIX}/accounts", "accounts", query, page_size, wait_timeout, concurrency)

    def balances(self, entity_id: str, account_id: str, *, page: int | None = None, size: int | None = None,
                 wait: bool = False, wait_timeout: float = DEFAULT_WAIT_TIMEOUT) -> DataOrPending:
        """``GET /data/v2/accounts/{account_id}/balances``."""
        query = {"entity_id": entity_id, "page": page, "size": size}
        return self._get(self._account_path(account_id, "balances"), query, wait, wait_timeout)

    def iter_balances(self, entity_id: str, account_id: str, *, page_size: int | None = None,
                      wait_timeout: float = DEFAULT_WAIT_TIMEOUT,
                      concurrency: Concurrency = DEFAULT_CONCURRENCY) -> Iterator[Balance]:
        """Every balance of the account, fetched lazily."""
        path = self._account_path(account_id, "balances")
        return self._iter(path, "balances", {"entity_id": entity_id}, page_size, wait_timeout, concurrency)

    # ------------------------------------------------------------------ transactions

    @staticmethod
    def _transaction_query(entity_id: str, start_date: DateLike | None, end_date: DateLike | None,
                           insights: bool | None) -> dict[str, Any]:
        return {
            "entity_id": entity_id,
            "start_date": iso_date(start_date, "start_date"),
            "end_date": iso_date(end_date, "end_date"),
            "insights": query_bool(insights),
        }

    def transactions(self, entity_id: str, account_id: str, *, start_date: DateLike | None = None,
                     end_date: DateLike | None = None, insights: bool | None = None, page: int | None = None,
                     size: int | None = None, wait: bool = False,
                     wait_timeout: float = DEFAULT_WAIT_TIMEOUT) -> DataOrPending:
        """``GET /data/v2/accounts/{account_id}/transactions``.

        ``start_date``/``end_date`` are UTC dates (``datetime.date`` or
        ``"YYYY-MM-DD"``, not in the future); ``insights=True`` asks Lean to
        enrich each transaction.
        """
        query = self._transaction_query(entity_id, start_date, end_date, insights)
        query.update(page=page, size=size)
        return self._get(self._account_path(account_id, "transactions"), query, wait, wait_timeout)

    def iter_transactions(self, entity_id: str, account_id: str, *, start_date: DateLike | None = None,
                          end_date: DateLike | None = None, insights: bool | None = None,
                          page_size: int | None = None,
                          wait_timeout: float = DEFAULT_WAIT_TIMEOUT,
                          concurrency: Concurrency = DEFAULT_CONCURRENCY) -> Iterator[Transaction]:
        """Every transaction of the account in the date range, fetched lazily 100 per request."""
        query = self._transaction_query(entity_id, start_date, end_date, insights)
        path = self._account_path(account_id, "transactions")
        return self._iter(path, "transactions", query, page_size, wait_timeout, concurrency)

    # ------------------------------------------------------------------ other account data

    def beneficiaries(self, entity_id: str, account_id: str, *, page: int | None = None, size: int | None = None,
                      wait: bool = False, wait_timeout: float = DEFAULT_WAIT_TIMEOUT) -> DataOrPending:
        """``GET /data/v2/accounts/{account_id}/beneficiaries``."""
        query = {"entity_id": entity_id, "page": page, "size": size}
        return self._get(self._account_path(account_id, "beneficiaries"), query, wait, wait_timeout)

    def iter_beneficiaries(self, entity_id: str, account_id: str, *, page_size: int | None = None,
                           wait_timeout: float = DEFAULT_WAIT_TIMEOUT,
                           concurrency: Concurrency = DEFAULT_CONCURRENCY) -> Iterator[dict[str, Any]]:
        """Every beneficiary of the account, fetched lazily."""
        path = self._account_path(account_id, "beneficiaries")
        return self._iter(path, "beneficiaries", {"entity_id": entity_id}, page_size, wait_timeout, concurrency)

    def identities(self, entity_id: str, account_id: str, *, page: int | None = None, size: int | None = None,
                   wait: bool = False, wait_timeout: float = DEFAULT_WAIT_TIMEOUT) -> DataOrPending:
        """``GET /data/v2/accounts/{account_id}/identities``: the account holders."""
        query = {"entity_id": entity_id, "page": page, "size": size}
        return self._get(self._account_path(account_id, "identities"), query, wait, wait_timeout)

    def iter_identities(self, entity_id: str, account_id: str, *, page_size: int | None = None,
                        wait_timeout: float = DEFAULT_WAIT_TIMEOUT,
                        concurrency: Concurrency = DEFAULT_CONCURRENCY) -> Iterator[dict[str, Any]]:
        """Every identity attached to the account, fetched lazily."""
        path = self._account_path(account_id, "identities")
        return self._iter(path, "identities", {"entity_id": entity_id}, page_size, wait_timeout, concurrency)

    def identity(self, entity_id: str, *, wait: bool = False,
                 wait_timeout: float = DEFAULT_WAIT_TIMEOUT) -> DataOrPending:
        """``GET /data/v2/identity``: the identity of the entity's owner."""
        return self._get(f"{_PREFIX}/identity", {"entity_id": entity_id}, wait, wait_timeout)

    def direct_debits(self, entity_id: str, account_id: str, *, page: int | None = None, size: int | None = None,
                      wait: bool = False, wait_timeout: float = DEFAULT_WAIT_TIMEOUT) -> DataOrPending:
        """``GET /data/v2/accounts/{account_id}/direct-debits``."""
        query = {"entity_id": entity_id, "page": page, "size": size}
        return self._get(self._account_path(account_id, "direct-debits"), query, wait, wait_timeout)

    def iter_direct_debits(self, entity_id: str, account_id: str, *, page_size: int | None = None,
                           wait_timeout: float = DEFAULT_WAIT_TIMEOUT,
                           concurrency: Concurrency = DEFAULT_CONCURRENCY) -> Iterator[dict[str, Any]]:
        """Every direct debit of the account, fetched lazily."""
        path = self._account_path(account_id, "direct-debits")
        return self._iter(path, "direct_debits", {"entity_id": entity_id}, page_size, wait_timeout, concurrency)

    def scheduled_payments(self, entity_id: str, account_id: str, *, page: int | None = None,
                           size: int | None = None, wait: bool = False,
                           wait_timeout: float = DEFAULT_WAIT_TIMEOUT) -> DataOrPending:
        """``GET /data/v2/accounts/{account_id}/scheduled-payments``."""
        query = {"entity_id": entity_id, "page": page, "size": size}
        return self._get(self._account_path(account_id, "scheduled-payments"), query, wait, wait_timeout)

    def iter_scheduled_payments(self, entity_id: str, account_id: str, *, page_size: int | None = None,
                                wait_timeout: float = DEFAULT_WAIT_TIMEOUT,
                                concurrency: Concurrency = DEFAULT_CONCURRENCY) -> Iterator[dict[str, Any]]:
        """Every scheduled payment of the account, fetched lazily."""
        path = self._account_path(account_id, "scheduled-payments")
        query = {"entity_id": entity_id}
        return self._iter(path, "scheduled_payments", query, page_size, wait_timeout, concurrency)

    def standing_orders(self, entity_id: str, account_id: str, *, page: int | None = None, size: int | None = None,
                        wait: bool = False, wait_timeout: float = DEFAULT_WAIT_TIMEOUT) -> DataOrPending:
        """``GET /data/v2/accounts/{account_id}/standing-orders``."""
        query = {"entity_id": entity_id, "page": page, "size": size}
        return self._get(self._account_path(account_id, "standing-orders"), query, wait, wait_timeout)

    def iter_standing_orders(self, entity_id: str, account_id: str, *, page_size: int | None = None,
                             wait_timeout: float = DEFAULT_WAIT_TIMEOUT,
                             concurrency: Concurrency = DEFAULT_CONCURRENCY) -> Iterator[dict[str, Any]]:
        """Every standing order of the account, fetched lazily."""
        path = self._account_path(account_id, "standing-orders")
        return self._iter(path, "standing_orders", {"entity_id": entity_id}, page_size, wait_timeout, concurrency)

    # ------------------------------------------------------------------ refreshes

    def create_refresh(self, entity_id: str) -> Refresh:
        """``POST /data/v2/refreshes``: ask Lean to fetch fresh data from the bank.

        Raises :class:`~lean_mtls.errors.ConsentExpiredError` (HTTP 403) when the
        consent lapsed and :class:`~lean_mtls.errors.RateLimitError` (429
        ``DUPLICATED_REQUEST``) while a refresh of this entity is still pending.
        """
        body = self._session._request_data("POST", f"{_PREFIX}/refreshes", json={"entity_id": entity_id})
        return cast(Refresh, body)

    def list_refreshes(self, entity_id: str | None = None, *, page: int | None = None,
                       size: int | None = None) -> RefreshPage:
        """``GET /data/v2/refreshes``: one page, the list under ``content``.

        A refresh's ``status`` (``PENDING``/``FINISHED``) is its own progress,
        not a data status: it is returned as is, never waited on.
        """
        query = drop_none({"entity_id": entity_id, "page": page, "size": size})
        return cast(RefreshPage, self._session._request_data("GET", f"{_PREFIX}/refreshes", params=query))

    def iter_refreshes(self, entity_id: str | None = None, *, page_size: int | None = None,
                       concurrency: Concurrency = DEFAULT_CONCURRENCY) -> Iterator[Refresh]:
        """Every refresh (of the entity, if given), fetched lazily."""
        query = drop_none({"entity_id": entity_id})

        def fetch(paging: dict[str, int]) -> Any:
            return self._session._request_data("GET", f"{_PREFIX}/refreshes", params={**query, **paging})

        return self._iter_items(fetch, REFRESHES, item_key="content", page_size=page_size, concurrency=concurrency)

    def get_refresh(self, refresh_id: str) -> Refresh:
        """``GET /data/v2/refreshes/{refresh_id}``: status and per-item ``data_status``."""
        path = f"{_PREFIX}/refreshes/{segment(refresh_id, 'refresh_id')}"
        return cast(Refresh, self._session._request_data("GET", path))
