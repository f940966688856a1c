"""Pages fetched ahead in parallel, handed out in order: the engine under every ``iter_*``.

Against Lean a bulk export costs round trips, not CPU: 1,000 pages at 20 ms
are 20 s one after the other, 2.5 s eight at a time.  The page walker
(:mod:`._pagination`) therefore asks this module for its pages, and this
module keeps up to ``concurrency`` of them coming at once while the caller
reads the items of the current one.

The promises, and how they are kept:

* **Lean's order.**  Pages are *handed out* strictly in order (page ``k`` of
  list 1 before page ``k + 1``, list 1 before list 2), whatever order they
  arrive in, so the item sequence is exactly that of ``concurrency=1``.
* **Bounded memory.**  At most ``window`` pages exist at once: the page the
  caller is reading, plus those in flight or waiting to be read.  A new
  request is only scheduled when the caller has let a page go.
* **The first item costs one request.**  Nothing but the first page is asked
  for until its answer says how many pages there are.  With ``total_pages``
  the rest are requested in parallel; without it pages are fetched ahead
  speculatively and the walk stops at the first short or empty page (the
  speculative requests beyond it are dropped, their answers and errors
  ignored).
* **Errors where they happened.**  A failure of page ``k`` is raised when the
  caller reaches page ``k``, after every item before it.
* **Nothing leaks.**  Abandoning the iterator (``break``, ``close()``, garbage
  collection, an exception in the caller's loop) cancels the pages not yet
  sent and waits for the requests already on the wire to end: their current
  attempt only (bounded by the session's timeout), since a cancelled walk's
  requests are never retried and their backoff and ``Retry-After`` waits end
  at once (:data:`lean_mtls._retry.call_cancelled`).  So
  the worker threads exit and every connection goes back to the session's
  pool.  The workers hold no reference to the iterator, so dropping it is
  enough.
* **One process.**  A walk continued in a forked child raises
  :class:`~lean_mtls.errors.WalkForkedError` when it needs its next page:
  the pages in flight were the parent's threads' work.
* **Polite under rate limits.**  Requests draw from a
  :class:`ConcurrencyBudget`, which narrows the number in flight when Lean
  answers 429, waits out ``Retry-After`` and widens again after sustained
  success (additive increase, multiplicative decrease, as TCP does).

Threads, not asyncio: the session is a ``requests.Session`` whose pool is
thread-safe and blocking (``pool_size`` connections at most), and the work
is waiting on sockets, which releases the GIL.  The window is capped at the
session's ``pool_size``: more threads than pooled connections would only
queue for a slot (and could meet ``pool_timeout``).  For the same reason all
the walks on one session share its :class:`SessionSlots`: together they send
at most ``pool_size`` pages at once, and the others wait for a slot without
a deadline rather than fail with ``LeanPoolTimeout``.
"""

from __future__ import annotations

import contextvars
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any, Generic, Protocol, TypeVar, Union

from ._fork import reset_in_child
from ._retry import call_cancelled, caller_handles
from .errors import ConfigurationError, RateLimitError, WalkForkedError

#: Pages in flight per walk unless a call says otherwise.  Why 4: at Lean's
#: latencies a walk gets ~4x faster than one page at a time, while four walks
#: running at once in one process (a web server's threads) still fit the
#: default pool of 16 connections without waiting for a slot; the memory held
#: is four pages; and Lean publishes no rate limit to size it against (see
#: LEAN_API.md, "Rate limits"), so the default stays moderate.  Bulk exports
#: pass ``concurrency=8`` (or more, up to ``pool_size``).
DEFAULT_CONCURRENCY = 4
#: Seconds without a 429 before the budget widens again (one step per window
#: of successes after that), so a server at its limit sees a probe rarely.
DEFAULT_PROBE_INTERVAL = 5.0
#: A 429 without ``Retry-After`` pauses new requests this long, doubling for
#: each refusal of the same page (capped at :data:`MAX_PAUSE`).
DEFAULT_PAUSE = 1.0
MAX_PAUSE = 30.0
#: A ``Retry-After`` longer than this is not waited for: the page's
#: :class:`~lean_mtls.errors.RateLimitError` is raised (as the retry policy does).
DEFAULT_MAX_RETRY_AFTER = 60.0
#: A page refused (429) more than this many times raises its RateLimitError.
DEFAULT_MAX_REFUSALS = 6


class ConcurrencyBudget:
    """How many page requests may be in flight at once; shared by every walk it is given to.

    ``concurrency`` is the ceiling.  The current limit starts there; a 429
    halves the number in flight (once per episode: refusals of requests sent
    before that decrease only cap the limit at what is still in flight) and
    pauses new requests for ``Retry-After`` seconds (or :data:`DEFAULT_PAUSE`,
    doubling per refusal of the same page).  After ``probe_interval`` seconds
    without a 429, every window of successes (as many as the limit) widens the
    limit by one, back up to the ceiling.

    ``clock`` (seconds, monotonic) and ``sleep`` are injectable for tests;
    without ``sleep`` a pause waits on the walk's cancellation, so closing the
    iterator ends it at once.

    Pass one budget as ``concurrency=`` to several ``iter_*`` calls (or use
    ``data.export``) to share it.  Counters for monitoring: :attr:`limit`,
    :attr:`in_flight`, :attr:`peak_in_flight`, :attr:`refusals`.
    """

    def __init__(
        self,
        concurrency: int = DEFAULT_CONCURRENCY,
        *,
        probe_interval: float = DEFAULT_PROBE_INTERVAL,
        max_retry_after: float = DEFAULT_MAX_RETRY_AFTER,
        max_refusals: int = DEFAULT_MAX_REFUSALS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self.ceiling = check_concurrency(concurrency)
        if probe_interval < 0 or max_retry_after < 0:
            raise ConfigurationError("probe_interval and max_retry_after must be >= 0 seconds.")
        if isinstance(max_refusals, bool) or not isinstance(max_refusals, int) or max_refusals < 0:
            raise ConfigurationError(f"max_refusals must be an integer >= 0, got {max_refusals!r}.")
        self.probe_interval = float(probe_interval)
        self.max_retry_after = float(max_retry_after)
        self.max_refusals = max_refusals
        self._clock = clock
        self._sleep = sleep
        self._cond = threading.Condition()
        self._limit = float(self.ceiling)
        self._admitted = 0  # tickets out: requests holding a slot or waiting for one of the session's
        self._in_flight = 0  # requests actually sent (holding a session slot)
        self._epoch = 0  # bumped by each decrease; a ticket remembers the epoch it was sent in
        self._successes = 0
        self._last_refusal: float | None = None
        self._resume_at = 0.0
        self._pausing = False
        #: The most requests in flight at once so far.
        self.peak_in_flight = 0
        #: 429 answers seen so far.
        self.refusals = 0
        reset_in_child(self)

    def reset_after_fork(self) -> None:
        """In a forked child: a fresh condition (a parent thread may have held it), and
        none of the parent's requests counted as in flight (their threads are not here)."""
        self._cond = threading.Condition()
        self._admitted = 0
        self._in_flight = 0
        self._pausing = False

    def __repr__(self) -> str:
        return (f"ConcurrencyBudget(concurrency={self.ceiling}, limit={self.limit}, in_flight={self.in_flight}, "
                f"refusals={self.refusals})")

    @property
    def limit(self) -> int:
        """Requests allowed in flight right now (1..ceiling)."""
        return max(1, int(self._limit))

    @property
    def in_flight(self) -> int:
        """Requests sent and not answered yet (a request waiting for one of the
        session's pool slots is not counted: it is not on the wire)."""
        return self._in_flight

    # ------------------------------------------------------------------ taking and giving back

    def acquire(self, cancelled: threading.Event, *, sending: bool = True) -> int | None:
        """Wait for room; returns a ticket (pass it back), ``None`` when ``cancelled``.

        ``sending=False``: the request still has to wait for a pool slot of the
        session; call :meth:`started` once it has one (only then it counts in
        :attr:`in_flight`)."""
        with self._cond:
            while True:
                if cancelled.is_set():
                    return None
                wait = self._resume_at - self._clock()
                if wait > 0:
                    if self._pausing:
                        self._cond.wait()
                    else:
                        self._pause(wait, cancelled)
                    continue
                if self._admitted < self.limit:
                    self._admitted += 1
                    if sending:
                        self._count_sent()
                    return self._epoch
                self._cond.wait()

    def started(self) -> None:
        """The request holding a ticket got its pool slot and is being sent."""
        with self._cond:
            self._count_sent()

    def _count_sent(self) -> None:
        self._in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self._in_flight)

    def _pause(self, seconds: float, cancelled: threading.Event) -> None:
        # One thread sleeps out the pause; the others wait for it to wake them.
        self._pausing = True
        self._cond.release()
        try:
            if self._sleep is None:
                cancelled.wait(seconds)
            else:
                self._sleep(seconds)
        finally:
            self._cond.acquire()
            self._pausing = False
            self._cond.notify_all()

    def succeeded(self, ticket: int) -> None:
        """The request answered (anything but 429): give its place back, maybe widen."""
        with self._cond:
            self._admitted -= 1
            self._in_flight -= 1
            self._successes += 1
            quiet = self._last_refusal is None or self._clock() - self._last_refusal >= self.probe_interval
            if quiet and self._limit < self.ceiling and self._successes >= self.limit:
                self._limit = min(float(self.ceiling), float(self.limit + 1))
                self._successes = 0
            self._cond.notify_all()

    def unused(self, ticket: int, started: bool = True) -> None:
        """Nothing was sent with this ticket (``started=False``: it was taken with
        ``sending=False`` and never :meth:`started`)."""
        with self._cond:
            self._admitted -= 1
            self._in_flight -= started
            self._cond.notify_all()

    def refused(self, ticket: int, retry_after: float | None, refusals_of_page: int) -> bool:
        """A 429: narrow, pause, and say whether the page may be asked for again."""
        with self._cond:
            self.refusals += 1
            others = self._in_flight - 1
            self._admitted -= 1
            self._in_flight -= 1
            if ticket == self._epoch:  # the first refusal of this episode: halve what was in flight
                self._limit = max(1.0, min(self._limit, float(max(others, 1))) / 2)
                self._epoch += 1
            else:  # the same overload seen again: do not halve twice, but never exceed what got through
                self._limit = max(1.0, min(self._limit, float(others)))
            self._successes = 0
            now = self._clock()
            self._last_refusal = now
            if retry_after is not None and retry_after > self.max_retry_after:
                retry = False
            else:
                retry = refusals_of_page <= self.max_refusals
                pause = retry_after if retry_after is not None else min(
                    MAX_PAUSE, DEFAULT_PAUSE * 2 ** max(0, refusals_of_page - 1))
                self._resume_at = max(self._resume_at, now + pause)
            self._cond.notify_all()
            return retry

    def wake(self) -> None:
        """Wake waiting threads so they see a cancellation."""
        with self._cond:
            self._cond.notify_all()


class SessionSlots:
    """The session's ``pool_size``, shared by every walk on it: a page request
    takes a slot before it is sent and gives it back when answered.

    Each walk's window is capped at ``pool_size``, but several walks on one
    session (threads, a shared :class:`ConcurrencyBudget`, an export) could
    together ask for more connections than the pool holds and meet
    ``pool_timeout`` (:class:`~lean_mtls.errors.LeanPoolTimeout`).  With the
    slots they queue here instead, without a deadline (each slot is held for
    one request, itself bounded by the session's timeout), and a cancelled
    walk stops waiting at once.  Requests made outside the walkers do not
    take slots: they meet ``pool_timeout`` as before.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._cond = threading.Condition()
        self._used = 0
        reset_in_child(self)

    def reset_after_fork(self) -> None:
        self._cond = threading.Condition()
        self._used = 0

    @property
    def used(self) -> int:
        return self._used

    def acquire(self, cancelled: threading.Event) -> bool:
        """Wait for a slot; False when ``cancelled`` (no slot taken)."""
        with self._cond:
            while not cancelled.is_set():
                if self._used < self.size:
                    self._used += 1
                    return True
                self._cond.wait()
            return False

    def release(self) -> None:
        with self._cond:
            self._used -= 1
            self._cond.notify_all()  # waiters of cancelled walks leave; the others re-check

    def wake(self) -> None:
        """Wake waiting threads so they see a cancellation."""
        with self._cond:
            self._cond.notify_all()


_session_slots: weakref.WeakKeyDictionary[Any, SessionSlots] = weakref.WeakKeyDictionary()
_session_slots_lock = threading.Lock()


def session_slots(session: Any) -> SessionSlots | None:
    """The page slots of ``session`` (one per session, sized by its ``pool_size``);
    ``None`` for a client without a pool size."""
    size = getattr(session, "pool_size", None)
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        return None
    with _session_slots_lock:
        slots = _session_slots.get(session)
        if slots is None or slots.size != size:
            slots = _session_slots[session] = SessionSlots(size)
        return slots


#: What ``concurrency=`` accepts: pages in flight at once, or a budget shared between walks.
Concurrency = Union[int, ConcurrencyBudget]


def check_concurrency(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(
            f"concurrency must be a positive integer (1 fetches one page at a time) or a ConcurrencyBudget, "
            f"got {value!r}."
        )
    return value


def as_budget(concurrency: Concurrency) -> ConcurrencyBudget:
    """``concurrency=`` as given to an ``iter_*``: an int, or a budget to share."""
    if isinstance(concurrency, ConcurrencyBudget):
        return concurrency
    return ConcurrencyBudget(check_concurrency(concurrency))


# ---------------------------------------------------------------------- the ordered fetcher

class PageSource(Protocol):
    """One paged list: how to fetch a page and what its answer says about the end.

    ``fetch`` and ``plan`` run on worker threads (``plan`` must be pure);
    the walker reads the planned value on the caller's thread, in order.
    """

    first: int

    def fetch(self, number: int) -> Any: ...

    def plan(self, number: int, body: Any) -> tuple[Any, int | None]:
        """``(parsed, end)``: ``end`` is the first page number past the list
        when this answer tells it (``total_pages``, a short or empty page), else ``None``."""
        ...


S = TypeVar("S", bound=PageSource)

_PENDING, _RUNNING, _DONE = 0, 1, 2


class _List:
    """Scheduling state of one source."""

    __slots__ = ("end", "known", "next", "source")

    def __init__(self, source: Any) -> None:
        self.source = source
        self.next: int = source.first  # the next page number to schedule
        self.end: int | None = None  # first page past the list, once known
        self.known = False  # whether the first page's answer arrived (so ``end`` is final or speculative)


class _Job:
    __slots__ = ("error", "lst", "number", "refusals", "result", "state")

    def __init__(self, lst: _List, number: int) -> None:
        self.lst = lst
        self.number = number
        self.state = _PENDING
        self.refusals = 0
        self.result: Any = None
        self.error: BaseException | None = None


class OrderedPages(Generic[S]):
    """Fetches the pages of ``sources`` (one list after the other) up to
    ``window`` at a time and hands them out in order.  Use :func:`ordered_pages`."""

    def __init__(self, sources: Iterator[S], budget: ConcurrencyBudget, window: int,
                 slots: SessionSlots | None = None) -> None:
        self._sources = sources
        self._budget = budget
        self._slots = slots
        self._window = max(1, window)
        mutex = threading.Lock()
        self._lock = threading.Condition(mutex)  # the caller waits on it for its page
        self._idle = threading.Condition(mutex)  # idle workers wait on it for a pending page (one woken per page)
        self._jobs: deque[_Job] = deque()  # scheduled, not yet handed out, in order
        self._holding = False  # whether the caller is reading a page (it counts against the window)
        self._current: _List | None = None  # the list being scheduled
        self._exhausted = False  # no more sources
        self._cancelled = threading.Event()
        self._workers: list[threading.Thread] = []
        # Calls carry the caller's context (a session.retrying() block, ...), and
        # a 429 comes back to us rather than being slept on by the transport.
        # Once the walk is cancelled its requests start no new attempt (no retry,
        # no backoff or Retry-After wait): close() waits for one attempt at most.
        context = contextvars.copy_context()
        context.run(caller_handles.set, caller_handles.get() | {429})
        context.run(call_cancelled.set, self._cancelled)
        self._context = context
        #: Most pages held at once (scheduled, in flight, waiting or being read).
        self.max_held = 0
        self._pid = os.getpid()  # the process whose threads fetch this walk's pages
        reset_in_child(self)

    def reset_after_fork(self) -> None:
        """In a forked child: the workers and the pages they were fetching are the
        parent's, so the walk is over here (:meth:`__iter__` raises WalkForkedError).
        Fresh locks (a parent thread may have held them) so closing it cannot hang."""
        mutex = threading.Lock()
        self._lock = threading.Condition(mutex)
        self._idle = threading.Condition(mutex)
        self._cancelled = threading.Event()
        self._cancelled.set()
        self._workers = []
        self._jobs = deque()

    def _check_process(self) -> None:
        if os.getpid() != self._pid:
            raise WalkForkedError(
                "This page walk was started in the parent process, before a fork; its pages were being "
                "fetched by the parent's threads. Start a new walk in the child (call the iter_* method or "
                "data.export again there)."
            )

    # ------------------------------------------------------------------ the caller's side

    def __iter__(self) -> Iterator[tuple[S, int, Any]]:
        """``(source, page number, planned page)`` in order; raises a page's error when reached."""
        inline = self._context.copy()
        try:
            while True:
                self._check_process()
                with self._lock:
                    self._holding = False
                    self._top_up()
                    if not self._jobs:
                        return
                    job = self._jobs[0]
                    self._start_workers()
                outcome = self._wait_for(job, inline)
                if outcome is None:
                    return  # cancelled
                if not outcome:
                    continue  # dropped meanwhile (the list turned out shorter): look again
                if job.error is not None:
                    error, job.error = job.error, None
                    raise error
                result, job.result = job.result, None
                yield job.lst.source, job.number, result
                del result  # the caller is done with this page: let it go
        finally:
            self.close()

    def _wait_for(self, job: _Job, context: contextvars.Context) -> bool | None:
        """Wait until ``job`` is done, fetching it here if nobody has started it.

        True: done and taken off the queue; False: dropped; None: cancelled."""
        while True:
            with self._lock:
                while job.state == _RUNNING:
                    self._lock.wait()
                if self._cancelled.is_set():
                    return None
                if not self._jobs or self._jobs[0] is not job:
                    return False
                if job.state == _DONE:
                    self._jobs.popleft()
                    self._holding = True
                    return True
                job.state = _RUNNING
            ticket = self._take()
            if ticket is None:
                return None
            self._fetch(job, context, ticket)

    def _take(self) -> int | None:
        """A budget ticket, then a session slot; ``None`` when cancelled meanwhile."""
        ticket = self._budget.acquire(self._cancelled, sending=False)
        if ticket is None:
            return None
        if self._slots is not None and not self._slots.acquire(self._cancelled):
            self._budget.unused(ticket, started=False)
            return None
        self._budget.started()
        return ticket

    def _give_back(self) -> None:
        if self._slots is not None:
            self._slots.release()

    def close(self) -> None:
        """Cancel what is not sent, wait for what is on the wire, end the workers."""
        if os.getpid() != self._pid:
            return  # a forked child: reset_after_fork already ended the walk here
        with self._lock:
            self._cancelled.set()
            self._jobs.clear()
            self._lock.notify_all()
            self._idle.notify_all()
            workers = list(self._workers)
        self._budget.wake()
        if self._slots is not None:
            self._slots.wake()
        current = threading.current_thread()
        for worker in workers:
            if worker is not current:
                worker.join()

    # ------------------------------------------------------------------ scheduling (lock held)

    def _top_up(self) -> None:
        while (not self._cancelled.is_set() and len(self._jobs) + self._holding < self._window
               and not any(job.error is not None for job in self._jobs)):  # a failure ends the walk there
            lst = self._current
            if lst is None:
                if self._exhausted:
                    break
                source = next(self._sources, None)
                if source is None:
                    self._exhausted = True
                    self._idle.notify_all()  # idle workers can leave
                    break
                lst = self._current = _List(source)
            if lst.next == lst.source.first:
                self._schedule(lst)
            elif not lst.known:
                break  # until the first page says how many there are
            elif lst.end is None or lst.next < lst.end:
                self._schedule(lst)  # known remaining pages, or speculative ones
            else:
                self._current = None  # every page of this list is scheduled: on to the next list
        self.max_held = max(self.max_held, len(self._jobs) + self._holding)

    def _schedule(self, lst: _List) -> None:
        self._jobs.append(_Job(lst, lst.next))
        lst.next += 1
        self._idle.notify()

    def _start_workers(self) -> None:
        if self._window == 1:
            return  # one page at a time: the caller's thread does it, no threads at all
        wanted = min(self._window, sum(1 for job in self._jobs if job.state != _DONE))
        while len(self._workers) < wanted:
            worker = threading.Thread(target=self._work, name=f"lean-pages-{len(self._workers)}", daemon=True)
            self._workers.append(worker)
            worker.start()

    def _next_pending(self) -> _Job | None:
        return next((job for job in self._jobs if job.state == _PENDING), None)

    # ------------------------------------------------------------------ workers

    def _work(self) -> None:
        context = self._context.copy()
        while True:
            with self._lock:
                while not self._cancelled.is_set() and self._next_pending() is None:
                    if self._exhausted and self._current is None:
                        return  # nothing left to schedule
                    self._idle.wait()
                if self._cancelled.is_set():
                    return
            ticket = self._take()
            if ticket is None:
                return
            with self._lock:
                job = None if self._cancelled.is_set() else self._next_pending()
                if job is not None:
                    job.state = _RUNNING
            if job is None:
                self._give_back()
                self._budget.unused(ticket)
                continue
            self._fetch(job, context, ticket)

    def _fetch(self, job: _Job, context: contextvars.Context, ticket: int) -> None:
        """Fetch and plan ``job`` (state RUNNING, ``ticket`` taken); leaves it DONE, or PENDING after a 429."""
        source = job.lst.source
        try:
            try:
                body = context.run(source.fetch, job.number)
            finally:
                self._give_back()  # the pool slot, as soon as the answer is read
        except RateLimitError as error:
            job.refusals += 1
            again = self._budget.refused(ticket, error.retry_after, job.refusals)
            with self._lock:
                if again:
                    job.state = _PENDING
                    self._idle.notify()
                else:
                    self._fail(job, error)
                self._lock.notify_all()
            return
        except Exception as error:  # noqa: BLE001 - stored, raised when the caller reaches this page
            self._budget.succeeded(ticket)
            with self._lock:
                self._fail(job, error)
                self._lock.notify_all()
            return
        self._budget.succeeded(ticket)
        try:
            planned, end = source.plan(job.number, body)
        except Exception as error:  # noqa: BLE001 - same as a failed request
            with self._lock:
                self._fail(job, error)
                self._lock.notify_all()
            return
        del body
        with self._lock:
            job.result = planned
            job.state = _DONE
            lst = job.lst
            if job.number == lst.source.first:
                lst.known = True
            if end is not None and (lst.end is None or end < lst.end):
                self._cut(lst, end)
            self._top_up()
            self._start_workers()
            self._lock.notify_all()

    def _fail(self, job: _Job, error: BaseException) -> None:
        job.error = error
        job.state = _DONE
        job.lst.known = True
        if job.lst.end is None or job.number + 1 < job.lst.end:
            self._cut(job.lst, job.number + 1)

    def _cut(self, lst: _List, end: int) -> None:
        """``lst`` ends before page ``end``: drop what was scheduled past it."""
        lst.end = end
        lst.next = min(lst.next, end)
        if any(job.lst is lst and job.number >= end for job in self._jobs):
            self._jobs = deque(job for job in self._jobs if not (job.lst is lst and job.number >= end))


def ordered_pages(sources: Iterator[S], budget: ConcurrencyBudget, window: int,
                  slots: SessionSlots | None = None) -> Iterator[tuple[S, int, Any]]:
    """``(source, page number, planned page)`` for every page of every source, in order.

    ``window`` bounds the pages held at once (at least 1; 1 fetches on the
    caller's thread without any worker).  ``slots``: the session's
    :class:`SessionSlots`, shared with its other walks.
    """
    return iter(OrderedPages(sources, budget, window, slots))
