"""When to try a request again, and how long to wait first.

The rule that matters for a payments backend: a request that may have reached
Lean is only sent again when doing so cannot act twice.  That is true for
idempotent methods (GET, PUT, DELETE, ...) and for any request carrying an
``Idempotency-Key`` header, which Lean uses to de-duplicate.  A connection
that failed *before* the request was written (refused, DNS, connect timeout)
is always safe to retry.  A failure that cannot change on another try is
never retried: a TLS or certificate failure, an answer that is not valid
HTTP, a body that cannot be decoded, a pool held by unclosed streamed
responses.  Retrying only hides the real problem.

A request is only sent again when its body can be sent again: bytes, or a
seekable file rewound to where it started.  Generators, iterators, pipes and
read-once objects (multipart encoders) cannot be replayed: the first error or
answer is the result.
"""

from __future__ import annotations

import contextvars
import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, Union

import requests

from ._response import parse_retry_after
from .errors import (
    ConfigurationError,
    InvalidRequestError,
    LeanConnectionError,
    LeanError,
    LeanPoolTimeout,
    LeanTimeout,
    LeanTLSError,
    MalformedResponseError,
)

IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
RETRY_STATUSES = frozenset({429, 502, 503, 504})


def idempotency_key_of(headers: Mapping[Any, Any] | None, given: str | None = None) -> str | None:
    """The caller's idempotency key: ``given`` (``idempotency_key=``) or an
    ``Idempotency-Key`` header in any letter case, ``None`` if neither.

    Raises :class:`~lean_mtls.errors.InvalidRequestError` when they disagree
    (two header spellings with different values, or a header different from
    ``idempotency_key=``): which one the caller meant cannot be guessed, and
    guessing wrong sends money twice or not at all.
    """
    found = {value.decode("latin-1") if isinstance(value, bytes) else str(value)
             for name, value in (headers or {}).items()
             if isinstance(name, str) and name.lower() == IDEMPOTENCY_HEADER.lower() and value is not None}
    if given is not None:
        found.add(given)
    if len(found) > 1:
        raise InvalidRequestError(
            "Two different idempotency keys for one call (idempotency_key= and an Idempotency-Key header, "
            "or two spellings of the header): pass the key once, as idempotency_key=."
        )
    return found.pop() if found else None


class RetryPolicy:
    """How many times, on what, and how long to wait between attempts.

    ``retries`` is the number of *extra* attempts (2 means up to 3 requests).
    The wait before retry *n* is ``backoff_factor * 2**(n-1)`` capped at
    ``max_backoff``, minus up to ``jitter`` of itself at random (so a fleet of
    workers does not retry in lock-step).  A ``Retry-After`` header wins over
    the computed wait; if it asks for more than ``max_retry_after`` seconds the
    request is not retried and the 429/503 is returned to the caller, whose
    :class:`~lean_mtls.RateLimitError` carries ``retry_after``.  ``sleep`` is
    how the policy waits (inject a fake one in tests).

    Immutable: derive variants with :meth:`with_retries`.
    """

    __slots__ = ("backoff_factor", "jitter", "max_backoff", "max_retry_after", "retries", "sleep", "statuses")

    retries: int
    backoff_factor: float
    max_backoff: float
    jitter: float
    max_retry_after: float
    statuses: frozenset[int]
    sleep: Callable[[float], None]

    def __init__(
        self,
        retries: int = 2,
        backoff_factor: float = 0.5,
        max_backoff: float = 8.0,
        jitter: float = 0.5,
        max_retry_after: float = 60.0,
        statuses: frozenset[int] = RETRY_STATUSES,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
            raise ConfigurationError(f"retries must be an integer >= 0, got {retries!r}.")
        if backoff_factor < 0 or max_backoff < 0 or not 0 <= jitter <= 1 or max_retry_after < 0:
            raise ConfigurationError(
                "backoff_factor, max_backoff and max_retry_after must be >= 0 and jitter in [0, 1]."
            )
        values = (retries, float(backoff_factor), float(max_backoff), float(jitter), float(max_retry_after),
                  frozenset(statuses), sleep)
        for name, value in zip(self._fields, values):
            object.__setattr__(self, name, value)

    _fields = ("retries", "backoff_factor", "max_backoff", "jitter", "max_retry_after", "statuses", "sleep")

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("RetryPolicy is immutable; use with_retries() or build a new one")

    def _key(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self._fields[:-1])  # sleep does not count

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RetryPolicy) and self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields[:-2])
        return f"RetryPolicy({fields})"

    def backoff(self, retry_number: int) -> float:
        """Seconds to wait before retry number ``retry_number`` (1-based)."""
        delay = min(self.max_backoff, self.backoff_factor * float(2 ** (retry_number - 1)))
        return float(delay * (1 - self.jitter * random.random()))  # noqa: S311 - jitter, not cryptography

    def with_retries(self, retries: int) -> RetryPolicy:
        """The same policy with another number of retries."""
        values = {name: getattr(self, name) for name in self._fields}
        values["retries"] = retries
        return RetryPolicy(**values)

    # ------------------------------------------------------------------ decisions

    @staticmethod
    def replayable(request: requests.PreparedRequest) -> bool:
        """True when sending ``request`` twice cannot act twice."""
        return (request.method or "GET").upper() in IDEMPOTENT_METHODS or IDEMPOTENCY_HEADER in request.headers

    def retry_error(self, error: LeanError, request: requests.PreparedRequest) -> bool:
        """Should this transport failure be retried?"""
        if not isinstance(error, (LeanConnectionError, LeanTimeout)) or deterministic(error):
            return False
        if isinstance(error, LeanTimeout):
            return error.phase in {"connect", "pool"} or self.replayable(request)
        if isinstance(error, LeanConnectionError):
            return error.request_sent is False or self.replayable(request)
        return False

    def retry_response(self, response: requests.Response) -> float | None:
        """Seconds to wait before retrying this answer, or ``None`` to not retry."""
        status = response.status_code
        if status not in self.statuses or status in caller_handles.get() or not self.replayable(response.request):
            return None
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if retry_after is None:
            return -1.0  # "use the backoff"
        return retry_after if retry_after <= self.max_retry_after else None


def deterministic(error: LeanError) -> bool:
    """True for failures that another attempt would meet again."""
    if isinstance(error, (LeanTLSError, MalformedResponseError)):
        return True
    return isinstance(error, LeanPoolTimeout) and error.unclosed_streams > 0


def was_sent(error: LeanError | None) -> bool:
    """Whether the failed attempt may have consumed the request body (``None``: it was answered)."""
    if error is None:
        return True
    if isinstance(error, LeanTimeout):
        return error.phase == "read"
    return bool(getattr(error, "request_sent", True))


#: Bodies held whole in memory: sent again as they are (a memoryview too: urllib3 sends bytes-like objects).
_PLAIN_BODY = (bytes, bytearray, str, memoryview)


def body_replayable(request: requests.PreparedRequest) -> bool:
    """Whether ``request``'s body, once sent, can be sent again in full: no body, a body
    held in memory, or a seekable file whose start position requests recorded (it rewinds
    such a body itself when following a 307/308).  A generator, an iterator or a reader
    without ``seek`` is consumed by the first send."""
    body = request.body
    if body is None or isinstance(body, _PLAIN_BODY):
        return True
    position = getattr(request, "_body_position", None)
    return isinstance(position, int) and not isinstance(position, bool) and BodyReplay(request).position is not None


class BodyReplay:
    """Whether, and how, a request's body can be sent again.

    Built before the first attempt: a seekable file body's start position is
    remembered (requests records it as ``_body_position`` when it prepares the
    request), and :meth:`prepare_resend` seeks back to it before a retry.
    """

    __slots__ = ("body", "position")

    def __init__(self, request: requests.PreparedRequest) -> None:
        self.body: Any = request.body
        self.position: int | None = None
        if self.body is None or isinstance(self.body, _PLAIN_BODY) or not self._seekable():
            return
        position = getattr(request, "_body_position", None)
        if position is None:
            try:
                position = self.body.tell()
            except (OSError, ValueError):
                position = None
        self.position = position if isinstance(position, int) and not isinstance(position, bool) else None

    def _seekable(self) -> bool:
        if not callable(getattr(self.body, "seek", None)) or not callable(getattr(self.body, "tell", None)):
            return False
        seekable = getattr(self.body, "seekable", None)
        try:
            return bool(seekable()) if callable(seekable) else True
        except (OSError, ValueError):
            return False

    def prepare_resend(self, error: LeanError | None) -> bool:
        """Make the body ready to be sent again after ``error`` (``None``: after
        an answer); False when it cannot be."""
        if self.body is None or isinstance(self.body, _PLAIN_BODY) or not was_sent(error):
            return True
        if self.position is None:
            return False
        try:
            self.body.seek(self.position)
        except (OSError, ValueError):
            return False
        return True


#: On by default: two retries with exponential backoff and jitter.
DEFAULT_RETRY = RetryPolicy()

RetryOption = Union[int, RetryPolicy, None]

#: The policy for the call being made on this thread/context (set by ``LeanSession.request``).
call_policy: contextvars.ContextVar[RetryPolicy | None] = contextvars.ContextVar("lean_retry", default=None)

#: Statuses the caller answers itself for the calls made in this context, so
#: the transport returns them at once instead of sleeping and retrying: the
#: concurrent page walker takes 429s over, because it must slow *all* of its
#: requests down, not only the one that was refused (resources/_concurrent.py).
caller_handles: contextvars.ContextVar[frozenset[int]] = contextvars.ContextVar(
    "lean_caller_handles", default=frozenset()
)


#: Set by the concurrent page walker for the requests it makes: once the walk
#: is abandoned (``break``, ``close()``, garbage collection, an exception in the
#: consumer's loop) the event is set, and a request made in that context starts
#: no new attempt: a retry, its backoff and a ``Retry-After`` wait all end at
#: once, and the last failure (or answer) is the request's result.
call_cancelled: contextvars.ContextVar[threading.Event | None] = contextvars.ContextVar(
    "lean_call_cancelled", default=None
)


def cancelled() -> bool:
    """Whether the call being made in this context was abandoned by its caller."""
    event = call_cancelled.get()
    return event is not None and event.is_set()


def pause_before_retry(policy: RetryPolicy, delay: float) -> bool:
    """Wait ``delay`` seconds before another attempt; False when the call was
    (or got) cancelled, so the attempt must not be made.

    With the default ``time.sleep`` the wait is on the cancellation event, so
    cancelling wakes it at once; an injected ``sleep`` is called as is and the
    cancellation checked after it.
    """
    event = call_cancelled.get()
    if event is None:
        policy.sleep(delay)
        return True
    if event.is_set():
        return False
    if policy.sleep is time.sleep:
        return not event.wait(max(0.0, delay))
    policy.sleep(delay)
    return not event.is_set()


def coerce_policy(value: RetryOption, base: RetryPolicy) -> RetryPolicy:
    """``retries=`` accepts an int (how many retries, on the session's policy) or a policy."""
    if value is None:
        return base
    if isinstance(value, RetryPolicy):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return base.with_retries(value)
    raise ConfigurationError(f"retries must be an int or a RetryPolicy, got {value!r}.")


def elapsed_since(start: float) -> float:
    return time.monotonic() - start
