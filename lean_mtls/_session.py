"""``LeanSession``: a ``requests.Session`` that speaks mutual TLS to Lean.

The session is built once per process and shared by every thread: the
certificate is parsed and the SSL context built in the constructor, so a bad
deployment fails at start-up with a message naming the file, and requests
after that only pay for the HTTP exchange itself.
"""

from __future__ import annotations

import os
import platform
from functools import cached_property
from typing import TYPE_CHECKING, Any, Union

import requests
from requests.adapters import BaseAdapter

from ._adapter import DEFAULT_POOL_SIZE, LeanAdapter, TLSDescription, map_transport_error
from ._auth import APP_TOKEN_HEADER, AUTHORIZATION_HEADER, AppTokenAuth, ClientCredentialsAuth, _OriginBoundAuth
from ._credentials import CertificateInfo, CertSource, Password, load_ca_bundle, load_client_identity
from ._environments import (
    AuthMode,
    Environment,
    Origin,
    Region,
    parse_auth_mode,
    parse_environment,
    parse_region,
    resolve_hosts,
    token_url,
    without_default_port,
)
from ._response import decode_json, raise_for_data_status
from ._tls import build_ssl_context
from ._version import __version__
from .errors import ConfigurationError, LeanError

if TYPE_CHECKING:
    from .resources.banks import Banks
    from .resources.customers import Customers
    from .resources.data import Data
    from .resources.data_v1 import DataV1
    from .resources.entities import Entities
    from .resources.insights import Insights
    from .resources.payments import Payments
    from .resources.verifications import Verifications

#: (connect, read) seconds.  Lean may take up to 50 s to answer a synchronous
#: data call before falling back to async, so the read timeout leaves room for
#: that; the connect timeout covers TCP plus the mTLS handshake.
DEFAULT_TIMEOUT: tuple[float, float] = (10.0, 60.0)

TimeoutType = Union[float, tuple[float, float]]

ENV_VARS = {
    "app_token": "LEAN_APP_TOKEN",
    "cert": "LEAN_CERT",
    "key": "LEAN_KEY",
    "ca": "LEAN_CA",
    "key_password": "LEAN_KEY_PASSWORD",
    "environment": "LEAN_ENVIRONMENT",
    "region": "LEAN_REGION",
    "auth": "LEAN_AUTH",
    "client_id": "LEAN_CLIENT_ID",
    "client_secret": "LEAN_CLIENT_SECRET",
    "scope": "LEAN_SCOPE",
    "base_url": "LEAN_BASE_URL",
    "auth_url": "LEAN_AUTH_URL",
}


def _pick_auth_mode(auth: str | AuthMode | None, client_secret: str | None) -> AuthMode:
    if auth is None:
        return AuthMode.OAUTH if client_secret is not None else AuthMode.APP_TOKEN
    return parse_auth_mode(auth)


_DEFAULT_TRUST = TLSDescription("requests' default CA bundle (certifi)", None, is_lean=False)


def _origin_text(url: str) -> str:
    return Origin.of(url).text()


def default_user_agent() -> str:
    return (
        f"lean-mtls/{__version__} Python/{platform.python_version()} requests/{requests.__version__}"
    )


def _normalize_timeout(timeout: object) -> tuple[float, float]:
    if isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and timeout > 0:
        return (float(timeout), float(timeout))
    if (
        isinstance(timeout, tuple)
        and len(timeout) == 2
        and all(isinstance(t, (int, float)) and not isinstance(t, bool) and t > 0 for t in timeout)
    ):
        return (float(timeout[0]), float(timeout[1]))
    raise ConfigurationError(
        f"timeout must be a positive number of seconds or a (connect, read) tuple, got {timeout!r}. "
        "Every request to Lean has a timeout; there is no 'wait forever'."
    )


class LeanSession(requests.Session):
    """A ``requests.Session`` for Lean's API over mutual TLS.

    Example::

        session = LeanSession(
            app_token,
            cert="my_app_cert.crt",
            key="my_app_private_key.pem",
            ca="lean_public_cert_chain.pem",
            environment="sandbox",
        )
        banks = session.banks.list()
        raw = session.get("/banks/v1/")  # a plain requests.Response

    What it does beyond ``requests.Session``:

    * loads and checks the certificate, key and CA once, and sends the client
      chain complete (leaf and intermediates) whatever order the files hold;
    * verifies the server against ``ca`` only: ``trust_env`` is off, so
      ``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE`` and proxy variables are
      ignored (pass ``proxies=`` explicitly);
    * adds ``lean-app-token`` only to requests for the Lean origin, and never
      carries it or the client certificate to another origin on a redirect;
    * gives every request a timeout (``DEFAULT_TIMEOUT`` unless you pass one);
    * raises :mod:`lean_mtls.errors` exceptions for transport failures.

    Thread safety: one session may be shared by all threads of a process, as
    long as they do not change its settings while requests are in flight.
    """

    def __init__(
        self,
        app_token: str | None = None,
        *,
        cert: CertSource | None = None,
        key: CertSource | None = None,
        ca: CertSource | None = None,
        key_password: Password | None = None,
        environment: str | Environment = Environment.SANDBOX,
        region: str | Region = Region.UAE,
        auth: str | AuthMode | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        scope: str = "api",
        base_url: str | None = None,
        auth_url: str | None = None,
        timeout: TimeoutType = DEFAULT_TIMEOUT,
        pool_size: int = DEFAULT_POOL_SIZE,
        proxies: dict[str, str] | None = None,
    ) -> None:
        super().__init__()
        # Before anything can fail: the environment must never choose our CA or proxy.
        self.trust_env = False
        self.environment = parse_environment(environment)
        self.region = parse_region(region)
        self.auth_mode = _pick_auth_mode(auth, client_secret)
        hosts = resolve_hosts(self.region, self.environment, self.auth_mode, base_url, auth_url)
        self.base_url = hosts.api
        #: The OAuth2 token endpoint (``None`` in app-token mode).
        self.token_url = token_url(hosts.auth) if self.auth_mode is AuthMode.OAUTH and hosts.auth else None
        self.timeout = _normalize_timeout(timeout)
        if not isinstance(pool_size, int) or pool_size < 1:
            raise ConfigurationError(f"pool_size must be a positive integer, got {pool_size!r}.")
        if cert is None and (hosts.requires_client_cert or key is not None):
            raise ConfigurationError(
                f"cert= is required: {self.base_url} only accepts mutual TLS. Pass the *_cert.crt file "
                "from Lean's developer portal (or set LEAN_CERT).",
                code="missing-conf",
            )

        ca_bundle = load_ca_bundle(ca) if ca is not None else None
        identity = load_client_identity(cert, key, key_password, ca_bundle) if cert is not None else None
        #: Subject, issuer, serial, fingerprint and validity of the client certificate (None without one).
        self.certificate: CertificateInfo | None = identity.info if identity is not None else None
        context = build_ssl_context(identity, ca_bundle)
        del identity  # the key now lives only inside the SSL context

        self.origin = _origin_text(self.base_url)
        self._tls_description = TLSDescription(
            ca_source=ca_bundle.source if ca_bundle is not None else "the system trust store",
            client_subject=self.certificate.subject if self.certificate is not None else None,
        )
        adapter = LeanAdapter(context, self._tls_description, pool_maxsize=pool_size)
        lean_origins = {self.origin} | ({_origin_text(self.token_url)} if self.token_url else set())
        for origin in lean_origins:
            self.mount(origin + "/", adapter)
        self.auth = self._build_auth(app_token, client_id, client_secret, scope)
        self.headers["User-Agent"] = default_user_agent()
        self.headers["Accept"] = "application/json"
        if proxies:
            self.proxies.update(proxies)

    def _build_auth(
        self, app_token: str | None, client_id: str | None, client_secret: str | None, scope: str
    ) -> AppTokenAuth | ClientCredentialsAuth:
        if self.auth_mode is AuthMode.APP_TOKEN:
            if client_secret is not None:
                raise ConfigurationError("client_secret= is only used with auth='oauth'.")
            return AppTokenAuth(app_token, origins=[self.origin])  # type: ignore[arg-type]
        if self.token_url is None:  # pragma: no cover - resolve_hosts guarantees it
            raise ConfigurationError("OAuth needs auth_url=.", code="missing-conf")
        # Lean: "Your Application ID and app token are the same value".
        return ClientCredentialsAuth(
            client_id or app_token,  # type: ignore[arg-type]
            client_secret,  # type: ignore[arg-type]
            token_url=self.token_url,
            origins=[self.origin],
            scope=scope,
            token_session=self,
        )

    # ------------------------------------------------------------------ construction helpers

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> LeanSession:
        """Build a session from ``LEAN_*`` variables.

        ``LEAN_APP_TOKEN`` and ``LEAN_CERT`` are required; ``LEAN_CERT``,
        ``LEAN_KEY`` and ``LEAN_CA`` may hold a path or the PEM text itself.
        Keyword arguments override the variables.
        """
        env = os.environ if environ is None else environ
        kwargs: dict[str, Any] = {}
        for name, var in ENV_VARS.items():
            value = env.get(var)
            if value:
                if name in {"cert", "key", "ca"} and "-----BEGIN" in value:
                    kwargs[name] = value.encode("ascii", "replace")
                else:
                    kwargs[name] = value
        kwargs.update(overrides)
        if not kwargs.get("app_token") and not kwargs.get("client_id"):
            raise ConfigurationError(
                "LEAN_APP_TOKEN is not set: LeanSession.from_env() needs the app token from the developer "
                "portal (or LEAN_CLIENT_ID and LEAN_CLIENT_SECRET for OAuth).",
                code="missing-conf",
            )
        app_token = kwargs.pop("app_token", None)
        return cls(app_token, **kwargs)

    # ------------------------------------------------------------------ requests.Session hooks

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        url = request.url
        if isinstance(url, bytes):
            url = url.decode("utf-8")
        if isinstance(url, str) and "://" not in url:
            request.url = self.base_url + "/" + url.lstrip("/")
        return super().prepare_request(request)

    def get_adapter(self, url: str) -> BaseAdapter:
        # requests matches mounts by string prefix: "https://host:443/" would
        # miss the adapter mounted on "https://host/" and go out without the
        # client certificate while the auth (which compares origins) still
        # adds the token.  Normalising the port closes that gap.
        return super().get_adapter(without_default_port(url))

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        try:
            return super().send(request, **kwargs)
        except LeanError:
            raise
        except requests.RequestException as exc:
            # Failures of adapters that are not ours, and of reading the body.
            adapter = self.get_adapter(request.url or "")
            description = adapter.description if isinstance(adapter, LeanAdapter) else _DEFAULT_TRUST
            raise map_transport_error(exc, request.url or "", description) from None

    def rebuild_auth(self, prepared_request: requests.PreparedRequest, response: requests.Response) -> None:
        """On redirects, drop Lean credentials unless the target is the Lean origin.

        requests copies the previous request's headers to the redirected one,
        so without this the app token would follow a redirect to any host.
        """
        super().rebuild_auth(prepared_request, response)  # type: ignore[no-untyped-call]
        url = prepared_request.url or ""
        if isinstance(self.auth, _OriginBoundAuth) and self.auth.applies_to(url):
            return
        prepared_request.headers.pop(APP_TOKEN_HEADER, None)
        if isinstance(self.auth, _OriginBoundAuth) or Origin.of(url) != Origin.of(response.request.url or ""):
            prepared_request.headers.pop(AUTHORIZATION_HEADER, None)

    # ------------------------------------------------------------------ JSON API

    def request_json(self, method: str, path: str, **kwargs: Any) -> Any:
        """Call Lean and return the parsed JSON body (``None`` when empty).

        Non-2xx answers raise a :class:`~lean_mtls.errors.LeanAPIError`
        subclass; a 2xx body that is not JSON raises
        :class:`~lean_mtls.errors.InvalidResponseError`.  Keyword arguments
        are those of ``requests.Session.request`` (``params``, ``json``,
        ``headers``, ``timeout``, ...).
        """
        response = self.request(method, path, **kwargs)
        return decode_json(response)

    def _request_data(self, method: str, path: str, **kwargs: Any) -> Any:
        """Like :meth:`request_json`, for Lean data calls: a 2xx whose
        ``status`` is FAILED, RECONNECT_REQUIRED or CONSENT_EXPIRED raises the
        matching :class:`~lean_mtls.errors.DataStatusError`; PENDING is returned."""
        response = self.request(method, path, **kwargs)
        body = decode_json(response)
        raise_for_data_status(body, response)
        return body

    # ------------------------------------------------------------------ resources

    @cached_property
    def banks(self) -> Banks:
        """Lean's bank directory: ``session.banks.list()``."""
        from .resources.banks import Banks

        return Banks(self)

    @cached_property
    def customers(self) -> Customers:
        """Customers: create, get, get_by_app_user_id, list, update."""
        from .resources.customers import Customers

        return Customers(self)

    @cached_property
    def entities(self) -> Entities:
        """Entities (bank connections made through LinkSDK)."""
        from .resources.entities import Entities

        return Entities(self)

    @cached_property
    def data(self) -> Data:
        """Data API v2: accounts, balances, transactions, refreshes, results."""
        from .resources.data import Data

        return Data(self)

    @cached_property
    def data_v1(self) -> DataV1:
        """Legacy Data API v1 (POST with a JSON body); prefer :attr:`data`."""
        from .resources.data_v1 import DataV1

        return DataV1(self)

    @cached_property
    def payments(self) -> Payments:
        """Payment intents, payments, destinations and payment sources."""
        from .resources.payments import Payments

        return Payments(self)

    @cached_property
    def insights(self) -> Insights:
        """Insights: income, expenses, cashflows, name verification."""
        from .resources.insights import Insights

        return Insights(self)

    @cached_property
    def verifications(self) -> Verifications:
        """Account (IBAN) verifications."""
        from .resources.verifications import Verifications

        return Verifications(self)

    def __repr__(self) -> str:
        cert = self.certificate
        identity = "no client certificate"
        if cert is not None:
            identity = f"certificate={cert.subject!r} expires={cert.not_after:%Y-%m-%d}"
        return (
            f"<LeanSession base_url={self.base_url!r} region={self.region.value!r} "
            f"environment={self.environment.value!r} auth={self.auth_mode.value!r} {identity}>"
        )
