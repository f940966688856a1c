"""What verifies Lean's server: ca= bundles as OpenSSL reads them, and the default trust anchors."""

from __future__ import annotations

import logging
import ssl
import warnings
from collections.abc import Iterator
from pathlib import Path

import certifi
import pytest
import trustme

from lean_mtls import LeanSession
from lean_mtls._credentials import load_ca_bundle
from lean_mtls.testing import MTLSServer

from .conftest import APP_TOKEN, ClientFiles, incomplete_chain_is_not_the_point
from .openssl_pki import Issued, ber_length, der_pem, make_ca, make_leaf, pem_der


def openssl_server_context(leaf: Issued, client_root: trustme.CA) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(leaf.cert, leaf.key)
    client_root.configure_trust(context)
    context.verify_mode = ssl.CERT_REQUIRED
    return context


@pytest.fixture()
def strict_warnings() -> Iterator[None]:
    """``python -W error`` for the block: any warning raised is an exception."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def client_chain(client_intermediate: trustme.CA, client_root: trustme.CA) -> bytes:
    return client_intermediate.cert_pem.bytes() + client_root.cert_pem.bytes()


@pytest.mark.parametrize("form", ["pem", "der-file"])
def test_ca_certificate_with_ber_length_verifies_the_server(
    form: str, strict_warnings: None, server: MTLSServer, client_files: ClientFiles, server_ca: trustme.CA,
    client_intermediate: trustme.CA, client_root: trustme.CA, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    ber = ber_length(pem_der(server_ca.cert_pem.bytes()))
    if form == "pem":
        ca: Path | bytes = tmp_path / "ca.pem"
        ca.write_bytes(der_pem(ber) + client_chain(client_intermediate, client_root))
    else:  # a lone DER file: the server CA only; the client chain goes in the cert file
        ca = tmp_path / "ca.der"
        ca.write_bytes(ber)
        client_files.cert.write_bytes(client_files.cert.read_bytes() + client_intermediate.cert_pem.bytes())
    caplog.set_level(logging.DEBUG, logger="lean_mtls")
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=ca, base_url=server.url) as s:
        assert s.get("/banks/v1/").status_code == 200
    assert load_ca_bundle(ca).unreadable == 1
    assert any("skipped for chain building" in r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG)


@pytest.mark.parametrize("serial", ["0", "-5"])
def test_ca_with_zero_or_negative_serial_anchors_the_server(
    serial: str, strict_warnings: None, tmp_path: Path, client_files: ClientFiles, client_intermediate: trustme.CA,
    client_root: trustme.CA,
) -> None:
    """RFC 5280 wants positive serials; real roots (certifi's Starfield Services Root CA G2)
    have serial 0 and OpenSSL accepts them, so the SDK must too, without a warning."""
    root = make_ca(tmp_path, "Odd Serial Root", serial=serial)
    leaf = make_leaf(tmp_path, "server", root, san="IP:127.0.0.1,DNS:localhost")
    ca = tmp_path / "ca.pem"
    ca.write_bytes(root.cert.read_bytes() + client_chain(client_intermediate, client_root))
    with MTLSServer(openssl_server_context(leaf, client_root)) as server, LeanSession(
        APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=ca, base_url=server.url
    ) as s:
        assert s.get("/banks/v1/").status_code == 200
        assert server.requests[-1].client_subject_cn == "app-1234"


def test_certifi_bundle_plus_lean_chain_under_W_error(
    strict_warnings: None, server: MTLSServer, client_files: ClientFiles, tmp_path: Path,
) -> None:
    """certifi's bundle holds certificates cryptography warns about; appending Lean's chain to it
    (a common way to build a corporate bundle) must neither warn nor fail."""
    ca = tmp_path / "corporate-bundle.pem"
    ca.write_bytes(Path(certifi.where()).read_bytes() + client_files.ca.read_bytes())
    bundle = load_ca_bundle(ca)
    assert bundle.unreadable >= 1
    assert len(bundle.der) == len(bundle.certificates) + bundle.unreadable
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=ca, base_url=server.url) as s:
        assert s.get("/banks/v1/").status_code == 200


def test_unreadable_ca_certificate_does_not_hide_the_chain_from_the_bundle(
    strict_warnings: None, tmp_path: Path, server: MTLSServer, client_files: ClientFiles,
    client_intermediate: trustme.CA, client_root: trustme.CA, server_ca: trustme.CA,
) -> None:
    """Certificates cryptography skips are only skipped: the intermediate after them in the
    same bundle still completes the client chain (the server demands it)."""
    odd = make_ca(tmp_path, "Zero Serial Root", serial="0")
    ca = tmp_path / "ca.pem"
    ca.write_bytes(odd.cert.read_bytes() + der_pem(ber_length(pem_der(server_ca.cert_pem.bytes())))
                   + client_chain(client_intermediate, client_root))
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=ca, base_url=server.url) as s:
        assert s.get("/banks/v1/").status_code == 200
    assert load_ca_bundle(ca).unreadable == 2


def test_ca_block_whose_base64_is_broken_is_still_named_damaged(tmp_path: Path) -> None:
    from lean_mtls import CertificateError

    ca = tmp_path / "ca.pem"
    ca.write_bytes(b"-----BEGIN CERTIFICATE-----\nMIIB%%%not-base64\n-----END CERTIFICATE-----\n")
    with pytest.raises(CertificateError, match="damaged"):
        load_ca_bundle(ca)


@incomplete_chain_is_not_the_point
def test_ca_certificate_openssl_refuses_is_a_certificate_error(tmp_path: Path, client_files: ClientFiles) -> None:
    """OpenSSL is the judge of the bundle: what it cannot read either is reported, typed."""
    from lean_mtls import CertificateError

    ca = tmp_path / "ca.pem"
    ca.write_bytes(der_pem(b"\x30\x03\x02\x01\x00"))  # valid base64, not a certificate for anyone
    with pytest.raises(CertificateError, match="refused by OpenSSL"):
        LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=ca, base_url="https://127.0.0.1:1")


# --------------------------------------------------------------------------- default trust (issue 11 item 7)

ENV_CA_VARIABLES = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


@pytest.fixture()
def hostile_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, server_ca: trustme.CA,
                        client_files: ClientFiles, client_intermediate: trustme.CA) -> Path:
    """Every CA environment variable points at a bundle that *would* trust the test server.
    (The client's intermediate moves into the cert file: these sessions have no ca= file.)"""
    client_files.cert.write_bytes(client_files.cert.read_bytes() + client_intermediate.cert_pem.bytes())
    bundle = tmp_path / "env-ca.pem"
    bundle.write_bytes(server_ca.cert_pem.bytes())
    certs_dir = tmp_path / "env-certs"
    certs_dir.mkdir()
    (certs_dir / "ca.pem").write_bytes(server_ca.cert_pem.bytes())
    for name in ENV_CA_VARIABLES:
        monkeypatch.setenv(name, str(certs_dir if name == "SSL_CERT_DIR" else bundle))
    return bundle


def test_without_ca_no_environment_variable_chooses_the_trust_anchors(
    hostile_environment: Path, server: MTLSServer, client_files: ClientFiles,
) -> None:
    from lean_mtls import LeanTLSError

    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, base_url=server.url,
                     retries=0) as s, pytest.raises(LeanTLSError) as caught:
        s.get("/banks/v1/")
    assert caught.value.side == "server"
    assert "certifi" in str(caught.value), str(caught.value)


def test_without_ca_the_session_trusts_certifi(
    hostile_environment: Path, monkeypatch: pytest.MonkeyPatch, server: MTLSServer, client_files: ClientFiles,
    server_ca: trustme.CA, tmp_path: Path,
) -> None:
    """The default is certifi's bundle, read from certifi.where() (stood in for by a bundle
    trusting the test server, since no test reaches a public host)."""
    stand_in = tmp_path / "certifi-cacert.pem"
    stand_in.write_bytes(Path(certifi.where()).read_bytes() + server_ca.cert_pem.bytes())
    monkeypatch.setattr(certifi, "where", lambda: str(stand_in))
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, base_url=server.url) as s:
        assert s.get("/banks/v1/").status_code == 200


def test_default_context_holds_certifi_and_nothing_from_the_environment(hostile_environment: Path) -> None:
    from lean_mtls._tls import build_ssl_context

    context = build_ssl_context(None, None)
    subjects = {dict(item[0] for item in c["subject"]).get("organizationName") for c in context.get_ca_certs()}
    assert "Fake Lean Server CA" not in subjects
    assert context.cert_store_stats()["x509_ca"] == len(load_ca_bundle(certifi.where()).der)


def test_system_store_is_an_explicit_choice_and_ignores_the_environment(
    hostile_environment: Path, monkeypatch: pytest.MonkeyPatch, server: MTLSServer, client_files: ClientFiles,
    server_ca: trustme.CA, tmp_path: Path,
) -> None:
    from lean_mtls import LeanTLSError

    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca="system",
                     base_url=server.url, retries=0) as s, pytest.raises(LeanTLSError, match="system trust store"):
        s.get("/banks/v1/")
    # The system store is OpenSSL's compiled-in location; stand in for it with one that trusts the server.
    system_file = tmp_path / "system-ca.pem"
    system_file.write_bytes(server_ca.cert_pem.bytes())
    real = ssl.get_default_verify_paths()
    monkeypatch.setattr(ssl, "get_default_verify_paths", lambda: real._replace(
        openssl_cafile=str(system_file), openssl_capath=str(tmp_path / "none")))
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca="system",
                     base_url=server.url) as s:
        assert s.get("/banks/v1/").status_code == 200


# --------------------------------------------------------------------------- server names (issue 10 item 7)


def cn_only_server(tmp_path: Path, server_ca: trustme.CA, cn: str) -> ssl.SSLContext:
    """A server certificate whose only name is its subject CN (no subjectAltName)."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    ca_key = serialization.load_pem_private_key(server_ca.private_key_pem.bytes(), None)
    ca_cert = x509.load_pem_x509_certificate(server_ca.cert_pem.bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(ca_key, hashes.SHA256())  # type: ignore[arg-type]
    )
    cert_path, key_path = tmp_path / "cn-only.pem", tmp_path / "cn-only.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    return context


@pytest.mark.parametrize(("cn", "host"), [("localhost", "localhost"), ("127.0.0.1", "127.0.0.1")])
def test_server_named_only_in_subject_cn_is_refused(
    cn: str, host: str, tmp_path: Path, server_ca: trustme.CA, client_files: ClientFiles,
) -> None:
    from lean_mtls import LeanTLSError

    with MTLSServer(cn_only_server(tmp_path, server_ca, cn), host="127.0.0.1") as server:
        url = f"https://{host}:{server.port}"
        with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=client_files.ca,
                         base_url=url, retries=0) as s, pytest.raises(LeanTLSError) as caught:
            s.get("/banks/v1/")
        assert caught.value.side == "server"
        assert "mismatch" in str(caught.value).lower() or "match" in str(caught.value).lower()
        assert server.requests == []


def test_unreadable_intermediate_in_the_cert_file_is_still_sent(
    strict_warnings: None, server: MTLSServer, client_files: ClientFiles, server_ca: trustme.CA,
    client_intermediate: trustme.CA,
) -> None:
    """The sibling on the client side: an intermediate cryptography cannot read, in the cert file,
    is sent as given (the server demands it), not called damaged."""
    from lean_mtls import CertificateWarning, inspect_credentials

    ber_intermediate = der_pem(ber_length(pem_der(client_intermediate.cert_pem.bytes())))
    client_files.cert.write_bytes(client_files.cert.read_bytes() + ber_intermediate)
    result = inspect_credentials(cert=client_files.cert, key=client_files.key, ca=server_ca.cert_pem.bytes())
    assert result.ok
    assert [n.code for n in result.notes if n.code == "cert-file-unreadable"] == ["cert-file-unreadable"]
    assert [w.code for w in result.warnings] == ["chain-maybe-incomplete"]
    with pytest.warns(CertificateWarning, match="may be incomplete"):
        session = LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key,
                              ca=server_ca.cert_pem.bytes(), base_url=server.url)
    with session:
        assert session.get("/banks/v1/").status_code == 200
    assert server.requests[-1].client_subject_cn == "app-1234"


def test_ca_with_an_unknown_extension_anchors_the_server(
    strict_warnings: None, tmp_path: Path, client_files: ClientFiles, client_intermediate: trustme.CA,
    client_root: trustme.CA,
) -> None:
    """An extension neither parser knows (non-critical, as private PKIs add them) is no reason to refuse."""
    from .openssl_pki import openssl

    ext = tmp_path / "odd.ext"
    ext.write_text("basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
                   "1.3.6.1.4.1.99999.1=ASN1:UTF8String:private policy tag\n")
    root = make_ca(tmp_path, "Unknown Extension Root")
    openssl(tmp_path, "x509", "-in", str(root.cert), "-signkey", str(root.key), "-extfile", str(ext),
            "-days", "30", "-out", str(root.cert))  # re-sign with the odd extension added
    leaf = make_leaf(tmp_path, "server", root, san="IP:127.0.0.1,DNS:localhost")
    ca = tmp_path / "ca.pem"
    ca.write_bytes(root.cert.read_bytes() + client_chain(client_intermediate, client_root))
    assert load_ca_bundle(ca).unreadable == 0
    with MTLSServer(openssl_server_context(leaf, client_root)) as server, LeanSession(
        APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=ca, base_url=server.url
    ) as s:
        assert s.get("/banks/v1/").status_code == 200


def test_parsing_bundles_in_many_threads_leaves_the_warning_filters_alone() -> None:
    """Silencing cryptography's warnings swaps process-wide state; sessions built in parallel threads
    must not leave the process with altered warning filters (without the lock: 5 of 5 runs did)."""
    import threading

    before = list(warnings.filters)
    threads = [threading.Thread(target=load_ca_bundle, args=(certifi.where(),)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert warnings.filters == before
