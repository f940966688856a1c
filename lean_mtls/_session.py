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

from ._adapter import DEFAULT_POOL_SIZE, LeanAdapter, TLSDescription, map_transport_error
from ._auth import APP_TOKEN_HEADER, AppTokenAuth
from ._credentials import CertificateInfo, CertSource, Password, load_ca_bundle, load_client_identity
from ._environments import Environment, Origin, resolve_base_url
from ._response import decode_json
from ._tls import build_ssl_context
from ._version import __version__
from .errors import ConfigurationError, LeanError

if TYPE_CHECKING:
    from .resources.banks import Banks
    from .resources.customers import Customers

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
    "base_url": "LEAN_BASE_URL",
}


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
        app_token: str,
        *,
        cert: CertSource,
        key: CertSource | None = None,
        ca: CertSource | None = None,
        key_password: Password | None = None,
        environment: str | Environment = Environment.SANDBOX,
        base_url: str | None = None,
        timeout: TimeoutType = DEFAULT_TIMEOUT,
        pool_size: int = DEFAULT_POOL_SIZE,
        proxies: dict[str, str] | None = None,
    ) -> None:
        super().__init__()
        # Before anything can fail: the environment must never choose our CA or proxy.
        self.trust_env = False
        self.environment, self.base_url = resolve_base_url(environment, base_url)
        self.timeout = _normalize_timeout(timeout)
        if not isinstance(pool_size, int) or pool_size < 1:
            raise ConfigurationError(f"pool_size must be a positive integer, got {pool_size!r}.")

        ca_bundle = load_ca_bundle(ca) if ca is not None else None
        identity = load_client_identity(cert, key, key_password, ca_bundle)
        #: Subject, issuer, serial, fingerprint and validity of the client certificate.
        self.certificate: CertificateInfo = identity.info
        context = build_ssl_context(identity, ca_bundle)
        del identity  # the key now lives only inside the SSL context

        origin = Origin.of(self.base_url)
        self.origin = f"{origin.scheme}://{origin.host}" + ("" if origin.port == 443 else f":{origin.port}")
        self._tls_description = TLSDescription(
            ca_source=ca_bundle.source if ca_bundle is not None else "the system trust store",
            client_subject=self.certificate.subject,
        )
        self.mount(
            self.origin + "/",
            LeanAdapter(context, self._tls_description, pool_maxsize=pool_size),
        )
        self.auth = AppTokenAuth(app_token, origins=[self.origin])
        self.headers["User-Agent"] = default_user_agent()
        self.headers["Accept"] = "application/json"
        if proxies:
            self.proxies.update(proxies)

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
        needed = {"app_token": "the app token from the developer portal", "cert": "your *_cert.crt file"}
        for required, what in needed.items():
            if not kwargs.get(required):
                raise ConfigurationError(
                    f"{ENV_VARS[required]} is not set: LeanSession.from_env() needs it ({what}).",
                    code="missing-conf",
                )
        app_token = kwargs.pop("app_token")
        return cls(app_token, **kwargs)

    # ------------------------------------------------------------------ requests.Session hooks

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        url = request.url
        if isinstance(url, bytes):
            url = url.decode("utf-8")
        if isinstance(url, str) and "://" not in url:
            request.url = self.base_url + "/" + url.lstrip("/")
        return super().prepare_request(request)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        try:
            return super().send(request, **kwargs)
        except LeanError:
            raise
        except requests.RequestException as exc:
            # Failures while reading the body happen here, after the adapter returned.
            raise map_transport_error(exc, request.url or "", self._tls_description) from None

    def rebuild_auth(self, prepared_request: requests.PreparedRequest, response: requests.Response) -> None:
        """On redirects, drop Lean credentials unless the target is the Lean origin.

        requests copies the previous request's headers to the redirected one,
        so without this the app token would follow a redirect to any host.
        """
        super().rebuild_auth(prepared_request, response)  # type: ignore[no-untyped-call]
        url = prepared_request.url or ""
        if not (isinstance(self.auth, AppTokenAuth) and self.auth.applies_to(url)):
            prepared_request.headers.pop(APP_TOKEN_HEADER, None)
            if Origin.of(url) != Origin.of(response.request.url or ""):
                prepared_request.headers.pop("Authorization", None)

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

    # ------------------------------------------------------------------ resources

    @cached_property
    def banks(self) -> Banks:
        """Lean's bank directory: ``session.banks.list()``."""
        from .resources.banks import Banks

        return Banks(self)

    @cached_property
    def customers(self) -> Customers:
        """Customers: ``create``, ``get``, ``get_by_app_user_id``."""
        from .resources.customers import Customers

        return Customers(self)

    def __repr__(self) -> str:
        cert = self.certificate
        return (
            f"<LeanSession base_url={self.base_url!r} environment={self.environment.value!r} "
            f"certificate={cert.subject!r} expires={cert.not_after:%Y-%m-%d}>"
        )
