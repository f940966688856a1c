"""BREAK-12 findings fixed after issue 12: each is a test that failed before.

A CA bundle with no CA certificate (#16).
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import pytest
import trustme

from lean_mtls import CertificateWarning, LeanSession, LeanTLSError, inspect_credentials
from lean_mtls.testing import MTLSServer

from .conftest import APP_TOKEN


def _files(tmp_path: Path, client_leaf: trustme.LeafCert) -> tuple[Path, Path]:
    cert = tmp_path / "app_cert.crt"  # leaf and intermediate: the chain itself is complete
    cert.write_bytes(b"".join(p.bytes() for p in client_leaf.cert_chain_pems))
    key = tmp_path / "app_private_key.pem"
    key.write_bytes(client_leaf.private_key_pem.bytes())
    return cert, key


def _bundles(tmp_path: Path, client_leaf: trustme.LeafCert, server_ca: trustme.CA) -> dict[str, tuple[Path, str]]:
    own = tmp_path / "own.pem"
    own.write_bytes(client_leaf.cert_chain_pems[0].bytes())
    server_leaf = tmp_path / "server_leaf.pem"
    server_leaf.write_bytes(server_ca.issue_cert("api.example").cert_chain_pems[0].bytes())
    both = tmp_path / "both_leaves.pem"
    both.write_bytes(own.read_bytes() + server_leaf.read_bytes())
    return {"own": (own, "your own client certificate"),
            "server-leaf": (server_leaf, "only end-entity certificates"),
            "two-leaves": (both, "your own client certificate")}


@pytest.mark.parametrize("which", ["own", "server-leaf", "two-leaves"])
def test_a_ca_bundle_without_a_ca_certificate_is_named_everywhere(
    which: str, tmp_path: Path, client_leaf: trustme.LeafCert, server_ca: trustme.CA, server: MTLSServer,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    """BREAK-12 #16: ca= holding the app's own certificate (or any leaf) can never verify Lean's server."""
    from lean_mtls.cli import main

    cert, key = _files(tmp_path, client_leaf)
    ca, said = _bundles(tmp_path, client_leaf, server_ca)[which]
    result = inspect_credentials(cert, key, ca=ca)
    assert [p.code for p in result.problems] == ["ca-not-a-ca"] and not result.ok
    assert said in result.problems[0].message and "lean_public_cert_chain.pem" in result.problems[0].message
    with pytest.warns(CertificateWarning, match="not Lean's certificate chain"):
        session = LeanSession(APP_TOKEN, cert=cert, key=key, ca=ca, base_url=server.url, retries=0)
    with session, pytest.raises(LeanTLSError) as caught:
        session.get("/ping")
    assert caught.value.code == "server-not-trusted"
    assert "Known cause" in str(caught.value) and said in str(caught.value)

    for name in [n for n in os.environ if n.startswith("LEAN_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("LEAN_APP_TOKEN", APP_TOKEN)
    code = main(["check", "--cert", str(cert), "--key", str(key), "--ca", str(ca)])
    out = capsys.readouterr().out
    assert code == 1 and "PROBLEM" in out and said in out and "healthy" not in out, out
    code = main(["check", "--json", "--cert", str(cert), "--key", str(key), "--ca", str(ca)])
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and any(said in p for p in report["problems"])


def test_a_ca_bundle_with_a_ca_certificate_is_not_flagged(
    tmp_path: Path, client_leaf: trustme.LeafCert, server_ca: trustme.CA, server: MTLSServer,
) -> None:
    cert, key = _files(tmp_path, client_leaf)
    ca = tmp_path / "ca.pem"  # the right CA plus, by mistake, a leaf: OpenSSL uses the CA
    ca.write_bytes(server_ca.cert_pem.bytes() + client_leaf.cert_chain_pems[0].bytes())
    assert inspect_credentials(cert, key, ca=ca).problems == ()
    with warnings.catch_warnings():
        warnings.simplefilter("error", CertificateWarning)
        with LeanSession(APP_TOKEN, cert=cert, key=key, ca=ca, base_url=server.url, retries=0) as session:
            assert session.get("/ping").status_code == 200


def test_a_server_rejection_without_a_ca_problem_keeps_the_generic_advice(
    tmp_path: Path, client_leaf: trustme.LeafCert, server: MTLSServer,
) -> None:
    cert, key = _files(tmp_path, client_leaf)
    other = trustme.CA()
    ca = tmp_path / "other_ca.pem"
    ca.write_bytes(other.cert_pem.bytes())
    session = LeanSession(APP_TOKEN, cert=cert, key=key, ca=ca, base_url=server.url, retries=0)
    with session, pytest.raises(LeanTLSError) as caught:
        session.get("/ping")
    assert caught.value.code == "server-not-trusted" and "Known cause" not in str(caught.value)
    assert isinstance(server, MTLSServer)


# --------------------------------------------------------------------------- #8: clock skew is a known cause


def test_a_certificate_within_the_skew_tolerance_is_the_known_cause_of_a_rejection(
    tmp_path: Path, server_ca: trustme.CA, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    """BREAK-12 #8: this machine's clock is 2 min behind the certificate; the SDK tolerates it, a
    server with a correct clock refuses it, and the error (and check --ping's PROBLEM line) says why."""
    import datetime as dt

    from cryptography.x509.oid import ExtendedKeyUsageOID

    import lean_mtls._credentials as credentials_module
    from lean_mtls.cli import main

    from .test_inspection import make, rejecting_server

    real_now = dt.datetime.now(dt.timezone.utc)  # the server checks against the real clock
    root = make("Skew Root", None, ca=True, not_before=real_now - dt.timedelta(days=1))
    fresh = make("app-fresh", root, eku=[ExtendedKeyUsageOID.CLIENT_AUTH],
                 not_before=real_now + dt.timedelta(minutes=2), not_after=real_now + dt.timedelta(days=30))
    cert = tmp_path / "cert.pem"
    cert.write_bytes(fresh.pem)
    key = tmp_path / "key.pem"
    key.write_bytes(fresh.key_pem)
    ca = tmp_path / "ca.pem"
    ca.write_bytes(server_ca.cert_pem.bytes() + root.pem)
    monkeypatch.setattr(credentials_module, "utcnow", lambda: real_now)  # the SDK's (injected) clock
    with rejecting_server(server_ca, root) as server:
        with pytest.warns(CertificateWarning, match="skew"):
            session = LeanSession(APP_TOKEN, cert=cert, key=key, ca=ca, base_url=server.url, retries=0)
        with session, pytest.raises(LeanTLSError) as caught:
            session.get("/banks/v1/")
        assert caught.value.code == "client-certificate-rejected"
        assert "Known cause" in str(caught.value) and "not valid before" in str(caught.value)

        for name in [n for n in os.environ if n.startswith("LEAN_")]:
            monkeypatch.delenv(name)
        monkeypatch.setenv("LEAN_APP_TOKEN", APP_TOKEN)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CertificateWarning)
            code = main(["check", "--cert", str(cert), "--key", str(key), "--ca", str(ca), "--ping",
                         "--base-url", server.url])
    out = capsys.readouterr().out
    problems = [line for line in out.splitlines() if line.startswith("PROBLEM")]
    assert code == 1 and problems, out
    assert any("Known cause" in p and "not valid before" in p for p in problems), out
    assert not any("use the certificate and key generated for this app" in p for p in problems), out
