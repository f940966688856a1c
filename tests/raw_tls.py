"""A raw TLS server on 127.0.0.1 for byte-level misbehaviour.

:class:`~lean_mtls.testing.MTLSServer` speaks correct HTTP/1.1; the faults
tested with this server (interim ``1xx`` answers, trickled status lines,
stray bytes after a body) need control over every byte written.  Each
accepted connection is handshaken and handed, in its own thread, to a
``script(conn, index)`` that reads requests with :func:`read_request` and
writes whatever bytes the test wants.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

Script = Callable[["Connection"], None]


class Connection:
    """One accepted TLS connection, as a script sees it."""

    def __init__(self, tls: ssl.SSLSocket, index: int, server: RawTLSServer) -> None:
        self.tls = tls
        self.index = index
        self.server = server
        self._buffer = b""

    def read_request(self) -> bytes | None:
        """The next request (head and body), or ``None`` when the client closed."""
        while b"\r\n\r\n" not in self._buffer:
            chunk = self._recv()
            if not chunk:
                return None
            self._buffer += chunk
        head, _, rest = self._buffer.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while len(rest) < length:
            chunk = self._recv()
            if not chunk:
                return None
            rest += chunk
        self._buffer = rest[length:]
        request = head + b"\r\n\r\n" + rest[:length]
        with self.server.lock:
            self.server.requests.append(request)
        return request

    def _recv(self) -> bytes:
        try:
            return self.tls.recv(65536)
        except (OSError, ssl.SSLError):
            return b""

    def send(self, data: bytes) -> bool:
        """Write ``data``; False once the client has gone."""
        try:
            self.tls.sendall(data)
            return True
        except (OSError, ssl.SSLError):
            return False

    def trickle(self, data: bytes, every: float) -> int:
        """Write ``data`` one byte at a time, ``every`` seconds apart; bytes written."""
        for index in range(len(data)):
            if not self.send(data[index : index + 1]):
                return index
            time.sleep(every)
        return len(data)


class RawTLSServer:
    """Accept TLS connections and run ``script`` on each, in its own thread."""

    def __init__(self, context: ssl.SSLContext, script: Script) -> None:
        self.context = context
        self.script = script
        self.lock = threading.Lock()
        self.requests: list[bytes] = []
        self.connections = 0
        self.resumed = 0
        self.notes: list[Any] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._accept_thread = threading.Thread(target=self._accept_loop, name="raw-tls", daemon=True)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self._listener.getsockname()[1]}"

    def note(self, value: Any) -> None:
        with self.lock:
            self.notes.append(value)

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                raw, _ = self._listener.accept()
            except (socket.timeout, OSError):
                continue
            thread = threading.Thread(target=self._serve, args=(raw,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, raw: socket.socket) -> None:
        raw.settimeout(10)
        try:
            tls = self.context.wrap_socket(raw, server_side=True)
        except (OSError, ssl.SSLError):
            raw.close()
            return
        with self.lock:
            index = self.connections
            self.connections += 1
            self.resumed += 1 if tls.session_reused else 0
        try:
            self.script(Connection(tls, index, self))
        except (OSError, ssl.SSLError):
            pass
        finally:
            with contextlib.suppress(OSError, ssl.SSLError):
                tls.close()

    def __enter__(self) -> RawTLSServer:
        self._accept_thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._accept_thread.join(timeout=5)
        self._listener.close()
        for thread in self._threads:
            thread.join(timeout=5)


def response(status: int, body: bytes = b"", *, reason: str = "X", headers: Iterator[str] | list[str] = ()) -> bytes:
    """An HTTP/1.1 answer with a Content-Length."""
    lines = [f"HTTP/1.1 {status} {reason}", *headers, f"Content-Length: {len(body)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
