"""Handshakes plain requests gets right: post-handshake client authentication, every client key type."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import trustme

from lean_mtls import LeanSession
from lean_mtls.testing import MTLSServer

from .conftest import APP_TOKEN, ClientFiles
from .openssl_pki import KEY_KINDS, Issued, make_ca, make_leaf


class PostHandshakeAuthServer:
    """An HTTP/1.1 server that, like Apache with a per-location ``SSLVerifyClient
    require``, completes the TLS 1.3 handshake without asking for a certificate,
    reads the request, and only then asks for one (``verify_client_post_handshake``).
    Answers 200 with the client's CN, or 403 when the client could not be asked."""

    def __init__(self, server_ca: trustme.CA, client_root: trustme.CA) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_3
        server_ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        client_root.configure_trust(context)
        context.verify_mode = ssl.CERT_REQUIRED
        context.post_handshake_auth = True  # server side: ask later, not in the handshake
        self.context = context
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.outcomes: list[str] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                raw, _ = self.listener.accept()
            except OSError:
                return
            with raw:
                try:
                    self._one(raw)
                except (OSError, ssl.SSLError) as exc:
                    self.outcomes.append(f"error: {exc}")

    def _one(self, raw: socket.socket) -> None:
        raw.settimeout(5)
        with self.context.wrap_socket(raw, server_side=True) as tls:
            assert tls.getpeercert() is None  # nothing asked during the handshake
            request = b""
            while b"\r\n\r\n" not in request:
                chunk = tls.recv(4096)
                if not chunk:
                    return
                request += chunk
            try:
                tls.verify_client_post_handshake()
            except ssl.SSLError as exc:  # the client did not offer post_handshake_auth
                self.outcomes.append(f"not offered: {exc.reason}")
                self._answer(tls, 403, b"client certificate required")
                return
            tls.do_handshake()  # sends the CertificateRequest
            tls.settimeout(0.5)
            with contextlib.suppress(socket.timeout, TimeoutError):
                tls.recv(1)  # processes the client's Certificate, then waits for data that never comes
            peer = tls.getpeercert()
            if not peer:
                self.outcomes.append("no certificate")
                self._answer(tls, 403, b"no certificate")
                return
            cn = dict(item[0] for item in peer["subject"])["commonName"]
            self.outcomes.append(f"certificate: {cn}")
            self._answer(tls, 200, cn.encode())

    @staticmethod
    def _answer(tls: ssl.SSLSocket, status: int, body: bytes) -> None:
        head = (f"HTTP/1.1 {status} X\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n").encode()
        tls.sendall(head + body)

    def close(self) -> None:
        """Stop the accept thread *before* the listening socket's descriptor is freed.

        Closing the listener alone leaves the thread inside ``accept()``; when that call is
        restarted (a signal with ``SA_RESTART``) the kernel runs it again with the same
        descriptor *number*, which by then may name the next test's listener: this server
        then takes that test's connection, asks for its client certificate after the
        handshake, refuses it against the wrong CA, and the client sees UNKNOWN_CA from a
        server the test never started.  ``shutdown`` wakes the blocked ``accept()``."""
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self.thread.join(5)
        self.listener.close()


@pytest.fixture()
def pha_server(server_ca: trustme.CA, client_root: trustme.CA) -> Iterator[PostHandshakeAuthServer]:
    server = PostHandshakeAuthServer(server_ca, client_root)
    yield server
    server.close()
    assert not server.thread.is_alive(), "the accept thread outlived its server"


def test_post_handshake_client_authentication_is_offered(
    pha_server: PostHandshakeAuthServer, client_files: ClientFiles,
) -> None:
    url = f"https://127.0.0.1:{pha_server.port}"
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=client_files.ca,
                     base_url=url, retries=0) as s:
        response = s.get("/private/")
    assert (response.status_code, response.text) == (200, "app-1234")
    assert pha_server.outcomes == ["certificate: app-1234"]


def test_post_handshake_server_sees_the_whole_chain(
    pha_server: PostHandshakeAuthServer, client_files: ClientFiles,
) -> None:
    """The server trusts only the client *root*: the intermediate must be sent after the handshake too."""
    url = f"https://127.0.0.1:{pha_server.port}"
    # Resumption off: a resumed session carries the certificate already checked, and the second
    # connection must be a full one to show the chain is sent again.
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=client_files.ca,
                     base_url=url, retries=0, tls_session_resumption=False) as s:
        assert [s.get("/a").status_code, s.get("/b").status_code] == [200, 200]  # new connection each time
    assert pha_server.outcomes == ["certificate: app-1234"] * 2


# --------------------------------------------------------------------------- every key kind (issue 10 item 9)


@pytest.fixture(scope="module")
def openssl_client_pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Issued, Issued]:
    directory = tmp_path_factory.mktemp("openssl-pki")
    root = make_ca(directory, "Key Kinds Root", kind="ec-p256")
    intermediate = make_ca(directory, "Key Kinds Intermediate", kind="rsa", issuer=root, serial="1001")
    return directory, root, intermediate


@pytest.fixture(scope="module")
def key_kinds_server(server_ca: trustme.CA, openssl_client_pki: tuple[Path, Issued, Issued]
                     ) -> Iterator[MTLSServer]:
    _, root, _ = openssl_client_pki
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    context.load_verify_locations(cafile=str(root.cert))
    context.verify_mode = ssl.CERT_REQUIRED
    with MTLSServer(context) as server:
        yield server


@pytest.mark.parametrize("kind", sorted(KEY_KINDS))
def test_every_key_kind_openssl_accepts_completes_a_handshake(
    kind: str, openssl_client_pki: tuple[Path, Issued, Issued], key_kinds_server: MTLSServer,
    server_ca: trustme.CA, tmp_path: Path,
) -> None:
    """Keys made with ``openssl genpkey`` (RSA-PSS included), certificate signed for them."""
    directory, root, intermediate = openssl_client_pki
    serial = str(4000 + sorted(KEY_KINDS).index(kind))  # one issuer never reuses a serial (RFC 5280)
    leaf = make_leaf(directory, f"app-{kind}", intermediate, kind=kind, eku="clientAuth", serial=serial)
    ca = tmp_path / "ca.pem"
    ca.write_bytes(server_ca.cert_pem.bytes() + intermediate.cert.read_bytes() + root.cert.read_bytes())
    # The reference: plain requests with the same files (leaf and intermediate in one cert file).
    combined = tmp_path / "combined.pem"
    combined.write_bytes(leaf.cert.read_bytes() + intermediate.cert.read_bytes())
    assert requests.get(key_kinds_server.url + "/plain", cert=(str(combined), str(leaf.key)),
                        verify=str(ca), timeout=10).status_code == 200
    with LeanSession(APP_TOKEN, cert=leaf.cert, key=leaf.key, ca=ca, base_url=key_kinds_server.url) as s:
        assert s.get("/banks/v1/").status_code == 200
        assert s.certificate is not None and f"CN=app-{kind}" in s.certificate.subject
    assert key_kinds_server.requests[-1].client_subject_cn == f"app-{kind}"


@pytest.mark.parametrize("encrypted", [False, True])
def test_key_cryptography_cannot_read_is_judged_by_openssl(
    encrypted: bool, monkeypatch: pytest.MonkeyPatch, openssl_client_pki: tuple[Path, Issued, Issued],
    key_kinds_server: MTLSServer, server_ca: trustme.CA, tmp_path: Path,
) -> None:
    """cryptography before 43 raised UnsupportedAlgorithm for RSA-PSS keys (and any version does for
    SM2): the key then goes to OpenSSL as given, which matches it to the certificate and uses it."""
    import subprocess

    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives import serialization

    directory, root, intermediate = openssl_client_pki
    leaf = make_leaf(directory, "app-opaque", intermediate, kind="rsa-pss", eku="clientAuth", serial="3002")
    key = leaf.key
    if encrypted:
        key = tmp_path / "encrypted.key"
        subprocess.run(["openssl", "pkcs8", "-topk8", "-in", str(leaf.key), "-out", str(key), "-passout",
                        "pass:opaque-secret"], check=True, capture_output=True)
    real = serialization.load_pem_private_key

    def old_cryptography(data: bytes, password: bytes | None, **kwargs: object) -> object:
        raise UnsupportedAlgorithm("Unsupported key type (simulated cryptography < 43).")

    monkeypatch.setattr(serialization, "load_pem_private_key", old_cryptography)
    ca = tmp_path / "ca.pem"
    ca.write_bytes(server_ca.cert_pem.bytes() + intermediate.cert.read_bytes() + root.cert.read_bytes())
    password = "opaque-secret" if encrypted else None
    with LeanSession(APP_TOKEN, cert=leaf.cert, key=key, key_password=password, ca=ca,
                     base_url=key_kinds_server.url) as s:
        assert s.get("/banks/v1/").status_code == 200
        assert s.credentials is not None and s.credentials.key_matches
    assert key_kinds_server.requests[-1].client_subject_cn == "app-opaque"
    # The same key with another certificate: OpenSSL says it does not fit, and the SDK says so.
    other = make_leaf(directory, "app-other", intermediate, kind="rsa-pss", eku="clientAuth", serial="3003")
    from lean_mtls import CertificateError

    with pytest.raises(CertificateError, match="does not match"):
        LeanSession(APP_TOKEN, cert=other.cert, key=key, key_password=password, ca=ca,
                    base_url=key_kinds_server.url)
    monkeypatch.setattr(serialization, "load_pem_private_key", real)


@pytest.mark.parametrize("container", ["pkcs12", "der-key"])
def test_rsa_pss_key_from_pkcs12_or_der_keeps_its_algorithm(
    container: str, openssl_client_pki: tuple[Path, Issued, Issued], key_kinds_server: MTLSServer,
    server_ca: trustme.CA, tmp_path: Path,
) -> None:
    """cryptography reads an RSA-PSS key out of PKCS#12 or DER as a plain RSA key; written back as
    such, OpenSSL refuses it for its id-RSASSA-PSS certificate (NO_CERTIFICATE_ASSIGNED)."""
    import subprocess

    directory, root, intermediate = openssl_client_pki
    leaf = make_leaf(directory, f"app-pss-{container}", intermediate, kind="rsa-pss", eku="clientAuth",
                     serial="3004")
    ca = tmp_path / "ca.pem"
    ca.write_bytes(server_ca.cert_pem.bytes() + intermediate.cert.read_bytes() + root.cert.read_bytes())
    options: dict[str, object]
    if container == "pkcs12":
        bundle = tmp_path / "app.p12"
        subprocess.run(["openssl", "pkcs12", "-export", "-inkey", str(leaf.key), "-in", str(leaf.cert),
                        "-certfile", str(intermediate.cert), "-passout", "pass:p12-secret", "-out", str(bundle)],
                       check=True, capture_output=True)
        options = {"cert": bundle, "key_password": "p12-secret"}
    else:
        der_key = tmp_path / "app.der"
        subprocess.run(["openssl", "pkey", "-in", str(leaf.key), "-outform", "DER", "-out", str(der_key)],
                       check=True, capture_output=True)
        options = {"cert": leaf.cert, "key": der_key}
    with LeanSession(APP_TOKEN, ca=ca, base_url=key_kinds_server.url, **options) as s:  # type: ignore[arg-type]
        assert s.get("/banks/v1/").status_code == 200
    assert key_kinds_server.requests[-1].client_subject_cn == f"app-pss-{container}"
