"""Follow-ups to issue 10 found by a newcomer (BREAK-10), each over real TLS on 127.0.0.1.

Byte-level servers come from tests/raw_tls.py.  Nothing asserts on elapsed
time: deadlines are checked by the phase of the error and by what the server
managed to send before the client gave up.
"""

from __future__ import annotations

import http.client
import json
import ssl
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
import trustme
import urllib3

import lean_mtls
from lean_mtls import LeanSession, errors
from lean_mtls._exceptions import RULES, UnsupportedContentEncoding, map_transport_error

from .conftest import APP_TOKEN, ClientFiles, server_context
from .raw_tls import Connection, RawTLSServer, response


@pytest.fixture()
def raw_server(server_ca: trustme.CA, client_root: trustme.CA) -> Iterator[Callable[..., RawTLSServer]]:
    started: list[RawTLSServer] = []

    def start(script: Callable[[Connection], None]) -> RawTLSServer:
        server = RawTLSServer(server_context(server_ca, client_root), script).__enter__()
        started.append(server)
        return server

    yield start
    for server in started:
        server.__exit__()


def session_for(url: str, files: ClientFiles, **kwargs: Any) -> LeanSession:
    options: dict[str, Any] = {"retries": 0, "timeout": (5, 5)}
    options.update(kwargs)
    return LeanSession(APP_TOKEN, cert=files.cert, key=files.key, ca=files.ca, base_url=url, **options)


def answering(*replies: bytes) -> Callable[[Connection], None]:
    """Answer the n-th request on a connection with ``replies[n]`` (the last one repeats)."""

    def script(conn: Connection) -> None:
        conn.tls.settimeout(0.5)  # an idle client ends the script soon (server teardown waits for it)
        n = 0
        while conn.read_request() is not None:
            conn.send(replies[min(n, len(replies) - 1)])
            n += 1

    return script


#: Retries without waiting between attempts (the backoff's sleep is injected).
RetryNoWait = lean_mtls.RetryPolicy(retries=2, sleep=lambda _: None)
OK = response(200, b'{"ok": true}', headers=["Content-Type: application/json"])


# ----------------------------------------------------------------------------- finding 1: the table's rows


def _failures() -> dict[str, BaseException]:
    """One transport failure per row of the table, as it reaches a call site."""
    with_context = http.client.IncompleteRead(b"")
    with_context.__context__ = ValueError("invalid literal for int() with base 16: b'zz'")
    unparsable = None
    try:
        from urllib.parse import urlsplit

        urlsplit("https://[::1")
    except ValueError as exc:
        unparsable = exc
    assert unparsable is not None
    return {
        "pool-closed": urllib3.exceptions.ClosedPoolError(None, "closed"),  # type: ignore[arg-type]
        "pool-timeout": urllib3.exceptions.EmptyPoolError(None, "empty"),  # type: ignore[arg-type]
        "invalid-json-body": requests.exceptions.InvalidJSONError("Out of range float values"),
        "invalid-header": requests.exceptions.InvalidHeader("bad"),
        "invalid-schema": requests.exceptions.InvalidSchema("No connection adapters"),
        "invalid-url": unparsable,
        "too-many-redirects": requests.exceptions.TooManyRedirects("Exceeded 30 redirects."),
        "proxy": urllib3.exceptions.ProxyError("proxy", OSError("refused")),
        "connect-timeout": urllib3.exceptions.ConnectTimeoutError("timed out"),
        "read-timeout": urllib3.exceptions.ReadTimeoutError(None, "/", "timed out"),  # type: ignore[arg-type]
        "tls": ssl.SSLError(1, "[SSL: TLSV1_ALERT_UNKNOWN_CA] unknown ca"),
        "malformed-response": http.client.LineTooLong("header line"),
        "content-decoding": UnsupportedContentEncoding("came with Content-Encoding 'x-custom'"),
        "not-connected": urllib3.exceptions.NewConnectionError(None, "refused"),  # type: ignore[arg-type]
        "cut-body": urllib3.exceptions.ProtocolError("cut", http.client.IncompleteRead(b"", 5)),
        "broken-connection": urllib3.exceptions.ProtocolError("aborted", ConnectionResetError(104, "reset")),
        "other": UnicodeEncodeError("utf-8", "\udc80", 0, 1, "surrogates not allowed"),
    }


def test_every_row_of_the_table_builds_its_error_with_request_and_response() -> None:
    failures = _failures()
    assert set(failures) == {rule.kind for rule in RULES}, "a row without a failure to exercise it"
    request = requests.Request("GET", "https://127.0.0.1:1/x").prepare()
    answer = requests.Response()
    answer.status_code = 200
    for kind, failure in failures.items():
        rule = next(r for r in RULES if r.matches(_failure_of(failure)))
        assert rule.kind == kind, (kind, rule.kind)
        error = map_transport_error(failure, "https://127.0.0.1:1/x", request=request, response=answer)
        assert isinstance(error, errors.LeanError), kind
        assert error.request is request and error.response is answer, kind
        assert "127.0.0.1" in str(error) or kind in {"invalid-json-body", "invalid-header", "invalid-schema",
                                                     "invalid-url", "other", "pool-closed"}, kind


def _failure_of(exc: BaseException) -> Any:
    from lean_mtls._exceptions import Failure, causes_of, host_of

    return Failure(exc, causes_of(exc), host_of("https://127.0.0.1:1/x"), None, {}, None, False)


@pytest.mark.parametrize("name", sorted(errors.__all__))
def test_every_error_class_takes_request_and_response(name: str) -> None:
    cls = getattr(errors, name)
    fields: dict[str, Any] = {"status_code": 500} if "status_code" in _keywords(cls) else {}
    if "side" in _keywords(cls):
        fields["side"] = "unknown"
    request = requests.Request("GET", "https://127.0.0.1:1/x").prepare()
    error = cls("message", request=request, response=None, **fields)
    assert error.request is request and error.response is None and str(error) == "message"


def _keywords(cls: type) -> set[str]:
    import inspect

    names: set[str] = set()
    for klass in cls.__mro__:
        if "__init__" in vars(klass) and klass.__module__.startswith("lean_mtls"):
            names |= set(inspect.signature(klass.__init__).parameters)
    return names


NOT_LATIN_1_HEADERS = [
    {"X-A": "€"},
    {"X-A": "a\u2028b"},  # a line separator that is not Latin-1 at all
    {"X-A": "\U0001f600"},
    {"X-é": "a"},
    {"X-\u2028": "a"},
]


@pytest.mark.parametrize("headers", NOT_LATIN_1_HEADERS, ids=["euro", "u2028", "emoji", "name-e-acute",
                                                              "name-u2028"])
def test_a_header_http_cannot_carry_is_refused_up_front(raw_server: Callable[..., RawTLSServer],
                                                        client_files: ClientFiles,
                                                        headers: dict[str, str]) -> None:
    server = raw_server(answering(OK))
    with session_for(server.url, client_files) as session:
        with pytest.raises(errors.InvalidHeaderError) as info:
            session.get("/x", headers=headers)
        assert isinstance(info.value, requests.exceptions.InvalidHeader)
        assert "Latin-1" in str(info.value) or "ASCII" in str(info.value)
        assert session.get("/x", headers={"X-A": "caf\u00e9"}).status_code == 200  # Latin-1 is fine
    assert len(server.requests) == 1


@pytest.mark.parametrize("key", ["€", "a\u2028b", "a\x7fb", "a\tb", "key\u0100"])
def test_an_idempotency_key_http_cannot_carry_is_refused_up_front(raw_server: Callable[..., RawTLSServer],
                                                                  client_files: ClientFiles, key: str) -> None:
    server = raw_server(answering(OK))
    with session_for(server.url, client_files) as session, pytest.raises(errors.InvalidRequestError) as info:
        session.post("/x", json={}, idempotency_key=key)
    assert "idempotency_key" in str(info.value)
    assert server.requests == []


# ----------------------------------------------------------------------------- finding 8: json= bodies


@pytest.mark.parametrize("body", [{"a": float("nan")}, {"a": float("inf")}, [float("-inf")], {"a": object()},
                                  {"a": {1, 2}}], ids=["nan", "inf", "-inf", "object", "set"])
def test_a_json_body_that_cannot_be_serialised_is_a_request_error(raw_server: Callable[..., RawTLSServer],
                                                                   client_files: ClientFiles, body: Any) -> None:
    server = raw_server(answering(OK))
    with session_for(server.url, client_files, retries=RetryNoWait) as session:
        for call in (lambda: session.post("/x", json=body), lambda: session.request_json("PUT", "/x", json=body)):
            with pytest.raises(errors.InvalidJSONBodyError) as info:
                call()
            error = info.value
            assert isinstance(error, requests.exceptions.InvalidJSONError)
            assert isinstance(error, errors.InvalidRequestError) and isinstance(error, ValueError)
            assert error.request_sent is False
            assert "broke" not in str(error) and "/x" not in str(error).split(":")[0]
    assert server.requests == []


# ----------------------------------------------------------------------------- finding 7: redirects


@pytest.mark.parametrize("location", ["https://[::1", "//[::1/x", "https://[zz]/"])
def test_a_redirect_to_a_location_that_cannot_be_parsed_is_an_invalid_url(
        raw_server: Callable[..., RawTLSServer], client_files: ClientFiles, location: str) -> None:
    server = raw_server(answering(response(302, headers=[f"Location: {location}"])))
    with session_for(server.url, client_files, allow_other_origins=True) as session:
        with pytest.raises(errors.InvalidURLError) as info:
            session.get("/x")
        assert isinstance(info.value, requests.exceptions.InvalidURL)
        with pytest.raises(errors.InvalidURLError):
            session.request_json("GET", "/x")


# ----------------------------------------------------------------------------- findings 6 and 9: decoding


@pytest.mark.parametrize("coding", ["x-custom", "compress", "gzip, x-custom", "br" , "zstd"])
def test_a_content_encoding_that_cannot_be_decoded_is_a_decoding_error(raw_server: Callable[..., RawTLSServer],
                                                                       client_files: ClientFiles,
                                                                       coding: str) -> None:
    pytest.importorskip("urllib3")
    from lean_mtls._response import unsupported_content_codings

    if not unsupported_content_codings(coding):
        pytest.skip(f"{coding} can be decoded on this installation")
    server = raw_server(answering(response(200, b"\x8b\x00\x01garbage",
                                           headers=["Content-Type: application/json",
                                                    f"Content-Encoding: {coding}"])))
    with session_for(server.url, client_files) as session:
        with pytest.raises(errors.ResponseDecodingError) as info:
            session.request_json("GET", "/x")
        assert info.value.code == "content-decoding-failed" and "cannot decode" in str(info.value)
        assert isinstance(info.value, requests.exceptions.ContentDecodingError)
        for stream in (False, True):
            with pytest.raises(errors.ResponseDecodingError):
                session.get("/x", stream=stream).json()


DEEP = [b"[" * 200_000, b'{"a":' * 100_000, b'[{"a":' * 60_000]


@pytest.mark.parametrize("body", DEEP, ids=["arrays", "objects", "mixed"])
def test_deeply_nested_json_from_response_json_is_an_invalid_response(raw_server: Callable[..., RawTLSServer],
                                                                      client_files: ClientFiles,
                                                                      body: bytes) -> None:
    server = raw_server(answering(response(200, body, headers=["Content-Type: application/json"])))
    with session_for(server.url, client_files) as session:
        for stream in (False, True):
            with pytest.raises(errors.InvalidResponseError) as info:
                session.get("/x", stream=stream).json()
            assert isinstance(info.value, requests.exceptions.JSONDecodeError)  # what requests' .json() raises
            assert isinstance(info.value, ValueError)
            assert "nested" in str(info.value)
        with pytest.raises(errors.ResponseJSONDecodeError):
            session.request_json("GET", "/x")


def test_invalid_json_from_response_json_stays_a_requests_json_error(raw_server: Callable[..., RawTLSServer],
                                                                     client_files: ClientFiles) -> None:
    server = raw_server(answering(response(200, b"<html>no</html>", headers=["Content-Type: text/html"])))
    with session_for(server.url, client_files) as session, pytest.raises(requests.JSONDecodeError) as info:
        session.get("/x").json()
    assert isinstance(info.value, errors.InvalidResponseError)


def test_the_new_classes_are_public() -> None:
    for name in ("InvalidJSONBodyError", "ResponseJSONDecodeError"):
        assert name in lean_mtls.__all__ and getattr(lean_mtls, name) is getattr(errors, name)



# ----------------------------------------------------------------------------- finding 2: a head cut short

CUT_HEADS = [
    b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nContent-Le",  # inside a header line
    b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n",  # complete lines, no blank line
    b"HTTP/1.1 201 Created",  # the status line without its CRLF
    b"HTTP/1.1 201 Created\r\n",  # the status line only
    b"HTTP/1.1 2",  # inside the status line
    b"HTTP/1.1 103 Early Hints\r\n\r\n",  # an interim answer, then nothing
    b"HTTP/1.1 103 Early Hints\r\nLink: </a>",  # inside an interim answer's headers
]
CUT_IDS = ["in-header", "no-blank-line", "status-no-crlf", "status-only", "in-status", "after-interim",
           "in-interim"]


def cut_first(head: bytes) -> Callable[[Connection], None]:
    """The first connection's answer is ``head`` and the connection ends; later ones answer 201."""

    def script(conn: Connection) -> None:
        conn.tls.settimeout(0.5)
        if conn.read_request() is None:
            return
        if conn.index == 0:
            conn.send(head)
            return
        conn.send(response(201, b'{"ok": 1}', headers=["Content-Type: application/json"]))
        while conn.read_request() is not None:
            conn.send(response(201, b'{"ok": 1}', headers=["Content-Type: application/json"]))

    return script


@pytest.mark.parametrize("head", CUT_HEADS, ids=CUT_IDS)
def test_an_answer_cut_inside_its_head_is_a_cut_never_a_success(raw_server: Callable[..., RawTLSServer],
                                                                client_files: ClientFiles, head: bytes) -> None:
    server = raw_server(cut_first(head))
    with session_for(server.url, client_files, retries=RetryNoWait) as session:
        with pytest.raises(errors.IncompleteResponseError) as info:
            session.post("/payments", json={"amount": 1})  # not idempotent: not retried
        error = info.value
        assert error.request_sent is True and error.attempts == 1
        assert isinstance(error, requests.exceptions.ConnectionError)
        assert not isinstance(error, errors.MalformedResponseError)
    assert len(server.requests) == 1


@pytest.mark.parametrize("head", CUT_HEADS, ids=CUT_IDS)
def test_a_cut_head_is_retried_where_a_cut_may_be(raw_server: Callable[..., RawTLSServer],
                                                  client_files: ClientFiles, head: bytes) -> None:
    for method, headers in (("GET", {}), ("POST", {"Idempotency-Key": "k-1"})):
        server = raw_server(cut_first(head))
        with session_for(server.url, client_files, retries=RetryNoWait) as session:
            assert session.request_json(method, "/payments", headers=headers) == {"ok": 1}
        assert len(server.requests) == 2 and server.connections == 2


# ----------------------------------------------------------------------------- finding 3: redirects and bodies


def redirecting(status: int) -> Callable[[Connection], None]:
    def script(conn: Connection) -> None:
        conn.tls.settimeout(0.5)
        while (request := conn.read_request()) is not None:
            line = request.split(b"\r\n", 1)[0]
            if b"/first" in line:
                conn.send(response(status, headers=["Location: /second"]))
            else:
                body = request.partition(b"\r\n\r\n")[2]
                conn.send(response(200, json.dumps({"got": body.decode()}).encode(),
                                   headers=["Content-Type: application/json"]))

    return script


class _Reader:
    """A reader without seek: consumed by one send."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def read(self, size: int = -1) -> bytes:
        data, self._data = self._data, b""
        return data


def _generator() -> Iterator[bytes]:
    yield b"hello"
    yield b"world"


UNREPLAYABLE = {
    "generator": _generator,
    "iterator": lambda: iter([b"hello", b"world"]),
    "map": lambda: map(bytes, [b"hello", b"world"]),
    "reader-without-seek": lambda: _Reader(b"helloworld"),
}


@pytest.mark.parametrize("status", [307, 308])
@pytest.mark.parametrize("kind", sorted(UNREPLAYABLE))
def test_a_307_308_with_a_consumed_body_is_not_followed(raw_server: Callable[..., RawTLSServer],
                                                        client_files: ClientFiles, status: int, kind: str) -> None:
    server = raw_server(redirecting(status))
    with session_for(server.url, client_files) as session:
        answer = session.put("/first", data=UNREPLAYABLE[kind]())
        assert answer.status_code == status and answer.is_redirect
        assert answer.history == []
    # (the raw server reads heads only: a chunked body's bytes show up as "requests" without a method)
    assert [r.split(b" ")[1] for r in server.requests if r.startswith(b"PUT ")] == [b"/first"]  # no PUT /second


@pytest.mark.parametrize("status", [307, 308])
@pytest.mark.parametrize("make", [lambda: b"helloworld", lambda: bytearray(b"helloworld"), lambda: "helloworld",
                                  lambda: memoryview(b"helloworld"), lambda: __import__("io").BytesIO(b"helloworld"),
                                  lambda: _at(__import__("io").BytesIO(b"xxxxxhelloworld"), 5)],
                         ids=["bytes", "bytearray", "str", "memoryview", "BytesIO", "BytesIO-at-5"])
def test_a_307_308_with_a_replayable_body_is_followed_with_the_whole_body(
        raw_server: Callable[..., RawTLSServer], client_files: ClientFiles, status: int,
        make: Callable[[], Any]) -> None:
    server = raw_server(redirecting(status))
    with session_for(server.url, client_files) as session:
        assert session.put("/first", data=make()).json() == {"got": "helloworld"}


def _at(f: Any, position: int) -> Any:
    f.seek(position)
    return f


def test_a_memoryview_body_is_retried_in_full(raw_server: Callable[..., RawTLSServer],
                                              client_files: ClientFiles) -> None:
    def script(conn: Connection) -> None:
        conn.tls.settimeout(0.5)
        while (request := conn.read_request()) is not None:
            if len(conn.server.requests) == 1:
                conn.send(response(503, b"{}", headers=["Content-Type: application/json"]))
            else:
                conn.send(response(200, json.dumps({"got": request.partition(b"\r\n\r\n")[2].decode()}).encode()))

    server = raw_server(script)
    with session_for(server.url, client_files, retries=RetryNoWait) as session:
        assert session.put("/x", data=memoryview(b"helloworld")).json() == {"got": "helloworld"}
    assert len(server.requests) == 2


# ----------------------------------------------------------------------------- finding 11: errors keep no echoed token


def test_an_api_error_keeps_no_echoed_token_in_its_headers(raw_server: Callable[..., RawTLSServer],
                                                            client_files: ClientFiles) -> None:
    def script(conn: Connection) -> None:
        conn.tls.settimeout(0.5)
        while (request := conn.read_request()) is not None:
            token = next(line.split(b":", 1)[1].strip() for line in request.split(b"\r\n")
                         if line.lower().startswith(b"lean-app-token:"))
            conn.send(response(404, b'{"status": "ENTITY_NOT_FOUND"}',
                               headers=["Content-Type: application/json", f"X-Echo: {token.decode()}",
                                        f"X-Debug: seen token={token.decode()}"]))

    server = raw_server(answering(OK))
    server = raw_server(script)
    with session_for(server.url, client_files) as session, pytest.raises(errors.NotFoundError) as info:
        session.request_json("GET", "/customers/v1/1")
    error = info.value
    assert APP_TOKEN not in repr(dict(error.headers)) and APP_TOKEN not in str(error)
    assert "X-Echo" in error.headers and error.headers["X-Debug"].startswith("seen token=")


# ----------------------------------------------------------------------------- finding 14: Decimal timeouts


@pytest.mark.parametrize("timeout", [__import__("decimal").Decimal("2"), (__import__("decimal").Decimal("1.5"), 3),
                                     __import__("fractions").Fraction(5, 2)])
def test_decimal_and_fraction_timeouts_are_numbers(raw_server: Callable[..., RawTLSServer],
                                                   client_files: ClientFiles, timeout: Any) -> None:
    server = raw_server(answering(OK))
    with session_for(server.url, client_files, timeout=timeout) as session:
        assert session.get("/x", timeout=timeout).json() == {"ok": True}


# -------------------------------------------------------------- finding 10: mounts over mount_certificate


def test_a_plain_mount_over_a_mount_certificate_origin_is_refused(raw_server: Callable[..., RawTLSServer],
                                                                  client_files: ClientFiles) -> None:
    lean, other = raw_server(answering(OK)), raw_server(answering(OK))
    with session_for(lean.url, client_files, allow_other_origins=True) as session:
        session.mount_certificate(other.url, cert=client_files.cert, key=client_files.key, ca=client_files.ca)
        host = other.url.split("://", 1)[1]
        for prefix in (other.url + "/", other.url, other.url + "/banks/", f"HTTPS://{host}/", "https://"):
            with pytest.raises(errors.ConfigurationError) as info:
                session.mount(prefix, requests.adapters.HTTPAdapter())
            assert "mount_certificate" in str(info.value)
        assert session.get(other.url + "/z").json() == {"ok": True}  # still over the mounted certificate
    assert other.requests and lean.requests == []


# ----------------------------------------------------------------------------- finding 14: message wording


def test_the_hostname_mismatch_message_has_one_period(server_ca: trustme.CA, client_root: trustme.CA,
                                                      client_files: ClientFiles) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ca.issue_cert("other.example").configure_cert(context)
    with RawTLSServer(context, answering(OK)) as server, session_for(server.url, client_files) as session, \
            pytest.raises(errors.LeanTLSError) as info:
        session.get("/x")
    assert info.value.code == "server-not-trusted"
    assert ".." not in str(info.value)


# ----------------------------------------------------------------------------- finding 13: curves TLS 1.3 cannot sign


@pytest.mark.parametrize("curve", ["brainpoolP256r1", "secp256k1"])
def test_a_key_on_a_curve_tls13_cannot_sign_is_named_at_construction_and_on_rejection(
        raw_server: Callable[..., RawTLSServer], client_root: trustme.CA, client_files: ClientFiles,
        tmp_path: Any, curve: str) -> None:
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    curves: dict[str, type[ec.EllipticCurve]] = {"brainpoolP256r1": ec.BrainpoolP256R1, "secp256k1": ec.SECP256K1}
    key = ec.generate_private_key(curves[curve]())
    issuer_key = serialization.load_pem_private_key(client_root.private_key_pem.bytes(), None)
    issuer = x509.load_pem_x509_certificate(client_root.cert_pem.bytes())
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "app")]))
            .issuer_name(issuer.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=90))
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
            .sign(issuer_key, hashes.SHA256()))  # type: ignore[arg-type]
    cert_path, key_path = tmp_path / "c.pem", tmp_path / "k.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    server = raw_server(answering(OK))
    with pytest.warns(errors.CertificateWarning, match=f"{curve}.*TLS 1.3"):
        session = LeanSession(APP_TOKEN, cert=cert_path, key=key_path, ca=client_files.ca, base_url=server.url,
                              retries=0, timeout=(5, 5))
    with session, pytest.raises(errors.LeanTLSError) as info:
        session.get("/x")
    assert curve in str(info.value)
