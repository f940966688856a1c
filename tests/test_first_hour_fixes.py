"""BREAK-12 findings fixed after issue 12: each is a test that failed before.

A CA bundle with no CA certificate (#16).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import warnings
from collections.abc import Iterator
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


# ------------------------------------------------------- #4 another port, #5 a host where a path belongs


@pytest.fixture()
def sandbox(tmp_path: Path, client_leaf: trustme.LeafCert) -> Iterator[LeanSession]:
    cert, key = _files(tmp_path, client_leaf)
    with LeanSession(APP_TOKEN, cert=cert, key=key) as session:
        yield session


@pytest.mark.parametrize("url", [
    "https://mtls.sandbox.leantech.me:8443/banks/v1",
    "https://MTLS.sandbox.leantech.me.:444/banks/v1",
])
def test_the_sessions_host_on_another_port_says_the_port_differs(sandbox: LeanSession, url: str) -> None:
    """BREAK-12 #4: not "needs its own session: LeanSession(environment='sandbox', ...)" (the session it is)."""
    from lean_mtls import ConfigurationError

    with pytest.raises(ConfigurationError) as caught:
        sandbox.get(url)
    message = caught.value.message
    assert "port" in message and "differs" in message and "session.get('/banks/v1')" in message
    assert "needs its own session" not in message and "mount_certificate" not in message


def test_another_port_on_a_custom_base_url_says_the_port_differs(server: MTLSServer,
                                                                tmp_path: Path,
                                                                client_leaf: trustme.LeafCert,
                                                                server_ca: trustme.CA) -> None:
    from lean_mtls import ConfigurationError

    cert, key = _files(tmp_path, client_leaf)
    ca = tmp_path / "ca.pem"
    ca.write_bytes(server_ca.cert_pem.bytes())
    with LeanSession(APP_TOKEN, cert=cert, key=key, ca=ca, base_url=server.url) as session:
        other = server.url.rsplit(":", 1)[0] + ":1"
        with pytest.raises(ConfigurationError, match=r"this session's host on another port \(1, not") as caught:
            session.get(other + "/ping")
        assert "mount_certificate" in caught.value.message  # another port of 127.0.0.1 may be another service
        assert session.get("/ping").status_code == 200  # the session's own origin still works


@pytest.mark.parametrize("url", [
    "api.leantech.me/banks/v1",
    "mtls.sandbox.leantech.me/banks/v1",
    "//api.leantech.me/banks/v1",
    "//127.0.0.1:48443/banks/v1",
    "127.0.0.1:48443/banks/v1",
    "localhost:8443/banks/v1",
    "127.0.0.1/banks/v1",
    "https:/127.0.0.1:48443/banks/v1",
    "HTTPS:api.leantech.me/banks/v1",
    "http:/api.leantech.me/banks/v1",
])
def test_a_host_where_a_path_belongs_is_refused_not_glued_onto_the_base_url(
    sandbox: LeanSession, url: str,
) -> None:
    """BREAK-12 #5: requests would send these to https://<base>/<url> and the user gets a 404 about a path
    they did not mean; the session refuses them (an InvalidURL, before any connection)."""
    import requests

    from lean_mtls import InvalidURLError

    with pytest.raises(InvalidURLError) as caught:
        sandbox.get(url)
    assert isinstance(caught.value, requests.exceptions.InvalidURL)
    message = caught.value.message
    assert url in message and "https://" in message and "session.get('/banks/v1')" in message
    if url.startswith("//"):
        assert "network-path reference" in message


@pytest.mark.parametrize("path", ["banks/v1", "/banks/v1/", "data/v2/accounts?x=1", "v1.0/x", "report.csv",
                                  "customers/v1/a.b/c"])
def test_relative_paths_still_go_under_the_base_url(sandbox: LeanSession, path: str) -> None:
    request = sandbox.prepare_request(__import__("requests").Request("GET", path))
    assert request.url is not None and request.url.startswith(sandbox.base_url + "/")


# ------------------------------------------- #9 spellings, #10 settings tails, #17 the PKCS#12 password hint


@pytest.mark.parametrize(("flag", "value", "var"), [
    ("--environment", "Production", "LEAN_ENVIRONMENT"), ("--environment", "SANDBOX", "LEAN_ENVIRONMENT"),
    ("--region", "KSA", "LEAN_REGION"), ("--region", " Uae ", "LEAN_REGION"),
])
def test_cli_flags_take_the_spellings_the_sdk_and_variables_take(
    flag: str, value: str, var: str, tmp_path: Path, client_leaf: trustme.LeafCert, server_ca: trustme.CA,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    """BREAK-12 #9: ``--environment Production`` was an argparse "invalid choice" although
    LEAN_ENVIRONMENT=Production and environment="Production" work."""
    from lean_mtls import Environment, Region
    from lean_mtls.cli import main

    assert LeanSession.settings_from_env({var: value})  # the SDK accepts it
    assert {"LEAN_ENVIRONMENT": Environment, "LEAN_REGION": Region}[var](value).value == value.strip().lower()
    cert, key = _files(tmp_path, client_leaf)
    for name in [n for n in os.environ if n.startswith("LEAN_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("LEAN_APP_TOKEN", APP_TOKEN)
    code = main(["check", "--cert", str(cert), "--key", str(key), "--ca", str(server_ca_file(tmp_path, server_ca)),
                 flag, value])
    out, err = capsys.readouterr()
    assert code in (0, 3) and "invalid choice" not in err, out + err
    code = main(["check", "--cert", str(cert), "--key", str(key), flag, "prod-ish"])
    _, err = capsys.readouterr()
    assert code == 2 and flag in err and "Unknown Lean" in err  # the SDK's message, naming the flag


def server_ca_file(tmp_path: Path, server_ca: trustme.CA) -> Path:
    path = tmp_path / "server_ca.pem"
    path.write_bytes(server_ca.cert_pem.bytes())
    return path


def test_enum_lookup_ignores_case_as_the_keywords_do() -> None:
    from lean_mtls import AuthMode, Environment, Region

    assert Environment("Production") is Environment.PRODUCTION and Region("KSA") is Region.KSA
    assert AuthMode("App-Token") is AuthMode.APP_TOKEN and Environment(" sandbox ") is Environment.SANDBOX
    with pytest.raises(ValueError):
        Environment("prod")


def test_settings_errors_have_no_misleading_tail() -> None:
    """BREAK-12 #10: a base URL does not choose the auth mode; when LEAN_BASE_URL is already set,
    "or set LEAN_BASE_URL" is no advice."""
    from lean_mtls import ConfigurationError

    with pytest.raises(ConfigurationError) as auth:
        LeanSession.settings_from_env({"LEAN_AUTH": "oauth2"})
    assert "LEAN_AUTH" in auth.value.message and "BASE_URL" not in auth.value.message
    with pytest.raises(ConfigurationError) as auth_kw:
        LeanSession(APP_TOKEN, auth="oauth2")  # type: ignore[arg-type]
    assert "base_url" not in auth_kw.value.message
    for var in ("LEAN_ENVIRONMENT", "LEAN_REGION"):
        with pytest.raises(ConfigurationError) as env:
            LeanSession.settings_from_env({var: "prod", "LEAN_BASE_URL": "https://lean.example"})
        message = env.value.message
        assert "or set LEAN_BASE_URL" not in message and "LEAN_BASE_URL is set" in message
        assert f"unset {var}" in message
        with pytest.raises(ConfigurationError) as unset:
            LeanSession.settings_from_env({var: "prod"})
        assert "or set LEAN_BASE_URL for another server" in unset.value.message  # still useful then


def test_the_pkcs12_password_hint_names_the_variable(tmp_path: Path, client_leaf: trustme.LeafCert) -> None:
    """BREAK-12 #17: as the encrypted-PEM hint does, say that from_env() reads LEAN_KEY_PASSWORD."""
    from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, load_pem_private_key, pkcs12
    from cryptography.x509 import load_pem_x509_certificate

    from lean_mtls import CertificateError

    key = load_pem_private_key(client_leaf.private_key_pem.bytes(), None)
    cert = load_pem_x509_certificate(client_leaf.cert_chain_pems[0].bytes())
    p12 = tmp_path / "app.p12"
    p12.write_bytes(pkcs12.serialize_key_and_certificates(b"app", key, cert, None,  # type: ignore[arg-type]
                                                          BestAvailableEncryption(b"pw-123")))
    with pytest.raises(CertificateError) as caught:
        LeanSession.from_env({"LEAN_APP_TOKEN": APP_TOKEN, "LEAN_CERT": str(p12)})
    assert "key_password=" in caught.value.message and "LEAN_KEY_PASSWORD" in caught.value.message


# ------------------------------------------------------------------- #11 cert=(cert, key) documented


def test_the_cert_pair_is_documented_and_its_alias_exported() -> None:
    """BREAK-12 #11: help(LeanSession) shows the tuple; CertOption (used by __init__,
    mount_certificate, reload_certificates) is importable like the other aliases."""
    import pydoc
    import typing

    import lean_mtls

    text = pydoc.render_doc(LeanSession, renderer=pydoc.plaintext)
    assert "(certificate, key)" in text and "CertOption" in text
    assert "CertOption" in lean_mtls.__all__
    assert typing.get_args(lean_mtls.CertOption)[-1].__origin__ is tuple  # the pair is part of the alias


def test_a_swapped_pair_says_the_tuple_order(tmp_path: Path, client_leaf: trustme.LeafCert) -> None:
    from lean_mtls import CertificateError

    cert, key = _files(tmp_path, client_leaf)
    for call in (lambda: LeanSession(APP_TOKEN, cert=(key, cert)),
                 lambda: inspect_credentials((key, cert))):
        with pytest.raises(CertificateError) as caught:
            call()
        assert "(certificate, key)" in caught.value.message and "key=" not in caught.value.message
    with pytest.raises(CertificateError, match="cert= and key= look swapped"):
        LeanSession(APP_TOKEN, cert=key, key=cert)  # key= given: that spelling stays


# ------------------------------------------------------------------- #13 one day count


@pytest.mark.parametrize(("ago", "said"), [
    (dt.timedelta(days=1, minutes=1), "1 day ago"),
    (dt.timedelta(seconds=15), "15 s ago"),
    (dt.timedelta(days=2, hours=23), "2 days ago"),
    (dt.timedelta(hours=5), "5 h 0 min ago"),
])
def test_the_doctor_and_the_sdk_count_expired_days_alike(
    ago: dt.timedelta, said: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """BREAK-12 #13: check said "EXPIRED 2 days ago" where from_env() said "(1 days ago)"."""
    import lean_mtls._credentials as credentials_module
    from lean_mtls import CertificateError
    from lean_mtls.cli import main

    from .test_inspection import T0, make

    root = make("Day Root", None, ca=True)
    leaf = make("app-days", root, not_after=T0 - ago)
    cert = tmp_path / "cert.pem"
    cert.write_bytes(leaf.pem + root.pem)
    key = tmp_path / "key.pem"
    key.write_bytes(leaf.key_pem)
    monkeypatch.setattr(credentials_module, "utcnow", lambda: T0)
    with pytest.raises(CertificateError) as sdk:
        LeanSession.from_env({"LEAN_APP_TOKEN": APP_TOKEN, "LEAN_CERT": str(cert), "LEAN_KEY": str(key)})
    assert f"({'expired ' + said})" in sdk.value.message, sdk.value.message
    for name in [n for n in os.environ if n.startswith("LEAN_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("LEAN_APP_TOKEN", APP_TOKEN)
    code = main(["check", "--cert", str(cert), "--key", str(key)])
    out = capsys.readouterr().out
    assert code == 1 and f"EXPIRED {said}" in out and "days ago" not in out.replace(said, ""), out


# ------------------------------------------------------------------- #15 warnings as CLI lines


def test_the_cli_shows_a_certificate_warning_as_one_clean_line(tmp_path: Path, server_ca: trustme.CA) -> None:
    """BREAK-12 #15: not ".../lean_mtls/_session.py:758: CertificateWarning: ..." and a source line."""
    import subprocess
    import sys

    from cryptography.x509.oid import ExtendedKeyUsageOID

    from .test_inspection import make

    real_now = dt.datetime.now(dt.timezone.utc)
    root = make("Warn Root", None, ca=True, not_before=real_now - dt.timedelta(days=1))
    server_only = make("app-server-cert", root, eku=[ExtendedKeyUsageOID.SERVER_AUTH],
                       not_before=real_now - dt.timedelta(days=1), not_after=real_now + dt.timedelta(days=30))
    cert = tmp_path / "cert.pem"
    cert.write_bytes(server_only.pem + root.pem)
    key = tmp_path / "key.pem"
    key.write_bytes(server_only.key_pem)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEAN_")}
    env.update(LEAN_APP_TOKEN=APP_TOKEN, LEAN_CERT=str(cert), LEAN_KEY=str(key),
               LEAN_BASE_URL="https://127.0.0.1:1", PYTHONWARNINGS="default")
    result = subprocess.run([sys.executable, "-m", "lean_mtls", "banks", "--timeout", "2"], capture_output=True,
                            text=True, env=env, timeout=60, check=False)
    lines = result.stderr.splitlines()
    warned = [line for line in lines if "clientAuth" in line]
    assert warned and all(line.startswith("warning: ") for line in warned), result.stderr
    assert ".py:" not in result.stderr and "CertificateWarning" not in result.stderr, result.stderr
    assert "return cls(" not in result.stderr and result.returncode != 0


# ------------------------------------------------------------------- #7 to_dataframe on object results


def test_to_dataframe_of_nothing_invents_no_columns() -> None:
    """BREAK-12 #7: an empty destinations list became an empty *transactions* table."""
    pytest.importorskip("pandas")
    from lean_mtls import to_dataframe

    for empty in ([], iter(()), {"data": [], "page": {"number": 0}}, {"status": "OK", "data": {"type": "accounts",
                                                                                             "accounts": []}}):
        frame = to_dataframe(empty)
        assert frame.empty and list(frame.columns) == []


@pytest.mark.parametrize(("body", "where"), [
    ({"status": "OK", "results_id": "r", "type": "income", "insights": {"salary": {"total": 1}, "non_salary": {}}},
     "result['insights']['salary'][...]"),
    ({"status": "OK", "results_id": "r", "type": "expenses",
      "insights": {"currency": "AED", "total": 3, "monthly_totals": [{"month": 1}]}},
     "result['insights']['monthly_totals']"),
    ({"status": "OK", "results_id": "r", "type": "name_verification", "data": {"match": True, "score": 0.9}},
     "[result['data']]"),
])
def test_to_dataframe_of_an_object_result_says_where_the_lists_are(body: dict[str, object], where: str) -> None:
    """BREAK-12 #7: it *is* a data call's result; say that its content is one object and what to pass."""
    from lean_mtls import InvalidRequestError, to_dataframe

    with pytest.raises(InvalidRequestError) as caught:
        to_dataframe(body)
    message = caught.value.message
    assert "one object" in message and where in message and "not one of Lean's envelopes" not in message


# ------------------------------------------------------------------- #14 the request log resets too


def test_reset_clears_the_request_log_and_refused_handshakes(tmp_path: Path) -> None:
    """BREAK-12 #14: the plugin's per-test reset covered everything but ``requests``/``handshake_errors``,
    so ``lean_server.requests[0]`` or a count depended on test order."""
    import socket
    import ssl

    from lean_mtls.testing import FakeLean

    with FakeLean() as fake:
        with LeanSession(**fake.session_kwargs()) as session:
            session.banks.list()
            session.banks.list()
        context = ssl.create_default_context(cafile=str(fake.ca_file))  # no client certificate
        context.check_hostname = False
        try:
            with socket.create_connection(("127.0.0.1", fake.port), timeout=5) as raw, context.wrap_socket(
                raw
            ) as tls:
                tls.sendall(b"GET /banks/v1/ HTTP/1.1\r\nHost: x\r\n\r\n")
                tls.recv(1)
        except (ssl.SSLError, OSError):
            pass
        assert len(fake.requests) >= 2
        fake.reset()
        assert fake.requests == [] and fake.handshake_errors == []
        with LeanSession(**fake.session_kwargs()) as session:
            session.customers.create("after-reset")
        assert len(fake.requests) == 1  # the log is this "test's" own


# ------------------------------------------------------------------- #12 TLS details when the server closes


def test_check_ping_reports_tls_details_when_the_server_closes_after_answering(
    tmp_path: Path, client_leaf: trustme.LeafCert, server_ca: trustme.CA, server: MTLSServer,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    """BREAK-12 #12: "TLS ?, cipher ?" against a server that closes the connection after its answer."""
    from lean_mtls.cli import main
    from lean_mtls.testing._server import Reply

    server.set_handler(lambda request: Reply(200, [], headers={"Connection": "close"}))
    cert, key = _files(tmp_path, client_leaf)
    for name in [n for n in os.environ if n.startswith("LEAN_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("LEAN_APP_TOKEN", APP_TOKEN)
    code = main(["check", "--json", "--cert", str(cert), "--key", str(key),
                 "--ca", str(server_ca_file(tmp_path, server_ca)), "--ping", "--base-url", server.url])
    report = json.loads(capsys.readouterr().out)
    assert report["ping"]["ok"], report
    assert report["ping"]["tls_version"] in ("TLSv1.2", "TLSv1.3") and report["ping"]["cipher"], report
    assert code in (0, 3)
