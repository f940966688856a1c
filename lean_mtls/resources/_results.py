"""PENDING data answers and waiting for their results.

Lean answers a data call with ``status: PENDING`` (HTTP 200 or 202) and a
``results_id`` when the bank takes longer than 50 seconds, or when the call
asked for ``async``.  The data is then fetched later from the results
endpoint, after Lean's ``results.ready`` webhook or by polling.

A PENDING answer is not data, so data methods return a :class:`PendingResult`
instead of handing the PENDING body over as if it were the result: code that
forgets the case fails loudly (no ``data`` to read) instead of silently
processing nothing.  ``PendingResult.wait()`` and ``wait_for_results()`` poll
with a capped exponential backoff; the sleep function and the clock are
attributes of the resource so tests (and async-aware callers) can replace
them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, NoReturn, Union, cast

from ..errors import ConfigurationError, LeanError, LeanTimeout, NotFoundError, ResultPendingError
from ._base import LeanClient, Resource, segment
from ._endpoints import by_key
from .types import DataResult

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ._base import CallOptions

#: Keys of a data answer that hold the payload: never read from a PENDING one.
_PAYLOAD_KEYS = frozenset({"data"})

#: Seconds ``wait()`` / ``wait_for_results()`` / ``wait=True`` poll before giving up.
DEFAULT_WAIT_TIMEOUT = 120.0


@dataclass(frozen=True)
class Backoff:
    """Delays between polls: ``initial``, then multiplied by ``factor``, never above ``maximum``."""

    initial: float = 1.0
    factor: float = 2.0
    maximum: float = 15.0

    def __post_init__(self) -> None:
        if not (self.initial > 0 and self.factor >= 1 and self.maximum >= self.initial):
            raise ConfigurationError(
                f"Backoff needs initial > 0, factor >= 1 and maximum >= initial, got {self!r}."
            )

    def delays(self) -> Iterator[float]:
        """The endless sequence of delays."""
        delay = self.initial
        while True:
            yield delay
            delay = min(delay * self.factor, self.maximum)


DEFAULT_BACKOFF = Backoff()


class PendingResult:
    """A data call Lean has not finished: ``status: PENDING`` with a ``results_id``.

    ``body`` is Lean's PENDING answer as is.  Call :meth:`wait` to poll the
    results endpoint until the data is there, or keep ``results_id`` and call
    ``wait_for_results`` / ``results`` later (for example when Lean's
    ``results.ready`` webhook arrives).

    Not data, so type checkers do not let it be indexed: narrow with
    ``isinstance(result, PendingResult)`` or pass ``wait=True``.  At run time
    it reads like the envelope Lean sent (``result["status"]``,
    ``result.get("results_id")``, ``"message" in result``, ``dict(result)``,
    ``len``, ``keys()``, ``items()``); the payload (``result["data"]``,
    ``result.get("data")``) and keys Lean did not send raise
    :class:`~lean_mtls.errors.ResultPendingError` saying to call ``.wait()``
    (``get`` too: no silent default for what may be the payload).
    ``json.dumps`` takes ``result.body`` (or ``dict(result)``), as for any object.
    """

    status = "PENDING"

    def __init__(self, body: Mapping[str, Any], waiter: Callable[[str, float], DataResult]) -> None:
        self.body: DataResult = cast(DataResult, body)
        raw_id = body.get("results_id")
        self.results_id: str | None = raw_id if isinstance(raw_id, str) and raw_id else None
        self._waiter = waiter

    def wait(self, timeout: float = DEFAULT_WAIT_TIMEOUT) -> DataResult:
        """Poll until the result is ready and return it.

        Raises :class:`~lean_mtls.errors.LeanTimeout` after ``timeout``
        seconds, and the usual data-status errors if the result is FAILED,
        RECONNECT_REQUIRED or CONSENT_EXPIRED.
        """
        if self.results_id is None:
            raise LeanError(
                "Lean answered PENDING without a results_id, so there is nothing to wait for; "
                "retry the call later.",
                code="no-results-id",
            )
        return self._waiter(self.results_id, timeout)

    def _not_data(self) -> NoReturn:
        raise ResultPendingError(
            f"Lean answered PENDING: call .wait() or pass wait=True (results_id={self.results_id}). "
            "The data is not there yet; it can also be fetched later with wait_for_results(results_id).",
        )

    def _envelope(self) -> dict[str, Any]:
        """What Lean sent with PENDING, without the payload key (``data``)."""
        return {k: v for k, v in self.body.items() if k not in _PAYLOAD_KEYS}

    # Read-only mapping of Lean's PENDING envelope, at run time only.  Type
    # checkers see no indexing, so ``lean.data.accounts(e)["data"]`` (the union
    # ``DataResult | PendingResult``) is a mypy error that says to narrow or
    # pass ``wait=True``.  At run time ``r["status"]``, ``r.get("results_id")``,
    # ``"message" in r``, ``len``/``keys``/``items``/``dict(r)`` answer from the
    # envelope Lean sent; ``r["data"]``, ``r.get("data")`` and keys Lean did not
    # send raise ResultPendingError (a TypeError) with the .wait() hint: a key
    # missing from a PENDING answer may be the payload (``insights``...), so
    # ``get`` gives no silent default.
    if not TYPE_CHECKING:

        def __getitem__(self, key):
            if key in _PAYLOAD_KEYS or key not in self.body:
                self._not_data()
            return self.body[key]

        def get(self, key, default=None):
            """Like indexing (a missing key may be the payload: no silent default)."""
            return self[key]

        def __contains__(self, key):
            return key not in _PAYLOAD_KEYS and key in self.body

        def __iter__(self):
            return iter(self._envelope())

        def __len__(self):
            return len(self._envelope())

        def keys(self):
            return self._envelope().keys()

        def items(self):
            return self._envelope().items()

        def values(self):
            return self._envelope().values()

    def __repr__(self) -> str:
        return f"<PendingResult results_id={self.results_id!r}>"


#: What a data call returns: the data, or a handle on data Lean is still preparing.
DataOrPending = Union[DataResult, PendingResult]


class ResultsResource(Resource):
    """Base of the Data API resources: the results endpoint and waiting on it.

    Attributes (change them per instance, e.g. ``session.data.sleep = ...``):
        sleep: ``time.sleep``-like function used between polls.
        clock: ``time.monotonic``-like function measuring the wait.
        backoff: the :class:`Backoff` between polls.
    """

    #: Statuses that mean "not ready yet".  Lean also lists ``PROCESSING_STARTED``
    #: without saying what it means (UNCERTAIN); add it here if you see it.
    pending_statuses: frozenset[str] = frozenset({"PENDING"})
    #: Where results live, e.g. ``/data/v2/results``.
    results_path_prefix: str = ""
    #: The endpoint list key of the results endpoint.
    results_key: str = "data.results"

    def __init__(
        self,
        client: LeanClient,
        *,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] | None = None,
        backoff: Backoff = DEFAULT_BACKOFF,
    ) -> None:
        super().__init__(client)
        self.sleep: Callable[[float], None] = sleep or time.sleep
        self.clock: Callable[[], float] = clock or time.monotonic
        self.backoff = backoff

    def _results_prefix(self) -> str:
        return self.results_path_prefix

    def _results_path(self, results_id: str) -> str:
        return f"{self._results_prefix()}/{segment(results_id, 'results_id')}"

    def _is_pending(self, body: Any) -> bool:
        return isinstance(body, Mapping) and body.get("status") in self.pending_statuses

    def _resolve(self, body: Any, wait: bool, wait_timeout: float,
                 options: Mapping[str, Any] | None = None) -> DataOrPending:
        """Wrap a PENDING body in a :class:`PendingResult` (waiting on it if asked).

        The polls made while waiting use the call's ``timeout``/``retries``/``headers``
        options (never its idempotency key: a poll is a GET)."""
        if not self._is_pending(body):
            return cast(DataResult, body)
        poll_options = {k: v for k, v in (options or {}).items() if k != "idempotency_key"}

        def waiter(results_id: str, timeout: float) -> DataResult:
            return self.wait_for_results(results_id, wait_timeout=timeout, **poll_options)

        pending = PendingResult(body, waiter)
        return pending.wait(wait_timeout) if wait else pending

    def _data_call(self, key: str, path_params: Mapping[str, object] | None = None, *,
                   params: Mapping[str, Any] | None = None, json: Any = None, wait: bool,
                   wait_timeout: float, options: Mapping[str, Any]) -> Any:
        """Endpoint ``key``'s answer, a PENDING one as a :class:`PendingResult`
        (waited on when ``wait``); ``key`` must be ``pending`` in the endpoint list."""
        if not by_key(key).pending:  # pragma: no cover - a programming error, caught by the tests
            raise RuntimeError(f"{key} is not marked pending in the endpoint list")
        body = self._call(key, path_params, params=params, json=json, options=options)
        return self._resolve(body, wait, wait_timeout, options)

    def _fetch_result(self, results_id: str, options: Mapping[str, Any]) -> Any:
        return self._call(self.results_key, params=None, options=options, path=self._results_path(results_id))

    def results(self, results_id: str, **options: Unpack[CallOptions]) -> DataOrPending:
        """Fetch a result once (``GET <results prefix>/{results_id}``).

        Lean serves only ids it announced in a PENDING answer; others are a
        404 ``UNKNOWN_RESULTS_ID`` (:class:`~lean_mtls.errors.NotFoundError`).
        """
        return self._resolve(self._fetch_result(results_id, options), False, 0.0)

    def wait_for_results(
        self,
        results_id: str,
        *,
        wait_timeout: float = DEFAULT_WAIT_TIMEOUT,
        backoff: Backoff | None = None,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] | None = None,
        retry_not_found: bool = False,
        **options: Unpack[CallOptions],
    ) -> DataResult:
        """Poll the results endpoint until the status is no longer PENDING.

        Polls at once, then after each delay of ``backoff`` (capped, and never
        past ``wait_timeout``).  Raises :class:`~lean_mtls.errors.LeanTimeout`
        when ``wait_timeout`` seconds pass while still PENDING; FAILED,
        RECONNECT_REQUIRED and CONSENT_EXPIRED raise their data-status errors.
        ``timeout=`` is, as on every resource method, the timeout of each
        HTTP request (poll), not of the wait.

        Whether Lean answers 404 ``UNKNOWN_RESULTS_ID`` before its
        ``results.ready`` webhook is UNCERTAIN: ``retry_not_found=True``
        treats a 404 as "not ready yet" instead of raising it.
        """
        sleep, clock = sleep or self.sleep, clock or self.clock
        delays = (backoff or self.backoff).delays()
        started, polls = clock(), 0
        while True:
            body = self._poll(results_id, retry_not_found, options)
            polls += 1
            if body is not None and not self._is_pending(body):
                return cast(DataResult, body)
            waited = clock() - started
            if waited >= wait_timeout:
                raise self._timeout(results_id, waited, polls)
            sleep(min(next(delays), wait_timeout - waited))

    def _poll(self, results_id: str, retry_not_found: bool, options: Mapping[str, Any]) -> Any:
        try:
            return self._fetch_result(results_id, options)
        except NotFoundError:
            if retry_not_found:
                return None
            raise

    def _timeout(self, results_id: str, waited: float, polls: int) -> LeanTimeout:
        return LeanTimeout(
            f"Lean's result results_id={results_id} was still PENDING after waiting {waited:.1f} s "
            f"({polls} polls of GET {self._results_prefix()}/{{results_id}}). Wait for the "
            f"results.ready webhook, or call wait_for_results({results_id!r}) again later.",
            phase="read",
        )
