"""A tiny raw TLS server on 127.0.0.1 for byte-level misbehaviour.

``MTLSServer`` speaks correct HTTP through ``http.server``; the faults tested
with this one are in the bytes themselves (a broken status line, 101 header
lines, a cut chunk, a close right after the handshake), so each connection
is handed to a script that writes exactly what it wants.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
from collections.abc import Callable
from types import TracebackType

#: A script gets the TLS socket (or the raw one, when ``tls=False``) and the
#: 0-based number of the connection.
Script = Callable[[socket.socket, int], None]


def read_request(sock: socket.socket) -> bytes:
    """Read one request (headers and a Content-Length or chunked body); b"" on EOF."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    chunked = False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
        if name.strip().lower() == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if chunked:
        while not body.endswith(b"0\r\n\r\n"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
    else:
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
    return head + b"\r\n\r\n" + body


class RawTLSServer:
    """Accepts connections, handshakes with ``context`` (unless ``tls=False``)
    and runs ``script`` for each in its own thread."""

    def __init__(self, context: ssl.SSLContext | None, script: Script) -> None:
        self.context = context
        self.script = script
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(32)
        self.accepted = 0
        self.handshakes = 0
        self.requests: list[bytes] = []
        self.lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.listener.getsockname()[1]}"

    def __enter__(self) -> RawTLSServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object | TracebackType) -> None:
        self._stop.set()
        with contextlib.suppress(OSError):
            self.listener.shutdown(socket.SHUT_RDWR)
        self._thread.join(5)  # before close: no accept() may outlive the descriptor it names
        self.listener.close()

    def record(self, request: bytes) -> None:
        with self.lock:
            self.requests.append(request)

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                index = self.accepted
                self.accepted += 1
            threading.Thread(target=self._run, args=(conn, index), daemon=True).start()

    def _run(self, conn: socket.socket, index: int) -> None:
        conn.settimeout(10)
        sock: socket.socket = conn
        try:
            if self.context is not None:
                sock = self.context.wrap_socket(conn, server_side=True)
                with self.lock:
                    self.handshakes += 1
            self.script(sock, index)
        except (OSError, ssl.SSLError):
            pass
        finally:
            with contextlib.suppress(OSError):
                sock.close()
            with contextlib.suppress(OSError):
                conn.close()


def answer(sock: socket.socket, server: RawTLSServer, reply: bytes) -> bytes:
    """Read a request, record it, send ``reply``; return the request."""
    request = read_request(sock)
    if request:
        server.record(request)
        sock.sendall(reply)
    return request
