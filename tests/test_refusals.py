"""Issue 12 item 3: a refused URL gets advice that works.

Lean's own hosts of another environment, region or auth mode are named as such
(with how to build that session, or to pass a path), plain http:// is told to
use https://, and a refusal caused by a redirect says so.  The advice to use
``mount_certificate`` / ``allow_other_origins`` stays for hosts that are not
Lean's.  Refusals happen before any socket is opened (no internet needed).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lean_mtls import ConfigurationError, LeanSession
from lean_mtls.testing import MTLSServer
from lean_mtls.testing._server import Reply
from tests.conftest import APP_TOKEN, ClientFiles


@pytest.fixture()
def sandbox(client_files: ClientFiles) -> Iterator[LeanSession]:
    """A UAE sandbox session as a new user builds it (no base_url)."""
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=client_files.ca) as s:
        yield s


def refusal(session: LeanSession, url: str) -> str:
    with pytest.raises(ConfigurationError) as info:
        session.get(url)
    assert info.value.code == "missing-conf"
    return info.value.message


@pytest.mark.parametrize(("url", "belongs", "build"), [
    ("https://api.leantech.me/banks/v1", "UAE production API", "environment='production', region='uae')"),
    ("https://api.sa.leantech.me/banks/v1", "KSA production API", "environment='production', region='ksa')"),
    ("https://mtls.sandbox.sa.leantech.me/banks/v1", "KSA sandbox API", "environment='sandbox', region='ksa')"),
    ("https://api2.leantech.me/banks/v1", "UAE production API (OAuth2)",
     "environment='production', region='uae', auth='oauth')"),
    ("https://sandbox.leantech.me/banks/v1", "UAE sandbox API (OAuth2)", "auth='oauth')"),
    ("https://auth.sa.leantech.me/oauth2/token", "KSA production OAuth2 token host", "region='ksa', auth='oauth')"),
    ("https://API.LeanTech.me:443/banks/v1", "UAE production API", "environment='production'"),
    ("https://api.leantech.me./banks/v1", "UAE production API", "environment='production'"),
])
def test_a_lean_host_of_another_environment_is_named(sandbox: LeanSession, url: str, belongs: str,
                                                      build: str) -> None:
    message = refusal(sandbox, url)
    assert f"it is Lean's {belongs}" in message
    assert build in message
    assert "LEAN_ENVIRONMENT=" in message  # the from_env spelling too
    assert "This session is built for Lean's UAE sandbox API" in message
    assert "use session.mount_certificate" not in message.lower()
    assert "build the session with allow_other_origins=True" not in message
    if "/banks/v1" in url:
        assert "pass a path such as session.get('/banks/v1')" in message


@pytest.mark.parametrize("url", [
    "http://mtls.sandbox.leantech.me/banks/v1",
    "http://MTLS.sandbox.leantech.me:80/banks/v1",
])
def test_http_of_the_right_host_says_use_https(sandbox: LeanSession, url: str) -> None:
    message = refusal(sandbox, url)
    assert "Use https:// (https://mtls.sandbox.leantech.me)" in message
    assert "session.get('/banks/v1')" in message
    assert "mount_certificate" not in message and "allow_other_origins" not in message


def test_http_of_another_lean_host_says_use_https_and_what_it_is(sandbox: LeanSession) -> None:
    message = refusal(sandbox, "http://api.leantech.me/banks/v1")
    assert "Use https:// (https://api.leantech.me is Lean's UAE production API" in message
    assert "allow_other_origins" not in message


def test_http_of_any_host_says_use_https_even_with_allow_other_origins(client_files: ClientFiles) -> None:
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=client_files.ca,
                     allow_other_origins=True) as session:
        message = refusal(session, "http://example.com/x")
    assert "Use https://" in message and "allow_other_origins" not in message


def test_other_hosts_keep_the_mount_certificate_advice(sandbox: LeanSession) -> None:
    message = refusal(sandbox, "https://api.other-bank.example/x")
    assert message.startswith("No certificate is configured for https://api.other-bank.example")
    assert "mount_certificate" in message and "allow_other_origins=True" in message


def test_allow_other_origins_still_refuses_lean_hosts_of_another_environment(client_files: ClientFiles) -> None:
    """With plain TLS allowed, Lean's production host would get no app token and no certificate."""
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=client_files.ca,
                     allow_other_origins=True) as session:
        message = refusal(session, "https://api.leantech.me/banks/v1")
    assert "environment='production'" in message


def test_the_sessions_own_hosts_are_not_refused(client_files: ClientFiles) -> None:
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=client_files.ca,
                     environment="production", allow_other_origins=True) as session:
        adapter = session.get_adapter("https://api.leantech.me/banks/v1")
        assert adapter is session.get_adapter(session.base_url + "/x")
        assert "refus" not in type(adapter).__name__.lower() and "unmapped" not in type(adapter).__name__.lower()


@pytest.mark.parametrize(("target", "says"), [
    ("https://api.leantech.me/banks/v1", "it is Lean's UAE production API"),
    ("http://{host}/banks/v1", "Use https://"),
    ("https://other.example/steal", "No certificate is configured for https://other.example"),
])
def test_a_refused_redirect_says_it_was_a_redirect(server: MTLSServer, client_files: ClientFiles, target: str,
                                                   says: str) -> None:
    location = target.format(host=server.url.split("://", 1)[1])
    server.set_handler(lambda r: Reply(302, None, {"Location": location}))
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=client_files.ca,
                     base_url=server.url) as session:
        message = refusal(session, "/moved")
    assert f"The server at {server.url} redirected this request to" in message
    assert "the redirect was not followed" in message
    assert says in message


def test_a_direct_refusal_does_not_mention_a_redirect(sandbox: LeanSession) -> None:
    assert "redirect" not in refusal(sandbox, "https://api.leantech.me/banks/v1")
