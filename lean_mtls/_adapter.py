"""The transport boundary: where lean_mtls hands requests to urllib3.

:class:`LeanAdapter` is a ``requests.adapters.HTTPAdapter`` that gives urllib3
the session's prebuilt ``ssl.SSLContext`` and ignores requests' per-request
``verify``/``cert`` plumbing.  That plumbing would otherwise set ``ca_certs``
and ``cert_reqs`` on the connection pool, which urllib3 applies by *mutating*
the shared context, so one call with ``verify=False`` or a stray
``REQUESTS_CA_BUNDLE`` could weaken every later connection.

:func:`map_transport_error` turns requests/urllib3/ssl failures into
lean_mtls errors that say which side of the handshake failed and what to check.
"""

from __future__ import annotations

import http.client
import logging
import socket
import ssl
import time
from collections.abc import Mapping
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from ._retry import DEFAULT_RETRY, RetryPolicy, call_policy
from ._tls import ResumingSSLContext, session_key
from .errors import (
    ConfigurationError,
    InvalidResponseError,
    LeanConnectionError,
    LeanError,
    LeanProxyError,
    LeanTimeout,
    LeanTLSError,
)

logger = logging.getLogger("lean_mtls")

#: Connections kept per origin.  Threads beyond this wait for a free one (up
#: to ``DEFAULT_POOL_TIMEOUT``) instead of opening extra mTLS handshakes.
DEFAULT_POOL_SIZE = 16
#: Seconds a request waits for a free pooled connection.
DEFAULT_POOL_TIMEOUT = 10.0
#: A body larger than this is refused (Lean's pages are far smaller): a broken
#: proxy or a wrong URL must not be able to exhaust a worker's memory.
DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024

_POOL_CLOSED = "pool-closed"

# OpenSSL alert reasons the client receives when the *server* refuses our certificate.
_CLIENT_REJECTED = {
    "TLSV13_ALERT_CERTIFICATE_REQUIRED",
    "TLSV1_ALERT_UNKNOWN_CA",
    "SSLV3_ALERT_BAD_CERTIFICATE",
    "SSLV3_ALERT_CERTIFICATE_EXPIRED",
    "SSLV3_ALERT_CERTIFICATE_REVOKED",
    "SSLV3_ALERT_CERTIFICATE_UNKNOWN",
    "SSLV3_ALERT_UNSUPPORTED_CERTIFICATE",
    "TLSV1_ALERT_ACCESS_DENIED",
    "TLSV1_ALERT_DECRYPT_ERROR",
}


class TLSDescription(NamedTuple):
    """Non-secret labels used in error messages."""

    ca_source: str
    client_subject: str | None
    #: False for adapters that serve hosts other than Lean's.
    is_lean: bool = True
    #: True only for a sandbox session built with verify=False.
    verification_off: bool = False


class _BlockingHTTPSPool(HTTPSConnectionPool):
    """An HTTPS pool that waits at most ``pool_timeout`` for a free connection.

    urllib3 waits forever in blocking mode unless told otherwise, and requests
    never tells it; a blocked worker with no deadline breaks the "every request
    has a timeout" rule.
    """

    pool_timeout: float = 10.0

    def _get_conn(self, timeout: float | None = None) -> Any:
        return super()._get_conn(timeout=self.pool_timeout if timeout is None else timeout)

    def _put_conn(self, conn: Any) -> None:
        # By now the response was read, so a TLS 1.3 ticket has arrived: keep it
        # for the next new connection to this origin (see ResumingSSLContext).
        sock = getattr(conn, "sock", None)
        if sock is not None and not getattr(conn, "_lean_session_kept", False):
            context = self.conn_kw.get("ssl_context")
            if isinstance(context, ResumingSSLContext) and isinstance(sock, ssl.SSLSocket) and self.port:
                conn._lean_session_kept = context.remember(session_key(self.host, self.port), sock)
        super()._put_conn(conn)


class LeanAdapter(HTTPAdapter):
    """An ``HTTPAdapter`` whose TLS policy is one prebuilt ``ssl.SSLContext``.

    It keeps at most ``pool_maxsize`` connections per origin (threads beyond
    that wait up to ``pool_timeout`` for one, rather than opening extra
    handshakes), retries according to a :class:`~lean_mtls.RetryPolicy`, and
    maps every transport failure to a :mod:`lean_mtls.errors` exception.
    """

    def __init__(
        self,
        ssl_context: ssl.SSLContext,
        description: TLSDescription,
        *,
        pool_maxsize: int = DEFAULT_POOL_SIZE,
        pool_block: bool = True,
        pool_timeout: float = DEFAULT_POOL_TIMEOUT,
        retry: RetryPolicy = DEFAULT_RETRY,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
    ) -> None:
        self.ssl_context = ssl_context
        self.description = description
        self.retry = retry
        self.max_response_bytes = max_response_bytes
        self._pool_class = type("LeanHTTPSPool", (_BlockingHTTPSPool,), {"pool_timeout": pool_timeout})
        super().__init__(pool_connections=4, pool_maxsize=pool_maxsize, pool_block=pool_block)

    def init_poolmanager(self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any) -> None:
        self._pool_settings = (connections, maxsize, block)
        self._remembered: dict[str, tuple[Any, Any, Any]] = {}
        pool_kwargs["ssl_context"] = self.ssl_context
        super().init_poolmanager(connections, maxsize, block=block, **pool_kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": HTTPConnectionPool, "https": self._pool_class}

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        # For CONNECT tunnels the context protects the connection to Lean
        # through the proxy, exactly as for direct connections.
        proxy_kwargs["ssl_context"] = self.ssl_context
        return super().proxy_manager_for(proxy, **proxy_kwargs)

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> Any:
        host_params, _ = super().build_connection_pool_key_attributes(request, True, None)
        return host_params, {}

    def build_response(self, req: requests.PreparedRequest, resp: Any) -> requests.Response:
        response = requests.Response()
        response.status_code = resp.status
        response.headers = requests.structures.CaseInsensitiveDict(resp.headers)
        response.encoding = requests.utils.get_encoding_from_headers(response.headers)
        response.raw = resp
        response.reason = resp.reason
        response.url = req.url.decode("utf-8") if isinstance(req.url, bytes) else (req.url or "")
        if "set-cookie" in response.headers:  # cookie parsing is costly; most answers set none
            requests.cookies.extract_cookies_to_jar(response.cookies, req, resp)  # type: ignore[no-untyped-call]
        response.request = req
        response.connection = self
        return response

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        if verify is not True:
            raise ConfigurationError(
                "verify= cannot be changed per request on a LeanSession: the server is always "
                "verified against the session's ca=. Build the session with the right ca= instead."
            )
        if cert is not None:
            raise ConfigurationError(
                "cert= cannot be passed per request on a LeanSession: the client certificate is "
                "configured once, when the session is built."
            )

    def replace_context(self, ssl_context: ssl.SSLContext, description: TLSDescription) -> None:
        """Use a new context for new connections; close the idle old ones.

        Requests already running keep their connection and finish; a pool that
        is closed under a request about to start makes it retry at once (see
        :meth:`send`), so a rotation never fails a request.
        """
        old_manager, old_proxies = self.poolmanager, self.proxy_manager
        self.ssl_context = ssl_context
        self.description = description
        self.proxy_manager = {}
        connections, maxsize, block = self._pool_settings
        self.init_poolmanager(connections, maxsize, block=block)
        old_manager.clear()
        for manager in old_proxies.values():
            manager.clear()

    def reset_after_fork(self) -> None:
        """Forget (without closing) connections inherited from the parent process.

        Closing them would be wrong too: the parent still uses those sockets.
        """
        self.proxy_manager = {}
        connections, maxsize, block = self._pool_settings
        self.init_poolmanager(connections, maxsize, block=block)

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Mapping[str, str] | None = None,
    ) -> requests.Response:
        policy = call_policy.get() or self.retry
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._send_once(request, stream, timeout, verify, cert, proxies)
            except LeanError as error:
                if error.code == _POOL_CLOSED:  # a rotation closed the pool under us: not a failure
                    attempt -= 1
                    continue
                if attempt > policy.retries or not policy.retry_error(error, request):
                    error.record_attempts(attempt)
                    raise
                delay = policy.backoff(attempt)
                logger.debug("Attempt %d of %s %s failed (%s); retrying in %.2f s",
                             attempt, request.method, _path(request), error.code, delay)
            else:
                wait = policy.retry_response(response) if attempt <= policy.retries else None
                if wait is None:
                    response.lean_attempts = attempt  # type: ignore[attr-defined]  # read back by the session
                    return response
                delay = policy.backoff(attempt) if wait < 0 else wait
                logger.debug("Attempt %d of %s %s answered %d; retrying in %.2f s",
                             attempt, request.method, _path(request), response.status_code, delay)
                response.close()
            policy.sleep(delay)

    def _send_once(
        self, request: requests.PreparedRequest, stream: bool, timeout: Any, verify: Any, cert: Any, proxies: Any
    ) -> requests.Response:
        if self.description.verification_off:
            logger.warning("TLS verification is OFF for %s (sandbox only): the server is not authenticated.",
                           _host(request.url or ""))
        answered = False
        try:
            # The full requests path when a proxy is involved, or when a test tool
            # (responses, ...) has patched HTTPAdapter.send to intercept requests.
            if proxies or verify is not True or cert is not None or HTTPAdapter.send is not _REQUESTS_SEND:
                response = super().send(request, stream=stream, timeout=timeout, verify=verify, cert=cert,
                                        proxies=proxies)
            else:
                response = self._send_direct(request, timeout)
            answered = True
            if not stream:  # read here, so a body cut short is retried like any other failure
                self._preload(response, _read_budget(timeout))
            return response
        except LeanError:
            raise
        except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
            error = map_transport_error(exc, request.url or "", self.description)
        if not answered and self._looks_like_a_silent_rejection(error, proxies):
            error = self._diagnose_cut(error, request)
        raise error

    def _send_direct(self, request: requests.PreparedRequest, timeout: Any) -> requests.Response:
        """``HTTPAdapter.send`` without the parts a LeanAdapter never needs.

        With no proxy and the TLS policy fixed in the context, requests'
        per-request pool-key building, proxy selection and verify/cert
        bookkeeping are pure overhead; the pool for an origin is looked up
        once per pool manager instead.  Exceptions are translated exactly as
        requests translates them, then mapped by :func:`map_transport_error`.
        """
        url = request.url or ""
        end = url.find("/", url.find("://") + 3)
        origin, path = (url, "/") if end < 0 else (url[:end], url[end:])
        where = _ORIGINS.get(origin)
        if where is None:
            parsed = urllib3.util.parse_url(origin)
            where = (parsed.host or "", parsed.port, parsed.scheme or "https")
            if len(_ORIGINS) < 256:
                _ORIGINS[origin] = where
        pool = self._pool_for(origin, where)
        if "#" in path:
            path = path.split("#", 1)[0]
        chunked = not (request.body is None or "Content-Length" in request.headers)
        try:
            raw = pool.urlopen(
                method=request.method,
                url=path,
                body=request.body,
                headers=request.headers,
                redirect=False,
                assert_same_host=False,
                preload_content=False,
                decode_content=False,
                retries=self.max_retries,
                timeout=_timeout(timeout),
                chunked=chunked,
            )
        except urllib3.exceptions.MaxRetryError as exc:
            reason = exc.reason
            if isinstance(reason, urllib3.exceptions.ConnectTimeoutError) and not isinstance(
                reason, urllib3.exceptions.NewConnectionError
            ):
                raise requests.exceptions.ConnectTimeout(exc, request=request) from None
            if isinstance(reason, urllib3.exceptions.SSLError):
                raise requests.exceptions.SSLError(exc, request=request) from None
            raise requests.exceptions.ConnectionError(exc, request=request) from None
        except (urllib3.exceptions.ProtocolError, OSError) as exc:
            raise requests.exceptions.ConnectionError(exc, request=request) from None
        except urllib3.exceptions.ReadTimeoutError as exc:
            raise requests.exceptions.ReadTimeout(exc, request=request) from None
        except urllib3.exceptions.SSLError as exc:
            raise requests.exceptions.SSLError(exc, request=request) from None
        return self.build_response(request, raw)

    def _pool_for(self, origin: str, where: tuple[str, int | None, str]) -> Any:
        """The pool manager's pool for ``origin``, without rebuilding its key.

        The remembered pool is used only while the manager still holds it
        under the same key, so the manager's LRU and ``clear()`` keep their
        meaning (a cleared manager hands out a fresh pool).
        """
        manager = self.poolmanager
        remembered = self._remembered.get(origin)
        if remembered is not None and remembered[0] is manager:
            key, pool = remembered[1], remembered[2]
            if manager.pools.get(key) is pool:
                return pool
        pool = manager.connection_from_host(*where)
        key = next((k for k in manager.pools.keys() if manager.pools.get(k) is pool), None)  # noqa: SIM118
        if key is not None:
            self._remembered[origin] = (manager, key, pool)
        return pool

    def _diagnose_cut(self, error: LeanError, request: requests.PreparedRequest) -> LeanError:
        host = _host(request.url or "")
        verdict = probe_client_certificate(self.ssl_context, request.url or "")
        if verdict is not None and verdict != ACCEPTED:
            return _client_rejected(host, self.description, verdict, {"request": request},
                                    "the server cut the connection; under TLS 1.3 its verdict on the client "
                                    "certificate arrives after the handshake, and a probe confirmed it")
        if verdict == ACCEPTED and isinstance(error, LeanTLSError):
            # The certificate is fine and TLS works: this EOF was a dropped connection.
            return LeanConnectionError(
                f"The connection to {host} was cut before a complete answer arrived. "
                "The request may have reached the server.",
                request=request,
            )
        return error

    def _preload(self, response: requests.Response, budget: float | None) -> None:
        """Read the whole body, refusing more than ``max_response_bytes`` and
        giving up when it takes longer than ``budget`` seconds in total.

        The read timeout bounds each wait for data, not the whole body: a
        server that trickles a byte every few seconds would otherwise hold a
        worker forever.
        """
        limit = self.max_response_bytes
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            self._refuse_size(response, limit)
        try:
            data = self._read_body(response, limit, budget)
        except urllib3.exceptions.HTTPError as exc:  # the same mapping requests applies in iter_content
            if isinstance(exc, urllib3.exceptions.ProtocolError):
                raise requests.exceptions.ChunkedEncodingError(exc) from None
            if isinstance(exc, urllib3.exceptions.DecodeError):
                raise requests.exceptions.ContentDecodingError(exc) from None
            if isinstance(exc, urllib3.exceptions.ReadTimeoutError):
                raise requests.exceptions.ReadTimeout(exc) from None
            raise
        if len(data) > limit:
            self._refuse_size(response, limit)
        response._content = data
        response._content_consumed = True  # type: ignore[attr-defined]

    def _read_body(self, response: requests.Response, limit: int, budget: float | None) -> bytes:
        raw = response.raw
        read1 = getattr(raw, "read1", None)  # urllib3 >= 2.3
        if read1 is None or budget is None:
            data: bytes = raw.read(limit + 1, decode_content=True)
            return data
        deadline = time.monotonic() + budget
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk: bytes = read1(65536, decode_content=True)
            if not chunk:
                return b"".join(chunks)
            total += len(chunk)
            if total > limit:
                return b"".join(chunks) + chunk  # over the limit: the caller refuses it
            chunks.append(chunk)
            if time.monotonic() > deadline:
                response.close()
                raise requests.exceptions.ReadTimeout(
                    f"the body was not complete {budget:.0f} s after the headers arrived",
                    request=response.request,
                )

    @staticmethod
    def _refuse_size(response: requests.Response, limit: int) -> None:
        response.close()
        raise InvalidResponseError(
            f"HTTP {response.status_code} to {_path(response.request)} sent more than {limit} bytes; "
            "refusing to read it (raise max_response_bytes= if this is expected).",
            status_code=response.status_code,
            response=response,
            request=response.request,
        )

    def _looks_like_a_silent_rejection(self, error: LeanError, proxies: Mapping[str, str] | None) -> bool:
        """A reset or EOF with no TLS alert is how a TLS 1.3 server's refusal of
        our certificate often reaches the client; a reset of a healthy
        connection looks the same.  Only a probe can tell them apart."""
        if self.description.client_subject is None or proxies or error.code == _POOL_CLOSED:
            return False
        return bool(getattr(error, "abrupt_close", False)) and not isinstance(error, LeanProxyError)


_REQUESTS_SEND = HTTPAdapter.send
_TIMEOUTS: dict[Any, Any] = {}
#: "scheme://host:port" -> (host, port, scheme), parsed once.
_ORIGINS: dict[str, tuple[str, int | None, str]] = {}


def _timeout(value: Any) -> Any:
    """requests' timeout argument as a urllib3 ``Timeout``, built once per value."""
    cached = _TIMEOUTS.get(value)
    if cached is None:
        if isinstance(value, tuple):
            connect, read = value
            cached = urllib3.Timeout(connect=connect, read=read)
        elif isinstance(value, urllib3.Timeout):
            return value
        else:
            cached = urllib3.Timeout(connect=value, read=value)
        if len(_TIMEOUTS) < 64:
            _TIMEOUTS[value] = cached
    return cached


def _read_budget(timeout: Any) -> float | None:
    """Seconds allowed for a whole body: the request's read timeout."""
    if isinstance(timeout, tuple):
        return float(timeout[1]) if timeout[1] is not None else None
    if isinstance(timeout, (int, float)):
        return float(timeout)
    read = getattr(timeout, "read_timeout", None)
    return float(read) if isinstance(read, (int, float)) else None


def _close_pools(manager: Any) -> None:
    """Close every pool of a urllib3 pool manager now.

    ``PoolManager.clear()`` only forgets its pools (urllib3 2 closes them when
    they are garbage-collected); a certificate rotation must not leave
    connections made with the old certificate open until then.
    """
    pools = [manager.pools[key] for key in manager.pools.keys()]  # noqa: SIM118 - the container refuses iteration
    manager.clear()
    for pool in pools:
        pool.close()


def _path(request: requests.PreparedRequest) -> str:
    return urlsplit(request.url or "").path or "/"


# --------------------------------------------------------------------------- error mapping


def _causes(exc: BaseException) -> list[BaseException]:
    """Every exception reachable from ``exc`` through args, ``reason``, cause and context."""
    found: list[BaseException] = []
    stack: list[BaseException] = [exc]
    while stack and len(found) < 32:
        current = stack.pop()
        if any(current is f for f in found):
            continue
        found.append(current)
        for nxt in (getattr(current, "reason", None), current.__cause__, current.__context__, *current.args):
            if isinstance(nxt, BaseException):
                stack.append(nxt)
    return found


def _ssl_error(exc: BaseException) -> ssl.SSLError | None:
    return next((c for c in _causes(exc) if isinstance(c, ssl.SSLError)), None)


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return parts.netloc.rsplit("@", 1)[-1] or url


def map_transport_error(
    exc: requests.RequestException | urllib3.exceptions.HTTPError, url: str, description: TLSDescription | None = None
) -> LeanError:
    """Translate a requests/urllib3 failure into the matching lean_mtls error."""
    host = _host(url)
    extra: dict[str, Any] = {}
    if isinstance(exc, requests.RequestException):
        extra = {"request": exc.request, "response": exc.response}
    causes = _causes(exc)
    error = _map(exc, causes, host, description, extra)
    # A reset or EOF with no alert: maybe a TLS 1.3 refusal of our certificate (see LeanAdapter).
    error.abrupt_close = any(isinstance(c, _ABRUPT) for c in causes)  # type: ignore[attr-defined]
    return error


_ABRUPT = (
    ConnectionResetError,
    BrokenPipeError,
    ssl.SSLEOFError,
    ssl.SSLZeroReturnError,
    http.client.RemoteDisconnected,
)


def _map(
    exc: BaseException,
    causes: list[BaseException],
    host: str,
    description: TLSDescription | None,
    extra: dict[str, Any],
) -> LeanError:
    if any(isinstance(c, urllib3.exceptions.EmptyPoolError) for c in causes):
        return LeanTimeout(
            f"Every pooled connection to {host} stayed busy past the pool timeout; raise pool_size= "
            "or lower the number of threads sharing the session. The request was not sent.",
            phase="pool",
            **extra,
        )
    if any(isinstance(c, urllib3.exceptions.ClosedPoolError) for c in causes):
        return LeanConnectionError("The connection pool was closed.", code=_POOL_CLOSED, request_sent=False, **extra)
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return LeanTimeout(
            f"Timed out connecting to {host} (TCP connect and TLS handshake). "
            "Check network access to Lean and any firewall or proxy; the request was not sent.",
            phase="connect",
            **extra,
        )
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return LeanTimeout(
            f"{host} did not answer within the read timeout. Lean can take up to 50 s on "
            "synchronous data calls: raise timeout= for those, or use async results.",
            phase="read",
            **extra,
        )
    not_sent = any(isinstance(c, urllib3.exceptions.NewConnectionError) for c in causes)
    if isinstance(exc, requests.exceptions.ProxyError):
        return LeanProxyError(f"The proxy on the way to {host} failed: {_reason(exc)}.", request_sent=False, **extra)
    ssl_error = _ssl_error(exc)
    if ssl_error is not None:
        return _tls_error(ssl_error, host, description, extra)
    if not_sent:
        return LeanConnectionError(
            f"Could not connect to {host}: {_reason(exc)}. Check the host name, DNS and network access.",
            request_sent=False,
            **extra,
        )
    broken = (
        requests.exceptions.ChunkedEncodingError,
        requests.exceptions.ConnectionError,
        urllib3.exceptions.ProtocolError,
    )
    if isinstance(exc, broken):
        return LeanConnectionError(
            f"The connection to {host} broke before a complete answer arrived ({_reason(exc)}). "
            "The request may have reached the server.",
            **extra,
        )
    return LeanConnectionError(f"Request to {host} failed: {type(exc).__name__}: {_reason(exc)}", **extra)


def _client_rejected(
    host: str, description: TLSDescription | None, reason: str, extra: Mapping[str, Any], how: str = ""
) -> LeanTLSError:
    subject = description.client_subject if description else None
    return LeanTLSError(
        f"{host} rejected the client certificate{f' {subject!r}' if subject else ''} ({reason}"
        f"{'; ' + how if how else ''}). Check that cert=/key= are the files generated for this app *and* "
        "environment (sandbox and production certificates differ), that the certificate is not expired or "
        "revoked, and that its intermediate certificates are available.",
        side="client",
        code="client-certificate-rejected",
        **extra,
    )


#: Seconds the probe waits for a TLS 1.3 server's verdict after the handshake.
PROBE_WAIT = 0.5
#: What :func:`probe_client_certificate` returns when the server kept the connection open.
ACCEPTED = "ACCEPTED"


def probe_client_certificate(context: ssl.SSLContext, url: str, timeout: float = 2.0) -> str | None:
    """Handshake once more and listen briefly without sending a request.

    A server that refuses the client certificate answers with an alert (under
    TLS 1.3, just after the handshake); one that accepts it waits silently for
    the request.  Returns the alert's reason, :data:`ACCEPTED` when the server
    waited, or ``None`` when the probe could not tell.
    """
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 443
    try:
        # ssl.SSLContext.wrap_socket, not the resuming override: a resumed session
        # would skip the very certificate check this probe is asking about.
        with socket.create_connection((host, port), timeout=timeout) as raw, ssl.SSLContext.wrap_socket(
            context, raw, server_hostname=host
        ) as tls:
            tls.settimeout(PROBE_WAIT)
            try:
                tls.recv(1)
            except socket.timeout:  # TimeoutError from 3.10 on; spelled for 3.9 too
                return ACCEPTED
    except ssl.SSLError as exc:
        reason = (exc.reason or "").upper()
        return reason if reason in _CLIENT_REJECTED else None
    except OSError:
        return None
    return None


def _reason(exc: BaseException) -> str:
    causes = _causes(exc)
    deepest = causes[-1] if causes else exc
    for candidate in reversed(causes):
        if isinstance(candidate, OSError) and candidate.strerror:
            return str(candidate.strerror)
    text = str(deepest)
    return text if len(text) < 300 else text[:297] + "..."


def _tls_error(
    error: ssl.SSLError, host: str, description: TLSDescription | None, extra: Mapping[str, Any]
) -> LeanTLSError:
    reason = (error.reason or "").upper()
    ca = description.ca_source if description else "the configured CA"
    if isinstance(error, ssl.SSLCertVerificationError) or reason == "CERTIFICATE_VERIFY_FAILED":
        detail = getattr(error, "verify_message", None) or reason or str(error)
        advice = (
            "Use Lean's certificate chain for this environment (lean_public_cert_chain.pem from the "
            "developer portal) as ca=, and check the host."
            if description is None or description.is_lean
            else "This host is not the Lean origin the session was built for; check where the request "
            "(or a redirect) was going."
        )
        return LeanTLSError(
            f"Could not verify the server certificate of {host}: {detail}. The server is checked "
            f"against {ca}. {advice}",
            side="server",
            code="server-not-trusted",
            **extra,
        )
    if reason in _CLIENT_REJECTED:
        return _client_rejected(host, description, reason, extra)
    if reason in {"WRONG_VERSION_NUMBER", "UNSUPPORTED_PROTOCOL", "TLSV1_ALERT_PROTOCOL_VERSION"}:
        return LeanTLSError(
            f"TLS could not be negotiated with {host} ({reason}): the port may not speak TLS, "
            "or the server does not accept TLS 1.2 or newer.",
            side="unknown",
            **extra,
        )
    return LeanTLSError(
        f"The TLS handshake with {host} failed ({reason or error}). Either the server refused the "
        "client certificate or the connection was cut; check cert=/key= for this environment and "
        "the network path.",
        side="unknown",
        **extra,
    )
