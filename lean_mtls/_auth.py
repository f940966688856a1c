"""Authentication as ``requests.auth.AuthBase`` objects.

The app token is attached by an auth object rather than stored in
``session.headers`` so that it is added only to requests whose origin is
Lean's: a header in ``session.headers`` would go to every host the session
ever talks to.
"""

from __future__ import annotations

from collections.abc import Iterable

import requests
from requests.auth import AuthBase

from ._environments import Origin
from .errors import ConfigurationError

APP_TOKEN_HEADER = "lean-app-token"  # noqa: S105 - a header name, not a secret


def check_header_secret(value: object, name: str) -> str:
    """Validate a secret that will travel in an HTTP header."""
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(
            f"{name} is missing: pass the app token from Lean's developer portal "
            "(or set LEAN_APP_TOKEN).",
            code="missing-conf",
        )
    value = value.strip()
    if any(ch in value for ch in "\r\n\0") or not value.isprintable():
        # Never echo the value: it is a secret, even when malformed.
        raise ConfigurationError(f"{name} contains control characters; copy it again from the portal.")
    return value


class AppTokenAuth(AuthBase):
    """Adds ``lean-app-token`` to requests bound for the given origins only.

    Works on plain ``requests`` too::

        requests.get(url, auth=AppTokenAuth(token, origins=["https://api.leantech.me"]), ...)
    """

    def __init__(self, app_token: str, origins: Iterable[str]) -> None:
        self._app_token = check_header_secret(app_token, "app_token")
        self.origins = frozenset(Origin.of(o) for o in origins)

    def applies_to(self, url: str) -> bool:
        return Origin.of(url) in self.origins

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if self.applies_to(request.url or ""):
            request.headers[APP_TOKEN_HEADER] = self._app_token
        else:
            request.headers.pop(APP_TOKEN_HEADER, None)
        return request

    def __repr__(self) -> str:
        origins = ", ".join(sorted(f"{o.scheme}://{o.host}:{o.port}" for o in self.origins))
        return f"AppTokenAuth(app_token=<redacted>, origins=[{origins}])"

    # A frozen secret holder: equality by identity keeps the token out of comparisons' reprs.
    __hash__ = object.__hash__
