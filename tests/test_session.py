"""Session configuration: environments, base URL, from_env, defaults."""

from __future__ import annotations

import platform

import pytest
import requests
import responses

import lean_mtls
from lean_mtls import DEFAULT_TIMEOUT, ConfigurationError, Environment, LeanSession

from .conftest import APP_TOKEN, ClientFiles


def build(files: ClientFiles, **kwargs: object) -> LeanSession:
    return LeanSession(APP_TOKEN, cert=files.cert, key=files.key, ca=files.ca, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("environment", "url"),
    [
        ("sandbox", "https://mtls.sandbox.leantech.me"),
        ("SANDBOX", "https://mtls.sandbox.leantech.me"),
        (Environment.PRODUCTION, "https://api.leantech.me"),
        ("production", "https://api.leantech.me"),
    ],
)
def test_environment_picks_the_origin(client_files: ClientFiles, environment: object, url: str) -> None:
    with build(client_files, environment=environment) as session:
        assert session.base_url == url


def test_sandbox_is_the_default(client_files: ClientFiles) -> None:
    with build(client_files) as session:
        assert session.environment is Environment.SANDBOX
        assert session.base_url == "https://mtls.sandbox.leantech.me"


def test_unknown_environment_lists_the_valid_ones(client_files: ClientFiles) -> None:
    with pytest.raises(ConfigurationError, match="'sandbox', 'production'") as info:
        build(client_files, environment="staging")
    assert "staging" in str(info.value)


def test_base_url_overrides_and_must_be_https(client_files: ClientFiles) -> None:
    with build(client_files, base_url="https://127.0.0.1:8443/") as session:
        assert session.base_url == "https://127.0.0.1:8443"
    with pytest.raises(ConfigurationError, match="https://"):
        build(client_files, base_url="http://api.leantech.me")


@pytest.mark.parametrize("timeout", [0, -1, "10", (1, None), None, True])
def test_timeout_must_be_positive(client_files: ClientFiles, timeout: object) -> None:
    with pytest.raises(ConfigurationError, match="timeout"):
        build(client_files, timeout=timeout)


def test_default_timeout_leaves_room_for_lean_sync_data_calls(client_files: ClientFiles) -> None:
    connect, read = DEFAULT_TIMEOUT
    assert read > 50 and 0 < connect <= read
    with build(client_files) as session:
        assert session.timeout == DEFAULT_TIMEOUT
    with build(client_files, timeout=12) as session:
        assert session.timeout == (12.0, 12.0)


@responses.activate
def test_every_request_gets_a_timeout_and_relative_paths_join_the_base(client_files: ClientFiles) -> None:
    responses.get("https://lean.test/prefix/banks/v1", json=[])
    seen = {}
    with build(client_files, base_url="https://lean.test/prefix", timeout=(3, 7)) as session:
        original = requests.adapters.HTTPAdapter.send

        def spy(self, request, **kwargs):  # type: ignore[no-untyped-def]
            seen["timeout"] = kwargs.get("timeout")
            return original(self, request, **kwargs)

        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(requests.adapters.HTTPAdapter, "send", spy)
            session.get("banks/v1")
    assert seen["timeout"] == (3.0, 7.0)
    assert responses.calls[0].request.url == "https://lean.test/prefix/banks/v1"


def test_user_agent(client_files: ClientFiles) -> None:
    with build(client_files) as session:
        agent = session.headers["User-Agent"]
    assert f"lean-mtls/{lean_mtls.__version__}" in agent
    assert f"Python/{platform.python_version()}" in agent and f"requests/{requests.__version__}" in agent


def test_token_is_not_a_session_header(client_files: ClientFiles) -> None:
    with build(client_files) as session:
        assert "lean-app-token" not in {k.lower() for k in session.headers}


@responses.activate
def test_token_is_only_sent_to_the_lean_origin(client_files: ClientFiles) -> None:
    responses.get("https://lean.test/x", json={})
    responses.get("https://elsewhere.test/x", json={})
    responses.get("https://lean.test.evil.test/x", json={})
    with build(client_files, base_url="https://lean.test", allow_other_origins=True) as session:
        session.get("/x")
        session.get("https://elsewhere.test/x")
        session.get("https://lean.test.evil.test/x")
    sent = [c.request.headers.get("lean-app-token") for c in responses.calls]
    assert sent == [APP_TOKEN, None, None]


@pytest.mark.parametrize("token", ["", "   ", None, "abc\r\nX-Evil: 1"])
def test_bad_app_token(client_files: ClientFiles, token: object) -> None:
    with pytest.raises(ConfigurationError) as info:
        LeanSession(token, cert=client_files.cert, key=client_files.key, ca=client_files.ca)  # type: ignore[arg-type]
    assert "X-Evil" not in str(info.value)


def test_from_env_with_paths(client_files: ClientFiles) -> None:
    env = {
        "LEAN_APP_TOKEN": APP_TOKEN,
        "LEAN_CERT": str(client_files.cert),
        "LEAN_KEY": str(client_files.key),
        "LEAN_CA": str(client_files.ca),
        "LEAN_ENVIRONMENT": "production",
    }
    with LeanSession.from_env(env) as session:
        assert session.base_url == "https://api.leantech.me"
        assert "CN=app-1234" in session.certificate.subject


def test_from_env_with_pem_content_and_base_url(client_files: ClientFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LEAN_APP_TOKEN", APP_TOKEN)
    monkeypatch.setenv("LEAN_CERT", client_files.cert.read_text())
    monkeypatch.setenv("LEAN_KEY", client_files.key.read_text())
    monkeypatch.setenv("LEAN_CA", client_files.ca.read_text())
    monkeypatch.setenv("LEAN_BASE_URL", "https://127.0.0.1:9999")
    with LeanSession.from_env() as session:
        assert session.base_url == "https://127.0.0.1:9999"


@pytest.mark.parametrize("missing", ["LEAN_APP_TOKEN", "LEAN_CERT"])
def test_from_env_names_the_missing_variable(client_files: ClientFiles, missing: str) -> None:
    env = {"LEAN_APP_TOKEN": APP_TOKEN, "LEAN_CERT": str(client_files.cert), "LEAN_KEY": str(client_files.key)}
    del env[missing]
    with pytest.raises(ConfigurationError, match=missing) as info:
        LeanSession.from_env(env)
    assert info.value.code == "missing-conf"


def test_certificate_info(client_files: ClientFiles) -> None:
    with build(client_files) as session:
        info = session.certificate
    assert "CN=app-1234" in info.subject
    assert info.issuer and info.serial_number > 0
    assert len(info.fingerprint_sha256.split(":")) == 32
    assert info.days_left > 300


@pytest.mark.parametrize("url", ["https://api.leantech.me:443", "https://API.leantech.me:443/"])
def test_explicit_default_port_is_the_same_origin(client_files: ClientFiles, url: str) -> None:
    with build(client_files, base_url=url) as session:
        assert session.base_url.lower() == "https://api.leantech.me"
        for request_url in ("https://api.leantech.me/banks/v1", "https://api.leantech.me:443/banks/v1"):
            assert isinstance(session.get_adapter(request_url), lean_mtls.LeanAdapter)


def test_ipv6_origin_gets_the_lean_adapter(client_files: ClientFiles) -> None:
    with build(client_files, base_url="https://[::1]:8443") as session:
        assert session.origin == "https://[::1]:8443"
        assert isinstance(session.get_adapter("https://[::1]:8443/banks/v1"), lean_mtls.LeanAdapter)
        assert not isinstance(session.get_adapter("https://[::2]:8443/banks/v1"), lean_mtls.LeanAdapter)


def test_base_url_with_credentials_is_refused(client_files: ClientFiles) -> None:
    with pytest.raises(ConfigurationError, match="credentials"):
        build(client_files, base_url="https://user:pass@api.leantech.me")


def test_header_validation_still_applies(client_files: ClientFiles) -> None:
    with build(client_files, base_url="https://lean.test") as session:
        for _ in range(2):  # the second time too: validated headers are remembered, bad ones never
            with pytest.raises(requests.exceptions.InvalidHeader):
                session.get("/x", headers={"X-Injected": "a\r\nSet-Cookie: b"})
        assert "Connection" not in session.headers  # HTTP/1.1 keeps connections alive by default
