"""One credential inspection for the session and the doctor: chain choice, clock skew, usage, findings."""

from __future__ import annotations

import datetime as dt
import ssl
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

import lean_mtls
import lean_mtls._credentials as credentials_module
from lean_mtls import (
    CLOCK_SKEW_TOLERANCE,
    CertificateError,
    CertificateWarning,
    ConfigurationError,
    CredentialInspection,
    LeanSession,
    LeanTLSError,
    inspect_credentials,
)
from lean_mtls.testing import MTLSServer

from .conftest import APP_TOKEN, ClientFiles

PEM = serialization.Encoding.PEM
#: The fixed clock of these tests: every certificate is dated relative to it.
T0 = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc)


class Made:
    """A certificate and its key, made with cryptography against the fixed clock."""

    def __init__(self, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
        self.cert, self.key = cert, key

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(PEM)

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def make(subject: str, issuer: Made | None, *, key: ec.EllipticCurvePrivateKey | None = None, ca: bool = False,
         not_before: dt.datetime | None = None, not_after: dt.datetime | None = None,
         eku: list[x509.ObjectIdentifier] | None = None) -> Made:
    key = key or ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Inspection PKI"),
                      x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.cert.subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or T0 - dt.timedelta(days=30))
        .not_valid_after(not_after or T0 + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False),
            critical=True)
    if eku is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    signer = issuer.key if issuer else key
    return Made(builder.sign(signer, hashes.SHA256()), key)


@pytest.fixture()
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dt.datetime]]:
    """The credentials layer's clock, set by the test (no wall-clock reads)."""
    now = [T0]
    monkeypatch.setattr(credentials_module, "utcnow", lambda: now[0])
    yield now


@pytest.fixture()
def pki() -> dict[str, Made]:
    root = make("Inspection Root", None, ca=True, not_before=T0 - dt.timedelta(days=3650),
                not_after=T0 + dt.timedelta(days=3650))
    int_key = ec.generate_private_key(ec.SECP256R1())
    expired = make("Inspection Intermediate", root, key=int_key, ca=True,
                   not_before=T0 - dt.timedelta(days=800), not_after=T0 - dt.timedelta(days=30))
    current = make("Inspection Intermediate", root, key=int_key, ca=True,
                   not_before=T0 - dt.timedelta(days=60), not_after=T0 + dt.timedelta(days=1000))
    leaf = make("app-5678", current, eku=[ExtendedKeyUsageOID.CLIENT_AUTH])
    return {"root": root, "expired": expired, "current": current, "leaf": leaf}


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


# --------------------------------------------------------------------------- the public inspection


def test_inspection_reports_identity_chain_sources_and_nothing_secret(
    clock: list[dt.datetime], pki: dict[str, Made], tmp_path: Path,
) -> None:
    cert = write(tmp_path, "cert.pem", pki["leaf"].pem)
    key = write(tmp_path, "key.pem", pki["leaf"].key_pem)
    ca = write(tmp_path, "ca.pem", pki["current"].pem + pki["root"].pem)
    result = inspect_credentials(cert=cert, key=key, ca=ca)
    assert isinstance(result, CredentialInspection)
    assert result.ok and result.key_matches and result.validity == "valid"
    assert result.certificate.subject == "CN=app-5678,O=Inspection PKI"
    assert [(c.info.subject, c.source) for c in result.chain] == [
        ("CN=app-5678,O=Inspection PKI", "cert file"), ("CN=Inspection Intermediate,O=Inspection PKI", "CA bundle")]
    assert result.root is not None and result.root.info.subject == "CN=Inspection Root,O=Inspection PKI"
    assert result.client_auth is True and result.chain_complete
    assert result.checked_at == T0
    key_body = pki["leaf"].key_pem.decode().splitlines()[1]
    assert key_body not in repr(result) and key_body not in str(result)


def test_inspection_reports_key_mismatch_instead_of_raising(
    clock: list[dt.datetime], pki: dict[str, Made], tmp_path: Path,
) -> None:
    other = make("someone-else", pki["current"])
    result = inspect_credentials(cert=write(tmp_path, "c.pem", pki["leaf"].pem),
                                 key=write(tmp_path, "k.pem", other.key_pem))
    assert not result.key_matches
    assert [p.code for p in result.fatal] == ["key-mismatch"]


# --------------------------------------------------------------------------- issue 10 item 11: valid copies first


def test_chain_prefers_the_valid_copy_of_an_intermediate(
    clock: list[dt.datetime], pki: dict[str, Made], tmp_path: Path,
) -> None:
    cert = write(tmp_path, "cert.pem", pki["leaf"].pem)
    key = write(tmp_path, "key.pem", pki["leaf"].key_pem)
    ca = write(tmp_path, "ca.pem", pki["expired"].pem + pki["current"].pem + pki["root"].pem)
    result = inspect_credentials(cert=cert, key=key, ca=ca)
    assert result.ok, result.problems
    assert result.chain[1].info.not_after == pki["current"].cert.not_valid_after_utc
    assert result.chain[1].valid_now
    # Only the expired copy: the inspection says so truthfully (the doctor prints this verdict).
    only_expired = write(tmp_path, "old.pem", pki["expired"].pem + pki["root"].pem)
    stale = inspect_credentials(cert=cert, key=key, ca=only_expired)
    assert stale.chain_complete
    assert [p.code for p in stale.problems] == ["intermediate-not-valid"]
    assert "Inspection Intermediate" in stale.problems[0].message


def test_server_accepts_the_chain_when_an_expired_intermediate_comes_first(
    pki: dict[str, Made], tmp_path: Path, server_ca: trustme.CA,
) -> None:
    """Real handshake: the server trusts the root only and checks every certificate's dates
    against the real clock, so the PKI is dated around now here (the SDK reads its own clock)."""
    now = dt.datetime.now(dt.timezone.utc)
    root = make("Handshake Root", None, ca=True, not_before=now - dt.timedelta(days=10),
                not_after=now + dt.timedelta(days=100))
    int_key = ec.generate_private_key(ec.SECP256R1())
    expired = make("Handshake Intermediate", root, key=int_key, ca=True,
                   not_before=now - dt.timedelta(days=9), not_after=now - dt.timedelta(days=1))
    current = make("Handshake Intermediate", root, key=int_key, ca=True,
                   not_before=now - dt.timedelta(days=1), not_after=now + dt.timedelta(days=90))
    leaf = make("app-expiry", current, eku=[ExtendedKeyUsageOID.CLIENT_AUTH],
                not_before=now - dt.timedelta(days=1), not_after=now + dt.timedelta(days=80))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ca.issue_cert("127.0.0.1").configure_cert(context)
    context.load_verify_locations(cadata=root.pem.decode())
    context.verify_mode = ssl.CERT_REQUIRED
    cert = write(tmp_path, "cert.pem", leaf.pem)
    key = write(tmp_path, "key.pem", leaf.key_pem)
    ca = write(tmp_path, "ca.pem", server_ca.cert_pem.bytes() + expired.pem + current.pem + root.pem)
    with MTLSServer(context) as server, LeanSession(APP_TOKEN, cert=cert, key=key, ca=ca,
                                                    base_url=server.url) as s:
        assert s.get("/banks/v1/").status_code == 200
        assert server.requests[-1].client_subject_cn == "app-expiry"


# --------------------------------------------------------------------------- issue 12 item 10: clock skew


@pytest.mark.parametrize("ahead", [dt.timedelta(seconds=30), dt.timedelta(minutes=2), CLOCK_SKEW_TOLERANCE])
def test_small_clock_skew_is_tolerated_with_a_warning_naming_it(
    ahead: dt.timedelta, clock: list[dt.datetime], pki: dict[str, Made], tmp_path: Path,
) -> None:
    fresh = make("app-fresh", pki["current"], not_before=T0 + ahead, eku=[ExtendedKeyUsageOID.CLIENT_AUTH])
    cert = write(tmp_path, "cert.pem", fresh.pem)
    key = write(tmp_path, "key.pem", fresh.key_pem)
    ca = write(tmp_path, "ca.pem", pki["current"].pem + pki["root"].pem)
    result = inspect_credentials(cert=cert, key=key, ca=ca)
    assert result.ok and result.validity == "clock-skew" and result.clock_skew == ahead
    with pytest.warns(CertificateWarning) as caught:
        session = LeanSession(APP_TOKEN, cert=cert, key=key, ca=ca, base_url="https://127.0.0.1:9")
    spelled = f"{int(ahead.total_seconds()) // 60} min" if ahead >= dt.timedelta(minutes=1) else "30 s"
    assert any(spelled in str(w.message) and "skew" in str(w.message) for w in caught)
    with session, pytest.warns(CertificateWarning):
        session.reload_certificates(cert=cert, key=key)


def test_clock_skew_beyond_the_tolerance_is_refused_everywhere(
    clock: list[dt.datetime], pki: dict[str, Made], tmp_path: Path, client_files: ClientFiles,
) -> None:
    ahead = CLOCK_SKEW_TOLERANCE + dt.timedelta(seconds=1)
    future = make("app-future", pki["current"], not_before=T0 + ahead, eku=[ExtendedKeyUsageOID.CLIENT_AUTH])
    cert = write(tmp_path, "cert.pem", future.pem)
    key = write(tmp_path, "key.pem", future.key_pem)
    ca = write(tmp_path, "ca.pem", pki["current"].pem + pki["root"].pem)
    result = inspect_credentials(cert=cert, key=key, ca=ca)
    assert result.validity == "not-yet-valid" and [p.code for p in result.fatal] == ["not-yet-valid"]
    with pytest.raises(CertificateError, match=r"not valid until .*5 min 1 s"):
        LeanSession(APP_TOKEN, cert=cert, key=key, ca=ca, base_url="https://127.0.0.1:9")
    good = write(tmp_path, "good.pem", pki["leaf"].pem)
    good_key = write(tmp_path, "good.key", pki["leaf"].key_pem)
    with LeanSession(APP_TOKEN, cert=good, key=good_key, ca=ca, base_url="https://127.0.0.1:9") as s:
        with pytest.raises(CertificateError, match="not valid until"):
            s.reload_certificates(cert=cert, key=key)
        assert s.certificate is not None and "app-5678" in s.certificate.subject  # the old one stays


# --------------------------------------------------------------------------- issue 12 item 6: the known cause


def rejecting_server(server_ca: trustme.CA, root: Made) -> MTLSServer:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ca.issue_cert("127.0.0.1").configure_cert(context)
    context.load_verify_locations(cadata=root.pem.decode())
    context.verify_mode = ssl.CERT_REQUIRED
    return MTLSServer(context)


def test_certificate_without_client_auth_warns_loudly_and_the_rejection_names_it(
    tmp_path: Path, server_ca: trustme.CA,
) -> None:
    now = dt.datetime.now(dt.timezone.utc)  # the server checks dates against the real clock
    root = make("Usage Root", None, ca=True, not_before=now - dt.timedelta(days=1))
    server_only = make("app-server-cert", root, eku=[ExtendedKeyUsageOID.SERVER_AUTH],
                       not_before=now - dt.timedelta(days=1), not_after=now + dt.timedelta(days=30))
    cert = write(tmp_path, "cert.pem", server_only.pem)
    key = write(tmp_path, "key.pem", server_only.key_pem)
    ca = write(tmp_path, "ca.pem", server_ca.cert_pem.bytes() + root.pem)
    with rejecting_server(server_ca, root) as server:
        with pytest.warns(CertificateWarning, match="clientAuth"):
            session = LeanSession(APP_TOKEN, cert=cert, key=key, ca=ca, base_url=server.url, retries=0)
        with session, pytest.raises(LeanTLSError) as caught:
            session.get("/banks/v1/")
    assert caught.value.side == "client"
    assert "Known cause" in str(caught.value) and "clientAuth" in str(caught.value)


def test_incomplete_chain_warns_loudly_and_the_rejection_names_the_missing_issuer(
    server: MTLSServer, client_files: ClientFiles, server_ca: trustme.CA, client_intermediate: trustme.CA,
) -> None:
    with pytest.warns(CertificateWarning, match="incomplete"):
        session = LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key,
                              ca=server_ca.cert_pem.bytes(), base_url=server.url, retries=0)
    assert session.credentials is not None and not session.credentials.chain_complete
    with session, pytest.raises(LeanTLSError) as caught:
        session.get("/ping")
    assert caught.value.code == "client-certificate-rejected"
    issuer = x509.load_pem_x509_certificate(client_intermediate.cert_pem.bytes()).subject.rfc4514_string()
    assert "Known cause" in str(caught.value) and issuer in str(caught.value)


def test_complete_credentials_raise_no_certificate_warning(server: MTLSServer, client_files: ClientFiles) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", CertificateWarning)
        with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=client_files.ca,
                         base_url=server.url) as s:
            assert s.get("/banks/v1/").status_code == 200
            assert s.credentials is not None and s.credentials.ok


# --------------------------------------------------------------------------- issue 12 item 8: requests' cert=(c, k)


def test_cert_key_tuple_as_requests_spells_it(server: MTLSServer, client_files: ClientFiles) -> None:
    pair: Any = (str(client_files.cert), str(client_files.key))
    with LeanSession(APP_TOKEN, cert=pair, ca=client_files.ca, base_url=server.url) as s:
        assert s.get("/banks/v1/").status_code == 200
        assert s.reload_certificates(cert=pair).subject == s.certificate.subject  # type: ignore[union-attr]
    assert inspect_credentials(cert=pair, ca=client_files.ca).ok


@pytest.mark.parametrize("bad", ["both", "three"])
def test_cert_tuple_misuse_is_a_configuration_error(bad: str, client_files: ClientFiles) -> None:
    if bad == "both":
        options: dict[str, Any] = {"cert": (client_files.cert, client_files.key), "key": client_files.key}
    else:
        options = {"cert": (client_files.cert, client_files.key, client_files.ca)}
    with pytest.raises(ConfigurationError, match="cert="):
        LeanSession(APP_TOKEN, ca=client_files.ca, base_url="https://127.0.0.1:9", **options)


def test_inspection_is_public() -> None:
    assert lean_mtls.inspect_credentials is inspect_credentials
    assert "inspect_credentials" in lean_mtls.__all__


# --------------------------------------------------------------------------- the doctor gives the same verdicts


def run_check(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
              ) -> tuple[int, dict[str, Any]]:
    import json

    from lean_mtls.cli import main

    for name in [n for n in __import__("os").environ if n.startswith("LEAN_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("LEAN_APP_TOKEN", "app-token-for-check")  # from_env() needs it, so check does too
    code = main(["check", "--json", *args])
    out, _ = capsys.readouterr()
    return code, json.loads(out)


def test_check_tolerates_the_same_clock_skew_as_the_session(
    clock: list[dt.datetime], pki: dict[str, Made], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for ahead, exit_code in [(dt.timedelta(minutes=2), 3), (CLOCK_SKEW_TOLERANCE + dt.timedelta(minutes=1), 1)]:
        fresh = make("app-fresh", pki["current"], not_before=T0 + ahead, eku=[ExtendedKeyUsageOID.CLIENT_AUTH])
        cert = write(tmp_path, "cert.pem", fresh.pem)
        key = write(tmp_path, "key.pem", fresh.key_pem)
        ca = write(tmp_path, "ca.pem", pki["current"].pem + pki["root"].pem)
        code, report = run_check(monkeypatch, capsys, "--cert", str(cert), "--key", str(key), "--ca", str(ca))
        assert code == exit_code, report
        if exit_code == 3:
            assert report["certificate"]["validity"] == "clock-skew"
            assert any("2 min" in w and "skew" in w for w in report["warnings"])
            with pytest.warns(CertificateWarning):
                LeanSession(APP_TOKEN, cert=cert, key=key, ca=ca, base_url="https://127.0.0.1:9").close()
        else:
            assert report["certificate"]["not_yet_valid"] is True
            with pytest.raises(CertificateError):
                LeanSession(APP_TOKEN, cert=cert, key=key, ca=ca, base_url="https://127.0.0.1:9")


def test_check_reports_the_intermediate_actually_sent(
    clock: list[dt.datetime], pki: dict[str, Made], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cert = write(tmp_path, "cert.pem", pki["leaf"].pem)
    key = write(tmp_path, "key.pem", pki["leaf"].key_pem)
    both = write(tmp_path, "both.pem", pki["expired"].pem + pki["current"].pem + pki["root"].pem)
    code, report = run_check(monkeypatch, capsys, "--cert", str(cert), "--key", str(key), "--ca", str(both))
    assert code == 3, report  # a warning only: the bundle also holds the expired copy (download it again)
    assert report["problems"] == []
    assert [w for w in report["warnings"] if "expired" not in w] == []
    assert [i["valid_now"] for i in report["chain"]["intermediates"]] == [True]
    stale = write(tmp_path, "stale.pem", pki["expired"].pem + pki["root"].pem)
    code, report = run_check(monkeypatch, capsys, "--cert", str(cert), "--key", str(key), "--ca", str(stale))
    assert code == 1
    assert report["chain"]["complete"] and [i["valid_now"] for i in report["chain"]["intermediates"]] == [False]
    assert any("Inspection Intermediate" in p and "validity" in p for p in report["problems"])
