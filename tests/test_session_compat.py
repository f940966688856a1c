"""requests habits that must work (or fail clearly) on a LeanSession (issue 10 item 20),
over the real mTLS server on 127.0.0.1."""

from __future__ import annotations

import copy
import pickle
from collections.abc import Iterator

import pytest
import requests

from lean_mtls import (
    ConfigurationError,
    InvalidHeaderError,
    InvalidRequestError,
    LeanSession,
    SessionCopyError,
)
from lean_mtls.testing import MTLSServer

from .conftest import APP_TOKEN, ClientFiles


@pytest.fixture()
def session(server: MTLSServer, client_files: ClientFiles) -> Iterator[LeanSession]:
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=client_files.ca,
                     base_url=server.url, retries=0) as s:
        yield s


@pytest.mark.parametrize(("method", "sent"), [
    (b"GET", "GET"), (b"post", "POST"), (bytearray(b"PUT"), "PUT"), ("delete", "DELETE"), (b"PATCH", "PATCH"),
])
def test_bytes_methods_are_decoded(session: LeanSession, server: MTLSServer, method: object, sent: str) -> None:
    response = session.request(method, "/x", json={} if sent != "GET" else None)  # type: ignore[arg-type]
    assert response.status_code == 200
    assert server.requests[-1].method == sent


@pytest.mark.parametrize("method", ["GE T", "GET\r\nX: y", b"G\xc9T", "", None])
def test_unsendable_methods_are_refused_before_sending(session: LeanSession, server: MTLSServer,
                                                       method: object) -> None:
    before = len(server.requests)
    with pytest.raises(InvalidRequestError, match="method"):
        session.request(method, "/x")  # type: ignore[arg-type]
    assert len(server.requests) == before


def test_session_header_set_to_none_is_dropped(session: LeanSession, server: MTLSServer) -> None:
    session.headers["X-Team"] = None  # type: ignore[assignment]
    session.headers["X-Kept"] = "yes"
    assert session.get("/x").status_code == 200
    assert "x-team" not in server.requests[-1].headers and server.requests[-1].headers["x-kept"] == "yes"
    # With per-request headers too, and on requests' own (slower) preparation path.
    assert session.get("/x", headers={"X-Call": "1"}).status_code == 200
    assert "x-team" not in server.requests[-1].headers and server.requests[-1].headers["x-call"] == "1"
    session.params = {"page": "1"}
    assert session.get("/x").status_code == 200
    assert "x-team" not in server.requests[-1].headers and server.requests[-1].path == "/x?page=1"


@pytest.mark.parametrize("path", [
    "/customers/v1/?next=https://elsewhere.test/x",
    "customers/v1/?next=https://elsewhere.test/x",
    "/customers/v1/?redirect_uri=https%3A//elsewhere.test&b=ftp://y",
])
def test_a_url_in_the_query_keeps_the_path_relative(session: LeanSession, server: MTLSServer, path: str) -> None:
    assert session.get(path).status_code == 200
    assert server.requests[-1].path.startswith("/customers/v1/?")


@pytest.mark.parametrize("key", ["order-1\r\nX-Evil: 1", "order-1\n", "\rorder", "order\x00", " order-1", ""])
def test_idempotency_key_must_be_one_line(session: LeanSession, server: MTLSServer, key: str) -> None:
    before = len(server.requests)
    with pytest.raises(InvalidRequestError, match="idempotency_key"):
        session.post("/payments/v1/intents", json={}, idempotency_key=key)
    assert len(server.requests) == before


def test_header_values_with_cr_lf_are_typed(session: LeanSession, server: MTLSServer) -> None:
    before = len(server.requests)
    with pytest.raises(InvalidHeaderError) as info:
        session.post("/payments/v1/intents", json={}, headers={"Idempotency-Key": "k\r\nX-Evil: 1"})
    assert isinstance(info.value, requests.exceptions.InvalidHeader)
    assert len(server.requests) == before


@pytest.mark.parametrize("how", [copy.copy, copy.deepcopy, pickle.dumps,
                                 lambda s: pickle.dumps(s, protocol=0)])
def test_copying_a_session_says_build_one_per_process(session: LeanSession, how: object) -> None:
    with pytest.raises(SessionCopyError) as info:
        how(session)  # type: ignore[operator]
    error = info.value
    assert "one session per process" in str(error)
    assert isinstance(error, TypeError) and isinstance(error, ConfigurationError)
    assert APP_TOKEN not in str(error) and APP_TOKEN not in repr(error)
    assert session.get("/x").status_code == 200  # the session itself is untouched
