"""Customers: the app's end users as Lean knows them.

A customer is created once per user of your app (keyed by your own
``app_user_id``) before the user goes through LinkSDK; Lean hands back the
``customer_id`` every other call uses.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Union, cast

from .._concurrent import DEFAULT_CONCURRENCY, Concurrency
from ._base import Resource, drop_none, segment
from ._pagination import CUSTOMERS, MAX_CUSTOMERS_PAGE_SIZE
from .types import Customer, CustomerPage, GovernmentIdentifier

__all__ = ["Customers"]

#: ``[{"type": "EMIRATES_ID", "value": "..."}]``.
IdentifierList = Sequence[Union[GovernmentIdentifier, Mapping[str, str]]]


def _identifiers(values: IdentifierList | None) -> builtins.list[dict[str, Any]] | None:
    return None if values is None else [dict(value.items()) for value in values]


class Customers(Resource):
    """``/customers/v1``."""

    def create(self, app_user_id: str,
               government_identifiers: IdentifierList | None = None) -> Customer:
        """``POST /customers/v1/``: create a customer for your own user id;
        returns ``{customer_id, app_user_id}``.

        ``government_identifiers`` (UAE), e.g. ``[{"type": "EMIRATES_ID",
        "value": "784-..."}]``, is required by UAE Open Finance for long-lived
        consents.  Raises :class:`~lean_mtls.errors.ConflictError`
        (``CUSTOMER_ALREADY_EXISTS``) when the ``app_user_id`` is taken: use
        :meth:`get_by_app_user_id` then.
        """
        payload = drop_none({"app_user_id": app_user_id,
                             "government_identifiers": _identifiers(government_identifiers)})
        return cast(Customer, self._request("POST", "/customers/v1/", json=payload))

    def get(self, customer_id: str) -> Customer:
        """``GET /customers/v1/{customer_id}``: one customer by Lean's ``customer_id``."""
        path = f"/customers/v1/{segment(customer_id, 'customer_id')}"
        return cast(Customer, self._request("GET", path))

    def get_by_app_user_id(self, app_user_id: str) -> Customer:
        """``GET /customers/v1/app-user-id/{app_user_id}``: one customer by your own id."""
        path = f"/customers/v1/app-user-id/{segment(app_user_id, 'app_user_id')}"
        return cast(Customer, self._request("GET", path))

    def list(self, page_number: int = 0, page_size: int = MAX_CUSTOMERS_PAGE_SIZE) -> CustomerPage:
        """``GET /customers/v1``: one page, ``{"data": [...], "page": {...}}``
        (``page_number`` counts from 0).  Use :meth:`iter_customers` for all of them."""
        params = {"page_number": page_number, "page_size": page_size}
        return cast(CustomerPage, self._request("GET", "/customers/v1", params=params))

    def iter_customers(self, *, page_size: int | None = None,
                       concurrency: Concurrency = DEFAULT_CONCURRENCY) -> Iterator[Customer]:
        """Every customer of the app, fetched lazily (largest pages first)."""

        def fetch(paging: dict[str, int]) -> Any:
            return self._request("GET", "/customers/v1", params=paging)

        return self._iter_items(fetch, CUSTOMERS, item_key="data", page_size=page_size, concurrency=concurrency)

    def update(self, customer_id: str, government_identifiers: IdentifierList) -> Customer | None:
        """``PUT /customers/v1/{customer_id}/``: set the customer's government
        identifiers (UAE).  Returns Lean's answer, ``None`` if it was empty."""
        path = f"/customers/v1/{segment(customer_id, 'customer_id')}/"
        payload = {"government_identifiers": _identifiers(government_identifiers)}
        return cast("Customer | None", self._request("PUT", path, json=payload))
