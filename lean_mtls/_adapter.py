"""The transport boundary: where lean_mtls hands requests to urllib3.

:class:`LeanAdapter` is a ``requests.adapters.HTTPAdapter`` that gives urllib3
the session's prebuilt ``ssl.SSLContext`` and ignores requests' per-request
``verify``/``cert`` plumbing.  That plumbing would otherwise set ``ca_certs``
and ``cert_reqs`` on the connection pool, which urllib3 applies by *mutating*
the shared context, so one call with ``verify=False`` or a stray
``REQUESTS_CA_BUNDLE`` could weaken every later connection.

:func:`~lean_mtls._exceptions.map_transport_error` (the one table) turns
requests/urllib3/ssl failures into lean_mtls errors.
"""

from __future__ import annotations

import gc
import logging
import socket
import ssl
import threading
import weakref
from collections.abc import Mapping
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from . import _reading
from ._exceptions import (
    CLIENT_REJECTED,
    POOL_CLOSED,
    TRANSPORT_FAILURES,
    Attempt,
    PoolExhausted,
    TLSDescription,
    ambiguous_handshake_failure,
    client_rejected,
    current_attempt,
    host_of,
    map_transport_error,
    negotiation_failed,
)
from ._response import unsupported_content_codings
from ._retry import DEFAULT_RETRY, BodyReplay, RetryPolicy, call_policy, cancelled, pause_before_retry
from .errors import (
    ConfigurationError,
    LeanConnectionError,
    LeanError,
    LeanProxyError,
    LeanTLSError,
)

__all__ = ["DEFAULT_MAX_RESPONSE_BYTES", "DEFAULT_POOL_SIZE", "DEFAULT_POOL_TIMEOUT", "LeanAdapter",
           "TLSDescription", "map_transport_error"]

logger = logging.getLogger("lean_mtls")

#: Connections kept per origin.  Threads beyond this wait for a free one (up
#: to ``DEFAULT_POOL_TIMEOUT``) instead of opening extra mTLS handshakes.
DEFAULT_POOL_SIZE = 16
#: Seconds a request waits for a free pooled connection.
DEFAULT_POOL_TIMEOUT = 10.0
#: A body larger than this is refused (Lean's pages are far smaller): a broken
#: proxy or a wrong URL must not be able to exhaust a worker's memory.
DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024

class _BlockingHTTPSPool(HTTPSConnectionPool):
    """An HTTPS pool that waits at most ``pool_timeout`` for a free connection.

    urllib3 waits forever in blocking mode unless told otherwise, and requests
    never tells it; a blocked worker with no deadline breaks the "every request
    has a timeout" rule.  Its connections read answers with
    :class:`~lean_mtls._reading.LeanHTTPResponse` (interim answers skipped, one
    deadline for the whole answer), and one whose framing is in doubt is
    closed instead of reused.
    """

    pool_timeout: float = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Connections held by stream=True responses not yet closed: id -> connection.
        self._lean_streams: dict[int, Any] = {}
        self._lean_streams_lock = threading.Lock()

    def _new_conn(self) -> Any:
        return _reading.install(super()._new_conn())

    def urlopen(self, method: str, url: str, body: Any = None, headers: Any = None, *args: Any,
                **kwargs: Any) -> Any:
        return super().urlopen(method, url, body, _wire_headers(headers), *args, **kwargs)

    def _get_conn(self, timeout: float | None = None) -> Any:
        wait = self.pool_timeout if timeout is None else timeout
        try:
            conn = super()._get_conn(timeout=wait)
        except urllib3.exceptions.EmptyPoolError:
            conn = self._get_conn_after_streams(wait)
        attempt = current_attempt.get()
        if attempt is not None:
            # A socket still open here passed urllib3's "dropped?" check: a reused keep-alive connection.
            attempt.reused = getattr(conn, "sock", None) is not None
            attempt.connected = attempt.reused
        return conn

    def _get_conn_after_streams(self, wait: float) -> Any:
        """The pool stayed empty.  Unreferenced stream=True responses in reference
        cycles only give their slot back when the garbage collector runs: run it
        once; if streamed responses still hold every slot, say so."""
        if self._lean_streams:
            gc.collect()
            try:
                return super()._get_conn(timeout=0.001)
            except urllib3.exceptions.EmptyPoolError:
                pass
        with self._lean_streams_lock:
            held = len(self._lean_streams)
        if held >= (self.pool.maxsize if self.pool is not None else held + 1):
            raise PoolExhausted(self, "every connection is held by an unclosed stream=True response", held)
        raise urllib3.exceptions.EmptyPoolError(self, f"no connection was free within {wait} s")

    def _validate_conn(self, conn: Any) -> None:
        super()._validate_conn(conn)  # connects (TCP + TLS handshake) a new connection
        attempt = current_attempt.get()
        if attempt is not None:
            attempt.connected = True

    def track_stream(self, response: Any) -> None:
        """``response`` (stream=True) holds its connection until it is closed or
        read to the end; if it is garbage-collected first, reclaim the slot."""
        conn = getattr(response, "_connection", None)
        if conn is None:
            return
        with self._lean_streams_lock:
            self._lean_streams[id(conn)] = conn
        weakref.finalize(response, self._reclaim, conn)

    def _reclaim(self, conn: Any) -> None:
        """A response was garbage-collected without being closed: its
        connection (framing unknown) is closed and its slot is free again."""
        with self._lean_streams_lock:
            held = self._lean_streams.get(id(conn)) is conn
            if held:
                del self._lean_streams[id(conn)]
        if held:  # else it was released normally
            conn.close()
            super()._put_conn(None)

    def _put_conn(self, conn: Any) -> None:
        if conn is not None and _reading.in_doubt(conn):
            conn.close()
        if conn is not None:
            with self._lean_streams_lock:
                if self._lean_streams.get(id(conn)) is conn:
                    del self._lean_streams[id(conn)]
        # By now the response was read, so a TLS 1.3 ticket has arrived: keep it
        # for the next new connection to this origin (see ResumingSSLContext).
        _reading.keep_ticket(getattr(conn, "sock", None))
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
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        # The same HTTPS pools as direct connections (pool_timeout honoured, answers read
        # the same way); SOCKS managers keep their own pool classes.
        if manager.pool_classes_by_scheme.get("https") is HTTPSConnectionPool:
            manager.pool_classes_by_scheme = {**manager.pool_classes_by_scheme, "https": self._pool_class}
        return manager

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> Any:
        host_params, _ = super().build_connection_pool_key_attributes(request, True, None)
        return host_params, {}

    def build_response(self, req: requests.PreparedRequest, resp: Any) -> requests.Response:
        response = _reading.LeanResponse()
        response.lean_max_bytes = self.max_response_bytes
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
        body = BodyReplay(request)
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._send_once(request, stream, timeout, verify, cert, proxies)
            except LeanError as error:
                if error.code == POOL_CLOSED and body.prepare_resend(error):  # a rotation closed the pool
                    attempt -= 1
                    continue
                if (attempt > policy.retries or not policy.retry_error(error, request) or cancelled()
                        or not body.prepare_resend(error)):
                    error.record_attempts(attempt)
                    raise
                delay = policy.backoff(attempt)
                logger.debug("Attempt %d of %s %s failed (%s); retrying in %.2f s",
                             attempt, request.method, _path(request), error.code, delay)
                if not pause_before_retry(policy, delay):  # the caller gave up meanwhile: no new attempt
                    error.record_attempts(attempt)
                    raise
            else:
                wait = policy.retry_response(response) if attempt <= policy.retries and not cancelled() else None
                if wait is not None and not body.prepare_resend(None):
                    wait = None  # the body cannot be sent again: this answer is the result
                if wait is None:
                    response.lean_attempts = attempt  # type: ignore[attr-defined]  # read back by the session
                    return response
                delay = policy.backoff(attempt) if wait < 0 else wait
                logger.debug("Attempt %d of %s %s answered %d; retrying in %.2f s",
                             attempt, request.method, _path(request), response.status_code, delay)
                response.close()  # the body was read (not streamed) or is unwanted: the connection goes back
                if not pause_before_retry(policy, delay):  # cancelled while waiting: this answer is the result
                    response.lean_attempts = attempt  # type: ignore[attr-defined]
                    return response

    def _send_once(
        self, request: requests.PreparedRequest, stream: bool, timeout: Any, verify: Any, cert: Any, proxies: Any
    ) -> requests.Response:
        if self.description.verification_off:
            logger.warning("TLS verification is OFF for %s (sandbox only): the server is not authenticated.",
                           host_of(request.url or ""))
        answered = False
        attempt = Attempt()
        token = current_attempt.set(attempt)
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
                self._preload(response)
            else:
                if _declared_length(response) > self.max_response_bytes:
                    raise _reading.too_large(response, self.max_response_bytes)
                pool = getattr(response.raw, "_pool", None)
                if isinstance(pool, _BlockingHTTPSPool):
                    pool.track_stream(response.raw)
            return response
        except LeanError:
            raise
        except TRANSPORT_FAILURES as exc:
            cause = exc
            error = map_transport_error(exc, request.url or "", self.description, answered=answered,
                                        request=request)
        finally:
            current_attempt.reset(token)
        if not answered and self._looks_like_a_silent_rejection(error, proxies, attempt):
            error = self._diagnose_cut(error, request)
        elif not proxies and ambiguous_handshake_failure(cause):
            error = self._diagnose_handshake(error, request)
        raise error

    def _send_direct(self, request: requests.PreparedRequest, timeout: Any) -> requests.Response:
        """``HTTPAdapter.send`` without the parts a LeanAdapter never needs.

        With no proxy and the TLS policy fixed in the context, requests'
        per-request pool-key building, proxy selection and verify/cert
        bookkeeping are pure overhead; the pool for an origin is looked up
        once per pool manager instead.  urllib3's exceptions are left to the
        one table (:func:`map_transport_error`).
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
        host = host_of(request.url or "")
        verdict = probe_client_certificate(self.ssl_context, request.url or "")
        if verdict is not None and verdict != ACCEPTED:
            return client_rejected(host, self.description, verdict, {"request": request},
                                   "the server cut the connection; under TLS 1.3 its verdict on the client "
                                   "certificate arrives after the handshake, and a probe confirmed it",
                                   request_sent=bool(getattr(error, "request_sent", True)))
        if verdict == ACCEPTED and isinstance(error, LeanTLSError):
            # The certificate is fine and TLS works: this EOF was a dropped connection.
            return LeanConnectionError(
                f"The connection to {host} was cut before a complete answer arrived. "
                "The request may have reached the server.",
                request=request,
            )
        return error

    def _diagnose_handshake(self, error: LeanError, request: requests.PreparedRequest) -> LeanError:
        """A ``handshake_failure`` alert means "no common cipher" or (TLS 1.2) "no
        acceptable client certificate": replay the handshake to see which."""
        url = request.url or ""
        seen = probe_negotiation(self.ssl_context, url)
        if seen is None:
            return error
        host, extra = host_of(url), {"request": request}
        if seen.refused_hello:
            return negotiation_failed(host, "SSLV3_ALERT_HANDSHAKE_FAILURE", extra)
        if seen.asked_for_certificate:
            return client_rejected(host, self.description, "SSLV3_ALERT_HANDSHAKE_FAILURE", extra,
                                   "the server asked for a client certificate, then ended the handshake")
        return error

    def _preload(self, response: requests.Response) -> None:
        """Read the whole body, refusing more than ``max_response_bytes``.

        The read timeout is a deadline for the whole answer, enforced while
        reading (see :mod:`lean_mtls._reading`): a server that trickles a byte
        every few seconds cannot hold a worker past it.
        """
        limit = self.max_response_bytes
        if _declared_length(response) > limit:
            raise _reading.too_large(response, limit)
        # A coding urllib3 cannot undo (br without brotli, an unknown one) is left whole, never
        # half-decoded: decode_json names it.
        decode = not unsupported_content_codings(response.headers.get("Content-Encoding", ""))
        try:
            # read(), not read1(): tools that stand in for urllib3's response (vcrpy) offer only read().
            data: bytes = response.raw.read(limit + 1, decode_content=decode)
        except LeanError:
            raise
        except TRANSPORT_FAILURES as exc:  # mapped by the one table, with the response
            raise map_transport_error(exc, response.url, self.description, answered=True,
                                      request=response.request, response=response) from None
        if len(data) > limit:
            raise _reading.too_large(response, limit)
        response._content = data
        response._content_consumed = True  # type: ignore[attr-defined]

    def _looks_like_a_silent_rejection(
        self, error: LeanError, proxies: Mapping[str, str] | None, attempt: Attempt
    ) -> bool:
        """A reset or EOF with no TLS alert is how a TLS 1.3 server's refusal of
        our certificate often reaches the client; a reset of a healthy
        connection looks the same.  Only a probe can tell them apart, and only
        on a brand-new connection: a reused keep-alive connection already
        passed the server's certificate check, so its end says nothing about it."""
        if proxies or error.code == POOL_CLOSED or attempt.reused:
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


def _wire_headers(headers: Any) -> Any:
    """``headers`` with credential values as plain ``str``/``bytes``.

    The prepared request keeps them as :class:`~lean_mtls._secrets.Secret` (a
    safe ``repr``); what goes on the wire is the value itself, and so is what
    tools that record the wire (vcrpy) see: their serializers refuse unknown
    types.  Keeping credentials out of recordings is their filters' job
    (:func:`lean_mtls.testing.vcr_config`).
    """
    if not headers:
        return headers
    values = headers.values()
    if all(type(value) is str for value in values):
        return headers
    return {name: _plain(value) for name, value in headers.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, bytes):
        return bytes(value)
    return value


def _declared_length(response: requests.Response) -> int:
    declared = response.headers.get("Content-Length", "")
    return int(declared) if declared.isdigit() else -1


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


# --------------------------------------------------------------------------- probes


#: Seconds the probe waits for a TLS 1.3 server's verdict after the handshake.
PROBE_WAIT = 0.5
#: What :func:`probe_client_certificate` returns when the server kept the connection open.
ACCEPTED = "ACCEPTED"
#: ... and when the server ended the connection right after the handshake, without
#: a word and without waiting for a request: a refusal (nothing else was asked of it).
CLOSED_AFTER_HANDSHAKE = "CLOSED_AFTER_HANDSHAKE"


def probe_client_certificate(context: ssl.SSLContext, url: str, timeout: float = 2.0) -> str | None:
    """Handshake once more and listen briefly without sending a request.

    A server that refuses the client certificate answers with an alert (under
    TLS 1.3, just after the handshake) or ends the connection; one that accepts
    it waits silently for the request.  Returns the alert's reason,
    :data:`CLOSED_AFTER_HANDSHAKE`, :data:`ACCEPTED` when the server waited, or
    ``None`` when the probe could not tell (no connection, no handshake).
    """
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 443
    try:
        raw = socket.create_connection((host, port), timeout=timeout)
    except OSError:
        return None
    with raw:
        try:
            # ssl.SSLContext.wrap_socket, not the resuming override: a resumed session
            # would skip the very certificate check this probe is asking about.
            tls = ssl.SSLContext.wrap_socket(context, raw, server_hostname=host)
        except ssl.SSLError as exc:
            reason = (getattr(exc, "reason", None) or "").upper()
            return reason if reason in CLIENT_REJECTED else None
        except OSError:
            return None
        with tls:
            return _listen_after_handshake(tls)


def _listen_after_handshake(tls: ssl.SSLSocket) -> str | None:
    tls.settimeout(PROBE_WAIT)
    try:
        data = tls.recv(1)
    except socket.timeout:  # TimeoutError from 3.10 on; spelled for 3.9 too
        return ACCEPTED
    except ssl.SSLError as exc:
        reason = (getattr(exc, "reason", None) or "").upper()
        if reason in CLIENT_REJECTED:
            return reason
        return CLOSED_AFTER_HANDSHAKE if isinstance(exc, (ssl.SSLEOFError, ssl.SSLZeroReturnError)) else None
    except OSError:  # reset, broken pipe: cut right after the handshake
        return CLOSED_AFTER_HANDSHAKE
    return CLOSED_AFTER_HANDSHAKE if data == b"" else None


class ServerFlight(NamedTuple):
    """What the server sent before a failed handshake (see :func:`probe_negotiation`)."""

    #: Its very first record was an alert: it refused our ClientHello, so no
    #: certificate was exchanged (no shared TLS version or cipher suite).
    refused_hello: bool
    #: It sent a CertificateRequest in the clear (TLS 1.2).
    asked_for_certificate: bool


_ALERT, _HANDSHAKE = 21, 22
_CERTIFICATE_REQUEST = 13


def probe_negotiation(context: ssl.SSLContext, url: str, timeout: float = 2.0) -> ServerFlight | None:
    """Replay a handshake through memory buffers and look at the server's records.

    Only run after a handshake already failed; ``None`` when the probe could not tell.
    """
    parts = urlsplit(url)
    host, port = parts.hostname or "", parts.port or 443
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = ssl.SSLContext.wrap_bio(context, incoming, outgoing, server_hostname=host)
    received = b""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            while True:
                try:
                    tls.do_handshake()
                    return ServerFlight(False, False)  # it worked this time: nothing to conclude
                except ssl.SSLWantReadError:
                    pending = outgoing.read()
                    if pending:
                        sock.sendall(pending)
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    received += chunk
                    incoming.write(chunk)
                except ssl.SSLError:
                    break
    except OSError:
        return None
    if not received:
        return None
    return ServerFlight(received[0] == _ALERT, _CERTIFICATE_REQUEST in _cleartext_handshake_types(received))


def _cleartext_handshake_types(data: bytes) -> set[int]:
    """Handshake message types in the unencrypted records at the start of ``data``."""
    payload = b""
    offset = 0
    while offset + 5 <= len(data) and data[offset] == _HANDSHAKE:
        length = int.from_bytes(data[offset + 3 : offset + 5], "big")
        payload += data[offset + 5 : offset + 5 + length]
        offset += 5 + length
    types: set[int] = set()
    offset = 0
    while offset + 4 <= len(payload):
        types.add(payload[offset])
        offset += 4 + int.from_bytes(payload[offset + 1 : offset + 4], "big")
    return types
