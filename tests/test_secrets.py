"""Secrets never reach repr, str, exception text or log records."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest
import responses
import trustme

from lean_mtls import LeanError, LeanSession
from lean_mtls.testing import MTLSServer, RecordedRequest, Reply

from .conftest import APP_TOKEN, KEY_PASSWORD, ClientFiles, incomplete_chain_is_not_the_point
from .pki import issue, key_bytes, write


def secrets_of(files: ClientFiles, *keys: bytes) -> list[str]:
    """The token, the password, and a distinctive line of every private key."""
    found = [APP_TOKEN, KEY_PASSWORD]
    for key in (files.key.read_bytes(), *keys):
        lines = [line for line in key.decode().splitlines() if line and not line.startswith("-----")]
        found.extend(lines[:2])
    return found


@incomplete_chain_is_not_the_point
def test_nothing_secret_in_reprs_errors_or_logs(
    server: MTLSServer, client_files: ClientFiles, client_intermediate: trustme.CA, tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, urllib3 included
    texts: list[str] = []
    leaf = issue(client_intermediate, "enc", days_valid=5)  # expiring soon: logs a warning
    encrypted = key_bytes(leaf, "pkcs8-encrypted", KEY_PASSWORD.encode())
    enc_key = write(tmp_path / "enc.pem", encrypted)

    def capture(exc: BaseException) -> None:
        texts.extend([str(exc), repr(exc), str(exc.args)])

    with LeanSession(APP_TOKEN, cert=leaf.cert_chain_pems[0].bytes(), key=enc_key, key_password=KEY_PASSWORD,
                     ca=client_files.ca, base_url=server.url, timeout=(5, 0.3), retries=0) as session:
        texts.extend([repr(session), str(session), repr(session.auth), repr(session.certificate),
                      repr(session.adapters)])
        assert session.get("/ok").ok

        release = threading.Event()

        def misbehave(request: RecordedRequest) -> Reply:
            if request.path == "/slow":
                release.wait(3)
            if request.path == "/html":  # a debugging proxy that echoes the request headers
                return Reply(502, f"<html><body>Bad gateway {request.headers}</body></html>")
            if request.path == "/json-echo":
                return Reply(400, {"status": "INVALID_PARAMETERS", "message": f"bad header {request.headers}"})
            return Reply(401, {"status": "UNAUTHORIZED", "message": "bad token"})

        server.set_handler(misbehave)
        for path in ("/slow", "/html", "/json-echo", "/denied"):
            with pytest.raises(LeanError) as info:
                session.request_json("GET", path)
            capture(info.value)
        release.set()

    for wrong in ("not-the-password", None):
        with pytest.raises(LeanError) as info:
            LeanSession(APP_TOKEN, cert=leaf.cert_chain_pems[0].bytes(), key=encrypted, key_password=wrong)
        capture(info.value)

    with responses.RequestsMock() as mock:
        mock.get("https://lean.test/banks/v1/", status=500, body="oops")
        with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, base_url="https://lean.test",
                         retries=0) as s:
            with pytest.raises(LeanError) as info:
                s.banks.list()
            capture(info.value)

    texts.extend(record.getMessage() for record in caplog.records)
    texts.extend(str(record.args) for record in caplog.records)
    assert any("expires on" in t for t in texts), "the expiry warning should have been logged"
    blob = "\n".join(texts)
    for secret in secrets_of(client_files, encrypted, leaf.private_key_pem.bytes()):
        assert secret not in blob
