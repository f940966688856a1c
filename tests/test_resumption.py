"""TLS session resumption: faster reconnects, never across origins or certificates."""

from __future__ import annotations

import ssl

import pytest
import trustme

from lean_mtls import LeanSession
from lean_mtls.testing import MTLSServer

from .conftest import APP_TOKEN, ClientFiles, server_context
from .pki import issue


def cold_requests(session: LeanSession, url: str, count: int) -> None:
    """``count`` requests, each on a new connection (the pool is emptied after each)."""
    for _ in range(count):
        session.get(url)
        for adapter in {id(a): a for a in session.adapters.values()}.values():
            manager = getattr(adapter, "poolmanager", None)
            if manager is not None:
                manager.clear()


def build(server: MTLSServer, files: ClientFiles, **kwargs: object) -> LeanSession:
    return LeanSession(APP_TOKEN, cert=files.cert, key=files.key, ca=files.ca, base_url=server.url,
                       **kwargs)  # type: ignore[arg-type]


def test_reconnects_resume_the_tls_session(server: MTLSServer, client_files: ClientFiles) -> None:
    connections, resumed = server.connections, server.resumed_connections
    with build(server, client_files) as session:
        cold_requests(session, "/x", 5)
    assert server.connections - connections == 5
    assert server.resumed_connections - resumed == 4  # all but the first
    assert {r.client_subject_cn for r in server.requests[-5:]} == {"app-1234"}  # identity survives resumption


def test_resumption_can_be_turned_off(server: MTLSServer, client_files: ClientFiles) -> None:
    resumed = server.resumed_connections
    with build(server, client_files, tls_session_resumption=False) as session:
        cold_requests(session, "/x", 3)
    assert server.resumed_connections == resumed


def test_sessions_are_not_offered_to_another_origin(server: MTLSServer, client_files: ClientFiles,
                                                     server_ca: trustme.CA, client_root: trustme.CA) -> None:
    with MTLSServer(server_context(server_ca, client_root)) as other, build(server, client_files) as session:
        session.mount_certificate(other.url, cert=client_files.cert, key=client_files.key, ca=client_files.ca)
        cold_requests(session, "/x", 2)
        assert other.resumed_connections == 0
        cold_requests(session, other.url + "/y", 1)
        assert other.resumed_connections == 0  # first contact with this origin: a full handshake


def test_a_reloaded_certificate_starts_with_a_full_handshake(server: MTLSServer, client_files: ClientFiles,
                                                             client_intermediate: trustme.CA) -> None:
    fresh = issue(client_intermediate, "after-reload")
    with build(server, client_files) as session:
        cold_requests(session, "/x", 2)
        resumed = server.resumed_connections
        session.reload_certificates(cert=fresh.cert_chain_pems[0].bytes(), key=fresh.private_key_pem.bytes())
        cold_requests(session, "/x", 1)
        assert server.resumed_connections == resumed  # the old session was not offered
        assert server.requests[-1].client_subject_cn == "after-reload"
        cold_requests(session, "/x", 1)
        assert server.resumed_connections == resumed + 1
        assert server.requests[-1].client_subject_cn == "after-reload"


def test_sessions_resume_when_the_server_closes_every_connection(server_ca: trustme.CA, client_root: trustme.CA,
                                                                  client_files: ClientFiles) -> None:
    """A TLS 1.3 server answering every request with ``Connection: close``: the connection never goes
    back to the pool, so the ticket must be kept when the answer arrives."""
    from lean_mtls.testing import Reply

    context = server_context(server_ca, client_root)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    with MTLSServer(context, lambda r: Reply(200, {"ok": True}, headers={"Connection": "close"})) as closing, \
            build(closing, client_files, retries=0) as session:
        for _ in range(20):
            assert session.request_json("GET", "/banks/v1/") == {"ok": True}
        assert closing.requests[-1].tls_version == "TLSv1.3"
        assert closing.connections == 20
        assert closing.resumed_connections == 19  # every reconnect but the first
        assert {r.client_subject_cn for r in closing.requests} == {"app-1234"}


def test_a_server_without_tickets_costs_at_most_two_session_reads_per_connection(
        server_ca: trustme.CA, client_root: trustme.CA, client_files: ClientFiles,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Reading ``SSLSocket.session`` serialises it; a TLS 1.3 server that issues no tickets
    must not make every kept-alive answer pay for another try."""
    from lean_mtls._tls import ResumingSSLContext

    reads: list[object] = []
    original = ResumingSSLContext.remember

    def counting(self: ResumingSSLContext, key: tuple[str, int], tls: ssl.SSLSocket) -> bool:
        reads.append(key)
        return original(self, key, tls)

    monkeypatch.setattr(ResumingSSLContext, "remember", counting)
    context = server_context(server_ca, client_root)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.num_tickets = 0
    with MTLSServer(context) as quiet, build(quiet, client_files, retries=0) as session:
        for _ in range(10):
            assert session.get("/x").status_code == 200
        assert quiet.connections == 1
    assert 1 <= len(reads) <= 2
