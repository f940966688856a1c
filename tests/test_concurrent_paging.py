"""Concurrent paging (issue 13): Lean's order, pages held, cancellation, errors in place,
and politeness under 429s -- on the walker alone and over real mTLS sockets."""

from __future__ import annotations

import contextvars
import gc
import json
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from lean_mtls import ConfigurationError, LeanSession, NotFoundError
from lean_mtls._concurrent import DEFAULT_CONCURRENCY, ConcurrencyBudget
from lean_mtls.resources._pagination import DATA_V2, iter_items
from lean_mtls.testing import MTLSServer
from lean_mtls.testing._server import RecordedRequest, Reply

from .conftest import APP_TOKEN, ClientFiles

#: A generous guard against a deadlocked test, never a timing assertion.
GUARD = 10.0


def page_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("lean-pages-")]


class Items(list):  # type: ignore[type-arg]
    """A page's list of items that can be weakly referenced, to count the pages alive."""


class Pages:
    """A thread-safe fake list endpoint: ``pages`` page sizes, optional ``total_pages``."""

    def __init__(self, sizes: list[int], *, with_total: bool = True, size: int = 100,
                 gate: Callable[[int], None] | None = None, fail: dict[int, Exception] | None = None) -> None:
        self.sizes, self.with_total, self.size, self.gate = sizes, with_total, size, gate
        self.fail = fail or {}
        self.requested: list[int] = []
        self.alive: list[weakref.ref[Items]] = []
        self.lock = threading.Lock()

    def items(self) -> list[str]:
        return [f"p{n}-{i}" for n, count in enumerate(self.sizes) for i in range(count)]

    def __call__(self, params: dict[str, int]) -> Any:
        number = params["page"]
        with self.lock:
            self.requested.append(number)
        if self.gate is not None:
            self.gate(number)
        if number in self.fail:
            raise self.fail[number]
        count = self.sizes[number] if number < len(self.sizes) else 0
        page: dict[str, Any] = {"number": number, "size": self.size}
        if self.with_total:
            page["total_pages"] = len(self.sizes)
        items = Items(f"p{number}-{i}" for i in range(count))
        with self.lock:
            self.alive.append(weakref.ref(items))
        return {"data": items, "page": page}

    def held(self) -> int:
        gc.collect()
        with self.lock:
            return sum(1 for ref in self.alive if ref() is not None)


# ---------------------------------------------------------------------- order and memory


@pytest.mark.parametrize("with_total", [True, False], ids=["total_pages", "no-total"])
@pytest.mark.parametrize("concurrency", [1, 2, 3, 8, 32])
def test_the_same_items_in_the_same_order_at_any_concurrency(with_total: bool, concurrency: int) -> None:
    # Pages finish out of order on purpose: every even page waits for the next odd one.
    events = {n: threading.Event() for n in range(40)}

    def gate(number: int) -> None:
        if number % 2 == 0 and concurrency > 1 and number + 1 < 20:
            events[number + 1].wait(0.05)  # a late even page, when the odd one can overtake it
        events[number].set()

    sizes = [100] * 19 + [37]
    pages = Pages(sizes, with_total=with_total, gate=gate)
    assert list(iter_items(pages, DATA_V2, concurrency=concurrency)) == pages.items()
    assert len(set(pages.requested)) == len(pages.requested)  # no page asked twice
    assert sorted(pages.requested)[:20] == list(range(20))
    # Known total: exactly the pages; unknown: speculation past the end is bounded by the window.
    extra = len(pages.requested) - 20
    assert extra == 0 if with_total or concurrency == 1 else 0 <= extra < concurrency


@pytest.mark.parametrize("concurrency", [1, 3, 8])
def test_at_most_concurrency_pages_are_held(concurrency: int) -> None:
    pages = Pages([100] * 30 + [5])
    most = 0
    for index, _ in enumerate(iter_items(pages, DATA_V2, concurrency=concurrency)):
        if index % 100 == 50:  # mid-page; looking at every item would be slow, not stronger
            most = max(most, pages.held())
    assert 1 <= most <= concurrency
    assert len(pages.requested) == 31


def test_a_slow_reader_is_not_run_over() -> None:
    # The reader stops after one item: the walk fetches what the window allows, then waits.
    started = threading.Semaphore(0)

    def gate(number: int) -> None:
        started.release()

    pages = Pages([100] * 50, gate=gate)
    walk = iter_items(pages, DATA_V2, concurrency=4)
    next(walk)
    for _ in range(4):  # page 0 and the three the window leaves room for
        assert started.acquire(timeout=GUARD)
    assert not started.acquire(timeout=0.2)  # and nothing more while the reader holds page 0
    assert sorted(pages.requested) == [0, 1, 2, 3]
    assert pages.held() <= 4
    walk.close()


def test_the_first_item_costs_one_request() -> None:
    release = threading.Event()

    def gate(number: int) -> None:
        if number > 0:
            release.wait(GUARD)

    pages = Pages([100] * 10, gate=gate)
    walk = iter_items(pages, DATA_V2, concurrency=8)
    assert pages.requested == []  # lazy
    assert next(walk) == "p0-0"  # while every later page is still blocked
    release.set()
    assert len(list(walk)) == 999


def test_known_total_pages_are_requested_in_parallel() -> None:
    barrier = threading.Barrier(4)  # pages 1..4 must all be in flight at once to pass it

    def gate(number: int) -> None:
        if 1 <= number <= 4:
            barrier.wait(GUARD)

    pages = Pages([100] * 5 + [1], gate=gate)
    assert len(list(iter_items(pages, DATA_V2, concurrency=5))) == 501


def test_unknown_total_fetches_ahead_and_stops_at_the_first_short_page() -> None:
    # Speculative pages past the end fail: their errors must never reach the caller.
    pages = Pages([100] * 6 + [99], with_total=False,
                  fail={n: NotFoundError("no such page", status_code=404) for n in range(7, 20)})
    assert list(iter_items(pages, DATA_V2, concurrency=6)) == pages.items()
    assert max(pages.requested) < 7 + 6


def test_an_empty_page_ends_the_walk_even_with_pages_fetched_past_it() -> None:
    pages = Pages([100, 100, 0, 100, 100], with_total=False)
    assert list(iter_items(pages, DATA_V2, concurrency=4)) == pages.items()[:200]


# ---------------------------------------------------------------------- errors in place


@pytest.mark.parametrize("concurrency", [1, 4])
def test_an_error_on_page_k_comes_after_the_items_before_it(concurrency: int) -> None:
    error = NotFoundError("page 3 is gone", status_code=404)
    pages = Pages([100] * 10, fail={3: error})
    seen: list[str] = []
    with pytest.raises(NotFoundError) as raised:
        for item in iter_items(pages, DATA_V2, concurrency=concurrency):
            seen.append(item)
    assert raised.value is error
    assert seen == pages.items()[:300]
    assert max(pages.requested) < 3 + concurrency  # nothing scheduled past the failure's window
    assert page_threads() == []


def test_the_callers_context_reaches_the_workers() -> None:
    marker: contextvars.ContextVar[str] = contextvars.ContextVar("marker", default="unset")
    seen: set[str] = set()

    def fetch(params: dict[str, int]) -> Any:
        seen.add(marker.get())
        return {"data": [params["page"]], "page": {"number": params["page"], "total_pages": 6}}

    token = marker.set("caller")
    try:
        assert list(iter_items(fetch, DATA_V2, concurrency=3)) == list(range(6))
    finally:
        marker.reset(token)
    assert seen == {"caller"}


# ---------------------------------------------------------------------- cancellation


def _blocked_walk(concurrency: int) -> tuple[Iterator[Any], threading.Event, Pages]:
    release = threading.Event()

    def gate(number: int) -> None:
        if number > 0:
            release.wait(GUARD)

    pages = Pages([100] * 1000, gate=gate)
    walk = iter_items(pages, DATA_V2, concurrency=concurrency)
    next(walk)
    return walk, release, pages


@pytest.mark.parametrize("how", ["close", "break", "gc"])
def test_abandoning_the_walk_ends_its_threads_and_sends_nothing_more(how: str) -> None:
    walk, release, pages = _blocked_walk(6)
    assert len(page_threads()) >= 1
    release.set()  # let the requests on the wire finish: close() waits for them
    if how == "close":
        walk.close()  # type: ignore[attr-defined]
    elif how == "break":
        for _ in walk:
            break
        del walk
    else:
        del walk
        gc.collect()
    assert page_threads() == []
    count = len(pages.requested)
    assert count <= 100 + 6  # at most the pages read plus one window
    assert len(pages.requested) == count  # nothing is sent afterwards


def test_concurrency_one_uses_no_thread() -> None:
    seen: set[str] = set()

    def fetch(params: dict[str, int]) -> Any:
        seen.add(threading.current_thread().name)
        return {"data": [1], "page": {"number": params["page"], "total_pages": 3}}

    assert list(iter_items(fetch, DATA_V2, concurrency=1)) == [1, 1, 1]
    assert seen == {threading.current_thread().name}


@pytest.mark.parametrize("value", [0, -1, True, 2.5, "8", None])
def test_concurrency_is_validated(value: Any) -> None:
    with pytest.raises(ConfigurationError, match="concurrency must be a positive integer"):
        iter_items(lambda params: {}, DATA_V2, concurrency=value)


def _walkers() -> list[tuple[str, Any]]:
    import importlib
    import inspect
    import pkgutil

    import lean_mtls.resources

    found = []
    for module_info in pkgutil.iter_modules(lean_mtls.resources.__path__):
        module = importlib.import_module(f"lean_mtls.resources.{module_info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__:
                found += [(f"{cls.__name__}.{name}", fn) for name, fn in inspect.getmembers(cls, inspect.isfunction)
                          if name.startswith("iter_") or name == "export"]
    return found


def test_every_walker_takes_concurrency_with_the_named_default() -> None:
    import inspect

    walkers = _walkers()
    assert len(walkers) >= 15
    for name, fn in walkers:
        parameter = inspect.signature(fn).parameters.get("concurrency")
        assert parameter is not None, f"{name} has no concurrency="
        assert parameter.default == DEFAULT_CONCURRENCY, name


# ---------------------------------------------------------------------- the budget (AIMD) alone


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_a_refusal_halves_in_flight_and_success_grows_it_back_after_the_probe_interval() -> None:
    clock = FakeClock()
    budget = ConcurrencyBudget(8, clock=clock, sleep=clock.sleep, probe_interval=5.0)
    never = threading.Event()
    tickets = [budget.acquire(never) for _ in range(8)]
    assert budget.in_flight == 8 and None not in tickets
    assert budget.refused(tickets[0], 2.0, 1) is True  # 7 others in flight: halved to 3
    assert budget.limit == 3
    for ticket in tickets[1:5]:  # the same burst: refusals sent before the decrease do not halve again
        budget.refused(ticket, 2.0, 1)
    assert budget.limit == 3
    for ticket in tickets[5:]:
        budget.succeeded(ticket)
    assert budget.in_flight == 0 and budget.refusals == 5
    # Retry-After: the next request waits 2 s (slept once, not once per thread).
    ticket = budget.acquire(never)
    assert clock.sleeps == [2.0]
    budget.succeeded(ticket)
    for _ in range(30):  # sustained success, but within the probe interval: no growth
        budget.succeeded(budget.acquire(never))  # type: ignore[arg-type]
    assert budget.limit == 3
    clock.now += 5.0
    for _ in range(60):  # one step per window of successes, up to the ceiling
        budget.succeeded(budget.acquire(never))  # type: ignore[arg-type]
    assert budget.limit == 8


def test_a_long_retry_after_is_not_waited_for() -> None:
    clock = FakeClock()
    budget = ConcurrencyBudget(2, clock=clock, sleep=clock.sleep, max_retry_after=60)
    ticket = budget.acquire(threading.Event())
    assert budget.refused(ticket, 3600.0, 1) is False


def test_a_page_refused_too_often_gives_up() -> None:
    clock = FakeClock()
    budget = ConcurrencyBudget(2, clock=clock, sleep=clock.sleep, max_refusals=2)
    never = threading.Event()
    assert budget.refused(budget.acquire(never), None, 1) is True  # type: ignore[arg-type]
    assert budget.refused(budget.acquire(never), None, 2) is True  # type: ignore[arg-type]
    assert budget.refused(budget.acquire(never), None, 3) is False  # type: ignore[arg-type]
    assert clock.sleeps == [1.0, 2.0]  # no Retry-After: 1 s, doubling per refusal of the page


# ---------------------------------------------------------------------- over real sockets


TOTAL_PAGES = 60
LATENCY = 0.02


def transactions_page(number: int, size: int, with_total: bool = True) -> dict[str, Any]:
    count = size if number < TOTAL_PAGES - 1 else size // 2
    items = [{"transaction_id": f"tx-{number}-{i}"} for i in range(count)] if number < TOTAL_PAGES else []
    page: dict[str, Any] = {"number": number, "size": size}
    if with_total:
        page["total_pages"] = TOTAL_PAGES
    return {"status": "OK", "results_id": f"r{number}", "message": None,
            "data": {"type": "transactions", "transactions": items, "page": page}}


class LimitedLean:
    """A handler answering data-v2 transaction pages after ``LATENCY``; with
    ``allow`` set, it serves at most that many at once and answers 429 beyond."""

    def __init__(self, allow: int | None = None, with_total: bool = True) -> None:
        self.allow, self.with_total = allow, with_total
        self.lock = threading.Lock()
        self.in_flight = 0
        self.peak = 0
        self.refused = 0
        self.served = 0

    def __call__(self, request: RecordedRequest) -> Reply:
        query = parse_qs(urlsplit(request.path).query)
        number, size = int(query["page"][0]), int(query["size"][0])
        with self.lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            if self.allow is not None and self.in_flight > self.allow:
                self.in_flight -= 1
                self.refused += 1
                return Reply(429, {"status": "RATE_LIMIT_EXCEEDED", "message": "Too many requests"},
                             headers={"Retry-After": "1"})
        threading.Event().wait(LATENCY)  # Lean's latency (the server's, not asserted on)
        body = json.dumps(transactions_page(number, size, self.with_total))
        with self.lock:  # counted out before the answer leaves, so the client never races the count
            self.in_flight -= 1
            self.served += 1
        return Reply(200, body.encode(), headers={"Content-Type": "application/json"})


@pytest.fixture()
def lean(server: MTLSServer, client_files: ClientFiles) -> Iterator[LeanSession]:
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=client_files.ca,
                     base_url=server.url, pool_size=8) as session:
        yield session


def _ids(session: LeanSession, concurrency: Any) -> list[str]:
    walk = session.data.iter_transactions("ent-1", "acc-1", concurrency=concurrency)
    return [tx["transaction_id"] for tx in walk]


def test_over_real_sockets_the_order_is_lean_s_at_any_concurrency(server: MTLSServer, lean: LeanSession) -> None:
    handler = LimitedLean()
    server.set_handler(handler)
    sequential = _ids(lean, 1)
    assert handler.peak == 1
    handler.peak = 0
    assert _ids(lean, 8) == sequential
    assert len(sequential) == (TOTAL_PAGES - 1) * 100 + 50
    assert 2 <= handler.peak <= 8
    assert handler.served == 2 * TOTAL_PAGES  # total_pages known: not one request wasted
    assert page_threads() == []


def test_over_real_sockets_without_total_pages(server: MTLSServer, lean: LeanSession) -> None:
    handler = LimitedLean(with_total=False)
    server.set_handler(handler)
    assert _ids(lean, 8) == [f"tx-{n}-{i}" for n in range(TOTAL_PAGES) for i in range(100 if n < 59 else 50)]
    assert TOTAL_PAGES <= handler.served < TOTAL_PAGES + 8


def _free_slots(session: LeanSession) -> int:
    adapter = session.get_adapter(session.base_url + "/")
    pools = list(adapter.poolmanager.pools._container.values())  # type: ignore[attr-defined]
    return sum(pool.pool.qsize() for pool in pools)


@pytest.mark.parametrize("how", ["close", "gc"])
def test_an_abandoned_walk_gives_every_pool_slot_back(server: MTLSServer, client_files: ClientFiles,
                                                      how: str) -> None:
    server.set_handler(LimitedLean())
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=client_files.ca,
                     base_url=server.url, pool_size=4, pool_timeout=2) as session:
        for _ in range(3):  # three walks left mid-way, each with every slot busy
            walk = session.data.iter_transactions("ent-1", "acc-1", concurrency=4)
            for _ in range(150):
                next(walk)
            if how == "close":
                walk.close()  # type: ignore[attr-defined]
            del walk
            gc.collect()
            assert page_threads() == []
            assert _free_slots(session) == 4
        assert len(_ids(session, 4)) == (TOTAL_PAGES - 1) * 100 + 50  # and the pool still serves a full walk


def test_pool_size_caps_the_pages_in_flight(server: MTLSServer, client_files: ClientFiles) -> None:
    handler = LimitedLean()
    server.set_handler(handler)
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=client_files.ca,
                     base_url=server.url, pool_size=2) as session:
        assert len(_ids(session, 16)) == (TOTAL_PAGES - 1) * 100 + 50
    assert handler.peak <= 2


def test_a_server_allowing_three_in_flight_is_walked_politely(server: MTLSServer, lean: LeanSession,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    handler = LimitedLean(allow=3)
    server.set_handler(handler)
    clock = FakeClock()
    budget = ConcurrencyBudget(8, clock=clock, sleep=clock.sleep, probe_interval=3600)
    # The client's own count of requests on the wire, taken as each one is sent.  "After the
    # first 429" starts when the client has taken the 429 in (the budget counted it): requests
    # sent before that were already on their way.
    lock = threading.Lock()
    state = {"in_flight": 0, "sent_after_first_429": 0, "after_first_429": 0}
    send = lean.send

    def counting_send(request: Any, **kwargs: Any) -> Any:
        with lock:
            state["in_flight"] += 1
            if budget.refusals:
                state["sent_after_first_429"] += 1
                state["after_first_429"] = max(state["after_first_429"], state["in_flight"])
        try:
            return send(request, **kwargs)
        finally:
            with lock:
                state["in_flight"] -= 1

    monkeypatch.setattr(lean, "send", counting_send)
    ids = _ids(lean, budget)

    assert ids == [f"tx-{n}-{i}" for n in range(TOTAL_PAGES) for i in range(100 if n < 59 else 50)]
    assert 1 <= handler.refused <= 7  # one burst at most: not one per page
    assert budget.refusals == handler.refused
    assert state["sent_after_first_429"] >= 40 and state["after_first_429"] <= 3
    assert clock.sleeps and set(clock.sleeps) == {1.0}  # Retry-After honoured, through the injected clock
    assert handler.served == TOTAL_PAGES


def test_after_the_limit_lifts_the_walk_probes_back_up(server: MTLSServer, lean: LeanSession) -> None:
    handler = LimitedLean(allow=3)
    server.set_handler(handler)
    clock = FakeClock()
    budget = ConcurrencyBudget(8, clock=clock, sleep=clock.sleep, probe_interval=5)
    walk = lean.data.iter_transactions("ent-1", "acc-1", concurrency=budget)
    for _ in range(1500):
        next(walk)
    assert budget.refusals >= 1 and budget.limit <= 3
    handler.allow = None  # Lean lets go
    handler.peak = 0
    clock.now += 60
    rest = sum(1 for _ in walk)
    assert rest == (TOTAL_PAGES - 1) * 100 + 50 - 1500
    assert budget.limit > 3 and handler.peak > 3
