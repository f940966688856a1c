"""Certificate rotation, forks, and per-origin certificates, over real mTLS."""

from __future__ import annotations

import logging
import os
import ssl
import threading
from collections.abc import Iterator

import pytest
import trustme

from lean_mtls import CertificateError, ConfigurationError, LeanSession, LeanTLSError
from lean_mtls.testing import MTLSServer, Reply

from .conftest import APP_TOKEN, ClientFiles, incomplete_chain_is_not_the_point, server_context
from .pki import issue


def build(server: MTLSServer, files: ClientFiles, **kwargs: object) -> LeanSession:
    return LeanSession(APP_TOKEN, cert=files.cert, key=files.key, ca=files.ca, base_url=server.url,
                       **kwargs)  # type: ignore[arg-type]


# ---------------------------------------------------------------------- rotation


def test_reload_switches_new_connections_to_the_new_certificate(
    server: MTLSServer, client_files: ClientFiles, client_intermediate: trustme.CA
) -> None:
    fresh = issue(client_intermediate, "app-rotated")
    with build(server, client_files) as session:
        session.get("/before")
        connections = server.connections
        info = session.reload_certificates(cert=fresh.cert_chain_pems[0].bytes(), key=fresh.private_key_pem.bytes())
        assert "CN=app-rotated" in info.subject and session.certificate == info
        session.get("/after")
        assert "app-rotated" in repr(session)
    assert server.requests[-2].client_subject_cn == "app-1234"
    assert server.requests[-1].client_subject_cn == "app-rotated"
    assert server.connections == connections + 1  # the old pooled connection was not reused


def test_reload_closes_idle_connections_made_with_the_old_certificate(
    server: MTLSServer, client_files: ClientFiles, client_intermediate: trustme.CA
) -> None:
    import time

    fresh = issue(client_intermediate, "app-rotated-2")
    with build(server, client_files) as session:
        session.get("/before")
        closed = server.closed_connections
        session.reload_certificates(cert=fresh.cert_chain_pems[0].bytes(), key=fresh.private_key_pem.bytes())
        deadline = time.monotonic() + 3
        while server.closed_connections == closed and time.monotonic() < deadline:
            time.sleep(0.01)
        assert server.closed_connections == closed + 1  # closed now, not whenever the GC runs


def test_failed_reload_keeps_the_old_certificate(server: MTLSServer, client_files: ClientFiles,
                                                 client_intermediate: trustme.CA) -> None:
    other = issue(client_intermediate, "other")
    with build(server, client_files) as session:
        with pytest.raises(CertificateError, match="does not match"):
            session.reload_certificates(cert=client_files.cert, key=other.private_key_pem.bytes())
        assert "CN=app-1234" in session.certificate.subject  # type: ignore[union-attr]
        assert session.get("/still-works").ok
    assert server.requests[-1].client_subject_cn == "app-1234"


def test_rotation_under_load_fails_no_request(server: MTLSServer, client_files: ClientFiles,
                                              client_intermediate: trustme.CA) -> None:
    server.set_handler(lambda r: Reply(200, {"cn": r.client_subject_cn}))
    leaves = [issue(client_intermediate, f"gen-{n}") for n in range(4)]
    errors: list[BaseException] = []
    seen: set[str] = set()
    stop = threading.Event()
    with build(server, client_files, pool_size=4) as session:

        def hammer() -> None:
            while not stop.is_set():
                try:
                    seen.add(session.request_json("GET", "/banks/v1/")["cn"])
                except BaseException as exc:
                    errors.append(exc)

        threads = [threading.Thread(target=hammer) for _ in range(6)]
        for thread in threads:
            thread.start()
        try:
            for leaf in leaves:
                threading.Event().wait(0.15)
                session.reload_certificates(cert=leaf.cert_chain_pems[0].bytes(), key=leaf.private_key_pem.bytes())
            threading.Event().wait(0.15)
        finally:
            stop.set()
            for thread in threads:
                thread.join(10)
    assert errors == []
    assert {"app-1234", "gen-3"} <= seen


# ---------------------------------------------------------------------- fork safety


def test_forked_child_and_parent_both_work_on_a_pre_fork_session(server: MTLSServer,
                                                                   client_files: ClientFiles) -> None:
    server.set_handler(lambda r: Reply(200, {"pid": r.headers.get("x-pid")}))
    with build(server, client_files) as session:
        assert session.request_json("GET", "/warm", headers={"x-pid": str(os.getpid())})
        connections = server.connections
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: must open its own connection
            code = 1
            try:
                body = session.request_json("GET", "/child", headers={"x-pid": str(os.getpid())})
                code = 0 if body == {"pid": str(os.getpid())} else 2
            finally:
                os.write(write_end, bytes([code]))
                os._exit(code)
        os.close(write_end)
        for _ in range(20):  # the parent keeps using its own pooled connection meanwhile
            assert session.request_json("GET", "/parent", headers={"x-pid": str(os.getpid())}) == {
                "pid": str(os.getpid())}
        _, status = os.waitpid(pid, 0)
        child_code = os.read(read_end, 1)
        os.close(read_end)
    assert os.waitstatus_to_exitcode(status) == 0 and child_code == b"\x00"
    assert server.connections >= connections + 1  # the child did not reuse the parent's connection


# ---------------------------------------------------------------------- per-origin certificates


@pytest.fixture()
def other_mtls(server_ca: trustme.CA) -> Iterator[tuple[MTLSServer, trustme.CA]]:
    """Another mTLS API, trusting another client CA."""
    other_client_ca = trustme.CA(organization_name="Other bank clients")
    with MTLSServer(server_context(server_ca, other_client_ca)) as other:
        yield other, other_client_ca


@incomplete_chain_is_not_the_point
def test_mount_certificate_for_another_mtls_api(server: MTLSServer, client_files: ClientFiles,
                                                other_mtls: tuple[MTLSServer, trustme.CA]) -> None:
    other, other_ca = other_mtls
    other_leaf = issue(other_ca, "our-app-at-other-bank")
    with build(server, client_files) as session:
        info = session.mount_certificate(other.url, cert=other_leaf.cert_chain_pems[0].bytes(),
                                         key=other_leaf.private_key_pem.bytes(), ca=client_files.ca)
        assert "our-app-at-other-bank" in info.subject
        assert session.get(other.url + "/x").ok
        assert session.get("/y").ok
    assert other.requests[-1].client_subject_cn == "our-app-at-other-bank"
    assert "lean-app-token" not in other.requests[-1].headers
    assert server.requests[-1].client_subject_cn == "app-1234"


def test_longest_prefix_wins(server: MTLSServer, client_files: ClientFiles, client_intermediate: trustme.CA) -> None:
    special = issue(client_intermediate, "special-path")
    with build(server, client_files) as session:
        session.mount_certificate(server.url + "/special/", cert=special.cert_chain_pems[0].bytes(),
                                  key=special.private_key_pem.bytes(), ca=client_files.ca)
        session.get("/special/x")
        session.get("/normal")
    assert [r.client_subject_cn for r in server.requests[-2:]] == ["special-path", "app-1234"]
    assert server.requests[-2].headers["lean-app-token"] == APP_TOKEN  # same origin: still Lean's


def test_unmapped_origin_is_refused_before_anything_is_sent(
    server: MTLSServer, client_files: ClientFiles, other_mtls: tuple[MTLSServer, trustme.CA]
) -> None:
    other, _ = other_mtls
    before = len(other.requests) + other.connections
    with build(server, client_files) as session, pytest.raises(ConfigurationError) as info:
        session.get(other.url + "/x")
    assert info.value.code == "missing-conf"
    assert other.url in str(info.value) and "mount_certificate" in str(info.value)
    assert len(other.requests) + other.connections == before


def test_redirect_to_an_unmapped_origin_is_refused(server: MTLSServer, client_files: ClientFiles,
                                                    other_mtls: tuple[MTLSServer, trustme.CA]) -> None:
    other, _ = other_mtls
    server.set_handler(lambda r: Reply(302, None, {"Location": other.url + "/steal"}))
    before = other.connections
    with build(server, client_files) as session, pytest.raises(ConfigurationError, match="No certificate"):
        session.get("/moved")
    assert other.connections == before


def test_allow_other_origins_uses_plain_tls(server: MTLSServer, client_files: ClientFiles,
                                            server_ca: trustme.CA) -> None:
    context = server_context(server_ca, trustme.CA())
    context.verify_mode = ssl.CERT_OPTIONAL
    with MTLSServer(context) as plain, build(server, client_files, allow_other_origins=True) as session:
        # plain TLS trusts the system store, which does not know the test CA: the failure is typed
        with pytest.raises(LeanTLSError) as info:
            session.get(plain.url + "/x")
        assert info.value.side == "server" and "not the Lean origin" in str(info.value)


# ---------------------------------------------------------------------- verification switch


def test_verify_false_is_refused_in_production(client_files: ClientFiles) -> None:
    with pytest.raises(ConfigurationError, match="outside the sandbox"):
        LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, environment="production",
                    verify=False)


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_verify_false_in_sandbox_warns_on_every_request(server: MTLSServer, client_files: ClientFiles,
                                                       client_intermediate: trustme.CA,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "lean_mtls")
    # a bundle that cannot verify the server (but still completes the client chain)
    foreign = trustme.CA().cert_pem.bytes() + client_intermediate.cert_pem.bytes()
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=foreign, base_url=server.url,
                     verify=False) as session:
        for _ in range(3):
            assert session.get("/x").ok
    warnings = [r for r in caplog.records if "verification is OFF" in r.getMessage()]
    assert len(warnings) >= 3


@incomplete_chain_is_not_the_point
def test_expiry_warning_is_logged_once_per_process(client_intermediate: trustme.CA,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, "lean_mtls")
    leaf = issue(client_intermediate, "expiring", days_valid=12)
    for _ in range(3):
        LeanSession(APP_TOKEN, cert=leaf.cert_chain_pems[0].bytes(), key=leaf.private_key_pem.bytes()).close()
    assert len([r for r in caplog.records if "expires on" in r.getMessage()]) == 1



def test_expiry_is_rechecked_while_the_session_runs(server: MTLSServer, client_files: ClientFiles,
                                                    client_intermediate: trustme.CA,
                                                    caplog: pytest.LogCaptureFixture,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import lean_mtls._credentials as credentials

    caplog.set_level(logging.WARNING, "lean_mtls")
    leaf = issue(client_intermediate, "forty-days", days_valid=40)
    with LeanSession(APP_TOKEN, cert=leaf.cert_chain_pems[0].bytes(), key=leaf.private_key_pem.bytes(),
                     ca=client_files.ca, base_url=server.url) as session:
        session.get("/x")
        assert not [r for r in caplog.records if "expires on" in r.getMessage()]
        monkeypatch.setattr(credentials, "EXPIRY_WARNING_DAYS", 60)  # as if 20+ days had passed
        session._next_expiry_check = 0  # the hourly check is due
        session.get("/x")
        session._next_expiry_check = 0
        session.get("/x")
    assert len([r for r in caplog.records if "expires on" in r.getMessage()]) == 1


def test_verify_false_is_refused_for_a_production_host_given_as_base_url(client_files: ClientFiles) -> None:
    with pytest.raises(ConfigurationError, match="outside the sandbox"):
        LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, base_url="https://api.leantech.me",
                    verify=False)


def test_allow_other_origins_never_allows_plain_http(server: MTLSServer, client_files: ClientFiles) -> None:
    with build(server, client_files, allow_other_origins=True) as session, pytest.raises(ConfigurationError):
        session.get("http://127.0.0.1:1/x")
