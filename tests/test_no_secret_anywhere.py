"""Issue 11 "done when": every secret the SDK knows, through every output it has,
in none of the spellings of item 5.

Secrets: the app token, the OAuth client secret (with + / = & %), the access
tokens Lean issues, the private key (PEM lines), the key password, a PKCS#12
password and a webhook secret.  Outputs: exception text, repr and args, pickles
of errors, repr of session / auth / request / response / headers, every log
record at DEBUG (urllib3's included, formatted with tracebacks), and the CLI's
stdout, stderr and ``--json``.  The servers echo what they receive on purpose,
as debugging gateways do.
"""

from __future__ import annotations

import base64
import json
import logging
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote

import pytest
import trustme

from lean_mtls import LeanError, LeanSession, webhooks
from lean_mtls.testing import MTLSServer, RecordedRequest, Reply

from .conftest import APP_TOKEN, KEY_PASSWORD, ClientFiles, incomplete_chain_is_not_the_point
from .pki import key_bytes, pkcs12_bytes, write
from .test_scrub import every_spelling

CLIENT_SECRET = "cs+Zx/9q=&k%7Ea-SECRET=="
P12_PASSWORD = "p12-Pa55word/with+signs="
WEBHOOK_SECRET = "whsec_9f8e7d6c5b4a-webhook-secret"
ACCESS_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhcHAtMTIzNCJ9.access-{n}-signature-zzzz"


class EchoingLean:
    """Token endpoint and API that echo the request back, in several spellings."""

    def __init__(self) -> None:
        self.issued: list[str] = []
        self.token_mode = "ok"

    def _echo(self, request: RecordedRequest) -> str:
        raw = request.body.decode("latin-1")
        headers = json.dumps(dict(request.headers))
        b64 = base64.b64encode(f"{headers} {raw}".encode()).decode()
        return f"headers={headers} body={raw} quoted={quote(raw)} b64={b64}"

    def __call__(self, request: RecordedRequest) -> Reply:
        if request.path == "/oauth2/token":
            form = dict(parse_qsl(request.body.decode()))
            if self.token_mode == "echo":
                return Reply(400, {"error": "invalid_client", "error_description": self._echo(request)})
            if self.token_mode == "crlf":
                return Reply(200, {"access_token": form["client_secret"] + "\r\nX: 1", "expires_in": 60})
            if self.token_mode == "redirect":
                return Reply(307, b"", {"Location": "https://127.0.0.1:9/steal?" + request.body.decode()})
            token = ACCESS_TOKEN.format(n=len(self.issued) + 1)
            self.issued.append(token)
            return Reply(200, {"access_token": token, "token_type": "Bearer", "expires_in": 3599})
        if request.path == "/banks/v1/":
            return Reply(200, [{"identifier": "ECHO", "name": self._echo(request)}])
        if request.path == "/html":
            return Reply(502, f"<html><title>Bad gateway</title><body>{self._echo(request)}</body></html>")
        if request.path == "/revoke":  # the first token is refused, so the SDK refetches once
            bearer = request.headers.get("authorization", "")
            if self.issued and bearer.endswith(self.issued[0]):
                return Reply(401, {"status": "UNAUTHORIZED", "message": self._echo(request)})
        return Reply(400, {"status": "INVALID_PARAMETERS", "message": self._echo(request)})


@pytest.fixture()
def lean(server: MTLSServer) -> EchoingLean:
    handler = EchoingLean()
    server.set_handler(handler)
    return handler


class Outputs:
    def __init__(self) -> None:
        self.texts: list[str] = []
        self.blobs: list[bytes] = []
        self.pickled = 0

    def error(self, exc: BaseException) -> None:
        self.texts += [str(exc), repr(exc), repr(exc.args), str(getattr(exc, "body", ""))]
        self.texts += [repr(note) for note in getattr(exc, "__notes__", [])]
        try:
            self.blobs.append(pickle.dumps(exc))
            self.pickled += 1
        except Exception as problem:
            self.texts.append(str(problem))

    def expect_error(self, call: Any) -> None:
        try:
            call()
        except LeanError as exc:
            self.error(exc)
        else:
            raise AssertionError(f"{call} did not raise")

    def reprs(self, *objects: object) -> None:
        self.texts += [repr(o) for o in objects] + [str(o) for o in objects]


@pytest.fixture()
def p12(client_leaf: trustme.LeafCert, client_intermediate: trustme.CA, tmp_path: Path) -> Path:
    return write(tmp_path / "app.p12", pkcs12_bytes(client_leaf, [client_intermediate.cert_pem],
                                                    P12_PASSWORD.encode()))


@pytest.fixture()
def encrypted_key(client_leaf: trustme.LeafCert, tmp_path: Path) -> Path:
    return write(tmp_path / "enc.pem", key_bytes(client_leaf, "pkcs8-encrypted", KEY_PASSWORD.encode()))


def secret_values(files: ClientFiles, lean: EchoingLean) -> list[str]:
    key_lines = [line for line in files.key.read_text().splitlines() if line and not line.startswith("-----")]
    return [APP_TOKEN, CLIENT_SECRET, KEY_PASSWORD, P12_PASSWORD, WEBHOOK_SECRET, *lean.issued, *key_lines]


def exercise_sdk(server: MTLSServer, files: ClientFiles, lean: EchoingLean, p12: Path, encrypted_key: Path,
                 out: Outputs) -> None:
    common: dict[str, Any] = {"cert": files.cert, "ca": files.ca, "base_url": server.url, "retries": 0}
    # OAuth: a token, an echoing API, a revoked token and its replay, an HTML gateway.
    with LeanSession(APP_TOKEN, key=encrypted_key, key_password=KEY_PASSWORD, client_secret=CLIENT_SECRET,
                     auth_url=server.url, **common) as session:
        response = session.get("/banks/v1/")
        # (response.text is the server's answer, handed to the caller as is: not an SDK output)
        out.reprs(session, session.auth, response, response.request, response.request.headers,
                  dict(response.request.headers))
        for path in ("/revoke", "/html", "/other"):
            out.expect_error(lambda path=path: session.request_json("GET", path))
        for mode in ("echo", "crlf", "redirect"):
            lean.token_mode = mode
            session.auth.invalidate()  # type: ignore[union-attr]
            out.expect_error(lambda: session.get("/banks/v1/"))
        lean.token_mode = "ok"
        out.expect_error(lambda: session.get(f"https://user:{CLIENT_SECRET}@{server.url[8:]}/banks/v1/"))
    # App token: an echoing API, and a PKCS#12 bundle.
    with LeanSession(APP_TOKEN, key=files.key, **common) as session:
        out.reprs(session, session.auth, session.get("/banks/v1/").request.headers)
        out.expect_error(lambda: session.request_json("POST", "/customers/v1/", json={"app_user_id": "u"}))
    with LeanSession(APP_TOKEN, cert=p12, key_password=P12_PASSWORD, ca=files.ca, base_url=server.url) as session:
        out.reprs(session, session.certificate)
    # Construction errors that had a secret in hand.
    out.expect_error(lambda: LeanSession(APP_TOKEN, cert=p12, key_password="not-" + P12_PASSWORD))
    out.expect_error(lambda: LeanSession(APP_TOKEN, cert=files.cert, key=encrypted_key, key_password="wrong-pw-1"))
    out.expect_error(lambda: LeanSession(f"\u201c{APP_TOKEN}\u201d", cert=files.cert, key=files.key))
    out.expect_error(lambda: LeanSession(APP_TOKEN, client_secret=CLIENT_SECRET[:5] + "\r\n" + CLIENT_SECRET[5:]))
    # Webhooks.
    body = b'{"type": "payment.created", "payload": {}}'
    signature = webhooks.sign(body, WEBHOOK_SECRET)
    out.expect_error(lambda: webhooks.verify(body + b" ", signature, WEBHOOK_SECRET))
    out.expect_error(lambda: webhooks.verify(body, signature, WEBHOOK_SECRET[:-1]))


@incomplete_chain_is_not_the_point
def test_no_secret_in_any_output(server: MTLSServer, client_files: ClientFiles, lean: EchoingLean, p12: Path,
                                 encrypted_key: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # every logger: lean_mtls, urllib3, the rest
    out = Outputs()
    exercise_sdk(server, client_files, lean, p12, encrypted_key, out)
    out.texts.append(caplog.text)  # formatted records, tracebacks included
    out.texts += [record.getMessage() for record in caplog.records]
    assert len(lean.issued) >= 2, "a token was refetched after the 401"
    assert out.pickled >= 10, "errors pickle (issue 10 item 17)"
    assert_clean(out, secret_values(client_files, lean))


def test_no_key_material_in_errors_for_base64_keys(client_files: ClientFiles, lean: EchoingLean) -> None:
    out = Outputs()
    b64_key = base64.b64encode(client_files.key.read_bytes()).decode()
    # The whole bare body is a valid key now (issue 11 item 3 accepts it): cut it short to damage it.
    body_lines = "\n".join(client_files.key.read_text().splitlines()[1:-1])[:-8]
    for damaged in (b64_key[:-8], b64_key.replace("L", "*", 3), body_lines):
        out.expect_error(lambda damaged=damaged: LeanSession(APP_TOKEN, cert=client_files.cert, key=damaged))
    assert_clean(out, secret_values(client_files, lean))


@pytest.fixture()
def cli_env(monkeypatch: pytest.MonkeyPatch, server: MTLSServer, client_files: ClientFiles,
            encrypted_key: Path) -> Iterator[None]:
    for name in list(__import__("os").environ):
        if name.startswith("LEAN_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("LEAN_APP_TOKEN", APP_TOKEN)
    monkeypatch.setenv("LEAN_CERT", str(client_files.cert))
    monkeypatch.setenv("LEAN_KEY", str(encrypted_key))
    monkeypatch.setenv("LEAN_KEY_PASSWORD", KEY_PASSWORD)
    monkeypatch.setenv("LEAN_CA", str(client_files.ca))
    monkeypatch.setenv("LEAN_BASE_URL", server.url)
    # `-v` adds a stderr handler to the lean_mtls logger that main() leaves behind; it would
    # write to this test's closed capture stream in later tests.
    logger = logging.getLogger("lean_mtls")
    handlers, level = list(logger.handlers), logger.level
    yield
    logger.handlers[:] = handlers
    logger.setLevel(level)


@pytest.mark.usefixtures("cli_env")
def test_no_secret_in_cli_output(lean: EchoingLean, client_files: ClientFiles,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    from lean_mtls.cli import main

    texts: list[str] = []
    for argv in (["check", "--ping"], ["check", "--ping", "--json"], ["-v", "banks"], ["banks", "-v"],
                 ["customers", "get", "nope", "-v"], ["check", "--json", "--key", "/nonexistent"]):
        main(argv)
        captured = capsys.readouterr()
        texts += [captured.out, captured.err]
    assert "ECHO" in "".join(texts)  # the echoing answer did reach stdout, scrubbed
    out = Outputs()
    out.texts = texts
    assert_clean(out, secret_values(client_files, lean))


def assert_clean(out: Outputs, secrets: list[str]) -> None:
    text = "\n".join(out.texts)
    for secret in secrets:
        for spelling in every_spelling(secret):
            assert spelling not in text, f"a spelling of a secret leaked: {spelling[:6]}..."
            encoded = spelling.encode()
            assert not any(encoded in blob for blob in out.blobs), f"a pickle holds a spelling: {spelling[:6]}..."
