"""vcrpy and pytest-recording on a LeanSession: recording and replay work over real
mutual TLS, and the plugin's ``vcr_config`` keeps Lean credentials out of cassettes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lean_mtls import LeanSession
from lean_mtls.testing import MTLSServer, Reply
from lean_mtls.testing import vcr_config as lean_vcr_config

from .conftest import APP_TOKEN, ClientFiles

vcr = pytest.importorskip("vcr", reason="vcrpy is in the test extra")


def build(server: MTLSServer, files: ClientFiles) -> LeanSession:
    return LeanSession(APP_TOKEN, cert=files.cert, key=files.key, ca=files.ca, base_url=server.url, retries=0)


def test_plain_vcrpy_records_and_replays(server: MTLSServer, client_files: ClientFiles, tmp_path: Path) -> None:
    """No filter settings at all: the token's type must not break the cassette writer,
    and replay (vcrpy's stand-in response) must serve whole and streamed bodies."""
    server.set_handler(lambda r: Reply(200, {"path": r.path}))
    cassette = str(tmp_path / "plain.yaml")
    with vcr.use_cassette(cassette, record_mode="once"), build(server, client_files) as session:
        recorded = [session.request_json("GET", "/banks/v1/"), session.get("/x", stream=True).json()]
    seen = len(server.requests)
    with vcr.use_cassette(cassette, record_mode="none"), build(server, client_files) as session:
        replayed = [session.request_json("GET", "/banks/v1/"), session.get("/x", stream=True).json()]
    assert recorded == replayed == [{"path": "/banks/v1/"}, {"path": "/x"}]
    assert len(server.requests) == seen  # the replay never reached the server


def test_lean_vcr_config_keeps_credentials_out(server: MTLSServer, client_files: ClientFiles,
                                               tmp_path: Path) -> None:
    server.set_handler(lambda r: Reply(200, {"access_token": "issued-token-123456", "echo": r.path}))
    cassette = tmp_path / "filtered.yaml"
    with vcr.use_cassette(str(cassette), record_mode="once", **lean_vcr_config()), \
            build(server, client_files) as session:
        session.post("/oauth2/token", data={"client_id": "client-id-abcdef", "client_secret": "sekrit-123456",
                                            "grant_type": "client_credentials"})
        session.get("/customers/v1/", params={"access_token": "query-token-987654"})
    text = cassette.read_text()
    for secret in (APP_TOKEN, "client-id-abcdef", "sekrit-123456", "issued-token-123456", "query-token-987654"):
        assert secret not in text
    assert "lean-app-token" not in text.lower()
    interactions = yaml.safe_load(text)["interactions"]
    assert "grant_type=client_credentials" in interactions[0]["request"]["body"]  # the rest is kept
    with vcr.use_cassette(str(cassette), record_mode="none", **lean_vcr_config()), \
            build(server, client_files) as session:
        assert session.get("/customers/v1/", params={"access_token": "query-token-987654"}).json()["echo"]


def test_pytest_recording_with_the_plugin(tmp_path: Path) -> None:
    """A user's project (tests/vcr_user) that defines no vcr_config: the plugin's is used
    (not pytest-recording's empty one), recording then replay pass, and the cassettes hold
    no credential of the emulator, app-token or OAuth."""
    pytest.importorskip("pytest_recording")
    project = Path(__file__).parent / "vcr_user"
    cassettes = tmp_path / "cassettes"
    cassettes.mkdir()
    env = dict(os.environ, CASSETTE_DIR=str(cassettes),
               PYTHONPATH=os.pathsep.join([str(project.parents[1]), os.environ.get("PYTHONPATH", "")]))
    command = [sys.executable, "-m", "pytest", "-q", "--record-mode=once", "check_recording.py"]
    result = subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "5 passed" in result.stdout
    written = {path.name: path.read_text() for path in cassettes.iterdir()}
    assert set(written) == {"app_token.yaml", "oauth.yaml"}
    for text in written.values():
        assert "fake-app-token" not in text and "fake-client-secret" not in text
        assert "lean-app-token" not in text.lower() and "authorization" not in text.lower()
    token_answer = yaml.safe_load(written["oauth.yaml"])["interactions"][0]["response"]["body"]["string"]
    assert '"access_token": "<redacted>"' in token_answer


def test_lean_vcr_config_scrubs_credentials_echoed_in_response_headers(server: MTLSServer,
                                                                       client_files: ClientFiles,
                                                                       tmp_path: Path) -> None:
    # A gateway echoing the request's token in response headers (BREAK-10 finding 11).
    server.set_handler(lambda r: Reply(200, {"ok": True}, {"X-Echo": r.headers.get("lean-app-token", ""),
                                                           "X-Debug": f"token={r.headers.get('lean-app-token')}"}))
    cassette = tmp_path / "echo.yaml"
    with vcr.use_cassette(str(cassette), record_mode="once", **lean_vcr_config()), \
            build(server, client_files) as session:
        assert session.get("/x").json() == {"ok": True}
    text = cassette.read_text()
    assert APP_TOKEN not in text
    assert "X-Echo" in text and "token=" in text  # the headers are kept, their secret values are not
