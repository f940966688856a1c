"""LinkSDK's customer-scoped access token.

A front end opens LinkSDK with an access token limited to one customer:
Lean's token endpoint (``POST /oauth2/token``, client credentials) with
``scope=customer.<customer_id>`` (Lean's Postman collection, "Generate
Customer Access Token").  The token is fetched with the session's own OAuth
credentials and token machinery (:class:`~lean_mtls.ClientCredentialsAuth`),
cached per customer until shortly before it expires, like the API token, and
held as a :class:`~lean_mtls._secrets.Secret` so it never shows in a repr,
a log line or a traceback.  It is never added to the SDK's own requests.
"""

from __future__ import annotations

import os
import re
import threading
import weakref
from collections import OrderedDict
from typing import Any

from .._auth import ClientCredentialsAuth
from .._fork import reset_in_child
from .._secrets import REDACTED, Secret
from ..errors import ConfigurationError, InvalidRequestError

__all__ = ["MAX_CACHED_CUSTOMERS", "CustomerToken", "CustomerTokens", "customer_id_of", "customer_scope"]

#: How many customers' tokens are kept; the least recently used one goes first.
MAX_CACHED_CUSTOMERS = 1024


#: Lean's customer ids are UUIDs, in the canonical 8-4-4-4-12 hex form.
_CUSTOMER_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)


def customer_id_of(customer_id: object) -> str:
    """``customer_id`` as the lower-case UUID text Lean's ids are.

    The id becomes part of an OAuth scope, and scopes are separated by
    spaces (RFC 6749 3.3): ``"<id> api"`` would ask for a second scope,
    ``"<id>+api"`` could once form-decoded.  So only the UUID shape Lean's
    customer ids have is accepted; anything else raises
    :class:`~lean_mtls.errors.InvalidRequestError` before a request is sent.
    """
    if not isinstance(customer_id, str) or not _CUSTOMER_ID.fullmatch(customer_id):
        # The value is not echoed: what reached here by mistake may be anything.
        shown = f"{len(customer_id)} characters" if isinstance(customer_id, str) else type(customer_id).__name__
        raise InvalidRequestError(
            "customer_id must be Lean's customer id, a UUID such as '36f6b2d4-0c5e-4a8b-9a0e-5a1b2c3d0475' "
            f"(got {shown} that are not one); it becomes the token's scope customer.<customer_id>, so nothing "
            "else may be sent."
        )
    return customer_id.lower()


def customer_scope(customer_id: str) -> str:
    """``customer.<customer_id>``: the OAuth scope of one customer's LinkSDK token."""
    return f"customer.{customer_id_of(customer_id)}"


class CustomerToken:
    """A customer-scoped access token to hand to LinkSDK.

    ``access_token`` is a :class:`~lean_mtls._secrets.Secret` (a ``str`` whose
    repr is redacted): pass it to the front end as is, e.g.
    ``{"access_token": token.access_token}`` in a JSON answer.
    """

    __slots__ = ("access_token", "customer_id", "scope", "token_type")

    def __init__(self, access_token: str, customer_id: str, scope: str) -> None:
        self.access_token = access_token if isinstance(access_token, Secret) else Secret(access_token)
        self.customer_id = customer_id
        self.scope = scope
        self.token_type = "Bearer"

    def __repr__(self) -> str:
        return f"<CustomerToken customer_id={self.customer_id!r} scope={self.scope!r} access_token={REDACTED}>"

    def __reduce__(self) -> Any:
        raise TypeError("A CustomerToken holds a secret and cannot be pickled.")


#: Live caches, so a forked child gets fresh locks (a lock a parent thread held
#: at fork time would never be released in the child).
_LIVE: weakref.WeakSet[CustomerTokens] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for tokens in list(_LIVE):
        tokens.reset_after_fork()


if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=_after_fork_in_child)


class CustomerTokens:
    """Per-customer token caches built from the session's OAuth auth."""

    def __init__(self, auth: object, max_customers: int = MAX_CACHED_CUSTOMERS) -> None:
        self._auth = auth
        self._max = max_customers
        self._lock = threading.Lock()
        self._by_customer: OrderedDict[str, ClientCredentialsAuth] = OrderedDict()
        _LIVE.add(self)
        reset_in_child(self)

    def _auth_for(self, customer_id: str) -> ClientCredentialsAuth:
        if not isinstance(self._auth, ClientCredentialsAuth):
            raise ConfigurationError(
                "A LinkSDK customer token needs OAuth client credentials: build the session with "
                "auth='oauth' and client_secret= (LEAN_CLIENT_SECRET).",
                code="missing-conf",
            )
        customer_id = customer_id_of(customer_id)
        scope = customer_scope(customer_id)
        with self._lock:
            auth = self._by_customer.get(customer_id)
            if auth is None:
                auth = self._by_customer[customer_id] = self._auth.for_scope(scope)
                while len(self._by_customer) > self._max:
                    self._by_customer.popitem(last=False)
            else:
                self._by_customer.move_to_end(customer_id)
            return auth

    def get(self, customer_id: str) -> CustomerToken:
        """The customer's token, from the cache while it is valid."""
        auth = self._auth_for(customer_id)
        return CustomerToken(auth.token(), customer_id_of(customer_id), auth.scope)

    def invalidate(self, customer_id: str) -> None:
        """Forget the customer's cached token (the next :meth:`get` fetches one)."""
        customer_id = customer_id_of(customer_id)
        with self._lock:
            auth = self._by_customer.pop(customer_id, None)
        if auth is not None:
            auth.invalidate()

    def reset_after_fork(self) -> None:
        self._lock = threading.Lock()
        for auth in list(self._by_customer.values()):
            auth.reset_after_fork()
