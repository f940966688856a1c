"""Mutual TLS through an explicit HTTP CONNECT proxy (and never through the environment's)."""

from __future__ import annotations

import select
import socket
import threading
from collections.abc import Iterator

import pytest

from lean_mtls import LeanProxyError, LeanSession
from lean_mtls.testing import MTLSServer

from .conftest import APP_TOKEN, ClientFiles


class ConnectProxy:
    """A minimal HTTP CONNECT proxy on 127.0.0.1 that records what it was asked."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.requests: list[bytes] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def _serve(self) -> None:
        self.listener.settimeout(0.2)
        while not self.stop.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                continue
            threading.Thread(target=self._tunnel, args=(client,), daemon=True).start()

    def _tunnel(self, client: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(4096)
            if not chunk:
                client.close()
                return
            head += chunk
        self.requests.append(head)
        target = head.split()[1].decode()
        host, port = target.rsplit(":", 1)
        upstream = socket.create_connection((host, int(port)))
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        sockets = [client, upstream]
        try:
            while not self.stop.is_set():
                ready, _, _ = select.select(sockets, [], [], 0.2)
                for sock in ready:
                    data = sock.recv(65536)
                    if not data:
                        return
                    (upstream if sock is client else client).sendall(data)
        finally:
            client.close()
            upstream.close()

    def close(self) -> None:
        self.stop.set()
        self.thread.join(2)  # before close: no accept() may outlive the descriptor it names
        self.listener.close()


@pytest.fixture()
def proxy() -> Iterator[ConnectProxy]:
    running = ConnectProxy()
    yield running
    running.close()


def test_mtls_through_an_explicit_proxy(server: MTLSServer, client_files: ClientFiles, proxy: ConnectProxy) -> None:
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=client_files.ca,
                     base_url=server.url, proxies={"https": proxy.url}) as session:
        assert session.get("/banks/v1/").ok
        assert session.get("/banks/v1/").ok
    assert proxy.requests and proxy.requests[0].startswith(b"CONNECT 127.0.0.1:")
    assert APP_TOKEN.encode() not in b"".join(proxy.requests)  # the token travels inside the tunnel only
    assert server.requests[-1].client_subject_cn == "app-1234"
    assert server.requests[-1].headers["lean-app-token"] == APP_TOKEN


def test_environment_proxies_are_ignored(server: MTLSServer, client_files: ClientFiles, proxy: ConnectProxy,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("https_proxy", proxy.url)
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=client_files.ca,
                     base_url=server.url) as session:
        assert session.get("/banks/v1/").ok
    assert proxy.requests == []


def test_dead_proxy_is_a_typed_error(server: MTLSServer, client_files: ClientFiles) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=client_files.ca,
                     base_url=server.url, proxies={"https": dead}, retries=0) as session, \
            pytest.raises(LeanProxyError) as info:
        session.get("/banks/v1/")
    assert info.value.code == "issue-with-proxy"
