"""Mutual TLS against a real server on 127.0.0.1 that demands a client certificate."""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import stat
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import trustme

import lean_mtls._tls as tls_module
from lean_mtls import (
    CertificateWarning,
    ConfigurationError,
    LeanConnectionError,
    LeanSession,
    LeanTimeout,
    LeanTLSError,
)
from lean_mtls._adapter import LeanAdapter, TLSDescription
from lean_mtls._credentials import load_ca_bundle
from lean_mtls._tls import build_ssl_context
from lean_mtls.testing import MTLSServer, RecordedRequest, Reply

from .conftest import APP_TOKEN, KEY_PASSWORD, ClientFiles, incomplete_chain_is_not_the_point, server_context
from .pki import issue, key_bytes, pkcs12_bytes, write

PASSWORD = KEY_PASSWORD.encode()


def make_session(server: MTLSServer, files: ClientFiles, **kwargs: object) -> LeanSession:
    options: dict[str, object] = {"cert": files.cert, "key": files.key, "ca": files.ca, "base_url": server.url}
    options.update(kwargs)
    return LeanSession(APP_TOKEN, **options)  # type: ignore[arg-type]


def test_get_and_post_over_mtls(server: MTLSServer, client_files: ClientFiles) -> None:
    with make_session(server, client_files) as session:
        response = session.get("/banks/v1/")
        assert response.status_code == 200
        assert isinstance(response, requests.Response)
        assert session.request_json("POST", "customers/v1", json={"app_user_id": "u1"}) == {
            "method": "POST", "path": "/customers/v1"}
    seen = server.requests[-2:]
    assert [r.path for r in seen] == ["/banks/v1/", "/customers/v1"]
    assert all(r.headers["lean-app-token"] == APP_TOKEN for r in seen)
    assert all(r.client_subject_cn == "app-1234" for r in seen)
    assert seen[1].json() == {"app_user_id": "u1"}
    assert seen[0].tls_version in {"TLSv1.2", "TLSv1.3"}


@pytest.mark.parametrize("form", ["pkcs8", "traditional", "der", "pkcs8-encrypted", "traditional-encrypted"])
def test_every_key_form_completes_a_handshake(server: MTLSServer, client_files: ClientFiles,
                                              client_intermediate: trustme.CA, tmp_path: Path,
                                              form: str) -> None:
    leaf = issue(client_intermediate, f"form-{form}", key_type=trustme.KeyType.RSA)
    cert = write(tmp_path / "c.crt", leaf.cert_chain_pems[0].bytes())
    key = write(tmp_path / "k.key", key_bytes(leaf, form, PASSWORD))
    password = KEY_PASSWORD if "encrypted" in form else None
    with LeanSession(APP_TOKEN, cert=cert, key=key, key_password=password, ca=client_files.ca,
                     base_url=server.url) as session:
        assert session.get("/ping").status_code == 200
    assert server.requests[-1].client_subject_cn == f"form-{form}"


def test_pem_bytes_from_a_vault(server: MTLSServer, client_files: ClientFiles) -> None:
    with LeanSession(APP_TOKEN, cert=client_files.cert.read_bytes(), key=client_files.key.read_bytes(),
                     ca=client_files.ca.read_bytes(), base_url=server.url) as session:
        assert session.get("/ping").ok
    assert server.requests[-1].client_subject_cn == "app-1234"


def test_pkcs12_bundle(server: MTLSServer, client_files: ClientFiles, client_leaf: trustme.LeafCert,
                       client_intermediate: trustme.CA, tmp_path: Path) -> None:
    p12 = write(tmp_path / "app.p12", pkcs12_bytes(client_leaf, [client_intermediate.cert_pem], PASSWORD))
    with LeanSession(APP_TOKEN, cert=p12, key_password=KEY_PASSWORD, ca=client_files.ca,
                     base_url=server.url) as session:
        assert session.get("/ping").ok


def test_intermediate_from_the_cert_file_reaches_a_server_that_trusts_only_the_root(
    server: MTLSServer, client_leaf: trustme.LeafCert, client_intermediate: trustme.CA,
    server_ca: trustme.CA, tmp_path: Path,
) -> None:
    # The CA bundle holds only the *server's* CA, so OpenSSL cannot build the
    # client chain from its trust store: the intermediate must be sent from the
    # cert file, placed after the leaf even though the file lists it first.
    cert = write(tmp_path / "c.pem", client_intermediate.cert_pem.bytes() + client_leaf.cert_chain_pems[0].bytes())
    with LeanSession(APP_TOKEN, cert=cert, key=client_leaf.private_key_pem.bytes(),
                     ca=server_ca.cert_pem.bytes(), base_url=server.url) as session:
        assert session.get("/ping").ok


def test_missing_intermediate_warns_then_the_server_rejects(
    server: MTLSServer, client_files: ClientFiles, server_ca: trustme.CA, caplog: pytest.LogCaptureFixture,
) -> None:
    with pytest.warns(CertificateWarning, match="chain sent is incomplete"):
        session = LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key,
                              ca=server_ca.cert_pem.bytes(), base_url=server.url)
    assert any("chain sent is incomplete" in r.getMessage() for r in caplog.records)
    with session, pytest.raises(LeanTLSError) as info:
        session.get("/ping")
    assert info.value.side == "client"
    assert info.value.code == "client-certificate-rejected"
    assert isinstance(info.value, requests.exceptions.SSLError)


@incomplete_chain_is_not_the_point
def test_untrusted_server_certificate(server: MTLSServer, client_files: ClientFiles, tmp_path: Path) -> None:
    foreign = write(tmp_path / "foreign.pem", trustme.CA().cert_pem.bytes())
    with make_session(server, client_files, ca=foreign) as session, pytest.raises(LeanTLSError) as info:
        session.get("/banks/v1")
    assert info.value.side == "server"
    assert info.value.code == "server-not-trusted"
    assert str(foreign) in str(info.value)
    assert "lean_public_cert_chain.pem" in str(info.value)


@incomplete_chain_is_not_the_point
def test_client_certificate_from_an_unknown_ca_is_rejected(server: MTLSServer, client_files: ClientFiles) -> None:
    stranger = issue(trustme.CA(), "stranger")
    served, refused = len(server.requests), len(server.handshake_errors)
    with LeanSession(APP_TOKEN, cert=stranger.cert_chain_pems[0].bytes(), key=stranger.private_key_pem.bytes(),
                     ca=client_files.ca, base_url=server.url) as session, pytest.raises(LeanTLSError) as info:
        session.get("/banks/v1")
    assert info.value.side == "client"
    assert len(server.requests) == served  # nothing reached the application
    deadline = time.monotonic() + 3  # the server thread records the failure after the client sees it
    while len(server.handshake_errors) == refused and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(server.handshake_errors) > refused
    assert "rejected the client certificate" in str(info.value)


@incomplete_chain_is_not_the_point
def test_requests_ca_bundle_cannot_replace_the_configured_ca(
    server: MTLSServer, client_files: ClientFiles, server_ca: trustme.CA, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    foreign = write(tmp_path / "foreign.pem", trustme.CA().cert_pem.bytes())
    # A foreign CA in the environment does not break a correctly configured session...
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(foreign))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(foreign))
    with make_session(server, client_files) as session:
        assert session.trust_env is False
        assert session.get("/ping").ok
    # ...and the right CA in the environment does not rescue a wrongly configured one.
    right = write(tmp_path / "right.pem", server_ca.cert_pem.bytes())
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(right))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(right))
    with make_session(server, client_files, ca=foreign) as session, pytest.raises(LeanTLSError):
        session.get("/ping")


def test_per_request_verify_or_cert_cannot_weaken_the_session(server: MTLSServer, client_files: ClientFiles) -> None:
    before = len(server.requests)
    with make_session(server, client_files) as session:
        with pytest.raises(ConfigurationError, match="verify="):
            session.get("/ping", verify=False)
        with pytest.raises(ConfigurationError, match="verify="):
            session.get("/ping", verify=str(client_files.ca))
        with pytest.raises(ConfigurationError, match="cert="):
            session.get("/ping", cert=(str(client_files.cert), str(client_files.key)))
        assert len(server.requests) == before
        # and the shared context was not touched: a normal request still verifies and works
        assert session.get("/ping").ok


@pytest.fixture()
def other_origin(server_ca: trustme.CA) -> Iterator[MTLSServer]:
    """A second HTTPS origin that asks for (but does not require) a client certificate."""
    context = server_context(server_ca, trustme.CA())
    context.verify_mode = ssl.CERT_OPTIONAL
    with MTLSServer(context) as other:
        yield other


def test_redirect_to_another_origin_carries_neither_token_nor_certificate(
    server: MTLSServer, other_origin: MTLSServer, client_files: ClientFiles,
) -> None:
    target = other_origin.url + "/landing"

    def redirect(request: RecordedRequest) -> Reply:
        if request.path == "/moved":
            return Reply(302, None, {"Location": target})
        return Reply(200, {"ok": True})

    server.set_handler(redirect)
    with make_session(server, client_files) as session:
        # Plain TLS (no client certificate) to the other origin, trusting the test CA.
        ca = load_ca_bundle(client_files.ca)
        session.mount(other_origin.url + "/", LeanAdapter(build_ssl_context(None, ca), TLSDescription("test", None)))
        response = session.get("/moved")
    assert response.status_code == 200
    landed = other_origin.requests[-1]
    assert landed.path == "/landing"
    assert "lean-app-token" not in landed.headers
    assert landed.client_cert is None
    assert server.requests[-1].headers["lean-app-token"] == APP_TOKEN


def test_redirect_within_the_lean_origin_keeps_the_token(server: MTLSServer, client_files: ClientFiles) -> None:
    def redirect(request: RecordedRequest) -> Reply:
        if request.path == "/old":
            return Reply(301, None, {"Location": "/new"})
        return Reply(200, {"path": request.path})

    server.set_handler(redirect)
    with make_session(server, client_files) as session:
        assert session.request_json("GET", "/old") == {"path": "/new"}
    assert server.requests[-1].headers["lean-app-token"] == APP_TOKEN


def test_read_timeout_applies_to_every_request(server: MTLSServer, client_files: ClientFiles) -> None:
    release = threading.Event()

    def stall(request: RecordedRequest) -> Reply:
        release.wait(5)
        return Reply(200, {})

    server.set_handler(stall)
    try:
        with make_session(server, client_files, timeout=(5, 0.3)) as session:
            started = time.monotonic()
            with pytest.raises(LeanTimeout) as info:
                session.get("/slow", timeout=None)  # None means "the session's timeout", never "forever"
            assert time.monotonic() - started < 4
            assert info.value.phase == "read"
            assert isinstance(info.value, requests.exceptions.Timeout)
    finally:
        release.set()


def test_connection_refused_is_a_lean_connection_error(client_files: ClientFiles) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=client_files.ca,
                     base_url=f"https://127.0.0.1:{port}") as session, pytest.raises(LeanConnectionError) as info:
        session.get("/banks/v1")
    assert not isinstance(info.value, LeanTLSError)
    assert f"127.0.0.1:{port}" in str(info.value)
    assert isinstance(info.value, requests.ConnectionError)


def test_plain_http_port_is_reported_as_tls_failure(client_files: ClientFiles) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    def answer_http() -> None:
        conn, _ = listener.accept()
        conn.recv(1024)
        conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        conn.close()

    thread = threading.Thread(target=answer_http, daemon=True)
    thread.start()
    try:
        url = f"https://127.0.0.1:{listener.getsockname()[1]}"
        with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=client_files.ca,
                         base_url=url) as session, pytest.raises(LeanTLSError) as info:
            session.get("/banks/v1")
        assert "may not speak TLS" in str(info.value)
    finally:
        # Wake and join the accept thread before the descriptor is freed (see
        # PostHandshakeAuthServer.close in test_tls_handshakes.py).
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)
        thread.join(2)
        listener.close()


# ---------------------------------------------------------------------- key never on disk in plain


def test_memfd_path_leaves_nothing_in_temp(server: MTLSServer, client_files: ClientFiles, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    if not tls_module._memfd_supported():
        pytest.skip("memfd_create is not available on this platform; the fallback is tested below")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(scratch))
    with make_session(server, client_files) as session:
        assert session.get("/ping").ok
    assert list(scratch.iterdir()) == []


def test_temp_file_fallback_holds_only_an_encrypted_key_and_is_removed(
    server: MTLSServer, client_files: ClientFiles, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(scratch))
    monkeypatch.setattr(tls_module, "_memfd_supported", lambda: False)
    seen: dict[str, object] = {}
    original = tls_module._private_temp_file

    def spy(data: bytes):  # type: ignore[no-untyped-def]
        manager = original(data)

        class Spy:
            def __enter__(self) -> str:
                path = manager.__enter__()
                seen["path"] = path
                seen["mode"] = stat.S_IMODE(os.stat(path).st_mode)
                seen["content"] = Path(path).read_bytes()
                return path

            def __exit__(self, *exc: object) -> None:
                manager.__exit__(*exc)

        return Spy()

    monkeypatch.setattr(tls_module, "_private_temp_file", spy)
    with make_session(server, client_files) as session:
        assert session.get("/ping").ok
    content = seen["content"]
    assert isinstance(content, bytes)
    assert b"-----BEGIN ENCRYPTED PRIVATE KEY-----" in content
    assert b"-----BEGIN PRIVATE KEY-----" not in content
    assert client_files.key.read_bytes().strip() not in content
    assert seen["mode"] == 0o600
    assert not Path(str(seen["path"])).exists()
    assert list(scratch.iterdir()) == []
