"""The lean_mtls logger: one INFO line per request, and no secret in any record."""

from __future__ import annotations

import logging
import traceback

import pytest
import trustme

from lean_mtls import CertificateError, LeanSession
from lean_mtls.testing import MTLSServer, Reply

from .conftest import APP_TOKEN, KEY_PASSWORD, ClientFiles, incomplete_chain_is_not_the_point
from .pki import key_bytes


def test_one_info_line_per_request(server: MTLSServer, client_files: ClientFiles,
                                   caplog: pytest.LogCaptureFixture) -> None:
    server.set_handler(lambda r: Reply(201, {}, {"x-request-id": "req-777"}))
    caplog.set_level(logging.INFO, "lean_mtls")
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=client_files.ca,
                     base_url=server.url) as session:
        session.post("/customers/v1/?page=1", json={"app_user_id": "u"})
    lines = [r for r in caplog.records if r.levelno == logging.INFO]
    assert len(lines) == 1
    text = lines[0].getMessage()
    assert text.startswith("POST /customers/v1/ -> 201 in ") and "ms (request id req-777)" in text
    assert "page=1" not in text  # query strings can hold identifiers; paths are enough


@incomplete_chain_is_not_the_point
def test_filter_scrubs_secrets_that_reach_the_logger(caplog: pytest.LogCaptureFixture,
                                                     client_files: ClientFiles) -> None:
    caplog.set_level(logging.DEBUG, "lean_mtls")
    # The token is known to the scrubber while the session that holds it lives.
    session = LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key)
    log = logging.getLogger("lean_mtls")
    pem = client_files.key.read_text()
    log.info("headers were %r", {"lean-app-token": APP_TOKEN, "Authorization": "Bearer eyJ0eXAi.abc.def"})
    log.warning("key material: %s", pem)
    try:
        error = RuntimeError(f"boom with {APP_TOKEN}")
        error.add_note(f"note: client_secret={KEY_PASSWORD}")
        raise error
    except RuntimeError:
        log.exception("failed")
    session.close()
    blob = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert APP_TOKEN not in blob and "eyJ0eXAi.abc.def" not in blob and KEY_PASSWORD not in blob
    body_line = pem.splitlines()[1]
    assert body_line not in blob
    assert "<redacted>" in blob and "boom with" in blob  # scrubbed, not dropped


def test_frame_locals_of_a_failed_construction_hide_the_secrets(client_files: ClientFiles,
                                                                 client_leaf: trustme.LeafCert) -> None:
    encrypted = key_bytes(client_leaf, "pkcs8-encrypted", KEY_PASSWORD.encode())
    with pytest.raises(CertificateError) as info:
        LeanSession(APP_TOKEN, cert=client_files.cert, key=encrypted, key_password="wrong-Passw0rd!")
    texts = []
    for frame, _ in traceback.walk_tb(info.value.__traceback__):
        if "lean_mtls" in frame.f_code.co_filename:
            texts.extend(repr(value) for value in frame.f_locals.values())
    blob = "\n".join(texts)
    assert texts and APP_TOKEN not in blob and "wrong-Passw0rd!" not in blob


def test_nothing_is_printed(server: MTLSServer, client_files: ClientFiles, capsys: pytest.CaptureFixture[str]) -> None:
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=client_files.ca,
                     base_url=server.url) as session:
        session.get("/x")
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
