"""The one table from transport failures to lean_mtls errors.

Failures reach the SDK in many spellings: requests' exceptions (when a proxy
or a patched ``HTTPAdapter.send`` is involved, or while following redirects),
urllib3's (our direct path), ``http.client``'s and ``ssl``'s (inside both).
:func:`map_transport_error` looks through all of them (args, ``reason``,
causes) and applies :data:`RULES`, most specific first.  Each rule names the
kind of failure, the lean error it becomes (always also the most specific
requests exception for that failure, so ``except requests.ReadTimeout`` and
tenacity's ``retry_if_exception_type(ReadTimeout)`` keep working), and how the
message is built.  httpx's ``_exceptions.py`` mapping is the model.

Whether an error may be retried is decided from the class this table picks
(see ``RetryPolicy.retry_error``): a malformed answer, a refused handshake or
a failed certificate check will fail the same way again.

What the transport learned about the attempt (was the connection reused, did
the TLS handshake complete) comes from :class:`Attempt`, which the adapter's
connection pool fills in; it decides ``request_sent`` and tells a TLS
handshake timeout (the connect phase, nothing sent) from a read timeout.
"""

from __future__ import annotations

import contextvars
import http.client
import socket
import ssl
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple
from urllib.parse import urlsplit

import requests
import urllib3

from .errors import (
    IncompleteResponseError,
    InvalidHeaderError,
    InvalidJSONBodyError,
    InvalidRequestError,
    InvalidSchemaError,
    InvalidURLError,
    LeanConnectionError,
    LeanConnectTimeout,
    LeanError,
    LeanPoolTimeout,
    LeanProxyError,
    LeanReadTimeout,
    LeanTLSError,
    MalformedResponseError,
    ResponseDecodingError,
    TooManyRedirectsError,
)

#: ``code`` of the internal error that means "a certificate rotation closed the
#: pool under this request": retried at once, never shown to callers.
POOL_CLOSED = "pool-closed"


class TLSDescription(NamedTuple):
    """Non-secret labels used in error messages."""

    ca_source: str
    client_subject: str | None
    #: False for adapters that serve hosts other than Lean's.
    is_lean: bool = True
    #: True only for a sandbox session built with verify=False.
    verification_off: bool = False
    #: Problems the credential inspection found at construction (an incomplete chain, no clientAuth
    #: usage, an expired intermediate): a rejection by the server names them as the likely cause.
    known_problems: tuple[str, ...] = ()
    #: Problems the inspection found with the CA bundle (no CA certificate in it): a failure to
    #: verify the server names them.
    ca_problems: tuple[str, ...] = ()


class Attempt:
    """What the transport learned about one attempt, filled in by the pool.

    ``reused``: the connection came from the pool with its socket open (a
    keep-alive connection), ``False`` for a brand-new one, ``None`` when not
    known (proxies, patched adapters).  ``connected``: the TCP connect and TLS
    handshake completed, so the request was (or was being) written.
    """

    __slots__ = ("connected", "reused")

    def __init__(self) -> None:
        self.reused: bool | None = None
        self.connected: bool | None = None


#: The attempt being made on this thread/context (set by ``LeanAdapter``).
current_attempt: contextvars.ContextVar[Attempt | None] = contextvars.ContextVar("lean_attempt", default=None)


#: What every call site of :func:`map_transport_error` catches (after letting a
#: ``LeanError`` through): requests', urllib3's and the socket layer's errors,
#: and ``ValueError``, which ``urllib.parse``, ``http.client`` (a header that is
#: not Latin-1), ``json`` and IDNA raise for inputs they cannot handle.  One
#: tuple, so no call site lets a failure escape that another would translate.
TRANSPORT_FAILURES: tuple[type[BaseException], ...] = (
    requests.RequestException, urllib3.exceptions.HTTPError, OSError, ValueError,
)


class UnsupportedContentEncoding(urllib3.exceptions.DecodeError):
    """The answer's ``Content-Encoding`` names a coding this installation cannot
    decode (``br`` without brotli, an unknown one); the message says which and
    how to fix it.  Raised by the readers so the table decides what it is."""


class PoolExhausted(urllib3.exceptions.EmptyPoolError):
    """urllib3's ``EmptyPoolError`` plus how many unclosed ``stream=True``
    responses hold a connection of that pool."""

    def __init__(self, pool: Any, message: str, unclosed_streams: int) -> None:
        super().__init__(pool, message)
        self.unclosed_streams = unclosed_streams


# --------------------------------------------------------------------------- looking through wrappers


def causes_of(exc: BaseException) -> list[BaseException]:
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


def host_of(url: str) -> str:
    """The host[:port] of ``url`` for messages (never its userinfo)."""
    try:
        netloc = urlsplit(url).netloc
    except ValueError:  # "https://[::1/x": the URL itself is what failed
        netloc = url.partition("://")[2].partition("/")[0]
    return netloc.rsplit("@", 1)[-1] or url.rsplit("@", 1)[-1]


def reason_of(exc: BaseException) -> str:
    causes = causes_of(exc)
    deepest = causes[-1] if causes else exc
    for candidate in reversed(causes):
        if isinstance(candidate, OSError) and candidate.strerror:
            return str(candidate.strerror)
    text = str(deepest)
    return text if len(text) < 300 else text[:297] + "..."


class Failure(NamedTuple):
    """One failure, as the rules see it."""

    exc: BaseException
    causes: list[BaseException]
    host: str
    description: TLSDescription | None
    #: request=/response= for the requests exception the lean error also is.
    extra: dict[str, Any]
    attempt: Attempt | None
    #: The status line and headers had arrived (the body was being read).
    answered: bool

    def has(self, *types: type[BaseException]) -> bool:
        return any(isinstance(c, types) for c in self.causes)

    def first(self, *types: type[BaseException]) -> BaseException | None:
        return next((c for c in self.causes if isinstance(c, types)), None)

    @property
    def handshake_done(self) -> bool | None:
        return self.attempt.connected if self.attempt is not None else None

    @property
    def request_sent(self) -> bool:
        """False only when the request certainly was not written."""
        if self.answered:
            return True
        if self.handshake_done is not None:
            return self.handshake_done
        # Not known (proxies, patched adapters): a TLS alert is taken for the handshake's, as requests does.
        if self.has(ssl.SSLError):
            return False
        return not self.has(urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError,
                            requests.exceptions.ConnectTimeout)


# --------------------------------------------------------------------------- the kinds of failure

_TIMEOUTS = (requests.exceptions.Timeout, urllib3.exceptions.TimeoutError, socket.timeout)
#: http.client's ways of saying "this is not valid HTTP/1.1" (RemoteDisconnected
#: is a BadStatusLine too, but it means the server closed the connection).
_MALFORMED = (http.client.BadStatusLine, http.client.LineTooLong, http.client.UnknownProtocol,
              urllib3.exceptions.InvalidHeader)
_CUT = (http.client.IncompleteRead, urllib3.exceptions.IncompleteRead, urllib3.exceptions.InvalidChunkLength,
        requests.exceptions.ChunkedEncodingError)
#: A reset or EOF with no TLS alert: maybe a TLS 1.3 refusal of our certificate (see LeanAdapter).
ABRUPT = (ConnectionResetError, BrokenPipeError, ssl.SSLEOFError, ssl.SSLZeroReturnError,
          http.client.RemoteDisconnected)


def _is_malformed(f: Failure) -> bool:
    for cause in f.causes:
        if isinstance(cause, http.client.RemoteDisconnected):
            continue
        # A chunk-size line that is there but not hex ("zz") is malformed; an empty one is a cut.
        if isinstance(cause, urllib3.exceptions.InvalidChunkLength) and cause.length.strip():
            return True
        if _bad_chunk_size_line(cause):
            return True
        if isinstance(cause, _MALFORMED):
            return True
        # "got more than 100 headers" is a bare HTTPException.
        if type(cause) is http.client.HTTPException:
            return True
    return False


def _timed_out(f: Failure) -> bool:
    # urllib3's NewConnectionError (refused, DNS) is a ConnectTimeoutError by inheritance only.
    return any(isinstance(c, _TIMEOUTS) and not isinstance(c, urllib3.exceptions.NewConnectionError)
               for c in f.causes)


def _bad_chunk_size_line(cause: BaseException) -> bool:
    """http.client's chunked reader failed to parse a chunk-size line that was
    there ("zz"); an empty line (int(b'', 16)) means the connection was cut."""
    context = cause.__context__
    return (isinstance(cause, http.client.IncompleteRead) and isinstance(context, ValueError)
            and not str(context).endswith("b''"))


def _is_connect_timeout(f: Failure) -> bool:
    if f.has(requests.exceptions.ConnectTimeout):
        return True
    timeout = f.first(urllib3.exceptions.ConnectTimeoutError)
    if timeout is not None and not isinstance(timeout, urllib3.exceptions.NewConnectionError):
        return True
    # urllib3 reports a TLS handshake that times out as a *read* timeout.
    return _timed_out(f) and f.handshake_done is False and not f.answered


def _is_tls(f: Failure) -> bool:
    error = f.first(ssl.SSLError)
    if error is None:
        return False
    # An EOF on a connection whose handshake completed is a dropped connection,
    # not a TLS failure (the probe decides whether it hid a refusal).
    return not (isinstance(error, (ssl.SSLEOFError, ssl.SSLZeroReturnError)) and f.handshake_done)


def _is_not_connected(f: Failure) -> bool:
    return f.has(urllib3.exceptions.NewConnectionError) or f.handshake_done is False


class Rule(NamedTuple):
    kind: str
    matches: Callable[[Failure], bool]
    build: Callable[[Failure], LeanError]


def _pool_timeout(f: Failure) -> LeanError:
    streams = int(getattr(f.first(PoolExhausted), "unclosed_streams", 0))
    if streams:
        return LeanPoolTimeout(
            f"All {streams} pooled connections to {f.host} are held by responses made with stream=True that "
            "are still open: close them (response.close()) or use `with session.get(..., stream=True) as "
            "response:`. The request was not sent.",
            unclosed_streams=streams,
            **f.extra,
        )
    return LeanPoolTimeout(
        f"Every pooled connection to {f.host} stayed busy past the pool timeout; raise pool_size= "
        "or lower the number of threads sharing the session. The request was not sent.",
        **f.extra,
    )


def _connect_timeout(f: Failure) -> LeanError:
    return LeanConnectTimeout(
        f"Timed out connecting to {f.host} (TCP connect and TLS handshake). "
        "Check network access to Lean and any firewall or proxy; the request was not sent.",
        **f.extra,
    )


def _read_timeout(f: Failure) -> LeanError:
    return LeanReadTimeout(
        f"{f.host} did not answer within the read timeout. Lean can take up to 50 s on "
        "synchronous data calls: raise timeout= for those, or use async results.",
        **f.extra,
    )


def _malformed(f: Failure) -> LeanError:
    return MalformedResponseError(
        f"{f.host} sent an answer that is not valid HTTP ({_describe_malformed(f)}); trying again would get "
        "the same answer, so it was not retried. Check that the URL points at Lean's API and not at another "
        "service or a misconfigured gateway.",
        request_sent=True,
        **f.extra,
    )


def _describe_malformed(f: Failure) -> str:
    for cause in f.causes:
        if isinstance(cause, http.client.LineTooLong):
            return f"over-long {cause.args[0] if cause.args else 'line'}"
        if isinstance(cause, http.client.UnknownProtocol):
            return f"unknown protocol {cause.args[0]!r}" if cause.args else "unknown protocol"
        if isinstance(cause, http.client.BadStatusLine) and not isinstance(cause, http.client.RemoteDisconnected):
            line = cause.args[0] if cause.args else ""
            return f"invalid status line {str(line)[:60]!r}"
        if type(cause) is http.client.HTTPException or isinstance(cause, urllib3.exceptions.InvalidHeader):
            return str(cause)[:120]
        if isinstance(cause, urllib3.exceptions.InvalidChunkLength):
            return f"invalid chunk size {cause.length[:20]!r}"
        if _bad_chunk_size_line(cause):
            return f"invalid chunk size ({cause.__context__})"[:120]
    return reason_of(f.exc)


def _decoding(f: Failure) -> LeanError:
    response = f.extra.get("response")
    unsupported = f.first(UnsupportedContentEncoding)
    detail = str(unsupported) if unsupported is not None else f"could not be decoded as its Content-Encoding says " \
        f"({reason_of(f.exc)})"
    return ResponseDecodingError(
        f"The body from {f.host} {detail}.",
        status_code=getattr(response, "status_code", 0) or 0,
        **f.extra,
    )


def _redirects(f: Failure) -> LeanError:
    return TooManyRedirectsError(
        f"{f.host} kept redirecting ({reason_of(f.exc)}); the request was not completed.", **f.extra
    )


def _cut(f: Failure) -> LeanError:
    where = "" if f.answered else " (inside its status line or headers)"
    return IncompleteResponseError(
        f"The connection to {f.host} broke before a complete answer arrived{where} ({reason_of(f.exc)}). "
        "The request reached the server.",
        **f.extra,
    )


def _not_connected(f: Failure) -> LeanError:
    return LeanConnectionError(
        f"Could not connect to {f.host}: {reason_of(f.exc)}. Check the host name, DNS and network access.",
        request_sent=False,
        **f.extra,
    )


def _broken(f: Failure) -> LeanError:
    return LeanConnectionError(
        f"The connection to {f.host} broke before a complete answer arrived ({reason_of(f.exc)}). "
        "The request may have reached the server.",
        request_sent=f.request_sent,
        **f.extra,
    )


def _invalid_url(f: Failure) -> LeanError:
    if _in_redirect(f):
        return InvalidURLError(
            f"{f.host} answered with a redirect whose Location cannot be used ({reason_of(f.exc)}); the redirect "
            "was not followed. The server (or a gateway in front of it) sent a malformed Location header.",
            **f.extra,
        )
    return InvalidURLError(f"The URL cannot be sent: {reason_of(f.exc)}.", **f.extra)


#: Modules whose ``ValueError`` means "this URL cannot be parsed".
_URL_PARSERS = ("urllib/parse.py", "urllib3/util/url.py", "encodings/idna.py", "idna/core.py")


def _frames(exc: BaseException) -> list[tuple[str, str]]:
    """(file name, function name) of every frame ``exc`` passed through, outermost first."""
    found: list[tuple[str, str]] = []
    tb = exc.__traceback__
    while tb is not None:
        found.append((tb.tb_frame.f_code.co_filename.replace("\\", "/"), tb.tb_frame.f_code.co_name))
        tb = tb.tb_next
    return found


def _bad_url(f: Failure) -> bool:
    """A ``ValueError`` raised while parsing a URL (``Invalid IPv6 URL``, a port out of range)."""
    for cause in f.causes:
        # Raised inside a URL parser (or something it called, such as ipaddress).
        if (isinstance(cause, ValueError) and not isinstance(cause, (LeanError, requests.RequestException))
                and any(file.endswith(_URL_PARSERS) for file, _ in _frames(cause))):
            return True
    return False


def _in_redirect(f: Failure) -> bool:
    return any(name in ("resolve_redirects", "get_redirect_target") for cause in f.causes
               for _, name in _frames(cause))


def _invalid_json_body(f: Failure) -> LeanError:
    return InvalidJSONBodyError(
        f"The json= body cannot be serialised: {reason_of(f.exc)}. JSON has no spelling for NaN or infinity "
        "and json.dumps knows only dict, list, str, int, float, bool and None: convert the value (for example "
        "Decimal or datetime to str) before the call. Nothing was sent.",
        **f.extra,
    )


def _json_body_failed(f: Failure) -> bool:
    """requests could not serialise ``json=`` (``InvalidJSONError`` while preparing; an
    answer's ``JSONDecodeError`` is a subclass and is about the response, not the request)."""
    return not f.answered and any(
        isinstance(c, requests.exceptions.InvalidJSONError) and not isinstance(c, requests.exceptions.JSONDecodeError)
        for c in f.causes
    )


def _invalid_schema(f: Failure) -> LeanError:
    return InvalidSchemaError(
        f"{reason_of(f.exc)}. A LeanSession only sends https:// requests.", **f.extra
    )


def _invalid_header(f: Failure) -> LeanError:
    return InvalidHeaderError(
        f"A header cannot be sent: {reason_of(f.exc)}. Header values must be one line of text "
        "(no CR or LF, no leading whitespace).",
        **f.extra,
    )


def _other(f: Failure) -> LeanError:
    if isinstance(f.exc, ValueError) and not isinstance(f.exc, requests.RequestException):
        return InvalidRequestError(
            f"The request cannot be sent: {type(f.exc).__name__}: {reason_of(f.exc)}.", **f.extra
        )
    return LeanConnectionError(
        f"Request to {f.host} failed: {type(f.exc).__name__}: {reason_of(f.exc)}",
        request_sent=f.request_sent,
        **f.extra,
    )


#: Most specific first.  Each row: the kind, how to recognise it, the lean error.
RULES: tuple[Rule, ...] = (
    Rule("pool-closed", lambda f: f.has(urllib3.exceptions.ClosedPoolError),
         lambda f: LeanConnectionError("The connection pool was closed.", code=POOL_CLOSED, request_sent=False,
                                       **f.extra)),
    Rule("pool-timeout", lambda f: f.has(urllib3.exceptions.EmptyPoolError), _pool_timeout),
    Rule("invalid-json-body", _json_body_failed, _invalid_json_body),
    Rule("invalid-header", lambda f: f.has(requests.exceptions.InvalidHeader), _invalid_header),
    Rule("invalid-schema", lambda f: f.has(requests.exceptions.InvalidSchema, urllib3.exceptions.URLSchemeUnknown),
         _invalid_schema),
    Rule("invalid-url", lambda f: f.has(requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                                        urllib3.exceptions.LocationValueError) or _bad_url(f), _invalid_url),
    Rule("too-many-redirects", lambda f: f.has(requests.exceptions.TooManyRedirects), _redirects),
    Rule("proxy", lambda f: f.has(requests.exceptions.ProxyError, urllib3.exceptions.ProxyError),
         lambda f: LeanProxyError(f"The proxy on the way to {f.host} failed: {reason_of(f.exc)}.",
                                  request_sent=False, **f.extra)),
    Rule("connect-timeout", _is_connect_timeout, _connect_timeout),
    Rule("read-timeout", _timed_out, _read_timeout),
    Rule("tls", _is_tls, lambda f: tls_error(f)),
    Rule("malformed-response", _is_malformed, _malformed),
    Rule("content-decoding", lambda f: f.has(urllib3.exceptions.DecodeError,
                                             requests.exceptions.ContentDecodingError), _decoding),
    Rule("not-connected", _is_not_connected, _not_connected),
    Rule("cut-body", lambda f: f.answered or f.has(*_CUT), _cut),
    Rule("broken-connection", lambda f: f.has(urllib3.exceptions.ProtocolError, requests.exceptions.ConnectionError,
                                              OSError), _broken),
    Rule("other", lambda f: True, _other),
)


def map_transport_error(
    exc: BaseException,
    url: str,
    description: TLSDescription | None = None,
    *,
    answered: bool = False,
    request: requests.PreparedRequest | None = None,
    response: requests.Response | None = None,
) -> LeanError:
    """Translate a requests/urllib3/http.client/ssl failure into the matching lean_mtls error.

    ``answered`` says the status line and headers had arrived (the failure hit
    the body).  The result's ``abrupt_close`` says the connection ended in a
    reset or EOF without a TLS alert.
    """
    if isinstance(exc, LeanError):
        return exc
    extra: dict[str, Any] = {"request": request, "response": response}
    if isinstance(exc, requests.RequestException):
        extra = {"request": exc.request or request, "response": exc.response or response}
    causes = causes_of(exc)
    failure = Failure(exc, causes, host_of(url), description, extra, current_attempt.get(), answered)
    rule = next(rule for rule in RULES if rule.matches(failure))
    error = rule.build(failure)
    error.abrupt_close = any(isinstance(c, ABRUPT) for c in causes)  # type: ignore[attr-defined]
    return error


# --------------------------------------------------------------------------- TLS handshake failures

#: OpenSSL alert reasons the client receives when the *server* refuses our certificate.
CLIENT_REJECTED = frozenset({
    "TLSV13_ALERT_CERTIFICATE_REQUIRED",
    "TLSV1_ALERT_UNKNOWN_CA",
    "SSLV3_ALERT_BAD_CERTIFICATE",
    "SSLV3_ALERT_CERTIFICATE_EXPIRED",
    "SSLV3_ALERT_CERTIFICATE_REVOKED",
    "SSLV3_ALERT_CERTIFICATE_UNKNOWN",
    "SSLV3_ALERT_UNSUPPORTED_CERTIFICATE",
    "TLSV1_ALERT_ACCESS_DENIED",
    "TLSV1_ALERT_DECRYPT_ERROR",
})
#: No TLS version or cipher suite both sides accept: decided before any certificate is exchanged.
NEGOTIATION = frozenset({
    "UNSUPPORTED_PROTOCOL",
    "TLSV1_ALERT_PROTOCOL_VERSION",
    "NO_PROTOCOLS_AVAILABLE",
    "VERSION_TOO_LOW",
    "VERSION_TOO_HIGH",
    "TLSV1_ALERT_INSUFFICIENT_SECURITY",
    "NO_SHARED_CIPHER",
    "NO_CIPHERS_AVAILABLE",
    "WRONG_CIPHER_RETURNED",
    "UNKNOWN_CIPHER_RETURNED",
    "TLSV1_ALERT_INAPPROPRIATE_FALLBACK",
    "NO_SHARED_SIGNATURE_ALGORITHMS",
    "NO_SUITABLE_SIGNATURE_ALGORITHM",
    "TLSV1_ALERT_NO_APPLICATION_PROTOCOL",
})
#: The port answered, but not in TLS.
NOT_TLS = frozenset({"WRONG_VERSION_NUMBER", "HTTP_REQUEST", "HTTPS_PROXY_REQUEST", "RECORD_LAYER_FAILURE",
                     "PACKET_LENGTH_TOO_LONG"})
#: The server's handshake_failure alert: sent for "no common cipher" *and*, under
#: TLS 1.2, for "no acceptable client certificate".  Only a probe can tell.
AMBIGUOUS = frozenset({"SSLV3_ALERT_HANDSHAKE_FAILURE"})


def ambiguous_handshake_failure(exc: BaseException | None) -> bool:
    """The handshake ended with an alert that does not say whose fault it was."""
    if exc is None:
        return False
    error = next((c for c in causes_of(exc) if isinstance(c, ssl.SSLError)), None)
    return error is not None and (getattr(error, "reason", None) or "").upper() in AMBIGUOUS


def tls_error(f: Failure) -> LeanTLSError:
    error = f.first(ssl.SSLError)
    if not isinstance(error, ssl.SSLError):  # pragma: no cover - the rule matched on it
        raise TypeError("tls_error needs an ssl.SSLError among the causes")
    return describe_tls_failure(error, f.host, f.description, f.extra, request_sent=f.request_sent)


def describe_tls_failure(
    error: ssl.SSLError, host: str, description: TLSDescription | None, extra: Mapping[str, Any],
    *, request_sent: bool = False,
) -> LeanTLSError:
    reason = (getattr(error, "reason", None) or "").upper()
    ca = description.ca_source if description else "the configured CA"
    if isinstance(error, ssl.SSLCertVerificationError) or reason == "CERTIFICATE_VERIFY_FAILED":
        # OpenSSL's verify messages may end with a period ("... not valid for 'localhost'.").
        detail = str(getattr(error, "verify_message", None) or reason or str(error)).rstrip(". ")
        advice = (
            "Known cause, found when the session was built: " + " ".join(description.ca_problems)
            if description is not None and description.ca_problems
            else "Use Lean's certificate chain for this environment (lean_public_cert_chain.pem from the "
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
    if reason in CLIENT_REJECTED:
        return client_rejected(host, description, reason, extra, request_sent=request_sent)
    if request_sent:  # the handshake had completed: the TLS stream broke under the request or its answer
        return LeanTLSError(
            f"The TLS connection to {host} broke after the request was sent ({reason or error}); the request "
            "may have reached the server.",
            side="unknown",
            request_sent=True,
            **extra,
        )
    if reason in NOT_TLS:
        return LeanTLSError(
            f"TLS could not be negotiated with {host} ({reason}): the port may not speak TLS "
            "(a plain HTTP port, or something else entirely). Check the host and port.",
            side="unknown",
            code="tls-negotiation-failed",
            **extra,
        )
    if reason in NEGOTIATION:
        return negotiation_failed(host, reason, extra)
    advice = (
        "the connection may have been cut, or the server refused the client certificate: check the network "
        "path, and cert=/key= for this environment."
        if description is None or description.client_subject
        else "the connection may have been cut; check the network path."
    )
    return LeanTLSError(f"The TLS handshake with {host} failed ({reason or error}): {advice}", side="unknown",
                        **extra)


def negotiation_failed(host: str, reason: str, extra: Mapping[str, Any]) -> LeanTLSError:
    return LeanTLSError(
        f"TLS could not be negotiated with {host} ({reason}): the server and this client share no TLS "
        "version or cipher suite (lean-mtls speaks TLS 1.2 or newer, with forward-secret ciphers). This was "
        "decided before any certificate was exchanged: the client certificate is not the cause.",
        side="unknown",
        code="tls-negotiation-failed",
        **extra,
    )


def client_rejected(
    host: str, description: TLSDescription | None, reason: str, extra: Mapping[str, Any], how: str = "",
    *, request_sent: bool = False,
) -> LeanTLSError:
    """The server refused our client certificate, or asked for one we do not have."""
    subject = description.client_subject if description else None
    if description is not None and subject is None:
        return LeanTLSError(
            f"{host} requires a client certificate and the session has none ({reason}"
            f"{'; ' + how if how else ''}). Build the session with cert=/key= for this environment, or use "
            "session.mount_certificate(...) for this host.",
            side="client",
            code="client-certificate-required",
            request_sent=request_sent,
            **extra,
        )
    known = description.known_problems if description is not None else ()
    advice = (
        "Known cause, found when the session was built: " + " ".join(known)
        if known
        else "Check that cert=/key= are the files generated for this app *and* environment (sandbox and "
        "production certificates differ), that the certificate is not expired or revoked, and that its "
        "intermediate certificates are available."
    )
    return LeanTLSError(
        f"{host} rejected the client certificate{f' {subject!r}' if subject else ''} ({reason}"
        f"{'; ' + how if how else ''}). {advice}",
        side="client",
        code="client-certificate-rejected",
        request_sent=request_sent,
        **extra,
    )
