"""Authentication as ``requests.auth.AuthBase`` objects.

Credentials are attached by auth objects rather than stored in
``session.headers`` so that they are added only to requests whose origin is
Lean's: a header in ``session.headers`` would go to every host the session
ever talks to.  Both objects also work on plain ``requests`` calls.

Lean rejects a request that carries both ``lean-app-token`` and
``Authorization``, so each auth object refuses to send a request that already
holds the other scheme's header.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import requests
from requests.auth import AuthBase

from ._environments import Origin
from ._secrets import Secret
from .errors import ConfigurationError, InvalidResponseError

logger = logging.getLogger("lean_mtls")

APP_TOKEN_HEADER = "lean-app-token"
AUTHORIZATION_HEADER = "Authorization"

#: Refresh an OAuth token this many seconds before Lean says it expires.
TOKEN_REFRESH_MARGIN = 60.0
#: Lean's documented token lifetime, used when a token answer omits ``expires_in``.
DEFAULT_TOKEN_LIFETIME = 3599.0
#: (connect, read) seconds for token requests made on plain ``requests``.
TOKEN_TIMEOUT = (10.0, 30.0)


def check_header_secret(value: object, name: str, hint: str) -> str:
    """Validate a secret that will travel in an HTTP header or form."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"{name} is missing: {hint}.", code="missing-conf")
    value = value.strip()
    if any(ch in value for ch in "\r\n\0") or not value.isprintable():
        # Never echo the value: it is a secret, even when malformed.
        raise ConfigurationError(f"{name} contains control characters; copy it again from the portal.")
    return Secret(value)


class _OriginBoundAuth(AuthBase):
    """An auth that only ever touches requests for a fixed set of origins."""

    def __init__(self, origins: Iterable[str]) -> None:
        self.origins = frozenset(Origin.of(o) for o in origins)
        if not self.origins:
            raise ConfigurationError("An auth object needs at least one origin to send credentials to.")
        # Prepared URLs almost always spell the origin exactly like this: a
        # prefix test settles them without parsing the URL.
        self._prefixes = tuple(origin.text() + "/" for origin in self.origins)

    def applies_to(self, url: str) -> bool:
        """True when credentials may be sent to ``url``'s origin."""
        return url.startswith(self._prefixes) or Origin.of(url) in self.origins

    def _origins_text(self) -> str:
        return ", ".join(sorted(f"{o.scheme}://{o.host}:{o.port}" for o in self.origins))

    @staticmethod
    def _refuse_mixed(request: requests.PreparedRequest, other: str) -> None:
        if other in request.headers:
            raise ConfigurationError(
                f"This request already carries a {other!r} header. Lean rejects requests that send "
                "both lean-app-token and Authorization: remove the header, or pick one auth mode."
            )


class AppTokenAuth(_OriginBoundAuth):
    """Adds ``lean-app-token`` to requests bound for the given origins only.

    Works on plain requests too::

        requests.get(url, auth=AppTokenAuth(token, origins=["https://api.leantech.me"]), ...)
    """

    def __init__(self, app_token: str, origins: Iterable[str]) -> None:
        super().__init__(origins)
        self._app_token = check_header_secret(
            app_token, "app_token", "pass the app token from Lean's developer portal (or set LEAN_APP_TOKEN)"
        )

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if self.applies_to(request.url or ""):
            self._refuse_mixed(request, AUTHORIZATION_HEADER)
            request.headers[APP_TOKEN_HEADER] = self._app_token
        else:
            request.headers.pop(APP_TOKEN_HEADER, None)
        return request

    def __repr__(self) -> str:
        return f"AppTokenAuth(app_token=<redacted>, origins=[{self._origins_text()}])"


class ClientCredentialsAuth(_OriginBoundAuth):
    """OAuth2 client credentials: fetches a Bearer token and adds it to
    requests for the given API origins.

    * The token is cached until ``TOKEN_REFRESH_MARGIN`` (60 s) before its
      ``expires_in``; many threads asking at once cause a single fetch.
    * A 401 answer makes it fetch a new token and replay the request once.
    * ``client_id`` is Lean's Application ID, which is the same value as the
      app token, so both it and the secret are treated as secrets.

    ``token_session`` sends the token request (a ``LeanSession`` passes itself,
    so the request goes through the same TLS policy); by default a private
    ``requests.Session`` with ``trust_env`` off is used.
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        token_url: str,
        origins: Iterable[str],
        scope: str = "api",
        token_session: requests.Session | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(origins)
        self._client_id = check_header_secret(client_id, "client_id", "pass the Application ID (LEAN_CLIENT_ID)")
        self._client_secret = check_header_secret(
            client_secret, "client_secret", "pass the OAuth client secret from the developer portal"
        )
        self.token_url = token_url
        self.scope = scope
        self._clock = clock
        self._lock = threading.Lock()
        self._token: str | None = None
        self._expires_at = 0.0
        self._token_session = token_session
        #: Number of token requests made (for diagnostics and tests).
        self.fetch_count = 0

    # ------------------------------------------------------------------ token cache

    def token(self) -> str:
        """A valid access token, fetched (once, under a lock) when needed."""
        token = self._token
        if token is not None and self._clock() < self._expires_at:
            return token
        with self._lock:
            if self._token is None or self._clock() >= self._expires_at:
                fresh, self._expires_at = self._fetch()
                self._token = Secret(fresh)
            return self._token

    def reset_after_fork(self) -> None:
        """A lock held by a parent thread at fork time would never be released in the child."""
        self._lock = threading.Lock()

    def invalidate(self, token: str | None = None) -> None:
        """Forget the cached token (only if it is still ``token``, when given)."""
        with self._lock:
            if token is None or token == self._token:
                self._token, self._expires_at = None, 0.0

    def _fetch(self) -> tuple[str, float]:
        from ._response import decode_json

        session = self._token_session or self._default_session()
        form = {
            "client_id": self._client_id,
            "client_secret": self._client_secret,
            "grant_type": "client_credentials",
            "scope": self.scope,
        }
        started = self._clock()
        response = session.post(
            self.token_url,
            data=form,
            headers={"Accept": "application/json"},
            auth=_no_auth,
            timeout=getattr(session, "timeout", TOKEN_TIMEOUT),
        )
        self.fetch_count += 1
        body = decode_json(response)
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            raise InvalidResponseError(
                f"The token endpoint {self.token_url} answered without an access_token.",
                status_code=response.status_code,
                response=response,
            )
        lifetime = _lifetime(body.get("expires_in"))
        margin = min(TOKEN_REFRESH_MARGIN, lifetime / 2)
        logger.debug("Fetched an OAuth token for scope %r, valid %.0f s", self.scope, lifetime)
        return token, started + lifetime - margin

    def _default_session(self) -> requests.Session:
        session = requests.Session()
        session.trust_env = False
        self._token_session = session
        return session

    # ------------------------------------------------------------------ requests hooks

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if not self.applies_to(request.url or ""):
            request.headers.pop(AUTHORIZATION_HEADER, None)
            return request
        self._refuse_mixed(request, APP_TOKEN_HEADER)
        request.headers[AUTHORIZATION_HEADER] = f"Bearer {self.token()}"
        request.register_hook("response", self._retry_on_401)  # type: ignore[no-untyped-call]
        return request

    def _retry_on_401(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        request = response.request
        if response.status_code != 401 or getattr(request, "_lean_token_retried", False):
            return response
        if request.body is not None and not isinstance(request.body, (bytes, str)):
            return response  # a streamed body cannot be sent twice
        sent = str(request.headers.get(AUTHORIZATION_HEADER, "")).removeprefix("Bearer ")
        self.invalidate(sent)
        response.content  # noqa: B018 - drain so the connection can be reused
        response.close()
        retry = request.copy()
        retry._lean_token_retried = True  # type: ignore[attr-defined]
        retry.headers[AUTHORIZATION_HEADER] = f"Bearer {self.token()}"
        logger.debug("Got 401 from %s; retrying once with a new OAuth token", request.url)
        connection = response.connection
        new_response: requests.Response = connection.send(retry, **kwargs)
        new_response.history.append(response)
        new_response.request = retry
        return new_response

    def __repr__(self) -> str:
        return (
            f"ClientCredentialsAuth(client_id=<redacted>, client_secret=<redacted>, "
            f"token_url={self.token_url!r}, scope={self.scope!r}, origins=[{self._origins_text()}])"
        )


def _no_auth(request: requests.PreparedRequest) -> requests.PreparedRequest:
    """Per-request auth that adds nothing (so the session's auth is not applied)."""
    return request


def _lifetime(expires_in: object) -> float:
    try:
        value = float(expires_in)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return DEFAULT_TOKEN_LIFETIME
    return value if value > 0 else DEFAULT_TOKEN_LIFETIME
