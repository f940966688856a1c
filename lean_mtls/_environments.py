"""Where requests go: environment (and later region) -> API origin.

One table, one lookup function.  ``base_url`` overrides the table for local
servers, proxies in front of Lean, or hosts this table does not know yet.
"""

from __future__ import annotations

import contextlib
import enum
from typing import Literal, NamedTuple, TypeVar
from urllib.parse import unquote, urlsplit

from .errors import ConfigurationError

_E = TypeVar("_E", bound=enum.Enum)


#: The ``environment=`` values (any letter case is accepted at run time).
EnvironmentName = Literal["sandbox", "production"]
#: The ``region=`` values.
RegionName = Literal["uae", "ksa"]
#: The ``auth=`` values (``"app-token"`` is accepted too at run time).
AuthModeName = Literal["app_token", "oauth"]


class _Spelled(str, enum.Enum):
    """``Environment("Production")`` works as ``environment="Production"`` does: the
    value is looked up case-insensitively, surrounding blanks ignored (and ``-`` as ``_``)."""

    @classmethod
    def _missing_(cls, value: object) -> _Spelled | None:
        if isinstance(value, str):
            wanted = value.strip().lower().replace("-", "_")
            for member in cls:
                if member.value == wanted:
                    return member
        return None


class Environment(_Spelled):
    """Lean's environments.  Sandbox certificates only work in sandbox and
    production certificates only in production."""

    SANDBOX = "sandbox"
    PRODUCTION = "production"


class Region(_Spelled):
    """Lean's regions: the United Arab Emirates and the Kingdom of Saudi Arabia."""

    UAE = "uae"
    KSA = "ksa"


class AuthMode(_Spelled):
    """How requests authenticate.

    ``APP_TOKEN``: the ``lean-app-token`` header, with the client certificate
    (Lean's mTLS scheme).  ``OAUTH``: an OAuth2 client-credentials Bearer token
    from the region's auth host (Lean's newer scheme; a client certificate is
    optional because Lean's docs leave open whether those hosts demand one).
    """

    APP_TOKEN = "app_token"
    OAUTH = "oauth"


class Hosts(NamedTuple):
    """One row of the host table."""

    api: str
    auth: str | None = None
    #: The host refuses connections without a client certificate.
    requires_client_cert: bool = False
    #: Set when the row rests on a single or third-party source (see LEAN_API.md).
    uncertain: str | None = None


#: Region x environment x auth mode -> hosts, from Lean's docs, Postman
#: collections and lfs-mtls (see shared/LEAN_API.md).  Sandbox in app-token mode is
#: Lean's *mTLS* sandbox: ``https://sandbox.leantech.me`` asks for no client
#: certificate, so it would not exercise what this SDK is for.
HOSTS: dict[tuple[Region, Environment, AuthMode], Hosts] = {
    (Region.UAE, Environment.SANDBOX, AuthMode.APP_TOKEN): Hosts(
        "https://mtls.sandbox.leantech.me", requires_client_cert=True
    ),
    (Region.UAE, Environment.PRODUCTION, AuthMode.APP_TOKEN): Hosts(
        "https://api.leantech.me", requires_client_cert=True
    ),
    (Region.KSA, Environment.SANDBOX, AuthMode.APP_TOKEN): Hosts(
        "https://mtls.sandbox.sa.leantech.me",
        requires_client_cert=True,
        uncertain="derived from Lean's lfs-mtls host formula, not from the docs",
    ),
    (Region.KSA, Environment.PRODUCTION, AuthMode.APP_TOKEN): Hosts(
        "https://api.sa.leantech.me", requires_client_cert=True
    ),
    (Region.UAE, Environment.SANDBOX, AuthMode.OAUTH): Hosts(
        "https://sandbox.leantech.me",
        "https://auth.sandbox.leantech.me",
        uncertain="the UAE sandbox auth host is not in Lean's first-party docs; pass auth_url= to override",
    ),
    (Region.UAE, Environment.PRODUCTION, AuthMode.OAUTH): Hosts(
        "https://api2.leantech.me", "https://auth.leantech.me"
    ),
    (Region.KSA, Environment.SANDBOX, AuthMode.OAUTH): Hosts(
        "https://sandbox.sa.leantech.me", "https://auth.sandbox.sa.leantech.me"
    ),
    (Region.KSA, Environment.PRODUCTION, AuthMode.OAUTH): Hosts(
        "https://api2.sa.leantech.me", "https://auth.sa.leantech.me"
    ),
}

TOKEN_PATH = "/oauth2/token"


def normalize_host(host: str) -> str:
    """The one spelling of a host name the SDK compares: percent-decoded, lower case, no
    trailing dot (``api.leantech.me.`` is the same DNS name), IDNA A-label
    (UTS #46 mapping, as requests applies before connecting, so
    ``api。leantech。me`` is ``api.leantech.me`` too)."""
    if "%" in host:
        # urllib3's parse_url decodes %XX in a host (api%2eleantech%2eme -> api.leantech.me)
        # before connecting: every decision by host sees the decoded name too.
        host = unquote(host)
    host = host.strip().lower()
    if not host.isascii():
        import idna  # requests' own dependency, used the same way in requests.models

        with contextlib.suppress(idna.IDNAError, UnicodeError):  # not a valid IDN: compare it as given
            host = idna.encode(host, uts46=True).decode("ascii")
    return host.rstrip(".")


def has_userinfo(url: str) -> bool:
    """True when ``url`` carries ``user[:password]@`` before its host."""
    if "@" not in url:
        return False
    return "@" in urlsplit(url).netloc


class Origin(NamedTuple):
    """A normalised ``scheme://host:port`` triple, the unit of trust for the
    app token and the client certificate.  Every decision the SDK takes by host
    (which adapter, which credential, the production guard, redirects) compares
    these, so every spelling of a host (case, trailing dot, IDNA, default port)
    decides the same way."""

    scheme: str
    host: str
    port: int

    @classmethod
    def of(cls, url: str) -> Origin:
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        try:
            port = parts.port
        except ValueError:
            port = None
        if port is None:
            port = DEFAULT_PORTS.get(scheme, 0)
        return cls(scheme, normalize_host(parts.hostname or ""), port)

    def text(self) -> str:
        """``scheme://host[:port]`` as requests matches mounts: default port
        omitted, IPv6 hosts in brackets."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        port = "" if self.port == DEFAULT_PORTS.get(self.scheme) else f":{self.port}"
        return f"{self.scheme}://{host}{port}"


DEFAULT_PORTS = {"https": 443, "http": 80}


def canonical_url(url: str) -> str:
    """``url`` with its origin in the one normalised spelling (``HTTPS://API.leantech.me.:443/x``
    -> ``https://api.leantech.me/x``), so that the adapter mounted for an origin, the auth
    and the TLS host check all see the same host.  Userinfo is dropped (callers refuse it first)."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return url
    canonical = Origin.of(url).text()
    if url.startswith(canonical) and url[len(canonical):len(canonical) + 1] in ("", "/", "?", "#"):
        return url
    return canonical + url[len(parts.scheme) + 3 + len(parts.netloc):]


def without_default_port(url: str) -> str:
    """``https://host:443/x`` -> ``https://host/x``, so that every spelling of
    an origin reaches the adapter mounted for it."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        return url
    if port is None or port != DEFAULT_PORTS.get(parts.scheme.lower()):
        return url
    netloc = parts.netloc.rsplit(":", 1)[0]
    return parts._replace(netloc=netloc).geturl()


#: The end of an unknown environment/region message: a base URL is the way to another server.
OTHER_SERVER_TAIL = ", or pass base_url= for another server."


def _parse_choice(value: object, enum_type: type[_E], what: str, *, other_server: bool = True) -> _E:
    if isinstance(value, enum_type):
        return value
    try:
        return enum_type(str(value).strip().lower())
    except ValueError:
        valid = ", ".join(repr(e.value) for e in enum_type)
        tail = OTHER_SERVER_TAIL if other_server else "."  # a base URL does not choose the auth mode
        raise ConfigurationError(f"Unknown Lean {what} {value!r}: use one of {valid}{tail}") from None


def parse_environment(value: str | Environment) -> Environment:
    """Return the :class:`Environment` named by ``value`` (case-insensitive)."""
    return _parse_choice(value, Environment, "environment")


def parse_region(value: str | Region) -> Region:
    """Return the :class:`Region` named by ``value`` (case-insensitive)."""
    return _parse_choice(value, Region, "region")


def parse_auth_mode(value: str | AuthMode) -> AuthMode:
    """Return the :class:`AuthMode` named by ``value`` (``"app_token"`` or ``"oauth"``)."""
    if isinstance(value, str):
        value = value.replace("-", "_")
    return _parse_choice(value, AuthMode, "auth mode", other_server=False)


def normalize_base_url(base_url: str) -> str:
    """Validate a user-given base URL and strip its trailing slash.

    Only ``https`` is accepted: the app token and the client certificate are
    the whole point of the session and must not travel in clear text.
    """
    parts = urlsplit(base_url.strip())
    if "@" in parts.netloc:  # first: the other messages must not quote a password
        raise ConfigurationError(
            "base_url must not carry userinfo (user:password@host): it would route around the origin checks; "
            "use app_token= or client_secret= for credentials."
        )
    # Quote only scheme and host: a query string may hold a token.
    shown = f"{parts.scheme}://{parts.netloc}" if parts.scheme else repr(base_url.split("?", 1)[0][:80])
    if "%" in parts.netloc:
        raise ConfigurationError(
            f"The host of base_url / auth_url is percent-encoded ({parts.netloc!r}): spell the host name "
            "plainly (api%2eleantech%2eme is api.leantech.me), so that every check by host sees the host you mean."
        )
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise ConfigurationError(
            f"base_url must be an https:// URL with a host, got {shown}: Lean's API is only served over mutual TLS."
        )
    if parts.query or parts.fragment:
        raise ConfigurationError(f"base_url must not carry a query or fragment, got one on {shown}.")
    return canonical_url(base_url.strip()).rstrip("/")


def resolve_hosts(
    region: Region,
    environment: Environment,
    mode: AuthMode,
    base_url: str | None = None,
    auth_url: str | None = None,
) -> Hosts:
    """Pick the API base URL and auth host.

    ``base_url`` / ``auth_url`` override the table (local servers, proxies, hosts
    this table does not know).  With a ``base_url`` override the SDK cannot
    know whether the server demands a client certificate, so it does not insist.
    """
    row = HOSTS.get((region, environment, mode))
    if row is None:
        raise ConfigurationError(
            f"Lean documents no {mode.value} host for {region.value}/{environment.value}; "
            "pass base_url= (and auth_url= for OAuth) explicitly."
        )
    api = normalize_base_url(base_url) if base_url is not None else row.api
    auth = normalize_base_url(auth_url) if auth_url is not None else row.auth
    if mode is AuthMode.OAUTH and auth is None:  # pragma: no cover - every OAuth row has an auth host
        raise ConfigurationError("OAuth needs an auth host: pass auth_url=.", code="missing-conf")
    return Hosts(api, auth, row.requires_client_cert and base_url is None, row.uncertain)


def token_url(auth_origin: str) -> str:
    """The OAuth2 token endpoint of an auth host (``auth_url`` may already end with it)."""
    return auth_origin if auth_origin.endswith(TOKEN_PATH) else auth_origin + TOKEN_PATH


class LeanHost(NamedTuple):
    """Where a host appears in :data:`HOSTS`: its row and whether it is the API or the token host."""

    region: Region
    environment: Environment
    mode: AuthMode
    role: str  # "api" or "auth"

    def describe(self) -> str:
        """``"Lean's UAE production API (app token + mTLS)"``."""
        scheme = "app token + mTLS" if self.mode is AuthMode.APP_TOKEN else "OAuth2"
        what = "API" if self.role == "api" else "OAuth2 token host"
        return f"Lean's {self.region.name} {self.environment.value} {what} ({scheme})"

    def constructor_hint(self) -> str:
        """The keywords that build a session for this row."""
        words = [f"environment={self.environment.value!r}", f"region={self.region.value!r}"]
        if self.mode is AuthMode.OAUTH:
            words.append("auth='oauth'")
        return "LeanSession(..., " + ", ".join(words) + ")"


def lean_hosts_of(url: str) -> list[LeanHost]:
    """The rows of :data:`HOSTS` whose API or token host is ``url``'s host
    (any scheme or port; case and a trailing dot ignored)."""
    host = Origin.of(url).host  # one normalised spelling (case, trailing dot, IDNA)
    found: list[LeanHost] = []
    for (region, environment, mode), row in HOSTS.items():
        for role, known in (("api", row.api), ("auth", row.auth)):
            if known is not None and Origin.of(known).host == host:
                found.append(LeanHost(region, environment, mode, role))
    return found
