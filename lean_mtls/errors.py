"""The lean_mtls error hierarchy.

Every error the SDK raises on purpose is a :class:`LeanError` with a stable
``code`` string that callers (and alerting rules) can match on without parsing
messages.  Where requests already has an exception for the same failure, the
Lean error also subclasses it, so code written as
``except requests.RequestException`` keeps working after switching to
``LeanSession``.

Messages say what went wrong and what to do about it.  They never contain the
app token, private keys, passwords or client secrets: the SDK builds them from
file names, hosts and status codes only.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import requests

__all__ = [
    "AuthenticationError",
    "BadRequestError",
    "CertificateError",
    "ConfigurationError",
    "ConflictError",
    "ConsentExpiredError",
    "DataFailedError",
    "DataStatusError",
    "IncompleteResponseError",
    "InvalidHeaderError",
    "InvalidJSONBodyError",
    "InvalidRequestError",
    "InvalidResponseError",
    "InvalidSchemaError",
    "InvalidURLError",
    "LeanAPIError",
    "LeanConnectTimeout",
    "LeanConnectionError",
    "LeanError",
    "LeanPoolTimeout",
    "LeanProxyError",
    "LeanReadTimeout",
    "LeanTLSError",
    "LeanTimeout",
    "MalformedResponseError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ReconnectRequiredError",
    "ResponseDecodingError",
    "ResponseJSONDecodeError",
    "ResultPendingError",
    "ServerError",
    "SessionCopyError",
    "TooManyRedirectsError",
    "WalkForkedError",
]

#: Attributes never carried into a pickle: the request holds the credentials
#: it was sent with, and neither object survives a process boundary anyway.
_NOT_PICKLED = frozenset({"request", "response"})


def _rebuild(cls: type[LeanError], args: tuple[Any, ...]) -> LeanError:
    """Unpickle a lean error without calling its ``__init__`` (whose keyword
    arguments differ per class); ``__setstate__`` then restores the fields."""
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(request=None, response=None)
    return error


def _scrubbed(value: Any) -> Any:
    """``value`` with known secrets removed from every string in it."""
    from ._secrets import scrub

    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, Mapping):
        return {k: _scrubbed(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_scrubbed(v) for v in value)
    return value


class LeanError(Exception):
    """Base class of every error raised by lean_mtls.

    ``code`` is stable across releases; ``message`` is for humans.
    """

    code: str = "lean-error"
    #: How many attempts were made before giving up (see ``RetryPolicy``).
    attempts: int = 1

    def __init__(self, message: str, *, code: str | None = None, **kwargs: Any) -> None:
        # Every lean error takes requests' request=/response= keywords, whatever
        # its bases (InvalidRequestError is a ValueError, whose __init__ takes
        # no keywords); set here, after the bases' __init__, as requests does.
        super().__init__(message)
        self._set_fields(message, code, kwargs)

    def _set_fields(self, message: str, code: str | None, kwargs: Mapping[str, Any]) -> None:
        unknown = set(kwargs) - {"request", "response"}
        if unknown:
            raise TypeError(f"{type(self).__name__}() got unexpected keyword arguments {sorted(unknown)}")
        response = kwargs.get("response")
        if response is not None:
            from ._secrets import sanitize_response

            sanitize_response(response)
        self.response = response
        self.request = kwargs.get("request") or getattr(response, "request", None)
        self.message = message
        if code is not None:
            self.code = code

    def record_attempts(self, attempts: int) -> None:
        """Note in the error (and its message) that ``attempts`` were made."""
        self.attempts = attempts
        if attempts > 1 and "attempts)" not in self.message:
            self.message = f"{self.message} (gave up after {attempts} attempts)"

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        # Exception's default pickling calls cls(*args), which fails for every
        # class with keyword-only fields (status_code=, side=, ...); and
        # request/response carry the credentials they were sent with.
        state = {k: _scrubbed(v) for k, v in self.__dict__.items() if k not in _NOT_PICKLED}
        return _rebuild, (type(self), _scrubbed(self.args)), state


class ConfigurationError(LeanError, ValueError):
    """A setting is missing or invalid (environment, base URL, file, option).

    ``code`` is ``"missing-conf"`` when something required was not given and
    ``"invalid-conf"`` when something given cannot be used.
    """

    code = "invalid-conf"


class CertificateError(ConfigurationError):
    """The certificate, private key, PKCS#12 bundle or CA bundle cannot be used.

    Raised while the session is being built, before any network traffic, so a
    bad deployment fails at start-up rather than on the first payment.
    ``source`` names the file (or ``"<cert bytes>"``) that is at fault.
    """

    code = "invalid-certificate"

    def __init__(self, message: str, *, source: str | None = None, code: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, code=code, **kwargs)
        self.source = source


class SessionCopyError(ConfigurationError, TypeError):
    """A ``LeanSession`` was copied, deep-copied or pickled.

    A session holds a private key inside its SSL context, open connections and
    locks: none of them can be copied safely.  Build one session per process
    (a ``multiprocessing``/Celery worker builds its own, e.g. from
    ``LeanSession.from_env()``).
    """

    code = "session-not-copyable"


class ResultPendingError(LeanError, TypeError):
    """A :class:`~lean_mtls.PendingResult` was read as if it were data: Lean
    answered ``status: PENDING``, so there is no data yet.  Call its
    ``wait()``, or pass ``wait=True`` to the data method.  Also a
    ``TypeError``, which is what indexing a non-mapping raised before."""

    code = "result-pending"


class WalkForkedError(LeanError, RuntimeError):
    """A page walk (an ``iter_*`` iterator or ``data.export``) started in a
    parent process was continued in a forked child (``os.fork``, gunicorn
    ``--preload``, Celery prefork, ``multiprocessing`` with fork).

    Its pages in flight belonged to worker threads that do not exist in the
    child, so the walk cannot go on there: start a new walk in the child.
    """

    code = "walk-forked"


class InvalidRequestError(LeanError, ValueError):
    """The caller passed a value the SDK refuses to send (for example a path
    parameter that would escape its URL segment)."""

    code = "invalid-request"


class _InvalidJSONValue(requests.exceptions.InvalidJSONError, ValueError):
    """requests' InvalidJSONError that is also a ValueError, in the order requests' own
    InvalidURL uses (OSError's layout first, so instances can be built and unpickled)."""


class InvalidJSONBodyError(InvalidRequestError, _InvalidJSONValue):
    """The ``json=`` body cannot be serialised (NaN or infinity, which JSON
    has no spelling for; an object ``json.dumps`` does not know).  Raised while
    the request is prepared: nothing was sent (``request_sent`` is False)."""

    request_sent = False


class InvalidURLError(InvalidRequestError, requests.exceptions.InvalidURL):
    """The URL cannot be sent (no host, bad port, bad IDNA, ...)."""


class InvalidSchemaError(InvalidRequestError, requests.exceptions.InvalidSchema):
    """The URL's scheme is not one the session speaks (only ``https://``)."""


class InvalidHeaderError(InvalidRequestError, requests.exceptions.InvalidHeader):
    """A header name or value cannot be sent (CR/LF, leading whitespace, not text)."""


class LeanConnectionError(LeanError, requests.exceptions.ConnectionError):
    """No HTTP answer could be obtained from the server: DNS, refused or reset
    connection, or a failed TLS handshake (see :class:`LeanTLSError`).

    ``request_sent`` is ``False`` when the failure happened before the request
    was written (so it certainly did not reach the server), ``True`` when it
    may have reached it.
    """

    code = "connection-failed"

    def __init__(self, message: str, *, request_sent: bool = True, code: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, code=code, **kwargs)
        self.request_sent = request_sent


class IncompleteResponseError(LeanConnectionError, requests.exceptions.ChunkedEncodingError):
    """The connection broke after the server began its answer and before the
    whole of it arrived: inside the status line or headers, or in the body (a
    cut body, a cut chunk).  The request reached the server; it is retried
    only when it may be sent twice (an idempotent method or an Idempotency-Key)."""

    code = "incomplete-response"


class MalformedResponseError(LeanConnectionError):
    """The server's answer is not valid HTTP/1.1: an unreadable status line, an
    unknown protocol version, more than 100 header lines, an over-long line,
    conflicting ``Content-Length`` values.  Trying again gets the same answer,
    so it is never retried.  (requests reports these as ``ConnectionError``.)"""

    code = "malformed-response"


class LeanProxyError(LeanConnectionError, requests.exceptions.ProxyError):
    """The configured proxy could not be reached or refused the tunnel."""

    code = "issue-with-proxy"


class LeanTLSError(LeanConnectionError, requests.exceptions.SSLError):
    """The TLS handshake failed.

    ``side`` says who refused: ``"server"`` when *we* could not verify the
    server's certificate against the configured CA, ``"client"`` when the
    server rejected (or did not receive) our client certificate, ``"unknown"``
    when the failure does not say.
    """

    code = "tls-handshake-failed"

    def __init__(
        self, message: str, *, side: str, code: str | None = None, request_sent: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(message, code=code, request_sent=request_sent, **kwargs)
        self.side = side


class LeanTimeout(LeanError, requests.exceptions.Timeout):
    """The server did not answer in time.

    ``phase`` is ``"connect"`` (TCP + TLS handshake), ``"pool"`` (every pooled
    connection stayed busy) or ``"read"`` (waiting for the response); only
    ``"connect"`` and ``"pool"`` guarantee the request was not sent.
    """

    code = "timeout"

    def __init__(self, message: str, *, phase: str = "read", code: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, code=code, **kwargs)
        self.phase = phase


class LeanConnectTimeout(LeanTimeout, requests.exceptions.ConnectTimeout):
    """No connection within the connect timeout: the TCP connect or the TLS
    handshake took too long.  Nothing was sent, so any request may be retried."""

    def __init__(self, message: str, *, phase: str = "connect", **kwargs: Any) -> None:
        super().__init__(message, phase=phase, **kwargs)


class LeanReadTimeout(LeanTimeout, requests.exceptions.ReadTimeout):
    """The request was sent and the answer (status, headers or body) did not
    arrive within the read timeout."""

    def __init__(self, message: str, *, phase: str = "read", **kwargs: Any) -> None:
        super().__init__(message, phase=phase, **kwargs)


class LeanPoolTimeout(LeanTimeout):
    """Every pooled connection to the host stayed busy past ``pool_timeout``;
    nothing was sent.

    ``unclosed_streams`` counts the responses made with ``stream=True`` that
    are still referenced, unclosed, and hold a connection.  When they hold
    every slot the pool cannot free itself, and the error is not retried.
    """

    def __init__(self, message: str, *, unclosed_streams: int = 0, phase: str = "pool", **kwargs: Any) -> None:
        super().__init__(message, phase=phase, **kwargs)
        self.unclosed_streams = unclosed_streams


class TooManyRedirectsError(LeanError, requests.exceptions.TooManyRedirects):
    """The server kept redirecting (more than the session's ``max_redirects``)."""

    code = "too-many-redirects"


class LeanAPIError(LeanError, requests.exceptions.HTTPError):
    """Lean (or something in front of it) answered with a non-2xx status, or a
    2xx whose ``status`` field reports a failure.

    Attributes:
        status_code: the HTTP status code.
        status: Lean's machine-readable code from the JSON body (for example
            ``"CUSTOMER_ALREADY_EXISTS"``), or ``None`` when the body had none.
        message: Lean's human message, or a description built by the SDK.
        body: the parsed JSON body, or the raw text when it was not JSON.
        headers: the response headers.
        request_id: the request/correlation id the server sent, if any.
    """

    code = "remote-threw"

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        status: str | None = None,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        request_id: str | None = None,
        code: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, code=code, **kwargs)
        self.status_code = status_code
        self.status = status
        self.body = body
        self.headers: Mapping[str, str] = headers if headers is not None else {}
        self.request_id = request_id

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status_code={self.status_code!r}, "
            f"status={self.status!r}, request_id={self.request_id!r})"
        )


class BadRequestError(LeanAPIError):
    """HTTP 400: Lean refused the parameters (``INVALID_PARAMETERS``, ...)."""


class AuthenticationError(LeanAPIError):
    """HTTP 401: the app token (or Bearer token) was refused, or the client
    certificate does not belong to this app (``CERTIFICATE_TOKEN_MISMATCH``)."""


class PermissionDeniedError(LeanAPIError):
    """HTTP 403: the app may not do this (``INVALID_CERTIFICATE``,
    ``INSUFFICIENT_ACCESS_LEVEL``, ``CONSENT_EXPIRED``, ...)."""


class NotFoundError(LeanAPIError):
    """HTTP 404: unknown customer, entity, account, URL, ..."""


class ConflictError(LeanAPIError):
    """HTTP 409: the resource already exists (``CUSTOMER_ALREADY_EXISTS``)."""


class RateLimitError(LeanAPIError):
    """HTTP 429: too many requests, or a duplicated request still running.

    ``retry_after`` is the server's ``Retry-After`` in seconds when it sent one.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(LeanAPIError):
    """HTTP 5xx: Lean or a gateway in front of it failed."""


class DataStatusError(LeanAPIError):
    """A data call answered (often with HTTP 200 or 202) with a ``status`` that
    is not ``OK``: the request was understood but the bank data is not there.

    Attributes (besides :class:`LeanAPIError`'s):
        results_id: Lean's id for this result, to quote to Lean support.
        granular_status_code: ``status_detail.granular_status_code`` (e.g.
            ``BANK_MAINTENANCE``), when Lean sent one.
        status_additional_info: ``status_detail.status_additional_info``.
    """

    def __init__(
        self,
        message: str,
        *,
        results_id: str | None = None,
        granular_status_code: str | None = None,
        status_additional_info: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.results_id = results_id
        self.granular_status_code = granular_status_code
        self.status_additional_info = status_additional_info


class DataFailedError(DataStatusError):
    """``status: FAILED``: the bank or Lean could not produce the data
    (``granular_status_code`` says why, e.g. ``BANK_MAINTENANCE``, ``LEAN_ERROR``)."""


class ReconnectRequiredError(DataStatusError):
    """``status: RECONNECT_REQUIRED``: the bank connection needs the customer
    again.  Send the customer through LinkSDK ``reconnect`` and retry."""


class ConsentExpiredError(DataStatusError, PermissionDeniedError):
    """``status: CONSENT_EXPIRED`` (HTTP 200 on data calls, 403 on refreshes):
    the customer's consent has lapsed.  Send the customer through LinkSDK
    again to renew it, then retry."""


class InvalidResponseError(LeanError, requests.exceptions.InvalidJSONError):
    """A successful answer that should have been JSON was not (or was cut short)."""

    code = "invalid-response"

    def __init__(self, message: str, *, status_code: int, body: str = "", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.status_code = status_code
        self.body = body


class ResponseJSONDecodeError(InvalidResponseError, requests.exceptions.JSONDecodeError):
    """The body is not JSON, or is nested more deeply than the parser can
    follow.  Also ``requests.exceptions.JSONDecodeError`` (and so a
    ``ValueError``), what ``Response.json()`` raises in requests.  ``doc`` is
    empty: the body is in ``body`` (secrets scrubbed)."""

    def __init__(self, message: str, *, status_code: int, body: str = "", code: str | None = None,
                 **kwargs: Any) -> None:
        # requests' JSONDecodeError.__init__ wants json's (msg, doc, pos): set its fields directly.
        json.JSONDecodeError.__init__(self, message, "", 0)
        Exception.__init__(self, message)
        self._set_fields(message, code, kwargs)
        self.status_code = status_code
        self.body = body


class ResponseDecodingError(InvalidResponseError, requests.exceptions.ContentDecodingError):
    """The body's ``Content-Encoding`` could not be decoded (a damaged gzip or
    deflate stream, or an encoding this installation cannot decode)."""

    code = "content-decoding-failed"


class CertificateWarning(UserWarning):
    """The credentials work for now but a server will likely refuse them (an
    incomplete chain, a certificate without the clientAuth usage, an expired
    intermediate) or the clock looks wrong; issued with ``warnings.warn`` when
    a session is built or its certificate reloaded.  Turn it into an error
    with ``warnings.simplefilter("error", CertificateWarning)``."""
