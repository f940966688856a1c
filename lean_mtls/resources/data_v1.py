"""Data API v1: the legacy data calls, POST with a JSON body.

Kept for integrations written against v1 (Lean's own webhook example still
calls it); new code should use :mod:`lean_mtls.resources.data` (v2).  v1
answers ``{"status": "OK", "payload": {...}}``; the statuses and their errors
are those of v2, and ``async: true`` answers PENDING with a ``results_id``.

The path prefix is UNCERTAIN (LEAN_API.md): Lean's API reference and OpenAPI
file use ``/data/v1/...``, older docs and snippets ``/v1/...``.  It is the
class attribute :attr:`DataV1.prefix`; set it per session with
``session.data_v1.prefix = "/v1"`` if your account answers there.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, overload

from ._base import drop_none
from ._params import DateLike, iso_date
from ._results import DEFAULT_WAIT_TIMEOUT, DataOrPending, ResultsResource
from .types import DataResult

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ._base import CallOptions

__all__ = ["DataV1"]


class DataV1(ResultsResource):
    """``POST /data/v1/identity|accounts|balance|transactions`` and ``GET /data/v1/results/{id}``.

    Every call returns a :class:`~lean_mtls.resources.types.DataResult` (data
    under ``payload``) or, for PENDING, a ``PendingResult`` (``wait=True``
    waits inline).
    """

    #: UNCERTAIN: ``/data/v1`` (current docs) or ``/v1`` (older docs).
    prefix: str = "/data/v1"
    results_key = "data_v1.results"

    def _results_prefix(self) -> str:
        return f"{self.prefix}/results"

    def _post(
        self, name: str, payload: dict[str, Any], wait: bool, wait_timeout: float, options: Mapping[str, Any],
    ) -> DataOrPending:
        body = self._call(f"data_v1.{name}", json=payload, options=options, path=f"{self.prefix}/{name}")
        return self._resolve(body, wait, wait_timeout, options)

    @overload
    def identity(
        self, entity_id: str, *, async_: bool | None = None, wait: Literal[True], wait_timeout: float = ...,
        **options: Unpack[CallOptions],
    ) -> DataResult: ...

    @overload
    def identity(
        self, entity_id: str, *, async_: bool | None = None, wait: bool = False, wait_timeout: float = ...,
        **options: Unpack[CallOptions],
    ) -> DataOrPending: ...

    def identity(
        self, entity_id: str, *, async_: bool | None = None, wait: bool = False,
        wait_timeout: float = DEFAULT_WAIT_TIMEOUT, **options: Unpack[CallOptions],
    ) -> DataOrPending:
        """``POST /data/v1/identity`` with ``{entity_id, async}``."""
        payload = drop_none({"entity_id": entity_id, "async": async_})
        return self._post("identity", payload, wait, wait_timeout, options)

    @overload
    def accounts(
        self, entity_id: str, *, async_: bool | None = None, wait: Literal[True], wait_timeout: float = ...,
        **options: Unpack[CallOptions],
    ) -> DataResult: ...

    @overload
    def accounts(
        self, entity_id: str, *, async_: bool | None = None, wait: bool = False, wait_timeout: float = ...,
        **options: Unpack[CallOptions],
    ) -> DataOrPending: ...

    def accounts(
        self, entity_id: str, *, async_: bool | None = None, wait: bool = False,
        wait_timeout: float = DEFAULT_WAIT_TIMEOUT, **options: Unpack[CallOptions],
    ) -> DataOrPending:
        """``POST /data/v1/accounts`` with ``{entity_id, async}``."""
        payload = drop_none({"entity_id": entity_id, "async": async_})
        return self._post("accounts", payload, wait, wait_timeout, options)

    @overload
    def balance(
        self, entity_id: str, account_id: str, *, async_: bool | None = None, wait: Literal[True],
        wait_timeout: float = ..., **options: Unpack[CallOptions],
    ) -> DataResult: ...

    @overload
    def balance(
        self, entity_id: str, account_id: str, *, async_: bool | None = None, wait: bool = False,
        wait_timeout: float = ..., **options: Unpack[CallOptions],
    ) -> DataOrPending: ...

    def balance(
        self, entity_id: str, account_id: str, *, async_: bool | None = None, wait: bool = False,
        wait_timeout: float = DEFAULT_WAIT_TIMEOUT, **options: Unpack[CallOptions],
    ) -> DataOrPending:
        """``POST /data/v1/balance`` with ``{entity_id, account_id, async}``."""
        payload = drop_none({"entity_id": entity_id, "account_id": account_id, "async": async_})
        return self._post("balance", payload, wait, wait_timeout, options)

    @overload
    def transactions(
        self, entity_id: str, account_id: str, *, insights: bool | None = None, start_date: DateLike | None = None,
        end_date: DateLike | None = None, async_: bool | None = None, wait: Literal[True], wait_timeout: float = ...,
        **options: Unpack[CallOptions],
    ) -> DataResult: ...

    @overload
    def transactions(
        self, entity_id: str, account_id: str, *, insights: bool | None = None, start_date: DateLike | None = None,
        end_date: DateLike | None = None, async_: bool | None = None, wait: bool = False, wait_timeout: float = ...,
        **options: Unpack[CallOptions],
    ) -> DataOrPending: ...

    def transactions(
        self, entity_id: str, account_id: str, *, insights: bool | None = None, start_date: DateLike | None = None,
        end_date: DateLike | None = None, async_: bool | None = None, wait: bool = False,
        wait_timeout: float = DEFAULT_WAIT_TIMEOUT, **options: Unpack[CallOptions],
    ) -> DataOrPending:
        """``POST /data/v1/transactions`` with ``{entity_id, account_id, insights, async}``.

        ``start_date``/``end_date`` are sent as ``YYYY-MM-DD`` only when given:
        whether v1 honours them is UNCERTAIN (not in Lean's v1 docs)."""
        payload = drop_none({"entity_id": entity_id, "account_id": account_id, "insights": insights, "async": async_,
            "start_date": iso_date(start_date, "start_date"), "end_date": iso_date(end_date, "end_date")})
        return self._post("transactions", payload, wait, wait_timeout, options)
