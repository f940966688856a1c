"""Where requests go: environment (and later region) -> API origin.

One table, one lookup function.  ``base_url`` overrides the table for local
servers, proxies in front of Lean, or hosts this table does not know yet.
"""

from __future__ import annotations

import enum
from typing import NamedTuple
from urllib.parse import urlsplit

from .errors import ConfigurationError


class Environment(str, enum.Enum):
    """Lean's environments.  Sandbox certificates only work in sandbox and
    production certificates only in production."""

    SANDBOX = "sandbox"
    PRODUCTION = "production"


class Region(str, enum.Enum):
    """Lean's regions: the United Arab Emirates and the Kingdom of Saudi Arabia."""

    UAE = "uae"
    KSA = "ksa"


#: API origins for the app-token + mTLS scheme.  The sandbox entry is Lean's
#: *mTLS* sandbox: ``https://sandbox.leantech.me`` does not ask for a client
#: certificate, so it would not exercise the very thing this SDK is for.
API_ORIGINS: dict[tuple[Region, Environment], str] = {
    (Region.UAE, Environment.SANDBOX): "https://mtls.sandbox.leantech.me",
    (Region.UAE, Environment.PRODUCTION): "https://api.leantech.me",
}


class Origin(NamedTuple):
    """A normalised ``scheme://host:port`` triple, the unit of trust for the
    app token and the client certificate."""

    scheme: str
    host: str
    port: int

    @classmethod
    def of(cls, url: str) -> Origin:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        try:
            port = parts.port
        except ValueError:
            port = None
        if port is None:
            port = 443 if scheme == "https" else 80
        return cls(scheme, (parts.hostname or "").lower(), port)


def parse_environment(value: str | Environment) -> Environment:
    """Return the :class:`Environment` named by ``value`` (case-insensitive)."""
    if isinstance(value, Environment):
        return value
    try:
        return Environment(str(value).strip().lower())
    except ValueError:
        valid = ", ".join(repr(e.value) for e in Environment)
        raise ConfigurationError(
            f"Unknown Lean environment {value!r}: use one of {valid}, "
            "or pass base_url= for another server."
        ) from None


def normalize_base_url(base_url: str) -> str:
    """Validate a user-given base URL and strip its trailing slash.

    Only ``https`` is accepted: the app token and the client certificate are
    the whole point of the session and must not travel in clear text.
    """
    parts = urlsplit(base_url.strip())
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise ConfigurationError(
            f"base_url must be an https:// URL with a host, got {base_url!r}: "
            "Lean's API is only served over mutual TLS."
        )
    if parts.query or parts.fragment:
        raise ConfigurationError(f"base_url must not carry a query or fragment, got {base_url!r}.")
    return base_url.strip().rstrip("/")


def resolve_base_url(environment: str | Environment, base_url: str | None) -> tuple[Environment, str]:
    """Pick the API base URL: ``base_url`` when given, else the table entry."""
    env = parse_environment(environment)
    if base_url is not None:
        return env, normalize_base_url(base_url)
    return env, API_ORIGINS[(Region.UAE, env)]
