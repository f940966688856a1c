"""BREAK-11: the leaks and trust faults a review found after issue 11 landed.

Real TLS on 127.0.0.1 for every network case.  Each test feeds the secrets
through the output channel named in the finding and looks for every spelling
(:func:`lean_mtls._secrets.spellings`).
"""

from __future__ import annotations

import base64
import html
import http.client
import json
import pickle
import pprint
import socket
import threading
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest
import requests
import trustme

from lean_mtls import ConfigurationError, LeanError, LeanSession
from lean_mtls._auth import AppTokenAuth, ClientCredentialsAuth
from lean_mtls._environments import Origin
from lean_mtls._secrets import MIN_CREDENTIAL_LENGTH, REDACTED, Secret, scrub, spellings
from lean_mtls.errors import InvalidResponseError
from lean_mtls.testing import MTLSServer, RecordedRequest, Reply

from .conftest import APP_TOKEN, ClientFiles, server_context

CLIENT_SECRET = "s3cr3t+Client/Secret=XYZ&k%7E"
LONG_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhcHAifQ.break11-access-token-0001"


def leaked(text: str, *values: str) -> list[str]:
    return [s for v in values for s in spellings(v) if s in text]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture()
def plain(client_files: ClientFiles) -> Iterator[requests.Session]:
    session = requests.Session()
    session.trust_env = False
    session.verify = str(client_files.ca)
    session.cert = (str(client_files.cert), str(client_files.key))
    yield session
    session.close()


def token_server(server: MTLSServer, token_reply: Any) -> None:
    def handle(request: RecordedRequest) -> Reply:
        if request.path == "/oauth2/token":
            return token_reply(request)  # type: ignore[no-any-return]
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        return Reply(200 if bearer == LONG_TOKEN else 401, {"ok": bearer == LONG_TOKEN})

    server.set_handler(handle)


def issue_token(request: RecordedRequest) -> Reply:
    return Reply(200, {"access_token": LONG_TOKEN, "token_type": "Bearer", "expires_in": 3599})


# ---------------------------------------------------------------- findings 1 and 2: the token request body


def test_token_body_is_not_in_frame_locals_on_plain_requests() -> None:
    """Crash reporters record repr() of every frame's locals: the form travels redacted."""
    port = closed_port()
    auth = ClientCredentialsAuth(APP_TOKEN, CLIENT_SECRET, token_url=f"https://127.0.0.1:{port}/oauth2/token",
                                 origins=["https://127.0.0.1:1"])
    with pytest.raises(requests.RequestException) as caught:
        requests.get("https://127.0.0.1:1/x", auth=auth, timeout=3)
    text = "".join(traceback.TracebackException.from_exception(caught.value, capture_locals=True).format())
    assert "client_secret" not in text or "b'<redacted>'" in text
    assert leaked(text, CLIENT_SECRET, APP_TOKEN) == []
    assert isinstance(caught.value, LeanError)  # the SDK's own token session maps transport failures


@pytest.mark.parametrize("status", [500, 401, 400, 503])
def test_error_response_and_its_request_carry_no_secret(server: MTLSServer, plain: requests.Session,
                                                        status: int) -> None:
    """The response an error carries (and its request) is part of the error: repr, vars, pickle."""
    token_server(server, lambda request: Reply(status, {"error": "server_error"}))
    auth = ClientCredentialsAuth(APP_TOKEN, CLIENT_SECRET, token_url=server.url + "/oauth2/token",
                                 origins=[server.url], token_session=plain)
    with pytest.raises(LeanError) as caught:
        plain.get(server.url + "/x", auth=auth)
    error: Any = caught.value
    assert error.response is not None and error.response.status_code == status
    outputs = {
        "repr(body)": repr(error.response.request.body),
        "vars(request)": pprint.pformat(vars(error.response.request)),
        "pickle(response)": repr(pickle.dumps(error.response)),
        "pickle(request)": repr(pickle.dumps(error.response.request)),
        "pickle(error)": repr(pickle.dumps(error)),
        "locals": "".join(traceback.TracebackException.from_exception(error, capture_locals=True).format()),
    }
    assert {name: leaked(text, CLIENT_SECRET, APP_TOKEN) for name, text in outputs.items()} == {
        name: [] for name in outputs
    }
    # the server got the real form all the same
    body = server.requests[-1].body.decode()
    assert "client_secret=s3cr3t%2BClient%2FSecret%3DXYZ%26k%257E" in body


def test_gateway_echo_in_the_response_content_is_scrubbed(server: MTLSServer, plain: requests.Session) -> None:
    """A gateway that echoes the form: error.response.content / .text / pickle do not carry it."""
    token_server(server, lambda request: Reply(401, b"rejected: " + request.body,
                                               {"Content-Type": "text/plain"}))
    auth = ClientCredentialsAuth(APP_TOKEN, CLIENT_SECRET, token_url=server.url + "/oauth2/token",
                                 origins=[server.url], token_session=plain)
    with pytest.raises(LeanError) as caught:
        plain.get(server.url + "/x", auth=auth)
    error: Any = caught.value
    for text in (error.response.text, repr(pickle.dumps(error.response)), str(error), repr(error.body)):
        assert leaked(text, CLIENT_SECRET, APP_TOKEN) == []
    assert error.response.text.startswith("rejected: ")


def test_session_token_error_response_is_clean(server: MTLSServer, client_files: ClientFiles) -> None:
    token_server(server, lambda request: Reply(401, {"error": "invalid_client"}))
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=client_files.ca,
                     base_url=server.url, auth_url=server.url, client_secret=CLIENT_SECRET, retries=0) as session, \
            pytest.raises(LeanError) as caught:
        session.request_json("GET", "/banks/v1/")
    error: Any = caught.value
    assert repr(error.response.request.body) == "b'<redacted>'"
    for text in (pprint.pformat(vars(error.response.request)), repr(pickle.dumps(error.response))):
        assert leaked(text, CLIENT_SECRET, APP_TOKEN) == []


def test_api_error_response_echoing_the_bearer_is_clean(server: MTLSServer, client_files: ClientFiles) -> None:
    """Sibling: not the token request but an API call whose error page echoes the Authorization header."""
    def handle(request: RecordedRequest) -> Reply:
        if request.path == "/oauth2/token":
            return issue_token(request)
        return Reply(502, ("upstream said: " + request.headers.get("authorization", "")).encode(),
                     {"Content-Type": "text/plain"})

    server.set_handler(handle)
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=client_files.ca,
                     base_url=server.url, auth_url=server.url, client_secret=CLIENT_SECRET, retries=0) as session:
        with pytest.raises(LeanError) as caught:
            session.request_json("GET", "/banks/v1/")
        error: Any = caught.value
        # (a response whose request carries auth hooks cannot be pickled at all: requests' own limit)
        for text in (error.response.text, pprint.pformat(vars(error.response)),
                     pprint.pformat(vars(error.response.request))):
            assert leaked(text, LONG_TOKEN, CLIENT_SECRET, APP_TOKEN) == []


# ---------------------------------------------------------------- finding 3: the default token session's TLS


@pytest.fixture()
def public_tls_server(server_ca: trustme.CA) -> Iterator[MTLSServer]:
    """A token host that does not ask for a client certificate (trusted like a public one)."""
    with MTLSServer(server_context(server_ca, None)) as foreign:
        token_server(foreign, issue_token)
        yield foreign


def test_default_token_session_ignores_sslkeylogfile_and_environment_ca(
    public_tls_server: MTLSServer, server_ca: trustme.CA, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keylog = tmp_path / "keys.log"
    ca_file = tmp_path / "env-ca.pem"
    server_ca.cert_pem.write_to_path(str(ca_file))
    monkeypatch.setenv("SSLKEYLOGFILE", str(keylog))
    for name in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.setenv(name, str(ca_file))  # the environment names the test CA: it must not be trusted
    auth = ClientCredentialsAuth(APP_TOKEN, CLIENT_SECRET, token_url=public_tls_server.url + "/oauth2/token",
                                 origins=[public_tls_server.url])
    with pytest.raises(LeanError, match=r"verify|certificate"):
        auth.token()
    assert not keylog.exists() or keylog.read_text().strip() == ""


def test_default_token_session_ignores_environment_proxy(
    public_tls_server: MTLSServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    contacted = threading.Event()
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(5)

    def accept() -> None:
        try:
            conn, _ = listener.accept()
            contacted.set()
            conn.close()
        except OSError:
            pass

    threading.Thread(target=accept, daemon=True).start()
    proxy = f"http://127.0.0.1:{listener.getsockname()[1]}"
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    auth = ClientCredentialsAuth(APP_TOKEN, CLIENT_SECRET, token_url=public_tls_server.url + "/oauth2/token",
                                 origins=[public_tls_server.url])
    with pytest.raises(LeanError):
        auth.token()  # certifi does not trust the test CA: refused, but never through the proxy
    listener.close()
    assert not contacted.is_set()


# ---------------------------------------------------------------- finding 4: http.client debug printing


@pytest.fixture()
def debuglevel_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http.client.HTTPConnection, "debuglevel", 1)  # the usual "debug requests" recipe


def test_http_client_debuglevel_prints_no_credential(debuglevel_one: None, server: MTLSServer,
                                                     client_files: ClientFiles,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    token_server(server, issue_token)
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=client_files.ca,
                     base_url=server.url, auth_url=server.url, client_secret=CLIENT_SECRET, retries=0) as session:
        session.request_json("GET", "/banks/v1/")  # token request (form) + Bearer
    server.set_handler(lambda request: Reply(200, {"ok": True}, {"Set-Cookie": "sid=cookie-value-123456"}))
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=client_files.ca,
                     base_url=server.url, retries=0) as session:
        session.request_json("GET", "/banks/v1/")  # lean-app-token
    captured = capsys.readouterr()
    assert leaked(captured.out + captured.err, APP_TOKEN, CLIENT_SECRET, LONG_TOKEN, "cookie-value-123456") == []


def test_debuglevel_on_the_default_token_session(debuglevel_one: None, public_tls_server: MTLSServer,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    port = closed_port()
    for url in (public_tls_server.url, f"https://127.0.0.1:{port}"):
        auth = ClientCredentialsAuth(APP_TOKEN, CLIENT_SECRET, token_url=url + "/oauth2/token", origins=[url])
        with pytest.raises(LeanError):
            auth.token()
    captured = capsys.readouterr()
    assert leaked(captured.out + captured.err, APP_TOKEN, CLIENT_SECRET) == []


# ---------------------------------------------------------------- finding 7: credentials too short to scrub


SHORT = ["x", "abcd", "Zq9x", "a" * (MIN_CREDENTIAL_LENGTH - 1)]


@pytest.mark.parametrize("value", SHORT)
@pytest.mark.parametrize("where", ["AppTokenAuth", "client_id", "client_secret", "LeanSession"])
def test_short_credentials_are_refused_without_printing_them(value: str, where: str,
                                                             client_files: ClientFiles) -> None:
    builders = {
        "AppTokenAuth": lambda: AppTokenAuth(value, origins=["https://api.leantech.me"]),
        "client_id": lambda: ClientCredentialsAuth(value, CLIENT_SECRET, token_url="https://a.test/t",
                                                   origins=["https://a.test"]),
        "client_secret": lambda: ClientCredentialsAuth(APP_TOKEN, value, token_url="https://a.test/t",
                                                       origins=["https://a.test"]),
        "LeanSession": lambda: LeanSession(value, cert=client_files.cert, key=client_files.key,
                                           ca=client_files.ca, base_url="https://localhost:1"),
    }
    with pytest.raises(ConfigurationError) as caught:
        builders[where]()
    error = caught.value
    assert f"at least {MIN_CREDENTIAL_LENGTH}" in str(error)
    shown = str(error) + repr(error.args) + repr(pickle.dumps(error))
    assert repr(value) not in shown and f"'{value}'" not in shown


def test_shortest_accepted_credential_is_scrubbed() -> None:
    from lean_mtls._secrets import scrub

    value = "Zq9xK2m7"[:MIN_CREDENTIAL_LENGTH]
    auth = AppTokenAuth(value, origins=["https://api.leantech.me"])
    assert value not in scrub(f"token was {value}")
    del auth


@pytest.mark.parametrize("token", ["abc", "1234567"])
def test_short_access_token_answer_is_refused(server: MTLSServer, plain: requests.Session, token: str) -> None:
    token_server(server, lambda request: Reply(200, {"access_token": token, "expires_in": 3599}))
    auth = ClientCredentialsAuth(APP_TOKEN, CLIENT_SECRET, token_url=server.url + "/oauth2/token",
                                 origins=[server.url], token_session=plain)
    with pytest.raises(InvalidResponseError, match="access_token is") as caught:
        auth.token()
    assert token not in str(caught.value)


# ---------------------------------------------------------------- finding 8: the production guard by host


@pytest.mark.parametrize("base_url", [
    "https://api.leantech.me:8443", "https://API.leantech.me.:8443", "https://api.sa.leantech.me:444",
    "https://api2.leantech.me:1", "https://api.leantech.me:443",
])
def test_verify_false_refused_for_production_hosts_on_any_port(base_url: str) -> None:
    with pytest.raises(ConfigurationError, match="verify=False is refused"):
        LeanSession(APP_TOKEN, base_url=base_url, verify=False)


@pytest.mark.parametrize("auth_url", ["https://auth.leantech.me:8443", "https://auth.sa.leantech.me:1"])
def test_verify_false_refused_for_production_token_host_on_any_port(auth_url: str) -> None:
    with pytest.raises(ConfigurationError, match="verify=False is refused"):
        LeanSession(client_id=APP_TOKEN, client_secret=CLIENT_SECRET, base_url="https://localhost:1",
                    auth_url=auth_url, verify=False)


@pytest.mark.parametrize("url", ["https://api%2eleantech%2eme", "https://api.leantech.me%2e",
                                 "https://%61pi.leantech.me", "https://api.leantech.me%2E:8443",
                                 "https://localhost%2e:1"])
@pytest.mark.parametrize("which", ["base_url", "auth_url"])
def test_percent_encoded_hosts_are_refused(url: str, which: str) -> None:
    options: dict[str, Any] = {"base_url": "https://localhost:1", "client_secret": CLIENT_SECRET}
    options[which] = url
    for verify in (True, False):
        with pytest.raises(ConfigurationError, match="percent-encoded"):
            LeanSession(APP_TOKEN, verify=verify, **options)


@pytest.mark.parametrize("spelling", ["https://api%2eleantech%2eme/x", "https://%61pi.leantech.me./x",
                                      "https://API%2Eleantech.me:443/x"])
def test_every_decision_by_host_decodes_percent(spelling: str) -> None:
    assert Origin.of(spelling) == Origin.of("https://api.leantech.me")
    auth = AppTokenAuth(APP_TOKEN, origins=["https://api.leantech.me"])
    assert auth.applies_to(spelling)



# ---------------------------------------------------------------- finding 5: every spelling, decoded


ECHOED = "Ab+c/dE=f&g7<hJ9>kLmN0pQ"  # every character that escapes differently somewhere


def _go_json(value: str) -> str:  # Go's encoding/json default: & < > as \u0026 \u003c \u003e
    return json.dumps(value)[1:-1].replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def _wrapped(text: str, column: int) -> str:
    return "\n".join(text[i:i + column] for i in range(0, len(text), column))


def encoded_spellings(value: str) -> dict[str, str]:
    raw = value.encode()
    b64 = base64.b64encode(raw).decode()
    embedded = base64.b64encode(b"client:" + raw + b":tail").decode()
    cases = {
        "percent every byte": "".join(f"%{c:02X}" for c in raw),
        "percent every byte lower": "".join(f"%{c:02x}" for c in raw),
        "percent every byte twice": "".join(f"%25{c:02X}" for c in raw),
        "html decimal": "".join(f"&#{c};" for c in raw),
        "html hex": "".join(f"&#x{c:x};" for c in raw),
        "html minimal": html.escape(value).replace("&amp;", "&#38;"),
        "json \\u every char": "".join(f"\\u{c:04x}" for c in raw),
        "python \\x every char": "".join(f"\\x{c:02x}" for c in raw),
        "go json": _go_json(value),
        "hex": raw.hex(),
        "HEX": raw.hex().upper(),
        "crlf space split": value[:9] + "\r\n " + value[9:],
        "lf split": value[:5] + "\n" + value[5:],
        "json-escaped crlf split": value[:9] + "\\r\\n" + value[9:],
        "mime base64": base64.encodebytes((("client:" + value) * 3).encode()).decode(),
    }
    for column in (4, 7, 8, 10, 16, 64, 76):
        cases[f"base64 wrapped at {column}"] = _wrapped(b64, column)
        cases[f"embedded base64 wrapped at {column}"] = _wrapped(embedded, column)
    return cases


def secret_survives(out: str, value: str, encoded: str) -> bool:
    """The secret can be read back from ``out``: the spelling itself, or its decoding."""
    if encoded in out or value in out:
        return True
    joined = "".join(out.split())
    return any(s in joined for s in spellings(value) if len(s) >= 8)


@pytest.mark.parametrize(("name", "encoded"), sorted(encoded_spellings(ECHOED).items()))
def test_scrub_decodes_every_spelling(name: str, encoded: str) -> None:
    secret = Secret(ECHOED)
    for template in ("echo: {}", '{{"detail":"{}"}}', "{}", "<secret>{}</secret>", "x={}&y=1"):
        text = template.format(encoded)
        out = scrub(text)
        assert not secret_survives(out, ECHOED, encoded), (name, template, out)
        assert REDACTED in out
    del secret


@pytest.mark.parametrize(("name", "encoded"), sorted(encoded_spellings(ECHOED).items()))
def test_scrub_also_values_are_decoded_too(name: str, encoded: str) -> None:
    out = scrub(f"gateway echo: {encoded} end", also=[ECHOED])
    assert not secret_survives(out, ECHOED, encoded) and out.endswith(" end")


def test_go_escaped_value_after_a_sensitive_name_is_redacted_whole() -> None:
    unknown = "Zz+unknown&secret<value>-1"  # not registered: only the name=value rule can catch it
    text = '{"error":"invalid_client","client_secret":"' + _go_json(unknown) + '"}'
    out = scrub(text)
    assert "unknown" not in out and "value" not in out.split("client_secret")[1], out


def test_ordinary_text_is_left_alone() -> None:
    secret = Secret(ECHOED)
    for text in ("GET /banks/v1/?q=a%20b&page=2 -> 200", "line one\nline two\r\n  indented",
                 'path \\u00e9 and &amp; entities &#38; stay', "deadbeef" * 4):
        assert scrub(text) == text
    del secret


@pytest.mark.parametrize("mode", ["go json", "hex", "percent every byte", "mime base64", "html decimal",
                                  "json \\u every char", "crlf space split", "base64 wrapped at 7"])
def test_gateway_echo_is_redacted_from_message_and_error_body(server: MTLSServer, plain: requests.Session,
                                                              mode: str) -> None:
    """End to end: the token endpoint answers 401 echoing client_secret in ``mode``."""
    secret = "Ab+c/dE=f&g7<hJ9>kLmN0pQ"

    def echo(request: RecordedRequest) -> Reply:
        sent = dict(parse_qsl(request.body.decode()))["client_secret"]
        encoded = encoded_spellings(sent)[mode]
        return Reply(401, {"error": "invalid_client", "error_description": "bad secret " + encoded,
                           "detail": {"echo": [encoded]}})

    token_server(server, echo)
    auth = ClientCredentialsAuth(APP_TOKEN, secret, token_url=server.url + "/oauth2/token",
                                 origins=[server.url], token_session=plain)
    with pytest.raises(LeanError) as caught:
        auth.token()
    error: Any = caught.value
    encoded = encoded_spellings(secret)[mode]
    for where, text in {"message": str(error), "args": repr(error.args), "body": json.dumps(error.body),
                        "body repr": repr(error.body), "response": error.response.text,
                        "pickle": repr(pickle.dumps(error))}.items():
        assert not secret_survives(text, secret, encoded), (where, text)


# ---------------------------------------------------------------- finding 6: non-Latin-1 header values


def _chain(error: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and len(found) < 10:
        found.append(current)
        current = current.__cause__ or current.__context__
    return found


@pytest.mark.parametrize(("name", "value"), [
    ("x-api-key", "PARTNER-KEY-abcdef123\u2019"),
    ("Cookie", "sid=SESSIONID-abcdef123\u00e9\u2019"),
    ("Proxy-Authorization", "Basic UEFSVE5FUi1hYmNkZWYxMjM\u2019"),
    ("lean-correlation-id", "caf\u00e9-correlation-\u2019"),
    ("X-Partner-Token", "\u201cPARTNER-TOK-abcdef123\u201d"),
])
def test_non_latin1_header_value_is_not_reachable_from_the_error(server: MTLSServer, client_files: ClientFiles,
                                                                   name: str, value: str) -> None:
    server.set_handler(lambda request: Reply(200, {"ok": True}))
    core = value.strip("\u2019\u201c\u201d\u00e9")[:12]
    before = len(server.requests)  # the server is shared by the whole run
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=client_files.ca,
                     base_url=server.url, retries=0) as session, pytest.raises(LeanError) as caught:
        session.request_json("GET", "/banks/v1/", headers={name: value})
    error = caught.value
    assert isinstance(error, requests.RequestException)
    for link in _chain(error):  # no UnicodeEncodeError whose .object holds the whole header block
        shown = repr(getattr(link, "object", "")) + repr(link.args) + str(link)
        assert core not in shown, type(link).__name__
    assert core not in repr(pickle.dumps(error))
    assert len(server.requests) == before  # refused before anything was sent
