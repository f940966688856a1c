"""``LeanSession``: a ``requests.Session`` that speaks mutual TLS to Lean.

The session is built once per process and shared by every thread: the
certificate is parsed and the SSL context built in the constructor, so a bad
deployment fails at start-up with a message naming the file, and requests
after that only pay for the HTTP exchange itself.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import ssl
import sys
import threading
import time
import weakref
from collections.abc import Iterator, Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar, Union
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter, HTTPAdapter

from ._adapter import (
    DEFAULT_MAX_RESPONSE_BYTES,
    DEFAULT_POOL_SIZE,
    DEFAULT_POOL_TIMEOUT,
    LeanAdapter,
)
from ._auth import APP_TOKEN_HEADER, AUTHORIZATION_HEADER, AppTokenAuth, ClientCredentialsAuth, _OriginBoundAuth
from ._credentials import (
    CABundle,
    CertificateInfo,
    CertOption,
    CertSource,
    Password,
    default_ca_bundle,
    load_ca_bundle,
    load_client_identity,
    split_cert_pair,
    warn_if_expiring,
)
from ._environments import (
    HOSTS,
    AuthMode,
    AuthModeName,
    Environment,
    EnvironmentName,
    Origin,
    Region,
    RegionName,
    canonical_url,
    has_userinfo,
    lean_hosts_of,
    parse_auth_mode,
    parse_environment,
    parse_region,
    resolve_hosts,
    token_url,
)
from ._exceptions import TRANSPORT_FAILURES, TLSDescription, map_transport_error
from ._inspection import CredentialInspection
from ._refusals import REDIRECT_ATTRIBUTE, not_a_path, refusal_message
from ._response import decode_json, raise_for_data_status, request_id
from ._retry import (
    DEFAULT_RETRY,
    IDEMPOTENCY_HEADER,
    RetryOption,
    body_replayable,
    call_policy,
    coerce_policy,
    idempotency_key_of,
)
from ._secrets import Secret, SecretBytes, is_sensitive_header, scrub, values_in_request
from ._settings import check_credentials, from_env_hint, read_settings
from ._timeouts import check_timeout, seconds
from ._tls import build_ssl_context
from ._version import __version__
from .errors import (
    ConfigurationError,
    InvalidHeaderError,
    InvalidRequestError,
    InvalidURLError,
    LeanError,
    SessionCopyError,
)

logger = logging.getLogger("lean_mtls")

if TYPE_CHECKING:
    from .resources.banks import Banks
    from .resources.consents import Consents
    from .resources.customers import Customers
    from .resources.data import Data
    from .resources.data_v1 import DataV1
    from .resources.entities import Entities
    from .resources.insights import Insights
    from .resources.payments import Payments
    from .resources.payouts import Payouts
    from .resources.refunds import Refunds
    from .resources.verifications import Verifications

#: Seconds between checks of the client certificate's remaining validity.
EXPIRY_CHECK_INTERVAL = 3600.0

#: (connect, read) seconds.  Lean may take up to 50 s to answer a synchronous
#: data call before falling back to async, so the read timeout leaves room for
#: that; the connect timeout covers TCP plus the mTLS handshake.
DEFAULT_TIMEOUT: tuple[float, float] = (10.0, 60.0)

TimeoutType = Union[float, tuple[float, float]]



def _pick_auth_mode(auth: str | AuthMode | None, client_secret: str | None) -> AuthMode:
    if auth is None:
        return AuthMode.OAUTH if client_secret is not None else AuthMode.APP_TOKEN
    return parse_auth_mode(auth)


def _describe_tls(
    bundle: CABundle | None, certificate: CertificateInfo | None, *, is_lean: bool = True,
    verification_off: bool = False, known_problems: tuple[str, ...] = (), ca_problems: tuple[str, ...] = (),
) -> TLSDescription:
    """The non-secret labels an adapter's error messages use."""
    return TLSDescription(
        ca_source=(bundle if bundle is not None else default_ca_bundle()).source,
        client_subject=certificate.subject if certificate is not None else None,
        is_lean=is_lean,
        verification_off=verification_off,
        known_problems=known_problems,
        ca_problems=ca_problems,
    )


def _hide(value: Any) -> Any:
    if isinstance(value, str) and not isinstance(value, Secret):
        return Secret(value)
    if isinstance(value, bytes) and not isinstance(value, SecretBytes):
        return SecretBytes(value)
    return value


def _check_pool(pool_size: object, pool_timeout: object) -> tuple[int, float]:
    if not isinstance(pool_size, int) or isinstance(pool_size, bool) or pool_size < 1:
        raise ConfigurationError(f"pool_size must be a positive integer, got {pool_size!r}.")
    wait = seconds(pool_timeout)
    if wait is None:
        raise ConfigurationError(
            f"pool_timeout must be a positive, finite number of seconds (at most a day), got {pool_timeout!r}."
        )
    return pool_size, wait


def _check_verify(verify: object, environment: Environment, urls: tuple[str | None, ...]) -> bool:
    if verify is True:
        return True
    if verify is not False:
        raise ConfigurationError("verify= takes True or False; pass the CA bundle as ca=.")
    # By host alone: a production host name on any port (a gateway on :8443) is production.
    production = {Origin.of(h.api).host for (_, env, _), h in HOSTS.items() if env is Environment.PRODUCTION} | {
        Origin.of(h.auth).host for (_, env, _), h in HOSTS.items() if env is Environment.PRODUCTION and h.auth
    }
    if environment is not Environment.SANDBOX or any(url and Origin.of(url).host in production for url in urls):
        raise ConfigurationError(
            "verify=False is refused outside the sandbox: production traffic must authenticate Lean's server."
        )
    logger.warning("TLS verification is OFF for this sandbox session; every request will log this warning.")
    return False


def _normalize_prefix(prefix: str) -> str:
    parts = urlsplit(prefix)
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise ConfigurationError(f"mount_certificate needs an https:// URL prefix, got {prefix!r}.")
    if "@" in parts.netloc:
        raise ConfigurationError("mount_certificate needs a URL prefix without userinfo (user@host).")
    prefix = canonical_url(prefix)
    # "https://api.bank.example" must not also match "https://api.bank.example.evil.test".
    return prefix if parts.path else prefix + "/"


class _UnmappedOriginAdapter(BaseAdapter):
    """Refuses requests to origins the session has no certificate policy for,
    saying what to do instead (see :mod:`lean_mtls._refusals`)."""

    def __init__(self, session_origin: str, session_label: str) -> None:
        super().__init__()
        self._session = (session_origin, session_label)

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        redirected_from = getattr(request, REDIRECT_ATTRIBUTE, None)
        raise ConfigurationError(
            refusal_message(request.url or "", *self._session, redirected_from), code="missing-conf"
        )

    def close(self) -> None:
        """Nothing to close."""


_SESSIONS: weakref.WeakSet[LeanSession] = weakref.WeakSet()


def _register_for_fork(session: LeanSession) -> None:
    _SESSIONS.add(session)


def _after_fork_in_child() -> None:
    # gunicorn --preload, multiprocessing, Celery prefork: a child must not
    # share TLS connections with its parent, or both corrupt the same stream.
    for session in list(_SESSIONS):
        session._reset_after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class _PreparedRequest(requests.PreparedRequest):
    """Remembers how URLs were prepared and which headers were validated:
    requests re-parses, IDNA-checks and re-quotes the same few Lean URLs, and
    re-validates the same few headers, on every call."""

    _urls: ClassVar[dict[str, str]] = {}
    _valid_headers: ClassVar[set[tuple[str, str]]] = set()

    def prepare_headers(self, headers: Any) -> None:
        if not headers:
            super().prepare_headers(headers)
            return
        prepared: requests.structures.CaseInsensitiveDict[Any] = requests.structures.CaseInsensitiveDict()
        valid = self._valid_headers
        for name, value in headers.items():
            if (name, value) not in valid:
                requests.utils.check_header_validity((name, value))
                # Only ordinary headers are remembered: never a credential.
                if isinstance(name, str) and isinstance(value, str) and not is_sensitive_header(name):
                    if len(valid) > 256:
                        valid.clear()
                    valid.add((name, value))
            prepared[requests.utils.to_native_string(name)] = value  # type: ignore[no-untyped-call]
        self.headers = prepared

    def prepare_url(self, url: Any, params: Any) -> None:
        if params or not isinstance(url, str):
            super().prepare_url(url, params)
            return
        cached = self._urls.get(url)
        if cached is not None:
            self.url = cached
            return
        super().prepare_url(url, params)
        if len(self._urls) > 1024:  # bounded: ids in paths make URLs many
            self._urls.clear()
        self._urls[url] = self.url  # type: ignore[assignment]



def _prepare_fast(session: requests.Session, request: requests.Request) -> requests.PreparedRequest:
    """``Session.prepare_request`` for the common case (no cookies, files,
    session params, or environment), same result with far less merging."""
    headers: Any = session.headers  # prepare_headers copies it
    if request.headers or None in session.headers.values():
        # A header set to None is dropped, on the session as on the request (as requests does).
        headers = requests.structures.CaseInsensitiveDict(
            {name: value for name, value in session.headers.items() if value is not None}
        )
        for name, value in request.headers.items():
            if value is None:
                headers.pop(name, None)
            else:
                headers[name] = value
    prepared = _PreparedRequest()
    prepared.prepare_method(str(request.method).upper())
    prepared.prepare_url(request.url, request.params)
    prepared.prepare_headers(headers)
    prepared._cookies = requests.cookies.RequestsCookieJar()  # type: ignore[attr-defined]
    prepared.prepare_body(request.data, request.files, request.json)
    prepared.prepare_auth(request.auth or session.auth, request.url)
    prepared.prepare_hooks(requests.sessions.merge_hooks(request.hooks, session.hooks))  # type: ignore[no-untyped-call]
    return prepared


#: "scheme://" at the start: an absolute URL.  "://" anywhere else (a query
#: parameter carrying a URL) leaves a path relative to the base URL.
_ABSOLUTE_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
#: RFC 9110 token: what an HTTP method may be made of.
_TOKEN = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def _method_name(method: object) -> str:
    """The method as text: ``b"GET"`` is ``"GET"`` (not ``"B'GET'"``)."""
    if isinstance(method, (bytes, bytearray)):
        try:
            method = bytes(method).decode("ascii")
        except UnicodeDecodeError:
            raise InvalidRequestError(f"The HTTP method must be ASCII, got {method!r}.") from None
    if not isinstance(method, str) or not _TOKEN.fullmatch(method):
        raise InvalidRequestError(f"The HTTP method must be a token such as 'GET' or 'POST', got {method!r}.")
    return method.upper()


def _idempotency_key(value: object) -> str:
    key = str(value)
    # What http.client can put in a header value: Latin-1, no control characters (CR, LF, NUL,
    # U+2028 is not Latin-1 at all).  Refused here, before anything is prepared.
    if not key or key != key.strip() or any(not (" " <= ch <= "~" or "\xa0" <= ch <= "\xff") for ch in key):
        raise InvalidRequestError(
            "idempotency_key must be one line of printable Latin-1 text (a UUID is usual) without leading or "
            f"trailing spaces, control characters (CR, LF, NUL) or characters beyond U+00FF; got {len(key)} "
            "characters that are not."
        )
    return key


def _check_header_text(headers: Mapping[Any, Any]) -> None:
    """Refuse, before anything is sent, a header http.client cannot encode: a
    name that is not ASCII, a value that is not Latin-1 (``'€'``, U+2028).
    requests lets these through to a bare ``UnicodeEncodeError`` mid-send.
    The value itself is never quoted (it may be a credential)."""
    for name, value in headers.items():
        if isinstance(name, str) and not name.isascii():
            raise InvalidHeaderError(
                f"The header name {name!r} cannot be sent: header names must be ASCII (RFC 9110 tokens)."
            )
        if isinstance(value, str) and not value.isascii():
            try:
                value.encode("latin-1")
            except UnicodeEncodeError as exc:
                raise InvalidHeaderError(
                    f"The value of header {name!r} cannot be sent: header values must be Latin-1 text, and "
                    f"character {exc.start + 1} of {len(value)} is U+{ord(value[exc.start]):04X}. Encode "
                    "other text before sending it (for example percent-encoding, or RFC 8187 for parameters)."
                ) from None


def _json_serialisable(value: Any) -> bool:
    import json

    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return False
    return True


#: Every origin of Lean's host table: a sandbox session refuses production hosts too.
_ALL_LEAN_ORIGINS = frozenset(Origin.of(h) for row in HOSTS.values() for h in (row.api, row.auth) if h)


def _covered_origin(prefix: str, origins: frozenset[Origin]) -> str | None:
    """The guarded origin ``prefix`` would capture (the prefix itself, a path
    under it, or a shorter prefix of it: ``"https://"``, ``"https://mtls.sandbox"``,
    any case or trailing-dot spelling), or ``None``."""
    text = prefix.strip().lower()
    _, sep, rest = text.partition("://")
    if not sep or not rest.partition("/")[0]:
        # "https://", "http://", "https", "": every URL of a scheme, the guards on other origins included.
        return "every origin (the guards on other origins and on plain http:// included)"
    spelled = Origin.of(text)
    for origin in origins:
        if spelled == origin:
            return origin.text()
        if (origin.text() + "/").startswith(text) or (origin.text() + "/").startswith(canonical_url(text)):
            return origin.text()
    return None


def _merge_mapping(request_value: Any, session_value: Any) -> Any:
    if request_value is None:
        return session_value
    if session_value is None or not isinstance(request_value, dict):
        return request_value
    merged = {**session_value, **request_value}
    return {k: v for k, v in merged.items() if v is not None}


def _attempts_note(response: requests.Response) -> str:
    attempts = int(getattr(response, "lean_attempts", 1))
    return f" after {attempts} attempts" if attempts > 1 else ""


def _path_of(request: requests.PreparedRequest | None) -> str:
    return urlsplit(request.url or "").path or "/" if request is not None else "?"


_DEFAULT_TRUST = TLSDescription("requests' default CA bundle (certifi)", None, is_lean=False)


def _origin_text(url: str) -> str:
    return Origin.of(url).text()


def _refuse_userinfo(url: str, what: str) -> None:
    if has_userinfo(url):
        raise ConfigurationError(
            f"Refused a {what} with userinfo (user@host) for {_origin_text(url)}: such URLs route around "
            "the certificate and token rules. Remove the user@ part; credentials go in app_token=/client_secret=."
        )


def default_user_agent() -> str:
    return (
        f"lean-mtls/{__version__} Python/{'.'.join(map(str, sys.version_info[:3]))} requests/{requests.__version__}"
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

    Parameters (all but ``app_token`` are keyword-only; the constructor reads
    no environment variables, :meth:`from_env` does):

    app_token (str | None, default None)
        The app token from Lean's developer portal, sent as ``lean-app-token``
        to the Lean origin only.  Required in app-token mode; in OAuth mode it
        is the client id (Lean's Application ID is the same value).
    cert (str | os.PathLike | bytes | tuple[cert, key] | None, default None)
        The client certificate: a path, or the file's content (PEM or DER; a
        PKCS#12 bundle or a combined cert+key file too), or requests' pair
        ``(certificate, key)`` (then no ``key=``); the type is
        :data:`lean_mtls.CertOption`.  Required for Lean's app-token hosts,
        which only accept mutual TLS.
    key (str | os.PathLike | bytes | None, default None)
        The private key (path or content; PKCS#8, PKCS#1, SEC1, encrypted or
        not).  None when ``cert`` holds the key (PKCS#12, combined file).
    ca (str | os.PathLike | bytes | None, default None)
        The CA bundle that verifies Lean's server, normally Lean's
        ``lean_public_cert_chain.pem`` (path or content); ``"system"`` for the
        operating system's store.  None: certifi's bundle.
    key_password (str | bytes | Callable[[], str | bytes] | None, default None)
        The password of an encrypted key or PKCS#12 bundle; a callable is
        called once, at construction.
    environment (Literal["sandbox", "production"] | Environment, default "sandbox")
        Picks the host from the table (with ``region`` and the auth mode).
        Any letter case is accepted at run time.
    region (Literal["uae", "ksa"] | Region, default "uae")
        Lean's region: the United Arab Emirates or Saudi Arabia.
    auth (Literal["app_token", "oauth"] | AuthMode | None, default None)
        The auth mode; None means ``"oauth"`` when ``client_secret`` is given,
        else ``"app_token"``.
    client_id (str | None, default None)
        OAuth2 client id (Lean's Application ID); defaults to ``app_token``.
    client_secret (str | None, default None)
        OAuth2 client secret; only with ``auth="oauth"``.
    scope (str, default "api")
        OAuth2 scope requested with the token.
    base_url (str | None, default None)
        An ``https://`` URL replacing the table's API host (a local emulator,
        a proxy in front of Lean).  Then ``cert`` is not required.
    auth_url (str | None, default None)
        An ``https://`` URL replacing the table's OAuth2 token host.
    timeout (float | tuple[float, float], seconds, default DEFAULT_TIMEOUT = (10.0, 60.0))
        (connect, read) timeout of every request, or one number for both; a
        call's ``timeout=`` wins.  There is no "no timeout".
    retries (int | RetryPolicy | None, default None = DEFAULT_RETRY: 2 retries)
        Retry policy of every request; 0 turns retrying off.
    pool_size (int, connections per origin, default DEFAULT_POOL_SIZE = 16)
        Pooled connections kept per origin; more threads wait for one.
    pool_timeout (float, seconds, default DEFAULT_POOL_TIMEOUT = 10.0)
        How long a request waits for a pooled connection before ``LeanTimeout``.
    max_response_bytes (int, bytes, default DEFAULT_MAX_RESPONSE_BYTES = 33554432, 32 MiB)
        Larger bodies are refused with ``InvalidResponseError``.
    verify (bool, default True)
        ``False`` turns server verification off, for the sandbox only (every
        request then logs a warning); refused for production hosts.
    tls_session_resumption (bool, default True)
        Resume TLS sessions per origin (cheaper reconnects).
    allow_other_origins (bool, default False)
        Allow requests to other ``https://`` origins over plain TLS (no client
        certificate, no token); Lean's other hosts and ``http://`` stay refused.
    proxies (dict[str, str] | None, default None)
        requests-style proxies; environment proxy variables are never read.

    Raises :class:`~lean_mtls.errors.ConfigurationError` (or its subclass
    :class:`~lean_mtls.errors.CertificateError`) naming the setting and the fix.
    """

    def __init__(
        self,
        app_token: str | None = None,
        *,
        cert: CertOption | None = None,
        key: CertSource | None = None,
        ca: CertSource | None = None,
        key_password: Password | None = None,
        environment: EnvironmentName | Environment = Environment.SANDBOX,
        region: RegionName | Region = Region.UAE,
        auth: AuthModeName | AuthMode | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        scope: str = "api",
        base_url: str | None = None,
        auth_url: str | None = None,
        timeout: TimeoutType = DEFAULT_TIMEOUT,
        retries: RetryOption = None,
        pool_size: int = DEFAULT_POOL_SIZE,
        pool_timeout: float = DEFAULT_POOL_TIMEOUT,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        verify: bool = True,
        tls_session_resumption: bool = True,
        allow_other_origins: bool = False,
        proxies: dict[str, str] | None = None,
    ) -> None:
        # Rebind the secrets first, so that a traceback's frame locals (crash
        # reporters capture them) show '<redacted>' rather than the values.
        app_token, client_secret, key_password = _hide(app_token), _hide(client_secret), _hide(key_password)
        pair = isinstance(cert, (tuple, list))
        cert, key = split_cert_pair(cert, key) if cert is not None else (cert, key)  # requests' (cert, key)
        key = _hide(key) if isinstance(key, bytes) else key
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
        self.timeout = timeout  # validated by the property
        #: The retry policy of every request (a call may pass ``retries=``).
        self.retry = coerce_policy(retries, DEFAULT_RETRY)
        self.max_response_bytes = max_response_bytes
        self._pool = _check_pool(pool_size, pool_timeout)
        self._verify = _check_verify(verify, self.environment, (self.base_url, self.token_url))
        self._resume = bool(tls_session_resumption)
        if cert is None and (hosts.requires_client_cert or key is not None):
            raise ConfigurationError(
                f"cert= is required: {self.base_url} only accepts mutual TLS. Pass the *_cert.crt file "
                f"from Lean's developer portal ({from_env_hint('cert')}).",
                code="missing-conf",
            )

        self._ca_bundle = load_ca_bundle(ca) if ca is not None else None
        identity = (load_client_identity(cert, key, key_password, self._ca_bundle, pair=pair)
                    if cert is not None else None)
        #: Subject, issuer, serial, fingerprint and validity of the client certificate (None without one).
        self.certificate: CertificateInfo | None = identity.info if identity is not None else None
        #: What the credential inspection found (see :func:`lean_mtls.inspect_credentials`); None without cert=.
        self.credentials: CredentialInspection | None = identity.inspection if identity is not None else None
        context = build_ssl_context(identity, self._ca_bundle, verify=self._verify, resume=self._resume)
        del identity  # the key now lives only inside the SSL context

        self.origin = _origin_text(self.base_url)
        self._origin_prefix = self.origin + "/"
        self._tls_description = self._describe(self.certificate)
        self._lean_adapter = self._new_adapter(context, self._tls_description)
        lean_origins = {self.origin} | ({_origin_text(self.token_url)} if self.token_url else set())
        self._mount_other_origins(allow_other_origins)
        for origin in lean_origins:
            self.mount(origin + "/", self._lean_adapter)
        self.auth = self._build_auth(app_token, client_id, client_secret, scope)
        self.headers["User-Agent"] = default_user_agent()
        self.headers["Accept"] = "application/json"
        # HTTP/1.1 connections are persistent unless closed: requests' explicit
        # "Connection: keep-alive" only adds a header to every request.
        self.headers.pop("Connection", None)
        if proxies:
            self.proxies.update(proxies)
            # A proxy URL may carry user:password@: keep the password known to the scrubber.
            self._proxy_passwords = [Secret(p) for p in (urlsplit(u).password for u in proxies.values()) if p]
        self._reload_lock = threading.Lock()
        self._next_expiry_check = time.monotonic() + EXPIRY_CHECK_INTERVAL
        #: From here on, mount() refuses adapters that would drop the TLS material for a Lean origin.
        self._guarded_origins = frozenset(Origin.of(o) for o in lean_origins) | _ALL_LEAN_ORIGINS
        _register_for_fork(self)

    @property
    def pool_size(self) -> int:
        """Connections kept per origin (``pool_size=``); also the most pages one
        ``iter_*`` walk fetches at once, whatever its ``concurrency=``."""
        return self._pool[0]

    def _describe(self, certificate: CertificateInfo | None) -> TLSDescription:
        known = self.credentials.known_problems if self.credentials is not None else ()
        ca_known = self.credentials.ca_problems if self.credentials is not None else ()
        return _describe_tls(self._ca_bundle, certificate, verification_off=not self._verify, known_problems=known,
                             ca_problems=ca_known)

    def _new_adapter(self, context: ssl.SSLContext, description: TLSDescription) -> LeanAdapter:
        pool_size, pool_timeout = self._pool
        return LeanAdapter(
            context,
            description,
            pool_maxsize=pool_size,
            pool_timeout=pool_timeout,
            retry=self.retry,
            max_response_bytes=self.max_response_bytes,
        )

    def _label(self) -> str:
        """What this session is built for, in words (for refusal messages)."""
        for row in lean_hosts_of(self.base_url):
            if (row.role, row.region, row.environment, row.mode) == ("api", self.region, self.environment,
                                                                     self.auth_mode):
                return row.describe()
        return "its base_url"

    def _mount_other_origins(self, allow: bool) -> None:
        """What happens to URLs outside every configured origin."""
        # Plain http is refused even with allow_other_origins: nothing this
        # session sends should travel unencrypted.
        refuse = _UnmappedOriginAdapter(self.origin, self._label())
        self.mount("http://", refuse)
        if not allow:
            self.mount("https://", refuse)
            return
        # Lean's other hosts are refused even so: they would get no app token and the wrong certificate.
        for host in {Origin.of(h).text() for row in HOSTS.values() for h in (row.api, row.auth) if h}:
            self.mount(host + "/", refuse)
        plain = _describe_tls(None, None, is_lean=False)
        self.mount("https://", self._new_adapter(build_ssl_context(None, None), plain))

    def mount(self, prefix: str | bytes, adapter: BaseAdapter) -> None:
        """``requests.Session.mount``, refusing mounts that would take TLS away from Lean.

        A requests ``HTTPAdapter`` knows nothing of this session's client
        certificate and CA: mounted on a Lean origin (or on a prefix covering
        one, such as ``"https://"``) it would send requests to Lean without the
        certificate, verified against certifi instead of ``ca=``, and a
        catch-all mount would lift the guard on other origins.  Such mounts
        raise :class:`~lean_mtls.ConfigurationError`; use ``retries=`` for
        retries and :meth:`mount_certificate` for another host's certificate.
        Mounting a :class:`~lean_mtls.LeanAdapter`, or any adapter on another
        host's own prefix, works as in requests.
        """
        guarded = self.__dict__.get("_guarded_origins")
        if guarded and not isinstance(adapter, (LeanAdapter, _UnmappedOriginAdapter)):
            covered = _covered_origin(prefix.decode("utf-8", "replace") if isinstance(prefix, bytes) else prefix,
                                      guarded)
            if covered is not None:
                raise ConfigurationError(
                    f"mount({prefix!r}, {type(adapter).__name__}(...)) would replace the adapter that holds this "
                    f"session's client certificate and CA for {covered}: that adapter would reach Lean without "
                    "the certificate, trusting another CA, and would lift the guard on other origins. For retries "
                    "pass retries= (an int or lean_mtls.RetryPolicy) to the session or to a call; for another "
                    "host's client certificate use session.mount_certificate(prefix, cert=..., key=...); to reach "
                    "other hosts over plain TLS build the session with allow_other_origins=True."
                )
        super().mount(prefix, adapter)

    # ------------------------------------------------------------------ certificates

    def mount_certificate(
        self,
        prefix: str,
        *,
        cert: CertOption,
        key: CertSource | None = None,
        ca: CertSource | None = None,
        key_password: Password | None = None,
    ) -> CertificateInfo:
        """Use this client certificate (and CA) for URLs starting with ``prefix``.

        ``prefix`` is an origin (``https://api.other-bank.example``) or an
        origin and path; the longest matching prefix wins, as for
        ``requests.Session.mount``.  The Lean token is still only sent to the
        Lean origin.  Mount certificates while setting the session up, before
        threads share it.
        """
        key_password = _hide(key_password)
        prefix = _normalize_prefix(prefix)
        bundle = load_ca_bundle(ca) if ca is not None else None
        identity = load_client_identity(cert, key, key_password, bundle)
        context = build_ssl_context(identity, bundle, resume=self._resume)
        known = identity.inspection.known_problems if identity.inspection is not None else ()
        ca_known = identity.inspection.ca_problems if identity.inspection is not None else ()
        description = _describe_tls(bundle, identity.info, is_lean=prefix.startswith(self.origin + "/"),
                                    known_problems=known, ca_problems=ca_known)
        self.mount(prefix, self._new_adapter(context, description))
        # From here on a plain adapter mounted over this prefix (or a prefix covering it) is refused
        # like one over the Lean origin: it would drop this certificate and CA without a word.
        guarded = self.__dict__.get("_guarded_origins")
        if guarded is not None:
            self._guarded_origins = guarded | {Origin.of(prefix)}
        return identity.info

    def reload_certificates(
        self,
        *,
        cert: CertOption,
        key: CertSource | None = None,
        ca: CertSource | None = None,
        key_password: Password | None = None,
    ) -> CertificateInfo:
        """Swap the Lean client certificate (and optionally the CA) without a restart.

        The new material is loaded and checked first; if anything is wrong the
        error is raised and the old certificate keeps working.  Otherwise new
        connections use the new certificate, requests in flight finish on their
        connection, and idle pooled connections are closed.
        """
        key_password = _hide(key_password)
        bundle = load_ca_bundle(ca) if ca is not None else self._ca_bundle
        identity = load_client_identity(cert, key, key_password, bundle)
        context = build_ssl_context(identity, bundle, verify=self._verify, resume=self._resume)
        with self._reload_lock:
            self._ca_bundle = bundle
            self.certificate = identity.info
            self.credentials = identity.inspection
            self._tls_description = self._describe(identity.info)
            self._lean_adapter.replace_context(context, self._tls_description)
        logger.info("Reloaded the Lean client certificate: %s, valid until %s",
                    identity.info.subject, f"{identity.info.not_after:%Y-%m-%d}")
        return identity.info

    def _check_expiry(self) -> None:
        # A session lives for months in a web worker: the 30-day warning must
        # come while it runs, not only when it was built.
        self._next_expiry_check = time.monotonic() + EXPIRY_CHECK_INTERVAL
        if self.certificate is not None:
            warn_if_expiring(self.certificate, self._tls_description.client_subject or "the client certificate")

    @contextlib.contextmanager
    def retrying(self, retries: RetryOption) -> Iterator[None]:
        """Apply ``retries`` (an int or a :class:`~lean_mtls.RetryPolicy`) to every
        call made inside the block on this thread, resource methods included::

            with lean.retrying(0):
                lean.payments.get_payment(payment_id)
        """
        token = call_policy.set(coerce_policy(retries, self.retry))
        try:
            yield
        finally:
            call_policy.reset(token)

    def _reset_after_fork(self) -> None:
        for adapter in {id(a): a for a in self.adapters.values()}.values():
            if isinstance(adapter, LeanAdapter):
                adapter.reset_after_fork()
            elif isinstance(adapter, HTTPAdapter):
                adapter.init_poolmanager(
                    getattr(adapter, "_pool_connections", 10),
                    getattr(adapter, "_pool_maxsize", 10),
                    getattr(adapter, "_pool_block", False),
                )
        self._reload_lock = threading.Lock()
        if isinstance(self.auth, ClientCredentialsAuth):
            self.auth.reset_after_fork()

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
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> LeanSession:
        """Build a session from ``LEAN_*`` variables (``os.environ`` unless ``environ`` is given).

        Reads ``LEAN_APP_TOKEN``, ``LEAN_CERT``, ``LEAN_KEY``, ``LEAN_CA``,
        ``LEAN_KEY_PASSWORD``, ``LEAN_ENVIRONMENT``, ``LEAN_REGION``,
        ``LEAN_AUTH``, ``LEAN_CLIENT_ID``, ``LEAN_CLIENT_SECRET``,
        ``LEAN_SCOPE``, ``LEAN_BASE_URL`` and ``LEAN_AUTH_URL`` (the
        constructor keyword of the same name in lower case, without
        ``LEAN_``).  ``LEAN_APP_TOKEN`` (or ``LEAN_CLIENT_ID`` with
        ``LEAN_CLIENT_SECRET``) and ``LEAN_CERT`` are required; ``LEAN_CERT``,
        ``LEAN_KEY`` and ``LEAN_CA`` may hold a path or the PEM text itself.
        Keyword arguments override the variables.

        Raises :class:`~lean_mtls.errors.ConfigurationError` naming the
        variable when a value is unusable (e.g. ``LEAN_ENVIRONMENT=prod``).
        """
        kwargs = cls.check_env(environ, **overrides)
        app_token = kwargs.pop("app_token", None)
        return cls(app_token, **kwargs)

    @classmethod
    def check_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> dict[str, Any]:
        """Every check :meth:`from_env` makes before reading files, without building a session.

        :meth:`settings_from_env` plus the credentials the auth mode needs:
        ``LEAN_APP_TOKEN`` (or ``LEAN_CLIENT_ID``/``LEAN_CLIENT_SECRET`` with
        ``LEAN_AUTH=oauth``), present and free of pasted quotes or control
        characters.  Returns the constructor keywords; raises
        :class:`~lean_mtls.errors.ConfigurationError` with the very message
        :meth:`from_env` would raise.  ``lean-mtls check`` uses it, so the doctor
        never calls healthy a configuration on which the application cannot start.
        """
        kwargs = cls.settings_from_env(environ, **overrides)
        check_credentials(kwargs, overrides)
        return kwargs

    @classmethod
    def settings_from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> dict[str, Any]:
        """The constructor keywords :meth:`from_env` would use, checked but not used.

        Environment, region, auth mode and URLs are checked exactly as
        :meth:`from_env` checks them (same errors); the certificate, key and
        token are returned unread.  ``lean-mtls check`` uses this, so the doctor
        and the SDK agree on what is a valid configuration.
        """
        return read_settings(os.environ if environ is None else environ, overrides)

    # ------------------------------------------------------------------ requests.Session hooks

    def prepare_request(self, request: requests.Request) -> requests.PreparedRequest:
        url = request.url
        if isinstance(url, bytes):
            url = url.decode("utf-8")
        if isinstance(url, str) and not _ABSOLUTE_URL.match(url):
            wrong = not_a_path(url)
            if wrong is not None:
                raise InvalidURLError(f"Refused {wrong}", code="url-not-a-path")
            request.url = url = self.base_url + "/" + url.lstrip("/")
        if isinstance(url, str):
            _refuse_userinfo(url, "request URL")  # before the auth sees it
        try:
            if self.trust_env or request.cookies or len(self.cookies) or request.files or self.params:
                prepared = super().prepare_request(request)
            else:
                prepared = _prepare_fast(self, request)
            _check_header_text(prepared.headers)
            return prepared
        except TypeError as exc:
            if request.json is None or _json_serialisable(request.json):
                raise
            # json.dumps refused an object it does not know: the one table names it, as for NaN.
            raise map_transport_error(requests.exceptions.InvalidJSONError(str(exc)), str(url)) from None
        except requests.exceptions.InvalidHeader as exc:
            # requests quotes the bad value; for an Authorization or lean-app-token header that is a
            # credential, so the message goes on without it.
            sent = {**self.headers, **(request.headers or {})}
            clean = type(exc)(scrub(str(exc), also=values_in_request(sent, None)))
        raise clean  # outside the handler: the original (with the value) is not chained as __context__

    def merge_environment_settings(
        self, url: str | bytes | None, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> Any:
        if self.trust_env:
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        # trust_env is off: nothing to read from the environment, so the merge
        # is four lookups (requests' general merge costs more than the request).
        return {
            "proxies": _merge_mapping(proxies, self.proxies),
            "stream": self.stream if stream is None else stream,
            "verify": self.verify if verify is None else verify,
            "cert": self.cert if cert is None else cert,
        }

    def get_adapter(self, url: str) -> BaseAdapter:
        # requests matches mounts by string prefix: "https://host:443/" would
        # miss the adapter mounted on "https://host/" and go out without the
        # client certificate while the auth (which compares origins) still
        # adds the token.  Normalising the port closes that gap.
        # The same holds for case, a trailing dot and IDNA spellings of a host.
        if not url.startswith(self._origin_prefix):
            url = canonical_url(url)
        return super().get_adapter(url)

    def request(
        self,
        method: str | bytes,
        url: str | bytes,
        *args: Any,
        retries: RetryOption = None,
        idempotency_key: str | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """``requests.Session.request`` plus two options.

        ``retries``: an int or :class:`~lean_mtls.RetryPolicy` for this call
        (``0`` turns retrying off).  ``idempotency_key``: sent as the
        ``Idempotency-Key`` header, which also makes a POST safe to retry.
        """
        method = _method_name(method)
        headers = kwargs.get("headers")
        key = idempotency_key_of(headers, idempotency_key)  # two different keys raise
        if idempotency_key is not None and key is not None:
            # One header, in one spelling: a differently-cased copy from headers=
            # would otherwise be sent too, or win over idempotency_key=.
            kwargs["headers"] = {**{name: value for name, value in (headers or {}).items()
                                    if not (isinstance(name, str) and name.lower() == IDEMPOTENCY_HEADER.lower())},
                                 IDEMPOTENCY_HEADER: _idempotency_key(key)}
        token = call_policy.set(coerce_policy(retries, self.retry)) if retries is not None else None
        try:
            return super().request(method, url, *args, **kwargs)
        except LeanError:
            raise
        except TRANSPORT_FAILURES as exc:
            # Raised while preparing the request (URL, header, scheme, json= body) or following a
            # redirect (a Location that cannot be parsed): the one table names it.
            text = url.decode("utf-8", "replace") if isinstance(url, bytes) else str(url)
            if not _ABSOLUTE_URL.match(text):
                text = self.base_url + "/" + text.lstrip("/")
            raise map_transport_error(exc, text, self._tls_description) from None
        finally:
            if token is not None:
                call_policy.reset(token)

    @property
    def timeout(self) -> tuple[float, float]:
        """Default ``(connect, read)`` seconds for every request; the read timeout
        is the budget for the whole answer.  Assigning validates like the constructor."""
        return self._timeout

    @timeout.setter
    def timeout(self, value: TimeoutType) -> None:
        self._timeout = check_timeout(value)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        url = request.url or ""
        if not url.startswith(self._origin_prefix):
            _refuse_userinfo(url, "request URL")
            # One spelling of the host for the adapter, the auth, SNI and the certificate check.
            request.url = canonical_url(url)
        timeout = kwargs.get("timeout")
        if timeout is None:
            kwargs["timeout"] = self._timeout
        elif timeout is not self._timeout:
            kwargs["timeout"] = check_timeout(timeout, per_call=True)
        if time.monotonic() >= self._next_expiry_check:
            self._check_expiry()
        started = time.perf_counter()
        try:
            response = super().send(request, **kwargs)
        except LeanError as error:
            logger.info("%s %s failed: %s (%s)", request.method, _path_of(request), error.code, type(error).__name__)
            raise
        except TRANSPORT_FAILURES as exc:
            # Failures of adapters that are not ours, and of reading the body.
            adapter = self.get_adapter(request.url or "")
            description = adapter.description if isinstance(adapter, LeanAdapter) else _DEFAULT_TRUST
            raise map_transport_error(exc, request.url or "", description) from None
        if logger.isEnabledFor(logging.INFO):
            rid = request_id(response)
            logger.info(
                "%s %s -> %d in %.0f ms%s%s",
                request.method,
                _path_of(request),
                response.status_code,
                (time.perf_counter() - started) * 1000,
                f" (request id {rid})" if rid else "",
                _attempts_note(response),
            )
        return response

    def get_redirect_target(self, resp: requests.Response) -> str | None:
        """requests' redirect target, except for a 307/308 whose request body cannot be sent again.

        A 307 or 308 asks for the same request, body included, at another URL.
        A body that was a generator, an iterator or a reader without ``seek``
        was consumed by the first send: requests would follow the redirect with
        an empty body, which the server may accept.  Here the redirect is not
        followed and the 307/308 answer is returned (``response.is_redirect``
        is true, ``response.next`` is ``None``), as a retry is not made with
        such a body.  Seekable files are rewound and followed, as in requests.
        """
        target: str | None = super().get_redirect_target(resp)
        request = resp.request
        if target and resp.status_code in (307, 308) and request is not None and not body_replayable(request):
            logger.warning(
                "%s %s answered %d (redirect to another URL) but its body (%s) was consumed by the first send "
                "and cannot be sent again: the redirect was not followed. Pass bytes or a seekable file to let "
                "the SDK follow it.", request.method, _path_of(request), resp.status_code,
                type(request.body).__name__,
            )
            return None
        return target

    def rebuild_auth(self, prepared_request: requests.PreparedRequest, response: requests.Response) -> None:
        """On redirects, drop Lean credentials unless the target is the Lean origin.

        requests copies the previous request's headers to the redirected one,
        so without this the app token would follow a redirect to any host.
        """
        url = prepared_request.url or ""
        _refuse_userinfo(url, f"redirect target (from {_origin_text(response.request.url or '')})")
        super().rebuild_auth(prepared_request, response)  # type: ignore[no-untyped-call]
        setattr(prepared_request, REDIRECT_ATTRIBUTE, response.request.url)  # named in a refusal
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

    def request_data(self, method: str, path: str, **kwargs: Any) -> Any:
        """Like :meth:`request_json`, for Lean data calls: a 2xx whose
        ``status`` is FAILED, RECONNECT_REQUIRED or CONSENT_EXPIRED raises the
        matching :class:`~lean_mtls.errors.DataStatusError`; PENDING is returned."""
        response = self.request(method, path, **kwargs)
        body = decode_json(response)
        raise_for_data_status(body, response)
        return body

    _request_data = request_data  # the name resources used before LeanClient

    # ------------------------------------------------------------------ resources

    @cached_property
    def banks(self) -> Banks:
        """Lean's bank directory: ``session.banks.list()``."""
        from .resources.banks import Banks

        return Banks(self)

    @cached_property
    def customers(self) -> Customers:
        """Customers: create, get, get_by_app_user_id, list, update; LinkSDK's access_token."""
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
        """Payment intents, payments, destinations, payment sources, account-on-file payments."""
        from .resources.payments import Payments

        return Payments(self)

    @cached_property
    def consents(self) -> Consents:
        """Account-on-file consents: create, get, balance, history, list, revoke."""
        from .resources.consents import Consents

        return Consents(self)

    @cached_property
    def payouts(self) -> Payouts:
        """Payouts: create, list, get, history, intents, payout destinations."""
        from .resources.payouts import Payouts

        return Payouts(self)

    @cached_property
    def refunds(self) -> Refunds:
        """Refunds: list, create, process (approve/reject), reasons."""
        from .resources.refunds import Refunds

        return Refunds(self)

    @cached_property
    def insights(self) -> Insights:
        """Insights: income, expenses, cashflows, name verification."""
        from .resources.insights import Insights

        return Insights(self)

    @cached_property
    def verifications(self) -> Verifications:
        """Account verifications (IBAN or account id) and KSA's entity, name, corporate, freelancer checks."""
        from .resources.verifications import Verifications

        return Verifications(self)

    # ------------------------------------------------------------------ one session per process

    def _refuse_copy(self, how: str) -> SessionCopyError:
        return SessionCopyError(
            f"A LeanSession cannot be {how}: it holds the private key inside its SSL context, open "
            "connections and locks. Build one session per process instead (for example "
            "LeanSession.from_env() in each worker), and share it between that process's threads."
        )

    def __copy__(self) -> LeanSession:
        raise self._refuse_copy("copied")

    def __deepcopy__(self, memo: Any) -> LeanSession:
        raise self._refuse_copy("deep-copied")

    def __getstate__(self) -> Any:
        raise self._refuse_copy("pickled")

    def __reduce_ex__(self, protocol: Any) -> Any:
        raise self._refuse_copy("pickled")

    def __repr__(self) -> str:
        if "auth_mode" not in self.__dict__ or "certificate" not in self.__dict__:
            return "<LeanSession (not fully built)>"  # e.g. in a traceback of a failed constructor
        cert = self.certificate
        identity = "no client certificate"
        if cert is not None:
            identity = f"certificate={cert.subject!r} expires={cert.not_after:%Y-%m-%d}"
        return (
            f"<LeanSession base_url={self.base_url!r} region={self.region.value!r} "
            f"environment={self.environment.value!r} auth={self.auth_mode.value!r} {identity}>"
        )
