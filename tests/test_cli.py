"""The ``lean-mtls`` command line, run as a subprocess as users and cron jobs run it."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

trustme = pytest.importorskip("trustme")

from cryptography.hazmat.primitives import serialization  # noqa: E402

from lean_mtls.testing import FakeLean  # noqa: E402

APP_TOKEN = "tok-cli-SECRET-7f3e1c9a-app-token"
KEY_PASSWORD = "pw-cli-SECRET-correct-horse"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeLean]:
    with FakeLean(app_token=APP_TOKEN, transactions=400) as lean:
        yield lean


def run(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None,
        timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """``python -m lean_mtls ARGS`` with no LEAN_* variables but those given
    (and LEAN_APP_TOKEN, which from_env() and so ``check`` require; pass "" to unset it)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("LEAN_")}
    environ.update(with_token(env))
    return subprocess.run(
        [sys.executable, "-m", "lean_mtls", *args],
        capture_output=True, text=True, env=environ, cwd=cwd, timeout=timeout, check=False,
    )


def with_token(env: dict[str, str] | None) -> dict[str, str]:
    merged = {"LEAN_APP_TOKEN": APP_TOKEN, **(env or {})}
    return {name: value for name, value in merged.items() if value}


def no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr, result.stderr
    assert "Traceback" not in result.stdout, result.stdout


def files(fake: FakeLean) -> list[str]:
    return ["--cert", str(fake.cert_file), "--key", str(fake.key_file), "--ca", str(fake.ca_file)]


def write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


# --------------------------------------------------------------------------- demo


def test_demo_walks_a_real_mtls_session() -> None:
    result = run("demo", "--transactions", "600")
    no_traceback(result)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for expected in (
        "Local Lean emulator on https://127.0.0.1:",
        "1. Banks:",
        "2. Customer: created",
        "CUSTOMER_ALREADY_EXISTS",
        "3. Accounts of the seeded customer",
        "4. Transactions",
        "top merchants",
        "5. Payment intent:",
        "6. Webhook: payment.created received",
        "signature verified",
        "a forged webhook was refused with HTTP 400",
        "Done:",
    ):
        assert expected in out, f"{expected!r} missing from:\n{out}"
    assert "\r" not in out  # no progress line when stdout is not a terminal


def test_demo_without_trustme_says_what_to_install(tmp_path: Path) -> None:
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "trustme.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'trustme'\", name='trustme')\n"
    )
    result = run("demo", env={"PYTHONPATH": str(blocker)})
    no_traceback(result)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert_installable_hint(lines[0], "trustme", "testing")


def assert_installable_hint(message: str, package: str, extra: str) -> None:
    """BREAK-12 #6: lean-mtls is not on PyPI (README), so no hint may say ``pip install 'lean-mtls[...]'``
    (it fails, or installs someone else's package); it names the PyPI package and the extra from a clone."""
    assert "pip install 'lean-mtls" not in message and "pip install lean-mtls" not in message, message
    assert f"pip install {package}" in message and f"/path/to/lean-mtls[{extra}]" in message, message
    assert "not on PyPI" in message


def test_every_missing_extra_hint_installs_from_a_clone(monkeypatch: pytest.MonkeyPatch) -> None:
    import lean_mtls
    from lean_mtls import ConfigurationError

    monkeypatch.setitem(sys.modules, "pandas", None)  # import pandas -> ImportError
    with pytest.raises(ImportError) as no_pandas:
        lean_mtls.to_dataframe([{"a": 1}])
    assert_installable_hint(str(no_pandas.value), "pandas", "pandas")
    monkeypatch.setitem(sys.modules, "trustme", None)
    with pytest.raises(ConfigurationError) as no_trustme:
        FakeLean().start()
    assert_installable_hint(no_trustme.value.message, "trustme", "testing")
    for path in (Path(lean_mtls.__file__).parent).rglob("*.py"):  # docstrings included
        assert "install 'lean-mtls[" not in path.read_text(), path


# --------------------------------------------------------------------------- check: healthy


def test_check_healthy_with_ping(fake: FakeLean) -> None:
    result = run("check", *files(fake), "--ping", "--base-url", fake.url, env={"LEAN_APP_TOKEN": APP_TOKEN})
    no_traceback(result)
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "matches the certificate" in out
    assert "Chain         complete" in out
    assert "SHA-256" in out and "days left" in out
    assert "Ping          GET " + fake.url + "/banks/v1/ -> HTTP 200" in out
    assert "TLSv1." in out
    assert "healthy (exit 0)" in out
    assert APP_TOKEN not in out + result.stderr


def test_check_json_from_lean_variables(fake: FakeLean) -> None:
    env = {"LEAN_APP_TOKEN": APP_TOKEN, "LEAN_CERT": str(fake.cert_file), "LEAN_KEY": str(fake.key_file),
           "LEAN_CA": str(fake.ca_file), "LEAN_BASE_URL": fake.url}
    result = run("check", "--ping", "--json", env=env)
    no_traceback(result)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)  # one JSON object, nothing else on stdout
    assert report["status"] == "ok" and report["exit_code"] == 0
    assert report["key"]["matches"] is True
    assert report["chain"]["complete"] is True
    assert report["certificate"]["days_left"] > 30
    assert len(report["certificate"]["fingerprint_sha256"].split(":")) == 32
    assert report["ca"]["verifies_server"] == "yes"
    assert report["ping"]["ok"] is True
    assert report["ping"]["tls_version"].startswith("TLSv1.")
    assert report["ping"]["cipher"]
    assert report["ping"]["round_trip_ms"] >= 0
    assert report["problems"] == []


def test_check_cert_given_as_pem_text_in_the_variable(fake: FakeLean) -> None:
    env = {"LEAN_CERT": fake.cert_file.read_text(), "LEAN_KEY": fake.key_file.read_text(),
           "LEAN_CA": str(fake.ca_file)}
    result = run("check", "--json", env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["certificate"]["source"] in ("<certificate PEM text>", "<certificate bytes>")  # never the text
    assert "PRIVATE KEY" not in result.stdout


def test_check_warns_when_expiry_is_near(fake: FakeLean) -> None:
    result = run("check", *files(fake), "--warn-days", "1000000", "--json")
    assert result.returncode == 3, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["status"] == "warning"
    assert any("expires on" in w for w in report["warnings"])


# --------------------------------------------------------------------------- check: problems


def test_check_expired_certificate(tmp_path: Path) -> None:
    root = trustme.CA()
    now = dt.datetime.now(dt.timezone.utc)
    leaf = root.issue_cert("app@lean.test", common_name="expired-app",
                           not_before=now - dt.timedelta(days=400), not_after=now - dt.timedelta(days=5))
    args = ["--cert", write(tmp_path / "c.pem", leaf.cert_chain_pems[0].bytes()),
            "--key", write(tmp_path / "k.pem", leaf.private_key_pem.bytes()),
            "--ca", write(tmp_path / "ca.pem", root.cert_pem.bytes())]
    result = run("check", *args)
    no_traceback(result)
    assert result.returncode == 1
    assert "EXPIRED" in result.stdout
    assert "The certificate expired on" in result.stdout
    report = json.loads(run("check", *args, "--json").stdout)
    assert report["status"] == "problem" and report["exit_code"] == 1
    assert report["certificate"]["expired"] is True
    assert report["certificate"]["days_left"] < 0


def test_check_key_that_does_not_match(fake: FakeLean, tmp_path: Path) -> None:
    other = trustme.CA().issue_cert("other@lean.test")
    key = write(tmp_path / "other_key.pem", other.private_key_pem.bytes())
    result = run("check", "--cert", str(fake.cert_file), "--key", key, "--ca", str(fake.ca_file))
    no_traceback(result)
    assert result.returncode == 1
    assert "DOES NOT MATCH" in result.stdout
    assert "does not match the certificate" in result.stdout
    report = json.loads(run("check", "--cert", str(fake.cert_file), "--key", key, "--ca", str(fake.ca_file),
                            "--json").stdout)
    assert report["key"]["matches"] is False


def test_check_incomplete_chain(tmp_path: Path) -> None:
    root = trustme.CA()
    intermediate = root.create_child_ca()
    leaf = intermediate.issue_cert("app@lean.test", common_name="app-no-chain")
    server_root = trustme.CA()
    args = ["--cert", write(tmp_path / "leaf.pem", leaf.cert_chain_pems[0].bytes()),  # leaf only
            "--key", write(tmp_path / "key.pem", leaf.private_key_pem.bytes()),
            "--ca", write(tmp_path / "ca.pem", server_root.cert_pem.bytes())]  # no intermediate here either
    result = run("check", *args)
    no_traceback(result)
    assert result.returncode == 1
    assert "INCOMPLETE" in result.stdout
    assert "The chain is incomplete" in result.stdout
    report = json.loads(run("check", *args, "--json").stdout)
    assert report["chain"]["complete"] is False
    assert report["chain"]["missing_issuer"]


def test_check_chain_completed_from_the_cert_file(tmp_path: Path) -> None:
    root = trustme.CA()
    intermediate = root.create_child_ca()
    leaf = intermediate.issue_cert("app@lean.test")
    chain = b"".join(blob.bytes() for blob in leaf.cert_chain_pems)  # leaf + intermediate
    args = ["--cert", write(tmp_path / "chain.pem", chain),
            "--key", write(tmp_path / "key.pem", leaf.private_key_pem.bytes()),
            "--ca", write(tmp_path / "ca.pem", root.cert_pem.bytes())]
    report = json.loads(run("check", *args, "--json").stdout)
    assert report["chain"]["complete"] is True
    assert report["chain"]["how"] == "completed from the cert file"
    assert report["chain"]["intermediates"][0]["source"] == "cert file"
    assert report["chain"]["root"]["source"] == "CA bundle"


def test_check_untrusted_server(fake: FakeLean, tmp_path: Path) -> None:
    """The CA bundle comes from another CA: the client files are fine, Lean's server is not trusted."""
    stranger = trustme.CA(organization_name="Not Lean")
    ca = tmp_path / "other_ca.pem"
    # Keep the client's own chain (it is fine), but nothing that signed the server.
    ca.write_bytes(stranger.cert_pem.bytes() + _client_chain_only(fake))
    args = ["--cert", str(fake.cert_file), "--key", str(fake.key_file), "--ca", str(ca),
            "--ping", "--base-url", fake.url]
    result = run("check", *args, env={"LEAN_APP_TOKEN": APP_TOKEN})
    no_traceback(result)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Ping          FAILED" in result.stdout
    assert "[server-not-trusted]" in result.stdout
    assert "what to do" in result.stdout
    report = json.loads(run("check", *args, "--json", env={"LEAN_APP_TOKEN": APP_TOKEN}).stdout)
    assert report["ping"]["ok"] is False
    assert report["ping"]["error"]["code"] == "server-not-trusted"
    assert report["ping"]["error"]["side"] == "server"
    assert "--ca" in report["ping"]["advice"]


def _client_chain_only(fake: FakeLean) -> bytes:
    """The certificates of FakeLean's CA bundle that the client chain uses (not the server's CA)."""
    from cryptography import x509

    from lean_mtls._credentials import complete_chain, load_ca_bundle

    leaf = x509.load_pem_x509_certificate(fake.cert_file.read_bytes())
    bundle = load_ca_bundle(str(fake.ca_file))
    chain, _ = complete_chain(leaf, bundle.certificates)
    used = {c.tbs_certificate_bytes for c in chain[1:]}
    # and the root the last one hangs from
    last = chain[-1]
    used |= {c.tbs_certificate_bytes for c in bundle.certificates if c.subject == last.issuer}
    return b"".join(c.public_bytes(serialization.Encoding.PEM)
                    for c in bundle.certificates if c.tbs_certificate_bytes in used)


def test_check_wrong_app_token_fails_the_ping(fake: FakeLean) -> None:
    wrong = "tok-WRONG-SECRET-0000"
    result = run("check", *files(fake), "--ping", "--base-url", fake.url, "--json", env={"LEAN_APP_TOKEN": wrong})
    assert result.returncode == 1
    report = json.loads(result.stdout)
    assert report["ping"]["error"]["status_code"] == 401
    assert "app token" in report["ping"]["advice"]
    assert wrong not in result.stdout + result.stderr


# --------------------------------------------------------------------------- check: usage and config errors


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cert", "does-not-exist.pem"], "does not exist"),
        ([], "no client certificate"),
        (["--warn-days", "soon"], "expected a whole number of days"),
        (["--bogus"], "unrecognized arguments"),
    ],
)
def test_check_usage_errors_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    result = run("check", *args, cwd=tmp_path)
    no_traceback(result)
    assert result.returncode == 2
    assert message in result.stderr


def test_check_not_a_certificate_exits_2(tmp_path: Path) -> None:
    junk = write(tmp_path / "junk.pem", b"this is not a certificate\n")
    result = run("check", "--cert", junk, "--json")
    no_traceback(result)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert json.loads(result.stdout)["status"] == "error"


def test_check_unset_password_variable_exits_2(fake: FakeLean) -> None:
    result = run("check", *files(fake), "--key-password-env", "NO_SUCH_VARIABLE_XYZ")
    assert result.returncode == 2
    assert "NO_SUCH_VARIABLE_XYZ" in result.stderr


def test_check_ping_without_token_exits_2(fake: FakeLean) -> None:
    result = run("check", *files(fake), "--ping", "--base-url", fake.url, env={"LEAN_APP_TOKEN": ""})
    assert result.returncode == 2
    assert "LEAN_APP_TOKEN" in result.stderr


def test_check_never_prints_secrets(fake: FakeLean, tmp_path: Path) -> None:
    key = serialization.load_pem_private_key(fake.key_file.read_bytes(), None)
    encrypted = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.BestAvailableEncryption(KEY_PASSWORD.encode()))
    key_path = write(tmp_path / "encrypted_key.pem", encrypted)
    env = {"MY_TOKEN": APP_TOKEN, "MY_KEY_PW": KEY_PASSWORD}
    common = ["check", "--cert", str(fake.cert_file), "--key", key_path, "--ca", str(fake.ca_file),
              "--key-password-env", "MY_KEY_PW", "--app-token-env", "MY_TOKEN", "--ping", "--base-url", fake.url]
    for extra in ([], ["--json"], ["-v"]):
        result = run(*common, *extra, env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        for secret in (APP_TOKEN, KEY_PASSWORD):
            assert secret not in result.stdout
            assert secret not in result.stderr
    # A wrong password: a config error, and still not echoed.
    result = run(*common, env={**env, "MY_KEY_PW": "wrong-SECRET-pw"})
    assert result.returncode == 2
    assert "wrong-SECRET-pw" not in result.stdout + result.stderr
    assert "is wrong" in result.stderr and "MY_KEY_PW" in result.stderr, result.stderr  # the variable named
    assert "key_password" not in result.stderr  # CLI terms, not Python keywords


# --------------------------------------------------------------------------- banks / customers


def lean_env(fake: FakeLean) -> dict[str, str]:
    return {"LEAN_APP_TOKEN": APP_TOKEN, "LEAN_CERT": str(fake.cert_file), "LEAN_KEY": str(fake.key_file),
            "LEAN_CA": str(fake.ca_file)}


def test_banks_prints_json(fake: FakeLean) -> None:
    result = run("banks", "--base-url", fake.url, env=lean_env(fake))
    no_traceback(result)
    assert result.returncode == 0, result.stderr
    banks = json.loads(result.stdout)
    assert isinstance(banks, list) and banks
    assert all("identifier" in bank for bank in banks)


def test_customers_create_and_get(fake: FakeLean) -> None:
    env = {**lean_env(fake), "LEAN_BASE_URL": fake.url}
    created = run("customers", "create", "cli-user-1", env=env)
    assert created.returncode == 0, created.stderr
    customer = json.loads(created.stdout)
    assert customer["app_user_id"] == "cli-user-1"

    again = run("customers", "create", "cli-user-1", env=env)
    no_traceback(again)
    assert again.returncode == 1
    assert again.stderr.startswith("error: ") and "CUSTOMER_ALREADY_EXISTS" in again.stderr
    assert len(again.stderr.strip().splitlines()) == 1

    existing = run("customers", "create", "cli-user-1", "--existing-ok", env=env)
    assert existing.returncode == 0
    assert json.loads(existing.stdout)["customer_id"] == customer["customer_id"]

    got = run("customers", "get", customer["customer_id"], env=env)
    assert got.returncode == 0
    assert json.loads(got.stdout)["customer_id"] == customer["customer_id"]
    by_user = run("customers", "get", "--app-user-id", "cli-user-1", env=env)
    assert json.loads(by_user.stdout)["customer_id"] == customer["customer_id"]

    missing = run("customers", "get", "no-such-customer", env=env)
    assert missing.returncode == 1
    assert missing.stderr.startswith("error: ")


def test_api_commands_without_token_exit_2(fake: FakeLean) -> None:
    env = lean_env(fake)
    env["LEAN_APP_TOKEN"] = ""
    result = run("banks", "--base-url", fake.url, env=env)
    no_traceback(result)
    assert result.returncode == 2
    assert result.stderr.startswith("error: ") and "LEAN_APP_TOKEN" in result.stderr


def test_api_commands_with_a_bad_base_url_exit_2(fake: FakeLean) -> None:
    result = run("banks", "--base-url", "http://insecure.example", env=lean_env(fake))
    assert result.returncode == 2
    assert "https://" in result.stderr


def test_version_and_missing_command() -> None:
    result = run("--version")
    assert result.returncode == 0 and "lean-mtls" in result.stdout
    result = run()
    no_traceback(result)
    assert result.returncode == 2
    assert "COMMAND" in result.stderr


def _bundle_without_client_root(fake: FakeLean, tmp_path: Path) -> str:
    """FakeLean's CA bundle minus the client root, as a Lean chain file may well be."""
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    certs = x509.load_pem_x509_certificates(fake.ca_file.read_bytes())
    leaf = x509.load_pem_x509_certificate(fake.cert_file.read_bytes())
    intermediate = next(c for c in certs if c.subject == leaf.issuer)
    kept = [c for c in certs if c.subject != intermediate.issuer]
    return write(tmp_path / "chain_without_client_root.pem", b"".join(c.public_bytes(Encoding.PEM) for c in kept))


def test_check_a_chain_ending_at_an_intermediate_is_healthy(fake: FakeLean, tmp_path: Path) -> None:
    ca = _bundle_without_client_root(fake, tmp_path)
    args = ["check", "--cert", str(fake.cert_file), "--key", str(fake.key_file), "--ca", ca]
    offline = run(*args, "--json")
    assert offline.returncode == 0, offline.stdout + offline.stderr
    report = json.loads(offline.stdout)
    assert report["problems"] == [] and any("ends at an intermediate" in n for n in report["notes"])
    assert report["ca"]["verifies_server"] == "not checked (use --ping)"
    online = run(*args, "--json", "--ping", "--base-url", fake.url, env={"LEAN_APP_TOKEN": APP_TOKEN})
    assert online.returncode == 0, online.stdout + online.stderr
    assert json.loads(online.stdout)["ca"]["verifies_server"] == "yes"


def test_check_verifies_server_is_no_when_the_ping_proves_it(fake: FakeLean, tmp_path: Path) -> None:
    import trustme
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    certs = x509.load_pem_x509_certificates(fake.ca_file.read_bytes())
    leaf = x509.load_pem_x509_certificate(fake.cert_file.read_bytes())
    intermediate = next(c for c in certs if c.subject == leaf.issuer)
    client_chain = [c for c in certs if c.subject in {intermediate.subject, intermediate.issuer}]
    other = write(tmp_path / "wrong_server_root.pem",
                  trustme.CA().cert_pem.bytes() + b"".join(c.public_bytes(Encoding.PEM) for c in client_chain))
    result = run("check", "--cert", str(fake.cert_file), "--key", str(fake.key_file), "--ca", other,
                 "--json", "--ping", "--base-url", fake.url, env={"LEAN_APP_TOKEN": APP_TOKEN})
    report = json.loads(result.stdout)
    assert result.returncode == 1 and report["ping"]["ok"] is False
    assert report["ca"]["verifies_server"] == "no"


# ------------------------------------------------------------- the doctor agrees with the SDK (issue 12 item 5)


def run_here(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str,
             env: dict[str, str]) -> tuple[int, str, str]:
    """``lean-mtls ARGS`` in this process (fast), with only the given LEAN_* variables."""
    from lean_mtls.cli import main

    for name in [n for n in os.environ if n.startswith("LEAN_")]:
        monkeypatch.delenv(name)
    for name, value in with_token(env).items():
        monkeypatch.setenv(name, value)
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


REFUSED_SETTINGS = [
    {"LEAN_ENVIRONMENT": "prod"},
    {"LEAN_ENVIRONMENT": "live"},
    {"LEAN_REGION": "sa"},
    {"LEAN_REGION": "ae"},
    {"LEAN_AUTH": "oauth2"},
    {"LEAN_AUTH": "mtls"},
    {"LEAN_BASE_URL": "http://mtls.sandbox.leantech.me"},
    {"LEAN_BASE_URL": "https://"},
    {"LEAN_BASE_URL": "https://mtls.sandbox.leantech.me/?x=1"},
    {"LEAN_AUTH_URL": "http://auth.sandbox.leantech.me", "LEAN_AUTH": "oauth"},
    {"LEAN_BASE_URL": "https://user:pw-SECRET-in-url@mtls.sandbox.leantech.me"},
    {"LEAN_BASE_URL": "http://user:pw-SECRET-in-url@mtls.sandbox.leantech.me"},
    {"LEAN_BASE_URL": "https://mtls.sandbox.leantech.me/?token=tok-SECRET-in-url"},
]


@pytest.mark.parametrize("bad", REFUSED_SETTINGS, ids=lambda d: ",".join(f"{k}={v}" for k, v in d.items()))
def test_check_refuses_what_from_env_refuses(fake: FakeLean, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str], bad: dict[str, str]) -> None:
    from lean_mtls import ConfigurationError, LeanSession

    env = {"LEAN_CERT": str(fake.cert_file), "LEAN_KEY": str(fake.key_file), "LEAN_CA": str(fake.ca_file),
           "LEAN_APP_TOKEN": APP_TOKEN, **bad}
    with pytest.raises(ConfigurationError) as sdk:
        LeanSession.from_env(env)
    code, out, err = run_here(monkeypatch, capsys, "check", env=env)
    assert code == 2, out + err
    assert err == f"error: {sdk.value.message}\n"  # the SDK's own words
    assert next(iter(bad)) in err  # names the variable
    code, out, err = run_here(monkeypatch, capsys, "check", "--json", env=env)
    assert code == 2
    assert json.loads(out)["error"]["message"] == sdk.value.message
    code, _, err = run_here(monkeypatch, capsys, "banks", env=env)
    assert code == 2 and sdk.value.message in err
    assert "SECRET-in-url" not in sdk.value.message + err + out  # a URL's password or token is never quoted


MISSING_CREDENTIALS = [
    {"LEAN_APP_TOKEN": ""},
    {"LEAN_APP_TOKEN": "", "LEAN_CLIENT_SECRET": "cs-Xyz9-1"},
    {"LEAN_AUTH": "oauth"},
    {"LEAN_AUTH": "oauth", "LEAN_APP_TOKEN": "", "LEAN_CLIENT_ID": "app-id"},
    {"LEAN_AUTH": "OAuth", "LEAN_CLIENT_SECRET": ""},
    {"LEAN_CLIENT_ID": "app-id", "LEAN_APP_TOKEN": ""},
    {"LEAN_AUTH": "app_token", "LEAN_CLIENT_SECRET": "cs-Xyz9-1"},
    {"LEAN_APP_TOKEN": '"tok-Xyz9-quoted"'},
    {"LEAN_AUTH": "oauth", "LEAN_CLIENT_SECRET": "cs-Xyz9\u00a0nbsp"},
]


@pytest.mark.parametrize("bad", MISSING_CREDENTIALS, ids=lambda d: ",".join(f"{k}={v}" for k, v in d.items()))
def test_check_refuses_missing_credentials_like_from_env(fake: FakeLean, monkeypatch: pytest.MonkeyPatch,
                                                         capsys: pytest.CaptureFixture[str],
                                                         bad: dict[str, str]) -> None:
    """BREAK-12 #1: no token, OAuth without its secret: from_env() cannot start the app, so the
    doctor (without --ping) exits 2 with from_env()'s words instead of "healthy"."""
    from lean_mtls import ConfigurationError, LeanSession

    bad = {k: v.encode().decode("unicode_escape") for k, v in bad.items()}
    env = {"LEAN_CERT": str(fake.cert_file), "LEAN_KEY": str(fake.key_file), "LEAN_CA": str(fake.ca_file), **bad}
    with pytest.raises(ConfigurationError) as sdk:
        LeanSession.from_env(with_token(env))
    code, out, err = run_here(monkeypatch, capsys, "check", env=env)
    assert code == 2, out + err
    from lean_mtls.cli._output import in_cli_terms

    assert err == f"error: {in_cli_terms(sdk.value.message)}\n"  # from_env()'s words, flags for keywords
    assert "LEAN_" in err and "Xyz9" not in err + out + sdk.value.message
    code, out, _ = run_here(monkeypatch, capsys, "check", "--json", env=env)
    assert code == 2 and json.loads(out)["error"]["message"] == in_cli_terms(sdk.value.message)


def test_check_accepts_oauth_credentials_from_env_accepts(fake: FakeLean, monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    from lean_mtls import LeanSession

    env = {"LEAN_CERT": str(fake.cert_file), "LEAN_KEY": str(fake.key_file), "LEAN_CA": str(fake.ca_file),
           "LEAN_AUTH": "oauth", "LEAN_APP_TOKEN": "", "LEAN_CLIENT_ID": "app-id-1234",
           "LEAN_CLIENT_SECRET": "cs-secret-5678"}
    LeanSession.from_env(with_token(env)).close()
    code, out, err = run_here(monkeypatch, capsys, "check", env=env)
    assert code == 0, out + err


@pytest.mark.parametrize("good", [
    {"LEAN_ENVIRONMENT": "Production"}, {"LEAN_REGION": "KSA"}, {"LEAN_AUTH": "app-token"},
    {"LEAN_ENVIRONMENT": " sandbox "},
])
def test_check_accepts_what_from_env_accepts(fake: FakeLean, monkeypatch: pytest.MonkeyPatch,
                                             capsys: pytest.CaptureFixture[str], good: dict[str, str]) -> None:
    from lean_mtls import LeanSession

    env = {"LEAN_CERT": str(fake.cert_file), "LEAN_KEY": str(fake.key_file), "LEAN_CA": str(fake.ca_file), **good}
    LeanSession.settings_from_env(env)  # the SDK accepts these spellings
    code, out, err = run_here(monkeypatch, capsys, "check", env=env)
    assert code == 0, out + err


def test_check_still_diagnoses_credential_faults_with_their_exit_codes(
    fake: FakeLean, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Valid settings in unusual spellings do not hide a key mismatch (1) or a near expiry (3)."""
    other = trustme.CA().issue_cert("someone-else.test")
    key = write(tmp_path / "other_key.pem", other.private_key_pem.bytes())
    env = {"LEAN_CERT": str(fake.cert_file), "LEAN_KEY": key, "LEAN_CA": str(fake.ca_file),
           "LEAN_ENVIRONMENT": "PRODUCTION", "LEAN_REGION": "ksa"}
    code, out, _ = run_here(monkeypatch, capsys, "check", env=env)
    assert code == 1 and "DOES NOT MATCH" in out
    env["LEAN_KEY"] = str(fake.key_file)
    code, out, _ = run_here(monkeypatch, capsys, "check", "--warn-days", "1000000", env=env)
    assert code == 3 and "expires on" in out


# --------------------------------------------------------------------- CLI terms, not Python keywords (item 6)

_PYTHON_KEYWORD = re.compile(r"\b(cert|key|ca|key_password|app_token|base_url|environment|region|timeout)=|"
                             r"\bkey_password\b|\bapp_token\b|\bbase_url\b|from_env\(")


def test_cli_errors_name_flags_not_python_keywords(fake: FakeLean, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    key = serialization.load_pem_private_key(fake.key_file.read_bytes(), None)
    encrypted = write(tmp_path / "encrypted_key.pem", key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(KEY_PASSWORD.encode())))
    base = ["--cert", str(fake.cert_file), "--ca", str(fake.ca_file)]
    cases = [
        (["check", *base, "--key", encrypted], {}, "--key-password-env"),
        (["check", *base, "--key", encrypted], {"LEAN_KEY_PASSWORD": "wrong-password"}, "LEAN_KEY_PASSWORD"),
        (["check", *base, "--key", encrypted, "--key-password-env", "MY_PW"], {"MY_PW": "wrong-password"},
         "MY_PW"),
        (["check", *base, "--key", str(fake.key_file), "--base-url", "http://lean.example"], {}, "--base-url"),
        (["banks", *base, "--key", str(fake.key_file), "--base-url", "http://lean.example"],
         {"LEAN_APP_TOKEN": APP_TOKEN}, "--base-url"),
        (["banks", *base, "--key", encrypted], {"LEAN_APP_TOKEN": APP_TOKEN}, "--key-password-env"),
        (["banks", "--key", str(fake.key_file), "--ca", str(fake.ca_file)], {"LEAN_APP_TOKEN": APP_TOKEN},
         "--cert"),
    ]
    for args, env, flag in cases:
        code, out, err = run_here(monkeypatch, capsys, *args, env=env)
        assert code == 2, (args, out, err)
        assert flag in err, (args, err)
        assert not _PYTHON_KEYWORD.search(err + out), (args, err)


def test_in_cli_terms_examples() -> None:
    from lean_mtls.cli._output import in_cli_terms

    assert in_cli_terms("pass key_password= (LeanSession.from_env() reads LEAN_KEY_PASSWORD).") == (
        "pass --key-password-env VAR (the CLI also reads LEAN_KEY_PASSWORD).")
    assert in_cli_terms("cert= is required", {}) == "--cert is required"
    assert in_cli_terms("set LEAN_BASE_URL", {"LEAN_BASE_URL": "--base-url"}) == "set --base-url"
    assert in_cli_terms("build LeanSession(..., environment='production', region='ksa')") == (
        "build LeanSession(..., --environment production, --region ksa)")
    # file names and ordinary words are left alone
    assert in_cli_terms("my_app_cert.crt: the cert file and its key") == "my_app_cert.crt: the cert file and its key"


def test_the_cli_uses_only_public_api() -> None:
    """Structure (issue 12): the commands are built on lean_mtls' public names; the
    private modules they may use are the secrets module that scrubs output and the install hint."""
    import ast

    package = Path(__file__).resolve().parent.parent / "lean_mtls" / "cli"
    allowed = {"_secrets", "_extras"}  # scrubbing; the one install hint
    for path in package.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level >= 2:
                parts = (node.module or "").split(".")
                private = [p for p in parts if p.startswith("_") and p not in allowed]
                assert not private, f"{path.name} imports lean_mtls.{node.module}"
                for alias in node.names:
                    private_name = alias.name.startswith("_") and not alias.name.startswith("__")
                    assert not private_name or node.module, (path.name, alias.name)
            if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("lean_mtls"):
                assert not any(p.startswith("_") for p in (node.module or "").split(".")), path.name
    assert len(list(package.glob("*.py"))) >= 5  # a package of small commands
    assert max(len(p.read_text().splitlines()) for p in package.glob("*.py")) < 400
