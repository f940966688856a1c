"""Retries, pool slots and the silent-rejection probe, over real TLS on 127.0.0.1.

Issue 10 item 2 (a retry re-sends the body it sent the first time, or is not
made), item 3 (unclosed stream=True responses) and item 12 (the probe runs
only where it can learn something; request_sent is never False for a request
that reached the server).
"""

from __future__ import annotations

import gc
import io
import os
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import trustme

from lean_mtls import (
    LeanConnectionError,
    LeanPoolTimeout,
    LeanSession,
    LeanTLSError,
    RetryPolicy,
)
from lean_mtls.testing import MTLSServer, RecordedRequest, Reply

from .conftest import APP_TOKEN, ClientFiles, server_context
from .rawtls import RawTLSServer, read_request

BODY = b'{"amount": 10, "currency": "AED", "note": "' + b"x" * 4000 + b'"}'
UNAVAILABLE = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture()
def sleeps() -> Sleeps:
    return Sleeps()


def make_session(url: str, files: ClientFiles, sleeps: Sleeps, **kwargs: object) -> LeanSession:
    kwargs.setdefault("retries", RetryPolicy(retries=2, sleep=sleeps))
    return LeanSession(APP_TOKEN, cert=files.cert, key=files.key, ca=files.ca, base_url=url,  # type: ignore[arg-type]
                       timeout=(5, 5), **kwargs)


@pytest.fixture()
def tls_context(server_ca: trustme.CA, client_root: trustme.CA) -> ssl.SSLContext:
    return server_context(server_ca, client_root)


def body_of(request: bytes) -> bytes:
    """The body of a recorded raw request, de-chunked."""
    head, _, body = request.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" not in head.lower():
        return body
    out = b""
    while body:
        size, _, rest = body.partition(b"\r\n")
        length = int(size, 16)
        if length == 0:
            break
        out += rest[:length]
        body = rest[length + 2:]
    return out


def unavailable_then_ok(raw_holder: list[RawTLSServer]) -> object:
    def script(sock: socket.socket, index: int) -> None:
        server = raw_holder[0]
        while True:
            request = read_request(sock)
            if not request:
                return
            server.record(request)
            sock.sendall(UNAVAILABLE if len(server.requests) == 1 else OK)

    return script


# ---------------------------------------------------------------------- item 2: bodies on retry


def generator_body() -> Iterator[bytes]:
    yield BODY[:100]
    yield BODY[100:]


class ReadOnce:
    """The shape of requests_toolbelt's MultipartEncoder: read() and a length, no seek."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)
        self.len = len(data)

    def read(self, size: int = -1) -> bytes:
        return self._data.read(size)


@pytest.mark.parametrize("make_body", [
    lambda tmp: generator_body(),
    lambda tmp: iter([BODY]),
    lambda tmp: ReadOnce(BODY),
    lambda tmp: pipe_body(),
], ids=["generator", "iterator", "multipart-encoder-like", "pipe"])
def test_a_body_that_cannot_be_replayed_is_not_retried(tls_context: ssl.SSLContext, client_files: ClientFiles,
                                                       sleeps: Sleeps, tmp_path: Path, make_body: object) -> None:
    holder: list[RawTLSServer] = []
    with RawTLSServer(tls_context, unavailable_then_ok(holder)) as raw:  # type: ignore[arg-type]
        holder.append(raw)
        body = make_body(tmp_path)  # type: ignore[operator]
        try:
            with make_session(raw.url, client_files, sleeps) as session:
                response = session.put("/customers/v1/c-1", data=body, headers={"Content-Type": "application/json"})
        finally:
            if hasattr(body, "close"):
                body.close()
        assert response.status_code == 503  # the first answer is the result
        assert len(raw.requests) == 1 and sleeps == []
        assert body_of(raw.requests[0]) == BODY


def pipe_body() -> io.BufferedReader:
    """A non-seekable file object holding BODY (tell() raises, as for sockets and stdin)."""
    read_end, write_end = os.pipe()
    os.write(write_end, BODY)  # 4 KB fits in the pipe buffer
    os.close(write_end)
    return open(read_end, "rb")  # closed by the test


def test_a_file_body_is_rewound_for_the_retry(server: MTLSServer, client_files: ClientFiles, sleeps: Sleeps,
                                             tmp_path: Path) -> None:
    seen: list[RecordedRequest] = []

    def handler(request: RecordedRequest) -> Reply:
        seen.append(request)
        return Reply(503, {"status": "BUSY"}) if len(seen) == 1 else Reply(200, {"ok": True})

    server.set_handler(handler)
    path = tmp_path / "body.json"
    path.write_bytes(b"HEADER-TO-SKIP" + BODY)
    with make_session(server.url, client_files, sleeps) as session, path.open("rb") as body:
        body.seek(len(b"HEADER-TO-SKIP"))  # the body starts where the file was when it was passed
        response = session.put("/customers/v1/c-1", data=body)
    assert response.status_code == 200
    assert [r.body for r in seen] == [BODY, BODY] and len(sleeps) == 1


def test_bytes_io_body_is_rewound_after_a_dropped_connection(server: MTLSServer, client_files: ClientFiles,
                                                             sleeps: Sleeps) -> None:
    seen: list[RecordedRequest] = []

    def handler(request: RecordedRequest) -> Reply:
        seen.append(request)
        return Reply(fault="reset") if len(seen) == 1 else Reply(200, {"ok": True})

    server.set_handler(handler)
    with make_session(server.url, client_files, sleeps) as session:
        response = session.put("/customers/v1/c-1", data=io.BytesIO(BODY))
    assert response.status_code == 200
    assert [r.body for r in seen] == [BODY, BODY]


def test_a_generator_body_after_a_dropped_connection_raises_the_first_error(
    tls_context: ssl.SSLContext, client_files: ClientFiles, sleeps: Sleeps
) -> None:
    def script(sock: socket.socket, index: int) -> None:
        raw.record(read_request(sock))  # read the whole request, then hang up without answering

    with RawTLSServer(tls_context, script) as raw, make_session(raw.url, client_files, sleeps) as session, \
            pytest.raises(LeanConnectionError) as info:
        session.put("/customers/v1/c-1", data=generator_body())
    assert info.value.request_sent is True and info.value.attempts == 1
    assert len([r for r in raw.requests if r]) == 1 and sleeps == []


# ---------------------------------------------------------------------- item 3: unclosed streamed responses


@pytest.fixture()
def small_pool(server: MTLSServer, client_files: ClientFiles, sleeps: Sleeps) -> Iterator[LeanSession]:
    server.set_handler(lambda r: Reply(200, {"items": list(range(3000))}))
    with make_session(server.url, client_files, sleeps, pool_size=2, pool_timeout=0.3) as session:
        yield session


def test_slots_of_garbage_collected_streams_come_back(small_pool: LeanSession, server: MTLSServer,
                                                      sleeps: Sleeps) -> None:
    before = server.connections
    for _ in range(5):  # many more than the pool holds, none closed, none kept
        response = small_pool.get("/banks/v1/", stream=True)
        assert response.status_code == 200
        del response
    assert small_pool.request_json("GET", "/banks/v1/")["items"][-1] == 2999
    assert sleeps == []  # no pool timeout, no retry
    assert server.connections - before <= 6  # one connection per call at most: no extra handshakes


def test_streams_in_reference_cycles_are_collected_when_the_pool_runs_dry(small_pool: LeanSession,
                                                                           sleeps: Sleeps) -> None:
    gc.disable()  # only the pool's own collection may free them
    try:
        for _ in range(2):
            response = small_pool.get("/banks/v1/", stream=True)
            response.cycle = response  # type: ignore[attr-defined]
            del response
        assert small_pool.request_json("GET", "/banks/v1/")["items"][0] == 0
    finally:
        gc.enable()
    assert sleeps == []


def test_referenced_unclosed_streams_holding_every_slot_are_named(small_pool: LeanSession, sleeps: Sleeps) -> None:
    held = [small_pool.get("/banks/v1/", stream=True) for _ in range(2)]
    with pytest.raises(LeanPoolTimeout) as info:
        small_pool.get("/banks/v1/")
    error = info.value
    assert error.unclosed_streams == 2 and error.phase == "pool"
    assert "stream=True" in str(error) and "close them" in str(error) and "with" in str(error)
    assert "pool_size" not in str(error)  # raising the pool would not help
    assert error.attempts == 1 and sleeps == []  # not retried
    held[0].close()
    assert small_pool.request_json("GET", "/banks/v1/")["items"][0] == 0
    with held[1]:
        assert held[1].json()["items"][1] == 1


def test_a_busy_pool_without_streams_still_advises_pool_size(server: MTLSServer, client_files: ClientFiles,
                                                             sleeps: Sleeps) -> None:
    release = threading.Event()
    server.set_handler(lambda r: (release.wait(5), Reply(200, {}))[1])
    with make_session(server.url, client_files, sleeps, pool_size=1, pool_timeout=0.2, retries=0) as session:
        holder = threading.Thread(target=lambda: session.get("/slow"))
        holder.start()
        try:
            for _ in range(500):  # until the slow request holds the only connection
                if server.requests and server.requests[-1].path == "/slow":
                    break
                threading.Event().wait(0.01)
            with pytest.raises(LeanPoolTimeout) as info:
                session.get("/other")
            assert info.value.unclosed_streams == 0 and "pool_size" in str(info.value)
        finally:
            release.set()
            holder.join(5)


# ---------------------------------------------------------------------- item 12: the probe


def test_no_probe_when_a_reused_keep_alive_connection_is_closed(server: MTLSServer, client_files: ClientFiles,
                                                                sleeps: Sleeps) -> None:
    seen: list[RecordedRequest] = []

    def handler(request: RecordedRequest) -> Reply:
        seen.append(request)
        return Reply(fault="reset") if request.method == "POST" else Reply(200, {"ok": True})

    server.set_handler(handler)
    with make_session(server.url, client_files, sleeps) as session:
        assert session.get("/banks/v1/").status_code == 200
        before = server.connections
        with pytest.raises(LeanConnectionError) as info:
            session.post("/payments/v1/intents", json={"amount": 1})  # no idempotency key: never retried
    assert not isinstance(info.value, LeanTLSError)
    assert info.value.request_sent is True and info.value.attempts == 1
    assert server.connections == before  # no probe handshake: a reused connection says nothing about the cert


def test_a_probe_cut_right_after_its_handshake_is_a_refusal(tls_context: ssl.SSLContext,
                                                            client_files: ClientFiles, sleeps: Sleeps) -> None:
    # Every connection: handshake, then hang up at once, without reading a request.
    with RawTLSServer(tls_context, lambda sock, index: None) as raw, \
            make_session(raw.url, client_files, sleeps) as session, pytest.raises(LeanTLSError) as info:
        session.get("/banks/v1/")
    error = info.value
    assert error.side == "client" and error.code == "client-certificate-rejected"
    assert "CLOSED_AFTER_HANDSHAKE" in str(error)
    assert error.attempts == 1 and sleeps == []
    assert raw.handshakes == 2  # the request's connection and one probe


def test_a_request_read_by_the_server_is_never_reported_unsent(tls_context: ssl.SSLContext,
                                                               client_files: ClientFiles, sleeps: Sleeps) -> None:
    # The server reads the whole request, then breaks the TLS stream (a damaged record):
    # a TLS error, but after the handshake, so the request did reach the server.
    def script(sock: socket.socket, index: int) -> None:
        request = read_request(sock)
        if request:
            raw.record(request)
            os.write(sock.fileno(), b"\x17\x03\x03\x00\x20" + b"\x00" * 32)

    with RawTLSServer(tls_context, script) as raw, make_session(raw.url, client_files, sleeps) as session, \
            pytest.raises(requests.exceptions.ConnectionError) as info:
        session.post("/payments/v1/intents", json={"amount": 1})
    assert len(raw.requests) == 1
    assert getattr(info.value, "request_sent", None) is True
    assert getattr(info.value, "attempts", None) == 1 and sleeps == []
