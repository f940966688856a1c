"""Entities: the bank connections customers make through LinkSDK.

Entities are created by LinkSDK's ``connect()`` in the customer's browser or
app, never through the API, so this group only reads and deletes them.  The
``entity_id`` is what every Data API call takes.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from typing import Any, Literal, cast

from .._concurrent import DEFAULT_CONCURRENCY, Concurrency
from ._base import Resource, segment
from ._pagination import ENTITIES, MAX_ENTITIES_PAGE_SIZE
from ._params import DateLike, iso_date
from .types import Entity, EntityPage

__all__ = ["Entities"]


class Entities(Resource):
    """``/customers/v1/{customer_id}/entities`` and ``/customers/v1/entities``."""

    #: Where :meth:`delete` puts ``reason``.  Lean's OpenAPI file allows it in
    #: the query or the JSON body (UNCERTAIN which is preferred): ``"body"``
    #: like payment sources, or ``"query"`` like KSA's consent deletion.
    delete_reason_in: Literal["body", "query"] = "body"

    @staticmethod
    def _collection(customer_id: str) -> str:
        return f"/customers/v1/{segment(customer_id, 'customer_id')}/entities"

    @classmethod
    def _path(cls, customer_id: str, entity_id: str) -> str:
        # entity_id is required: a missing id must never turn a GET or DELETE
        # of one entity into a call on the whole collection.
        return f"{cls._collection(customer_id)}/{segment(entity_id, 'entity_id')}"

    def list(self, customer_id: str) -> builtins.list[Entity]:
        """``GET /customers/v1/{customer_id}/entities``: every entity of the customer."""
        return cast("builtins.list[Entity]", self._request("GET", self._collection(customer_id)))

    def get(self, customer_id: str, entity_id: str) -> Entity:
        """``GET /customers/v1/{customer_id}/entities/{entity_id}``."""
        return cast(Entity, self._request("GET", self._path(customer_id, entity_id)))

    @staticmethod
    def _range(start_date: DateLike, end_date: DateLike) -> dict[str, Any]:
        return {"start_date": iso_date(start_date, "start_date"), "end_date": iso_date(end_date, "end_date")}

    def list_by_date_range(self, start_date: DateLike, end_date: DateLike, *, page_number: int = 0,
                           page_size: int = MAX_ENTITIES_PAGE_SIZE) -> EntityPage:
        """``GET /customers/v1/entities``: one page of the app's entities (all
        customers) created between two dates (``datetime.date`` or ``"YYYY-MM-DD"``)."""
        params = {**self._range(start_date, end_date), "page_number": page_number, "page_size": page_size}
        return cast(EntityPage, self._request("GET", "/customers/v1/entities", params=params))

    def iter_by_date_range(self, start_date: DateLike, end_date: DateLike, *,
                           page_size: int | None = None,
                           concurrency: Concurrency = DEFAULT_CONCURRENCY) -> Iterator[Entity]:
        """Every entity created between two dates, fetched lazily 100 per request."""
        query = self._range(start_date, end_date)

        def fetch(paging: dict[str, int]) -> Any:
            return self._request("GET", "/customers/v1/entities", params={**query, **paging})

        return self._iter_items(fetch, ENTITIES, item_key="data", page_size=page_size, concurrency=concurrency)

    def delete(self, customer_id: str, entity_id: str, reason: str = "USER_REQUESTED") -> None:
        """``DELETE /customers/v1/{customer_id}/entities/{entity_id}``: end the
        connection and its consent.  ``reason`` goes where
        :attr:`delete_reason_in` says (the JSON body by default)."""
        where = "json" if self.delete_reason_in == "body" else "params"
        self._request("DELETE", self._path(customer_id, entity_id), **{where: {"reason": reason}})
