"""When to try a request again, and how long to wait first.

The rule that matters for a payments backend: a request that may have reached
Lean is only sent again when doing so cannot act twice.  That is true for
idempotent methods (GET, PUT, DELETE, ...) and for any request carrying an
``Idempotency-Key`` header, which Lean uses to de-duplicate.  A connection
that failed *before* the request was written (refused, DNS, connect timeout)
is always safe to retry.  A TLS or certificate failure is never retried: it
will fail the same way, and retrying only hides the real problem.
"""

from __future__ import annotations

import contextvars
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Union

import requests

from ._response import parse_retry_after
from .errors import (
    ConfigurationError,
    LeanConnectionError,
    LeanError,
    LeanTimeout,
    LeanTLSError,
)

IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"})
RETRY_STATUSES = frozenset({429, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How many times, on what, and how long to wait between attempts.

    ``retries`` is the number of *extra* attempts (2 means up to 3 requests).
    The wait before retry *n* is ``backoff_factor * 2**(n-1)`` capped at
    ``max_backoff``, minus up to ``jitter`` of itself at random (so a fleet of
    workers does not retry in lock-step).  A ``Retry-After`` header wins over
    the computed wait; if it asks for more than ``max_retry_after`` seconds the
    request is not retried and the 429/503 is returned to the caller, whose
    :class:`~lean_mtls.RateLimitError` carries ``retry_after``.
    """

    retries: int = 2
    backoff_factor: float = 0.5
    max_backoff: float = 8.0
    jitter: float = 0.5
    max_retry_after: float = 60.0
    statuses: frozenset[int] = RETRY_STATUSES
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.retries, int) or self.retries < 0:
            raise ConfigurationError(f"retries must be an integer >= 0, got {self.retries!r}.")
        if self.backoff_factor < 0 or self.max_backoff < 0 or not 0 <= self.jitter <= 1:
            raise ConfigurationError("backoff_factor and max_backoff must be >= 0 and jitter in [0, 1].")

    def backoff(self, retry_number: int) -> float:
        """Seconds to wait before retry number ``retry_number`` (1-based)."""
        delay = min(self.max_backoff, self.backoff_factor * float(2 ** (retry_number - 1)))
        return float(delay * (1 - self.jitter * random.random()))  # noqa: S311 - jitter, not cryptography

    def with_retries(self, retries: int) -> RetryPolicy:
        return replace(self, retries=retries)

    # ------------------------------------------------------------------ decisions

    @staticmethod
    def replayable(request: requests.PreparedRequest) -> bool:
        """True when sending ``request`` twice cannot act twice."""
        return (request.method or "GET").upper() in IDEMPOTENT_METHODS or IDEMPOTENCY_HEADER in request.headers

    def retry_error(self, error: LeanError, request: requests.PreparedRequest) -> bool:
        """Should this transport failure be retried?"""
        if isinstance(error, LeanTLSError) or not isinstance(error, (LeanConnectionError, LeanTimeout)):
            return False
        if isinstance(error, LeanTimeout):
            return error.phase in {"connect", "pool"} or self.replayable(request)
        if isinstance(error, LeanConnectionError):
            return error.request_sent is False or self.replayable(request)
        return False

    def retry_response(self, response: requests.Response) -> float | None:
        """Seconds to wait before retrying this answer, or ``None`` to not retry."""
        if response.status_code not in self.statuses or not self.replayable(response.request):
            return None
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if retry_after is None:
            return -1.0  # "use the backoff"
        return retry_after if retry_after <= self.max_retry_after else None


#: On by default: two retries with exponential backoff and jitter.
DEFAULT_RETRY = RetryPolicy()

RetryOption = Union[int, RetryPolicy, None]

#: The policy for the call being made on this thread/context (set by ``LeanSession.request``).
call_policy: contextvars.ContextVar[RetryPolicy | None] = contextvars.ContextVar("lean_retry", default=None)


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
