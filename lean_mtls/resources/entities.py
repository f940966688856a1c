"""Entities: the bank connections customers make through LinkSDK.

Entities are created by LinkSDK's ``connect()`` in the customer's browser or
app, never through the API, so this group only reads and deletes them.  The
``entity_id`` is what every Data API call takes.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Literal, cast

from .._concurrent import DEFAULT_CONCURRENCY, Concurrency
from ._base import Resource, reason_code
from ._endpoints import ENTITIES, MAX_ENTITIES_PAGE_SIZE
from ._params import DateLike, iso_date
from .types import Entity, EntityPage

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ._base import CallOptions

__all__ = ["Entities"]


class Entities(Resource):
    """``/customers/v1/{customer_id}/entities`` and ``/customers/v1/entities``."""

    #: Where :meth:`delete` puts ``reason``.  Lean's OpenAPI file allows it in
    #: the query or the JSON body (UNCERTAIN which is preferred): ``"body"``
    #: like payment sources, or ``"query"`` like KSA's consent deletion.
    delete_reason_in: Literal["body", "query"] = "body"

    def list(self, customer_id: str, **options: Unpack[CallOptions]) -> builtins.list[Entity]:
        """``GET /customers/v1/{customer_id}/entities``: every entity of the customer."""
        return cast("builtins.list[Entity]", self._call("entities.list", {"customer_id": customer_id},
                                                         options=options))

    def get(self, customer_id: str, entity_id: str, **options: Unpack[CallOptions]) -> Entity:
        """``GET /customers/v1/{customer_id}/entities/{entity_id}``."""
        # entity_id is required: a missing id must never turn a GET or DELETE
        # of one entity into a call on the whole collection.
        ids = {"customer_id": customer_id, "entity_id": entity_id}
        return cast(Entity, self._call("entities.get", ids, options=options))

    @staticmethod
    def _range(start_date: DateLike, end_date: DateLike) -> dict[str, Any]:
        return {"start_date": iso_date(start_date, "start_date"), "end_date": iso_date(end_date, "end_date")}

    def list_by_date_range(self, start_date: DateLike, end_date: DateLike, *, page_number: int = 0,
                           page_size: int = MAX_ENTITIES_PAGE_SIZE, **options: Unpack[CallOptions]) -> EntityPage:
        """``GET /customers/v1/entities``: one page of the app's entities (all
        customers) created between two dates (``datetime.date`` or ``"YYYY-MM-DD"``)."""
        params = {**self._range(start_date, end_date), **ENTITIES.params(page_number, page_size)}
        return cast(EntityPage, self._call("entities.list_by_date_range", params=params, options=options))

    def iter_by_date_range(self, start_date: DateLike, end_date: DateLike, *,
                           page_size: int | None = None,
concurrency: Concurrency = DEFAULT_CONCURRENCY, **options: Unpack[CallOptions]) -> Iterator[Entity]:
        """Every entity created between two dates, fetched lazily 100 per request."""
        query = self._range(start_date, end_date)

        def fetch(paging: dict[str, int]) -> Any:
            return self._call("entities.list_by_date_range", params={**query, **paging}, options=options)

        return self._iter_items(fetch, ENTITIES, item_key="data", page_size=page_size, concurrency=concurrency,
                                 key="entities.list_by_date_range", options=options)

    def delete(self, customer_id: str, entity_id: str, reason: str = "USER_REQUESTED",
               **options: Unpack[CallOptions]) -> None:
        """``DELETE /customers/v1/{customer_id}/entities/{entity_id}`` (Lean's OpenAPI
        files): end the connection and its consent.  ``reason`` goes where
        :attr:`delete_reason_in` says (the JSON body by default)."""
        ids = {"customer_id": customer_id, "entity_id": entity_id}
        reason = reason_code(reason)
        if self.delete_reason_in == "body":
            self._call("entities.delete", ids, json={"reason": reason}, options=options)
        else:
            self._call("entities.delete", ids, params={"reason": reason}, options=options)
