"""Customers: the app's end users as Lean knows them.

A customer is created once per user of your app (keyed by your own
``app_user_id``) before the user goes through LinkSDK; Lean hands back the
``customer_id`` every other call uses.  :meth:`Customers.access_token` mints
the customer-scoped token LinkSDK is opened with.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterator, Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any, Union, cast

from .._concurrent import DEFAULT_CONCURRENCY, Concurrency
from ._base import Resource, drop_none
from ._customer_tokens import CustomerToken, CustomerTokens
from ._endpoints import CUSTOMERS, MAX_LIST_PAGE_SIZE
from .types import Customer, CustomerPage, GovernmentIdentifier

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ._base import CallOptions

__all__ = ["Customers"]

#: ``[{"type": "EMIRATES_ID", "value": "..."}]``.
IdentifierList = Sequence[Union[GovernmentIdentifier, Mapping[str, str]]]


def _identifiers(values: IdentifierList | None) -> builtins.list[dict[str, Any]] | None:
    return None if values is None else [dict(value.items()) for value in values]


class Customers(Resource):
    """``/customers/v1``."""

    def create(self, app_user_id: str, government_identifiers: IdentifierList | None = None,
               **options: Unpack[CallOptions]) -> Customer:
        """``POST /customers/v1/``: create a customer for your own user id;
        returns ``{customer_id, app_user_id}``.

        ``government_identifiers`` (UAE, Lean's OpenAPI files), e.g.
        ``[{"type": "EMIRATES_ID", "value": "784-..."}]``, is required by UAE
        Open Finance for long-lived consents.  Raises
        :class:`~lean_mtls.errors.ConflictError` (``CUSTOMER_ALREADY_EXISTS``)
        when the ``app_user_id`` is taken: use :meth:`get_by_app_user_id` then.
        """
        payload = drop_none({"app_user_id": app_user_id,
                             "government_identifiers": _identifiers(government_identifiers)})
        return cast(Customer, self._call("customers.create", json=payload, options=options))

    def get(self, customer_id: str, **options: Unpack[CallOptions]) -> Customer:
        """``GET /customers/v1/{customer_id}``: one customer by Lean's ``customer_id``."""
        return cast(Customer, self._call("customers.get", {"customer_id": customer_id}, options=options))

    def get_by_app_user_id(self, app_user_id: str, **options: Unpack[CallOptions]) -> Customer:
        """``GET /customers/v1/app-user-id/{app_user_id}``: one customer by your own id."""
        ids = {"app_user_id": app_user_id}
        return cast(Customer, self._call("customers.get_by_app_user_id", ids, options=options))

    def list(self, page_number: int = 0, page_size: int = MAX_LIST_PAGE_SIZE,
             **options: Unpack[CallOptions]) -> CustomerPage:
        """``GET /customers/v1``: one page, ``{"data": [...], "page": {...}}``
        (``page_number`` counts from 0).  Use :meth:`iter_customers` for all of them."""
        params = CUSTOMERS.params(page_number, page_size)
        return cast(CustomerPage, self._call("customers.list", params=params, options=options))

    def iter_customers(self, *, page_size: int | None = None, concurrency: Concurrency = DEFAULT_CONCURRENCY,
                       **options: Unpack[CallOptions]) -> Iterator[Customer]:
        """Every customer of the app, fetched lazily (largest pages first)."""

        def fetch(paging: dict[str, int]) -> Any:
            return self._call("customers.list", params=paging, options=options)

        return self._iter_items(fetch, CUSTOMERS, item_key="data", page_size=page_size, concurrency=concurrency,
                                 key="customers.list", options=options)

    def update(self, customer_id: str, government_identifiers: IdentifierList,
               **options: Unpack[CallOptions]) -> Customer | None:
        """``PUT /customers/v1/{customer_id}/`` (UAE, Lean's OpenAPI files): set the
        customer's government identifiers.  Returns Lean's answer, ``None`` if it was empty."""
        payload = {"government_identifiers": _identifiers(government_identifiers)}
        return cast("Customer | None", self._call("customers.update", {"customer_id": customer_id},
                                                  json=payload, options=options))

    # ------------------------------------------------------------------ LinkSDK

    @cached_property
    def _tokens(self) -> CustomerTokens:
        return CustomerTokens(getattr(self._client, "auth", None))

    def access_token(self, customer_id: str) -> CustomerToken:
        """The customer-scoped access token a front end hands to LinkSDK.

        ``POST /oauth2/token`` on Lean's auth host with the session's client
        credentials and ``scope=customer.<customer_id>`` (Lean's Postman
        collection, "Generate Customer Access Token").  Cached per customer
        until shortly before it expires, like the API token; the token is a
        redacted :class:`~lean_mtls._secrets.Secret` (``token.access_token``).
        The request uses the session's timeout and TLS settings (no per-call
        options: it goes through the OAuth machinery, not a resource call).

        Raises :class:`~lean_mtls.ConfigurationError` when the session does not
        use OAuth (``auth='oauth'`` with ``client_secret=``), and
        :class:`~lean_mtls.errors.InvalidRequestError` unless ``customer_id`` is
        a UUID (Lean's customer ids are; a space or ``+`` would add a scope).
        """
        return self._tokens.get(customer_id)

    def forget_access_token(self, customer_id: str) -> None:
        """Drop the customer's cached LinkSDK token (e.g. after the customer logs out)."""
        self._tokens.invalidate(customer_id)
