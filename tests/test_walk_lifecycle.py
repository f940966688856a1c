"""A page walk's life over real mTLS sockets (BREAK-13): a cancelled walk retries nothing,
a walk continued in a forked child fails clearly, and walks sharing a session share its pool."""

from __future__ import annotations

import gc
import io
import json
import os
import signal
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from lean_mtls import ConcurrencyBudget, ExportRecord, InvalidRequestError, LeanSession, WalkForkedError, write_jsonl
from lean_mtls.testing import MTLSServer
from lean_mtls.testing._server import RecordedRequest, Reply

from .conftest import APP_TOKEN, ClientFiles

#: A generous guard against a deadlocked test, never a timing assertion.
GUARD = 20.0
PAGES = 6


def page_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("lean-pages-")]


def page_body(number: int, size: int) -> bytes:
    items = [{"transaction_id": f"tx-{number}-{i}"} for i in range(size)]
    return json.dumps({"status": "OK", "data": {"type": "transactions", "transactions": items,
                                                "page": {"number": number, "size": size,
                                                         "total_pages": PAGES}}}).encode()


class StuckLean:
    """Page 0 answers at once; every later page either hangs (``mode="hang"``, past the
    client's read timeout) or answers 503 with a long ``Retry-After`` (``mode="retry_after"``).
    Counts the requests it sees."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.cond = threading.Condition()
        self.pages: list[int] = []
        self.release = threading.Event()

    def __call__(self, request: RecordedRequest) -> Reply:
        query = parse_qs(urlsplit(request.path).query)
        number, size = int(query["page"][0]), int(query["size"][0])
        with self.cond:
            self.pages.append(number)
            self.cond.notify_all()
        if number == 0:
            return Reply(200, page_body(0, size), headers={"Content-Type": "application/json"})
        if self.mode == "retry_after":
            return Reply(503, {"status": "UNAVAILABLE"}, headers={"Retry-After": "5"})
        self.release.wait(GUARD)  # hangs past the client's read timeout
        return Reply(200, page_body(number, size), headers={"Content-Type": "application/json"})

    def wait_for(self, count: int) -> None:
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.pages) >= count, GUARD)

    def seen(self) -> int:
        with self.cond:
            return len(self.pages)


@pytest.fixture()
def session(server: MTLSServer, client_files: ClientFiles) -> Iterator[LeanSession]:
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=client_files.ca,
                     base_url=server.url, timeout=1.0, pool_size=8) as lean:
        yield lean


def _abandon(walk: Iterator[Any], how: str) -> None:
    if how == "close":
        walk.close()  # type: ignore[attr-defined]
    elif how == "gc":
        del walk
        gc.collect()


@pytest.mark.parametrize("mode", ["hang", "retry_after"])
@pytest.mark.parametrize("how", ["close", "break", "gc", "exception"])
def test_a_cancelled_walk_retries_nothing(server: MTLSServer, session: LeanSession, how: str, mode: str) -> None:
    handler = StuckLean(mode)
    server.set_handler(handler)
    try:
        if how in ("close", "gc"):
            walk = session.data.iter_transactions("ent-1", "acc-1", concurrency=4)
            next(walk)
            handler.wait_for(4)  # page 0, then pages 1..3 on the wire (or answered 503, waiting to retry)
            _abandon(walk, how)
            del walk
        elif how == "break":
            for _item in session.data.iter_transactions("ent-1", "acc-1", concurrency=4):
                handler.wait_for(4)
                break
            gc.collect()
        else:
            def consume() -> None:
                for _item in session.data.iter_transactions("ent-1", "acc-1", concurrency=4):
                    handler.wait_for(4)
                    raise KeyError("the consumer's own bug")

            with pytest.raises(KeyError):
                consume()
            gc.collect()
        # The walk is over: its threads are gone, and no page was asked for again.
        assert page_threads() == []
        assert handler.seen() == 4
        assert sorted(handler.pages) == [0, 1, 2, 3]
    finally:
        handler.release.set()


def test_a_walk_that_is_not_cancelled_still_retries(server: MTLSServer, session: LeanSession) -> None:
    # The other side of the rule: the same 503s on a walk that goes on are retried as usual.
    answered: dict[int, int] = {}
    lock = threading.Lock()

    def flaky(request: RecordedRequest) -> Reply:
        query = parse_qs(urlsplit(request.path).query)
        number, size = int(query["page"][0]), int(query["size"][0])
        with lock:
            answered[number] = answered.get(number, 0) + 1
            first = answered[number] == 1
        if number > 0 and first:
            return Reply(503, {"status": "UNAVAILABLE"}, headers={"Retry-After": "0"})
        return Reply(200, page_body(number, size), headers={"Content-Type": "application/json"})

    server.set_handler(flaky)
    ids = [tx["transaction_id"] for tx in session.data.iter_transactions("ent-1", "acc-1", concurrency=4)]
    assert len(ids) == PAGES * 100
    assert answered == {0: 1, **{n: 2 for n in range(1, PAGES)}}


# ---------------------------------------------------------------------- fork


class GatedLean:
    """Page 0 answers at once; later pages wait until ``release`` is set."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.seen = StuckLean("hang")

    def __call__(self, request: RecordedRequest) -> Reply:
        query = parse_qs(urlsplit(request.path).query)
        number, size = int(query["page"][0]), int(query["size"][0])
        with self.seen.cond:
            self.seen.pages.append(number)
            self.seen.cond.notify_all()
        if number:
            self.release.wait(GUARD)
        return Reply(200, page_body(number, size), headers={"Content-Type": "application/json"})


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_walk_continued_in_a_forked_child_fails_clearly(server: MTLSServer, client_files: ClientFiles) -> None:
    handler = GatedLean()
    server.set_handler(handler)
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=client_files.ca,
                     base_url=server.url, timeout=GUARD) as session:
        walk = session.data.iter_transactions("ent-1", "acc-1", concurrency=4)
        first = next(walk)
        handler.seen.wait_for(4)  # pages 1..3 are on the parent's worker threads
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # child
            code = 1
            try:
                signal.alarm(int(GUARD))  # a hang kills the child: the test then fails, never hangs
                got = 0
                try:
                    for _item in walk:  # the page already read in the parent is here; the next is not
                        got += 1
                    code = 2  # the parent's walk went on in the child
                except WalkForkedError as error:
                    clear = "start a new walk in the child" in str(error).lower()
                    code = 0 if clear and got == 99 else 3
                if code == 0:  # a new walk in the child works
                    fresh = session.data.iter_transactions("ent-1", "acc-1", concurrency=4)
                    code = 0 if sum(1 for _ in fresh) == PAGES * 100 else 4
            finally:
                os.write(write_end, bytes([code]))
                os._exit(code)
        os.close(write_end)
        handler.release.set()
        rest = sum(1 for _ in walk)  # the parent's walk is the parent's, and goes on
        _, status = os.waitpid(pid, 0)
        child_code = os.read(read_end, 1)
        os.close(read_end)
    assert first["transaction_id"] == "tx-0-0" and rest == PAGES * 100 - 1
    assert child_code == b"\x00" and os.waitstatus_to_exitcode(status) == 0


# ---------------------------------------------------------------------- write_jsonl


RAW_PAGE = (b'{"status":"OK","data":{"type":"transactions","page":{"number":0,"size":100,"total_pages":1},'
            b'"transactions":[{"transaction_id":"t1","description":"caf\\u00e9"},'
            b'{"transaction_id":"t2","description":"half \\ud800 pair"},{"transaction_id":"t3","amount":%s}]}}')


def _export(server: MTLSServer, session: LeanSession, amount: bytes) -> Iterator[Any]:
    server.set_handler(lambda request: Reply(200, RAW_PAGE % amount, headers={"Content-Type": "application/json"}))
    return session.data.export("ent-1", account_ids=["acc-1"], concurrency=2)


@pytest.mark.parametrize("amount", [b"NaN", b"Infinity", b"-Infinity"])
def test_write_jsonl_refuses_non_finite_numbers_naming_the_record(server: MTLSServer, session: LeanSession,
                                                                  tmp_path: Any, amount: bytes) -> None:
    path = tmp_path / "out.jsonl"
    with open(path, "w", encoding="utf-8") as out, pytest.raises(InvalidRequestError) as caught:
        write_jsonl(_export(server, session, amount), out)
    message = str(caught.value)
    assert "record 3" in message and "'acc-1'" in message and "'transactions'" in message
    assert "NaN or Infinity" in message
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["item"]["transaction_id"] for line in lines] == ["t1", "t2"]  # whole lines only


@pytest.mark.parametrize("encoding", ["utf-8", "ascii", "cp1252"])
def test_write_jsonl_escapes_what_the_file_cannot_encode(server: MTLSServer, session: LeanSession,
                                                         tmp_path: Any, encoding: str) -> None:
    path = tmp_path / "out.jsonl"
    with open(path, "w", encoding=encoding) as out:
        assert write_jsonl(_export(server, session, b"12.5"), out) == 3
    raw = path.read_bytes()
    raw.decode(encoding)  # the file is valid in its own encoding
    items = [json.loads(line)["item"] for line in raw.decode(encoding).splitlines()]
    assert [item.get("description") for item in items] == ["café", "half \ud800 pair", None]  # the same strings
    if encoding == "utf-8":
        assert "café".encode() in raw  # UTF-8 text stays readable where it can be written as is


@pytest.mark.parametrize("value", [Decimal("1.10"), datetime(2025, 1, 1, tzinfo=timezone.utc), b"x", {1}])
def test_write_jsonl_names_the_type_json_cannot_hold(value: Any) -> None:
    out = io.StringIO()
    records = [ExportRecord("ent-1", "acc-1", "transactions", {"n": 1}),
               ExportRecord("ent-1", "acc-2", "balances", {"v": value})]
    with pytest.raises(InvalidRequestError) as caught:
        write_jsonl(records, out)
    message = str(caught.value)
    assert "record 2" in message and "'acc-2'" in message and "'balances'" in message
    assert type(value).__name__ in message
    assert out.getvalue().count("\n") == 1


# ---------------------------------------------------------------------- walks sharing a session's pool


class SlowLean:
    """Every page takes ``delay`` seconds (longer than the client's pool_timeout); counts
    the requests in flight at once."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.lock = threading.Lock()
        self.in_flight = 0
        self.peak = 0

    def __call__(self, request: RecordedRequest) -> Reply:
        query = parse_qs(urlsplit(request.path).query)
        number, size = int(query["page"][0]), int(query["size"][0])
        with self.lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        threading.Event().wait(self.delay)  # the server's latency, not asserted on
        body = page_body(number, size)
        with self.lock:
            self.in_flight -= 1
        return Reply(200, body, headers={"Content-Type": "application/json"})


@pytest.mark.parametrize("shared", [True, False], ids=["shared-budget", "own-budgets"])
def test_walks_on_one_session_queue_for_its_pool_instead_of_timing_out(server: MTLSServer,
                                                                       client_files: ClientFiles,
                                                                       shared: bool) -> None:
    handler = SlowLean(delay=0.3)
    server.set_handler(handler)
    budget = ConcurrencyBudget(8)
    results: dict[int, Any] = {}
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=client_files.ca,
                     base_url=server.url, pool_size=2, pool_timeout=0.1, timeout=GUARD) as session:
        def walk(n: int) -> None:
            try:
                concurrency: Any = budget if shared else 4
                results[n] = len(list(session.data.iter_transactions("ent-1", f"acc-{n}", concurrency=concurrency)))
            except Exception as error:
                results[n] = error

        threads = [threading.Thread(target=walk, args=(n,)) for n in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(GUARD * 3)
    assert results == {0: PAGES * 100, 1: PAGES * 100, 2: PAGES * 100}
    assert handler.peak <= 2
    if shared:  # the budget counts requests on the wire, not those waiting for a slot
        assert 1 <= budget.peak_in_flight <= 2 and budget.in_flight == 0
    assert page_threads() == []


def test_a_walk_cancelled_while_queued_for_a_slot_sends_nothing_more(server: MTLSServer,
                                                                    client_files: ClientFiles) -> None:
    handler = GatedLean()
    server.set_handler(handler)
    try:
        with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=client_files.ca,
                         base_url=server.url, pool_size=3, timeout=1.0) as session:
            first = session.data.iter_transactions("ent-1", "acc-A", concurrency=3)
            next(first)
            handler.seen.wait_for(3)  # acc-A pages 1 and 2 hold two of the three slots
            second = session.data.iter_transactions("ent-1", "acc-C", concurrency=3)
            next(second)
            handler.seen.wait_for(5)  # acc-C page 1 holds the last slot; its page 2 queues for one
            second.close()  # type: ignore[attr-defined]
            # acc-C page 2 was never sent (acc-A's pages may be retried meanwhile: that walk goes on)
            assert sorted(parse_qs(urlsplit(r.path).query)["page"][0] for r in server.requests
                          if "/acc-C/" in r.path) == ["0", "1"]
            assert len(page_threads()) <= 2  # only the first walk's workers are left
            handler.release.set()
            assert sum(1 for _ in first) == PAGES * 100 - 1  # the other walk is unharmed
        assert page_threads() == []
    finally:
        handler.release.set()
