"""Reading answers over real TLS: interim 1xx answers, framing in doubt, one
deadline for the whole answer, limits on streamed bodies.

The servers here write raw bytes (tests/raw_tls.py).  Nothing asserts on
elapsed time: deadlines are checked by what the server managed to send before
the client gave up (it would send everything if nobody stopped it).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

import pytest
import requests
import trustme

from lean_mtls import InvalidResponseError, LeanSession, LeanTimeout, _reading
from lean_mtls.testing import MTLSServer, Reply

from .conftest import APP_TOKEN, ClientFiles, server_context
from .raw_tls import Connection, RawTLSServer, response


@pytest.fixture()
def raw_server(server_ca: trustme.CA, client_root: trustme.CA) -> Callable[..., RawTLSServer]:
    started: list[RawTLSServer] = []

    def start(script: Callable[[Connection], None]) -> RawTLSServer:
        server = RawTLSServer(server_context(server_ca, client_root), script).__enter__()
        started.append(server)
        return server

    yield start  # type: ignore[misc]
    for server in started:
        server.__exit__()


def session_for(url: str, files: ClientFiles, **kwargs: object) -> LeanSession:
    options: dict[str, object] = {"retries": 0, "timeout": (5, 5)}
    options.update(kwargs)
    return LeanSession(APP_TOKEN, cert=files.cert, key=files.key, ca=files.ca, base_url=url,
                       **options)  # type: ignore[arg-type]


def numbered(before: Callable[[Connection, int], None]) -> Callable[[Connection], None]:
    """A script answering each request with ``{"n": <request number>}`` after ``before(conn, n)``."""

    def script(conn: Connection) -> None:
        while conn.read_request() is not None:
            n = len(conn.server.requests)
            before(conn, n)
            conn.send(response(201, json.dumps({"n": n}).encode(), headers=["Content-Type: application/json"]))

    return script


# ----------------------------------------------------------------------------- item 1: interim answers

INTERIM = [
    b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload\r\n\r\n",
    b"HTTP/1.1 102 Processing\r\n\r\n",
    b"HTTP/1.1 100 Continue\r\n\r\n",
    b"HTTP/1.1 199 Something New\r\nX-Whatever: 1\r\n\r\n",  # an unknown 1xx: still interim
    b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 102 P\r\n\r\n",
]


@pytest.mark.parametrize("interim", INTERIM, ids=["103", "102", "100", "199", "several"])
@pytest.mark.parametrize("split", [False, True], ids=["one-write", "separate-writes"])
def test_interim_answers_are_skipped_and_never_returned(raw_server: Callable[..., RawTLSServer],
                                                        client_files: ClientFiles, interim: bytes,
                                                        split: bool) -> None:
    def before(conn: Connection, n: int) -> None:
        conn.send(interim)
        if split:
            time.sleep(0.02)

    server = raw_server(numbered(before))
    with session_for(server.url, client_files) as session:
        answers = [session.request_json("POST", "/customers/v1/", json={"i": i}) for i in range(3)]
        first = session.post("/customers/v1/", json={})
    assert answers == [{"n": 1}, {"n": 2}, {"n": 3}]  # each request gets its own answer
    assert first.status_code == 201
    assert server.connections == 1  # skipping interim answers keeps the framing: the connection is reused


def test_101_switching_protocols_ends_the_connection(raw_server: Callable[..., RawTLSServer],
                                                     client_files: ClientFiles) -> None:
    def script(conn: Connection) -> None:
        if conn.read_request() is None:
            return
        if conn.index == 0:
            # Whatever follows a protocol switch is not HTTP/1.1.
            conn.send(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"
                      + response(200, b'{"n": "smuggled"}'))
            time.sleep(0.5)
        else:
            conn.send(response(200, b'{"n": "fresh"}'))

    server = raw_server(script)
    with session_for(server.url, client_files) as session:
        assert session.get("/x").status_code == 101
        assert session.request_json("GET", "/y") == {"n": "fresh"}
    assert server.connections == 2


@pytest.mark.parametrize("late", [False, True], ids=["same-write", "after-a-pause"])
def test_bytes_after_the_body_mean_the_connection_is_not_reused(raw_server: Callable[..., RawTLSServer],
                                                               client_files: ClientFiles, late: bool) -> None:
    def script(conn: Connection) -> None:
        while conn.read_request() is not None:
            n = len(conn.server.requests)
            tail = response(200, b'{"n": "stray"}')
            conn.send(response(200, json.dumps({"n": n}).encode()) + (b"" if late else tail))
            if late:
                time.sleep(0.05)
                conn.send(tail)
                conn.server.note("tail sent")

    server = raw_server(script)
    with session_for(server.url, client_files) as session:
        first = session.request_json("GET", "/a")
        if late:  # the late bytes are in before the next request picks a connection
            _wait_for_notes(server)
        second = session.request_json("GET", "/b")
    assert (first, second) == ({"n": 1}, {"n": 2})
    assert server.connections == 2


# ----------------------------------------------------------------------------- item 4: one deadline


def test_trickled_status_line_and_headers_hit_the_read_deadline(raw_server: Callable[..., RawTLSServer],
                                                                client_files: ClientFiles) -> None:
    head = b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-Pad-%d: %s\r\n" % (i, b"y" * 20) for i in range(20))
    answer = head + b"Content-Length: 2\r\n\r\n{}"

    def script(conn: Connection) -> None:
        if conn.read_request() is not None:
            conn.server.note(conn.trickle(answer, 0.02))  # each byte well inside the read timeout

    server = raw_server(script)
    with session_for(server.url, client_files, timeout=(5, 0.3)) as session, \
            pytest.raises(LeanTimeout) as info:
        session.get("/banks/v1/")
    assert info.value.phase == "read"
    assert isinstance(info.value, requests.exceptions.ReadTimeout)
    _wait_for_notes(server)
    assert server.notes[0] < len(answer)  # the client stopped reading before the answer was complete


ENDLESS = [b"HTTP/1.1 100 Continue\r\n\r\n", b"HTTP/1.1 103 Early Hints\r\nLink: <x>\r\n\r\n"]


@pytest.mark.parametrize("interim", ENDLESS, ids=["100", "103"])
def test_an_endless_stream_of_interim_answers_hits_the_read_deadline(raw_server: Callable[..., RawTLSServer],
                                                                     client_files: ClientFiles,
                                                                     interim: bytes) -> None:
    limit = 1000  # 20 s of interim answers if nobody stopped listening

    def script(conn: Connection) -> None:
        if conn.read_request() is None:
            return
        sent = 0
        while sent < limit and conn.send(interim):
            sent += 1
            time.sleep(0.02)
        conn.server.note(sent)

    server = raw_server(script)
    with session_for(server.url, client_files, timeout=(5, 0.3)) as session, \
            pytest.raises(LeanTimeout) as info:
        session.get("/banks/v1/")
    assert info.value.phase == "read"
    _wait_for_notes(server)
    assert server.notes[0] < limit


# ----------------------------------------------------------------------------- item 5: streamed bodies


def test_a_streamed_body_is_held_to_the_read_deadline(server: MTLSServer, client_files: ClientFiles) -> None:
    body = {"padding": "x" * 200}
    server.set_handler(lambda r: Reply(200, body, delay=0.02, fault="trickle"))
    with session_for(server.url, client_files, timeout=(5, 0.3)) as session:
        streamed = session.get("/banks/v1/", stream=True)
        assert streamed.status_code == 200
        with pytest.raises(LeanTimeout) as info:
            streamed.json()
    assert info.value.phase == "read"


def test_a_streamed_body_slowly_consumed_is_not_the_servers_fault(server: MTLSServer, client_files: ClientFiles,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    server.set_handler(lambda r: Reply(200, {"ok": True}))
    with session_for(server.url, client_files, timeout=(5, 2)) as session:
        # MTLSServer writes status, headers and this small body in one flush (one TLS record):
        # once the headers are read, the body has arrived too.
        streamed = session.get("/banks/v1/", stream=True)
        later = time.monotonic() + 60  # the reader dawdled: the 2 s budget is long spent ...
        monkeypatch.setattr(_reading, "clock", lambda: later)
        assert streamed.json() == {"ok": True}  # ... but the whole body had already arrived


def test_a_streamed_body_declared_over_max_response_bytes_is_refused_at_once(
        server: MTLSServer, client_files: ClientFiles) -> None:
    server.set_handler(lambda r: Reply(200, b"x" * 70000))
    with session_for(server.url, client_files, max_response_bytes=65536) as session, \
            pytest.raises(InvalidResponseError, match="more than 65536 bytes"):
        session.get("/big", stream=True)


@pytest.mark.parametrize("how", ["content", "json", "iter_content", "iter_lines", "raw-iter"])
def test_a_streamed_body_is_held_to_max_response_bytes(raw_server: Callable[..., RawTLSServer],
                                                       client_files: ClientFiles, how: str) -> None:
    block = b"x" * 65536
    blocks = 64  # 4 MiB offered, without a Content-Length, under a 64 KiB limit

    def script(conn: Connection) -> None:
        if conn.read_request() is None:
            return
        conn.send(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        sent = 0
        while sent < blocks and conn.send(b"%x\r\n%s\r\n" % (len(block), block)):
            sent += 1
        conn.server.note(sent)

    server = raw_server(script)
    with session_for(server.url, client_files, max_response_bytes=65536) as session:
        streamed = session.get("/big", stream=True)
        with pytest.raises(InvalidResponseError, match="more than 65536 bytes"):
            if how == "content":
                streamed.content  # noqa: B018
            elif how == "json":
                streamed.json()
            elif how == "iter_content":
                for _ in streamed.iter_content(8192):
                    pass
            elif how == "iter_lines":
                for _ in streamed.iter_lines():
                    pass
            else:
                for _ in streamed.iter_content(None):
                    pass
    _wait_for_notes(server)
    assert server.notes[0] < blocks


def _wait_for_notes(server: RawTLSServer, count: int = 1) -> None:
    for _ in range(500):
        with server.lock:
            if len(server.notes) >= count:
                return
        time.sleep(0.01)
    raise AssertionError("the server script did not finish")



def test_check_ping_honours_its_timeout_on_a_trickling_server(server: MTLSServer, client_files: ClientFiles) -> None:
    """``lean-mtls check --ping --timeout`` streams the answer: the deadline must hold for the body too."""
    import os
    import subprocess
    import sys

    server.set_handler(lambda r: Reply(200, [{"identifier": "x" * 40}] * 10, delay=0.05, fault="trickle"))
    environ = {k: v for k, v in os.environ.items() if not k.startswith("LEAN_")}
    environ["LEAN_APP_TOKEN"] = APP_TOKEN
    result = subprocess.run(
        [sys.executable, "-m", "lean_mtls", "check", "--cert", str(client_files.cert), "--key",
         str(client_files.key), "--ca", str(client_files.ca), "--base-url", server.url, "--ping",
         "--timeout", "0.5", "--json"],
        capture_output=True, text=True, env=environ, timeout=120, check=False,
    )
    assert "Traceback" not in result.stderr, result.stderr
    report = json.loads(result.stdout)
    assert result.returncode != 0
    assert report["ping"]["ok"] is False
    assert report["ping"]["error"]["code"] == "timeout"
    assert report["ping"]["status_code"] == 200  # the headers came in time; the body did not


@pytest.mark.parametrize("head", [
    b"Transfer-Encoding: chunked\r\nContent-Length: 3\r\n",  # both: Transfer-Encoding wins, then close
    b"Transfer-Encoding: chunked\r\nContent-Length: 200\r\n",
    b"Transfer-Encoding: gzip, chunked\r\nContent-Length: 3\r\n",  # not exactly chunked
], ids=["te-and-short-cl", "te-and-long-cl", "te-not-chunked"])
def test_contradictory_framing_ends_the_connection(raw_server: Callable[..., RawTLSServer],
                                                   client_files: ClientFiles, head: bytes) -> None:
    def script(conn: Connection) -> None:
        while conn.read_request() is not None:
            n = len(conn.server.requests)
            if n == 1:
                body = b'{"n": 1}'
                conn.send(b"HTTP/1.1 200 OK\r\n" + head + b"\r\n" + b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
                if b"gzip" in head:
                    return  # read-until-close framing: the server ends the connection
            else:
                conn.send(response(200, json.dumps({"n": n}).encode()))

    server = raw_server(script)
    with session_for(server.url, client_files) as session:
        first = session.get("/a")
        assert session.request_json("GET", "/b") == {"n": 2}
    if b"gzip" not in head:
        assert first.json() == {"n": 1}  # Transfer-Encoding decided the framing
    assert server.connections == 2  # and the connection was not reused
