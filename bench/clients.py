"""The competitors: one object per HTTP client, all doing the same work.

Every competitor sends the request, reads the whole body and checks the
status; none parses JSON (except ``lean-api``, which measures the SDK's
resource call ``session.banks.list()`` / ``session.customers.create()`` as
an extra, informational row).

Two ways of forcing a new connection for every request, both going through
each client's real connection code and keeping the client object (so any
per-client TLS session cache survives):

* ``drop``:  the client drops its idle pooled connections before each request.
  requests and LeanSession: ``adapter.poolmanager.clear()`` for every mounted
  adapter (urllib3 closes the pools; the next request builds a new pool from
  the adapter's settings, as after a pool eviction).  This keeps the session,
  its adapters and anything they hold, but *not* the urllib3 pool objects:
  a TLS session cache kept on a pool or connection object is lost here, one
  kept on the adapter or session survives.  httpx: ``transport._pool.close()``
  (httpcore's pool stays usable).
* ``close``: the request carries ``Connection: close``, so the server answers
  and closes; the client reconnects through the same pool and connection
  objects (the path a keep-alive timeout or load balancer takes).
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable
from typing import Any

import httpx
import requests

import lean_mtls
from lean_mtls import LeanSession

APP_TOKEN = "bench-app-token-not-secret"
CUSTOMER = {"app_user_id": "bench-user"}
CLOSE = {"Connection": "close"}


class Competitor:
    name = "?"
    label = "?"

    def get(self, path: str, close: bool = False) -> None:
        raise NotImplementedError

    def post(self, path: str, payload: dict[str, Any], close: bool = False) -> None:
        raise NotImplementedError

    def drop_pool(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


def _check(status: int, what: str) -> None:
    if status != 200:
        raise RuntimeError(f"{what}: HTTP {status}")


def _drop_requests_pools(session: requests.Session) -> None:
    seen: set[int] = set()
    for adapter in session.adapters.values():
        if id(adapter) in seen:
            continue
        seen.add(id(adapter))
        manager = getattr(adapter, "poolmanager", None)
        if manager is not None:
            manager.clear()
        for proxy_manager in getattr(adapter, "proxy_manager", {}).values():
            proxy_manager.clear()


class Lean(Competitor):
    name = "lean"
    label = "LeanSession"

    def __init__(self, pki: Any, url: str, **options: Any) -> None:
        self.session = LeanSession(APP_TOKEN, cert=pki.client_leaf, key=pki.client_key, ca=pki.ca_bundle,
                                   base_url=url, **options)

    def get(self, path: str, close: bool = False) -> None:
        r = self.session.get(path, headers=CLOSE if close else None)
        _check(r.status_code, "GET")
        r.content  # noqa: B018 - already read by LeanAdapter; kept for symmetry

    def post(self, path: str, payload: dict[str, Any], close: bool = False) -> None:
        r = self.session.post(path, json=payload, headers=CLOSE if close else None)
        _check(r.status_code, "POST")
        r.content  # noqa: B018

    def drop_pool(self) -> None:
        _drop_requests_pools(self.session)

    def close(self) -> None:
        self.session.close()


class LeanAPI(Lean):
    """The resource layer on top: JSON decoding and data-status checks included."""

    name = "lean-api"
    label = "LeanSession .banks.list()/.customers.create()"

    def get(self, path: str, close: bool = False) -> None:
        banks = self.session.banks.list()
        if not isinstance(banks, list):
            raise RuntimeError("banks.list() did not return a list")

    def post(self, path: str, payload: dict[str, Any], close: bool = False) -> None:
        self.session.customers.create(payload["app_user_id"])


class Requests(Competitor):
    name = "requests"
    label = "requests.Session"

    def __init__(self, pki: Any, url: str, trust_env: bool = True) -> None:
        self.url = url
        self.session = requests.Session()
        self.session.cert = (pki.client_chain, pki.client_key)
        self.session.verify = pki.ca_bundle
        self.session.trust_env = trust_env
        if not trust_env:
            self.name = "requests-noenv"
            self.label = "requests.Session trust_env=False"

    def get(self, path: str, close: bool = False) -> None:
        r = self.session.get(self.url + path, headers=CLOSE if close else None)
        _check(r.status_code, "GET")
        r.content  # noqa: B018

    def post(self, path: str, payload: dict[str, Any], close: bool = False) -> None:
        r = self.session.post(self.url + path, json=payload, headers=CLOSE if close else None)
        _check(r.status_code, "POST")
        r.content  # noqa: B018

    def drop_pool(self) -> None:
        _drop_requests_pools(self.session)

    def close(self) -> None:
        self.session.close()


def client_context(pki: Any) -> ssl.SSLContext:
    """What a careful httpx/raw-ssl user builds: default context, CA bundle, client chain."""
    context = ssl.create_default_context(cafile=pki.ca_bundle)
    context.load_cert_chain(pki.client_chain, pki.client_key)
    return context


class Httpx(Competitor):
    name = "httpx"
    label = "httpx.Client"

    def __init__(self, pki: Any, url: str) -> None:
        self.url = url
        # httpx 0.28 deprecates cert=/verify=<path>; an SSLContext is the supported way.
        self.client = httpx.Client(verify=client_context(pki))

    def get(self, path: str, close: bool = False) -> None:
        r = self.client.get(self.url + path, headers=CLOSE if close else None)
        _check(r.status_code, "GET")
        r.content  # noqa: B018

    def post(self, path: str, payload: dict[str, Any], close: bool = False) -> None:
        r = self.client.post(self.url + path, json=payload, headers=CLOSE if close else None)
        _check(r.status_code, "POST")
        r.content  # noqa: B018

    def drop_pool(self) -> None:
        self.client._transport._pool.close()  # type: ignore[attr-defined]

    def close(self) -> None:
        self.client.close()


def _read_response(sock: ssl.SSLSocket, buf: bytes) -> tuple[int, bytes, bytes]:
    while True:
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            break
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("server closed before answering")
        buf += data
    head, rest = buf[:end], buf[end + 4:]
    status = int(head[9:12])
    lower = head.lower()
    pos = lower.find(b"\r\ncontent-length:")
    stop = lower.find(b"\r\n", pos + 2)
    length = int(lower[pos + 17: stop if stop >= 0 else len(lower)])
    while len(rest) < length:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("server closed mid-body")
        rest += data
    return status, rest[:length], rest[length:]


class Raw(Competitor):
    """The floor: one ssl socket and a hand-written HTTP/1.1 request."""

    name = "raw-ssl"
    label = "raw ssl socket (floor)"

    def __init__(self, pki: Any, url: str, resume: bool = False) -> None:
        self.context = client_context(pki)
        host_port = url.split("://", 1)[1]
        host, port = host_port.rsplit(":", 1)
        self.address = (host, int(port))
        self.host = host_port
        self.resume = resume
        if resume:
            self.name = "raw-ssl-resume"
            self.label = "raw ssl socket + session= (resumption floor)"
        self._session: ssl.SSLSession | None = None
        self.sock: ssl.SSLSocket | None = None
        self.buf = b""

    def _connect(self) -> ssl.SSLSocket:
        raw = socket.create_connection(self.address)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        session = self._session if self.resume else None
        return self.context.wrap_socket(raw, server_hostname=self.address[0], session=session)

    def _exchange(self, request: bytes, close: bool) -> None:
        if close or self.sock is None:
            if self.sock is not None:
                self.sock.close()
            self.sock, self.buf = self._connect(), b""
        sock = self.sock
        sock.sendall(request)
        status, _body, self.buf = _read_response(sock, self.buf)
        _check(status, "raw")
        if close:
            if self.resume:
                self._session = sock.session  # holds the TLS 1.3 ticket read with the response
            sock.close()
            self.sock = None

    def get(self, path: str, close: bool = False) -> None:
        conn = b"Connection: close\r\n" if close else b""
        self._exchange(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: " + self.host.encode()
                       + b"\r\nAccept: application/json\r\n" + conn + b"\r\n", close)

    def post(self, path: str, payload: dict[str, Any], close: bool = False) -> None:
        import json

        body = json.dumps(payload).encode()
        conn = b"Connection: close\r\n" if close else b""
        self._exchange(b"POST " + path.encode() + b" HTTP/1.1\r\nHost: " + self.host.encode()
                       + b"\r\nAccept: application/json\r\nContent-Type: application/json\r\nContent-Length: "
                       + str(len(body)).encode() + b"\r\n" + conn + b"\r\n" + body, close)

    def drop_pool(self) -> None:
        if self.sock is not None:
            if self.resume:
                self._session = self.sock.session
            self.sock.close()
            self.sock = None

    def close(self) -> None:
        self.drop_pool()


Factory = Callable[[], Competitor]


def factories(pki: Any, url: str, which: list[str]) -> dict[str, Factory]:
    table: dict[str, Factory] = {
        "lean": lambda: Lean(pki, url),
        "lean-api": lambda: LeanAPI(pki, url),
        "requests": lambda: Requests(pki, url),
        "requests-noenv": lambda: Requests(pki, url, trust_env=False),
        "httpx": lambda: Httpx(pki, url),
        "raw-ssl": lambda: Raw(pki, url),
        "raw-ssl-resume": lambda: Raw(pki, url, resume=True),
    }
    return {name: table[name] for name in which}


def pool_size() -> int:
    return int(getattr(lean_mtls, "DEFAULT_POOL_SIZE", 10))
