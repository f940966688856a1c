"""The one failure table (lean_mtls._exceptions), over real TLS sockets on 127.0.0.1.

Every lean error is also the most specific requests exception for the same
failure (issue 10 item 16); failures that cannot change on another try are
not retried and are named for what they are (item 13); certificate-related
messages blame the certificate only when it is to blame (item 14).
"""

from __future__ import annotations

import contextlib
import gzip
import socket
import ssl
import threading
import zlib
from pathlib import Path

import pytest
import requests
import tenacity
import trustme

from lean_mtls import (
    IncompleteResponseError,
    InvalidHeaderError,
    InvalidRequestError,
    InvalidSchemaError,
    InvalidURLError,
    LeanConnectionError,
    LeanConnectTimeout,
    LeanReadTimeout,
    LeanSession,
    LeanTimeout,
    LeanTLSError,
    MalformedResponseError,
    ResponseDecodingError,
    RetryPolicy,
    TooManyRedirectsError,
)
from lean_mtls.testing import MTLSServer, RecordedRequest, Reply

from .conftest import APP_TOKEN, ClientFiles, server_context
from .rawtls import RawTLSServer, answer, read_request

OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture()
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture()
def tls_context(server_ca: trustme.CA, client_root: trustme.CA) -> ssl.SSLContext:
    return server_context(server_ca, client_root)


def make_session(url: str, files: ClientFiles, sleeps: Sleeps | None = None, **kwargs: object) -> LeanSession:
    kwargs.setdefault("retries", RetryPolicy(retries=2, sleep=sleeps if sleeps is not None else Sleeps()))
    kwargs.setdefault("timeout", (5, 5))
    return LeanSession(APP_TOKEN, cert=files.cert, key=files.key, ca=files.ca, base_url=url, **kwargs)  # type: ignore[arg-type]


def counting(reply: Reply) -> tuple[list[RecordedRequest], object]:
    seen: list[RecordedRequest] = []

    def handler(request: RecordedRequest) -> Reply:
        seen.append(request)
        return reply

    return seen, handler


# ---------------------------------------------------------------------- item 16: the requests class too


def test_read_timeout_is_requests_read_timeout_and_tenacity_retries_it(
    server: MTLSServer, client_files: ClientFiles
) -> None:
    _, handler = counting(Reply(200, {}, delay=0.6))
    server.set_handler(handler)  # type: ignore[arg-type]
    calls = []

    @tenacity.retry(retry=tenacity.retry_if_exception_type(requests.exceptions.ReadTimeout),
                    stop=tenacity.stop_after_attempt(3), wait=tenacity.wait_none(), reraise=True)
    def fetch(session: LeanSession) -> object:
        calls.append(1)
        return session.request_json("GET", "/banks/v1/")

    with make_session(server.url, client_files, retries=0, timeout=(5, 0.2)) as session, \
            pytest.raises(LeanReadTimeout) as info:
        fetch(session)
    assert len(calls) == 3
    error = info.value
    assert isinstance(error, requests.exceptions.ReadTimeout) and isinstance(error, LeanTimeout)
    assert not isinstance(error, requests.exceptions.ConnectTimeout)
    assert error.phase == "read"


def test_tls_handshake_timeout_is_a_connect_timeout_and_even_a_post_is_retried(
    client_files: ClientFiles, sleeps: Sleeps
) -> None:
    # A server that accepts TCP and then says nothing: the TLS handshake never completes.
    silent = threading.Event()
    with RawTLSServer(None, lambda sock, index: silent.wait(5)) as raw:
        try:
            with make_session(raw.url, client_files, sleeps, timeout=(0.2, 5)) as session, \
                    pytest.raises(LeanConnectTimeout) as info:
                session.post("/customers/v1/", json={"app_user_id": "u"})
        finally:
            silent.set()
    error = info.value
    assert isinstance(error, requests.exceptions.ConnectTimeout)
    assert error.phase == "connect" and error.attempts == 3  # nothing was sent: a POST may be retried
    assert raw.accepted == 3 and len(sleeps) == 2


def test_cut_body_is_chunked_encoding_error(server: MTLSServer, client_files: ClientFiles) -> None:
    _, handler = counting(Reply(200, {"items": list(range(2000))}, fault="close_mid_body"))
    server.set_handler(handler)  # type: ignore[arg-type]
    with make_session(server.url, client_files, retries=0) as session, \
            pytest.raises(IncompleteResponseError) as info:
        session.get("/banks/v1/")
    assert isinstance(info.value, requests.exceptions.ChunkedEncodingError)
    assert isinstance(info.value, LeanConnectionError) and info.value.request_sent is True


@pytest.mark.parametrize("cut", [
    b"10\r\n[1,2,3,4,5,6,7,",  # inside a chunk
    b"10\r\n[1,2,3,4,5,6,7,8\r\n",  # right after a chunk, before the next size line
])
def test_cut_chunked_body_is_chunked_encoding_error(tls_context: ssl.SSLContext, client_files: ClientFiles,
                                                   cut: bytes) -> None:
    cut = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" + cut

    def script(sock: socket.socket, index: int) -> None:
        answer(sock, raw, cut)

    with RawTLSServer(tls_context, script) as raw, make_session(raw.url, client_files, retries=0) as session, \
            pytest.raises(IncompleteResponseError) as info:
        session.get("/banks/v1/")
    assert isinstance(info.value, requests.exceptions.ChunkedEncodingError)


@pytest.mark.parametrize(("encoding", "body"), [
    ("gzip", b"this is not gzip at all"),
    ("gzip", gzip.compress(b'{"a": 1}' * 50)[:10] + b"\xff" * 40),  # a gzip header, then damage
    ("deflate", b"\x00\x01 not deflate"),
])
def test_undecodable_body_is_content_decoding_error_and_not_retried(
    server: MTLSServer, client_files: ClientFiles, sleeps: Sleeps, encoding: str, body: bytes
) -> None:
    seen, handler = counting(Reply(200, body, {"Content-Type": "application/json", "Content-Encoding": encoding}))
    server.set_handler(handler)  # type: ignore[arg-type]
    with make_session(server.url, client_files, sleeps) as session, pytest.raises(ResponseDecodingError) as info:
        session.get("/banks/v1/")
    assert isinstance(info.value, requests.exceptions.ContentDecodingError)
    assert len(seen) == 1 and sleeps == []


def test_good_deflate_still_decodes(server: MTLSServer, client_files: ClientFiles) -> None:
    server.set_handler(lambda r: Reply(200, zlib.compress(b'{"ok": true}'),
                                       {"Content-Type": "application/json", "Content-Encoding": "deflate"}))
    with make_session(server.url, client_files) as session:
        assert session.request_json("GET", "/banks/v1/") == {"ok": True}


def test_redirect_loop_is_too_many_redirects(server: MTLSServer, client_files: ClientFiles) -> None:
    seen, handler = counting(Reply(302, b"", {"Location": "/loop"}))
    server.set_handler(handler)  # type: ignore[arg-type]
    with make_session(server.url, client_files) as session, pytest.raises(TooManyRedirectsError) as info:
        session.max_redirects = 4
        session.get("/loop")
    assert isinstance(info.value, requests.exceptions.TooManyRedirects)
    assert len(seen) == 5


@pytest.mark.filterwarnings("ignore::lean_mtls.errors.CertificateWarning")  # the foreign CA lacks the client chain
def test_untrusted_server_is_ssl_error(server: MTLSServer, client_files: ClientFiles, tmp_path: Path) -> None:
    foreign = tmp_path / "foreign.pem"
    foreign.write_bytes(trustme.CA().cert_pem.bytes())
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=foreign,
                     base_url=server.url) as session, pytest.raises(LeanTLSError) as info:
        session.get("/banks/v1/")
    assert isinstance(info.value, requests.exceptions.SSLError)
    assert info.value.code == "server-not-trusted" and info.value.attempts == 1


@pytest.mark.parametrize(("url", "cls", "requests_cls"), [
    ("https://lean.test:99999/x", InvalidURLError, requests.exceptions.InvalidURL),
    ("https://[::1/x", InvalidURLError, requests.exceptions.InvalidURL),
    ("ftp://lean.test/x", InvalidSchemaError, requests.exceptions.InvalidSchema),
])
def test_unusable_urls(server: MTLSServer, client_files: ClientFiles, url: str, cls: type[Exception],
                       requests_cls: type[Exception]) -> None:
    with make_session(server.url, client_files) as session, pytest.raises(cls) as info:
        session.get(url)
    assert isinstance(info.value, requests_cls) and isinstance(info.value, InvalidRequestError)
    assert not server.requests or server.requests[-1].path != "/x"


@pytest.mark.parametrize("headers", [
    {"X-Injected": "a\r\nSet-Cookie: b"},
    {"X-Injected": "a\nb"},
    {"X-Bad\r\nName": "v"},
    {"X-Lead": " leading space"},
])
def test_unsendable_headers(server: MTLSServer, client_files: ClientFiles, headers: dict[str, str]) -> None:
    before = len(server.requests)
    with make_session(server.url, client_files) as session, pytest.raises(InvalidHeaderError) as info:
        session.get("/x", headers=headers)
    assert isinstance(info.value, requests.exceptions.InvalidHeader) and isinstance(info.value, InvalidRequestError)
    assert len(server.requests) == before


# ---------------------------------------------------------------------- item 13: deterministic failures


MALFORMED = {
    "101 headers": b"HTTP/1.1 200 OK\r\n" + b"".join(b"X-H%d: v\r\n" % i for i in range(101))
    + b"Content-Length: 2\r\n\r\n{}",
    "invalid status line": b"HTTP/1.1 abc OK\r\nContent-Length: 2\r\n\r\n{}",
    "not HTTP at all": b"SSH-2.0-OpenSSH_9.6\r\n\r\n",
    "unknown protocol": b"HTTP/2.0 200 OK\r\nContent-Length: 2\r\n\r\n{}",
    "over-long header line": b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 70000 + b"\r\nContent-Length: 2\r\n\r\n{}",
    "over-long status line": b"HTTP/1.1 200 " + b"O" * 70000 + b"\r\nContent-Length: 2\r\n\r\n{}",
    "conflicting Content-Length": b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
    "chunk size not hex": b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
}


@pytest.mark.parametrize("kind", list(MALFORMED))
def test_malformed_answers_are_named_and_not_retried(tls_context: ssl.SSLContext, client_files: ClientFiles,
                                                     sleeps: Sleeps, kind: str) -> None:
    def script(sock: socket.socket, index: int) -> None:
        answer(sock, raw, MALFORMED[kind])

    with RawTLSServer(tls_context, script) as raw, make_session(raw.url, client_files, sleeps) as session, \
            pytest.raises(MalformedResponseError) as info:
        session.get("/banks/v1/")
    error = info.value
    assert isinstance(error, requests.exceptions.ConnectionError)
    assert error.code == "malformed-response" and "not valid HTTP" in str(error)
    assert error.attempts == 1 and sleeps == [] and len(raw.requests) == 1


def test_a_closed_keep_alive_connection_is_still_retried(tls_context: ssl.SSLContext, client_files: ClientFiles,
                                                         sleeps: Sleeps) -> None:
    # The sibling that must stay transient: a keep-alive connection the server
    # closes without answering (RemoteDisconnected is a BadStatusLine too).
    def script(sock: socket.socket, index: int) -> None:
        answer(sock, raw, OK)
        if index == 0:
            raw.record(read_request(sock))  # the second request: read, then hang up without a word

    with RawTLSServer(tls_context, script) as raw, make_session(raw.url, client_files, sleeps) as session:
        assert session.request_json("GET", "/banks/v1/") == {}
        assert session.request_json("GET", "/banks/v1/") == {}
    assert len(raw.requests) == 3 and len(sleeps) == 1 and raw.accepted == 2


def test_unsupported_protocol_is_named_and_not_retried(server_ca: trustme.CA, client_root: trustme.CA,
                                                       client_files: ClientFiles, sleeps: Sleeps) -> None:
    context = server_context(server_ca, client_root)
    with pytest.warns(DeprecationWarning):
        context.maximum_version = ssl.TLSVersion.TLSv1_1
    with RawTLSServer(context, lambda sock, index: None) as raw, \
            make_session(raw.url, client_files, sleeps) as session, pytest.raises(LeanTLSError) as info:
        session.get("/banks/v1/")
    error = info.value
    assert error.code == "tls-negotiation-failed" and error.attempts == 1 and sleeps == []
    assert "not the cause" in str(error) and "rejected the client certificate" not in str(error)
    assert raw.accepted == 1


# ---------------------------------------------------------------------- item 14: certificate messages


def test_cipher_mismatch_does_not_blame_the_certificate(server_ca: trustme.CA, client_root: trustme.CA,
                                                        client_files: ClientFiles) -> None:
    context = server_context(server_ca, client_root)
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.set_ciphers("AES256-GCM-SHA384")  # RSA key exchange only: no forward secrecy, which we refuse
    with RawTLSServer(context, lambda sock, index: None) as raw, make_session(raw.url, client_files) as session, \
            pytest.raises(LeanTLSError) as info:
        session.get("/banks/v1/")
    error = info.value
    assert error.code == "tls-negotiation-failed" and error.side == "unknown"
    assert "before any certificate was exchanged" in str(error)
    assert "cert=" not in str(error) and "rejected" not in str(error)
    assert raw.handshakes == 0


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
def test_certificate_required_on_a_session_without_one(server_ca: trustme.CA, client_root: trustme.CA,
                                                       client_files: ClientFiles, version: ssl.TLSVersion) -> None:
    context = server_context(server_ca, client_root)
    context.maximum_version = version
    with MTLSServer(context) as server, LeanSession(APP_TOKEN, ca=client_files.ca, base_url=server.url,
                                                     retries=0) as session, pytest.raises(LeanTLSError) as info:
        session.get("/banks/v1/")
    error = info.value
    assert "requires a client certificate and the session has none" in str(error)
    assert error.code == "client-certificate-required" and error.side == "client"
    assert "rejected the client certificate" not in str(error)


def test_a_rejected_certificate_under_tls_1_2_is_still_the_certificate(
    server_ca: trustme.CA, client_files: ClientFiles
) -> None:
    context = server_context(server_ca, trustme.CA())  # trusts some other client CA
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    with MTLSServer(context) as server, make_session(server.url, client_files) as session, \
            pytest.raises(LeanTLSError) as info:
        session.get("/banks/v1/")
    assert info.value.side == "client" and "rejected the client certificate" in str(info.value)


def test_a_trickling_body_is_a_requests_read_timeout(server: MTLSServer, client_files: ClientFiles) -> None:
    server.set_handler(lambda r: Reply(200, {"padding": "x" * 20}, delay=0.1, fault="trickle"))
    with make_session(server.url, client_files, retries=0, timeout=(5, 0.5)) as session, \
            pytest.raises(LeanReadTimeout) as info:
        session.request_json("GET", "/banks/v1/")
    assert isinstance(info.value, requests.exceptions.ReadTimeout)


def test_a_cut_streamed_body_is_chunked_encoding_error(server: MTLSServer, client_files: ClientFiles) -> None:
    server.set_handler(lambda r: Reply(200, {"items": list(range(20000))}, fault="close_mid_body"))
    with make_session(server.url, client_files, retries=0) as session, \
            session.get("/banks/v1/", stream=True) as response, pytest.raises(IncompleteResponseError) as info:
        for _ in response.iter_content(4096):
            pass
    assert isinstance(info.value, requests.exceptions.ChunkedEncodingError)


def test_through_a_proxy_a_handshake_failure_is_still_unsent(server_ca: trustme.CA, client_root: trustme.CA,
                                                             client_files: ClientFiles, sleeps: Sleeps) -> None:
    from .test_proxy import ConnectProxy

    class QuietProxy(ConnectProxy):
        def _tunnel(self, client: socket.socket) -> None:
            with contextlib.suppress(OSError):  # the refusing server resets the tunnel
                super()._tunnel(client)

    context = server_context(server_ca, client_root)
    with pytest.warns(DeprecationWarning):
        context.maximum_version = ssl.TLSVersion.TLSv1_1
    proxy = QuietProxy()
    try:
        with RawTLSServer(context, lambda sock, index: None) as raw, \
                make_session(raw.url, client_files, sleeps, proxies={"https": proxy.url}) as session, \
                pytest.raises(LeanTLSError) as info:
            session.get("/banks/v1/")
    finally:
        proxy.close()
    # (Whether the server's alert or only the EOF makes it through the tunnel varies; either way the
    # handshake failed, so nothing was sent.)
    assert info.value.request_sent is False and "after the request was sent" not in str(info.value)
    assert isinstance(info.value, requests.exceptions.SSLError) and sleeps == []

