"""A small threaded HTTPS server that can demand a client certificate.

Why not ``http.server`` with a wrapped listening socket: that performs the TLS
handshake inside ``accept()``, so one slow or failing client blocks every
other, and handshake failures vanish into ``handle_error``.  Here each
connection is handshaken in its own thread and failures are recorded, so tests
can assert what the *server* saw (client certificate, headers, body, handshake
errors), not only what the client received.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import struct
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes
    client_cert: dict[str, Any] | None
    tls_version: str | None

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def client_subject_cn(self) -> str | None:
        if not self.client_cert:
            return None
        for rdn in self.client_cert.get("subject", ()):
            for key, value in rdn:
                if key == "commonName":
                    return str(value)
        return None


#: Ways a reply can misbehave (see :class:`Reply`).
FAULTS = ("reset", "close", "close_mid_body", "trickle")


@dataclass
class Reply:
    """What the server answers: a status, a body (bytes, text, or JSON-able) and headers.

    ``delay`` stalls that many seconds before answering.  ``fault`` makes the
    answer go wrong on purpose: ``"reset"`` aborts the TCP connection (RST)
    without answering, ``"close"`` closes it cleanly without answering,
    ``"close_mid_body"`` sends the headers and half the body, then closes;
    ``"trickle"`` sends the body one byte at a time, ``delay`` seconds apart
    (each wait shorter than a read timeout, the whole body much longer).
    """

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    fault: str | None = None

    def __post_init__(self) -> None:
        if self.fault is not None and self.fault not in FAULTS:
            raise ValueError(f"fault must be one of {FAULTS}, got {self.fault!r}")

    def encode(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        if isinstance(self.body, bytes):
            data = self.body
        elif isinstance(self.body, str):
            data = self.body.encode("utf-8")
            headers.setdefault("Content-Type", "text/plain; charset=utf-8")
        elif self.body is None:
            data = b""
        else:
            data = json.dumps(self.body).encode("utf-8")
            headers.setdefault("Content-Type", "application/json")
        return data, headers


Handler = Callable[[RecordedRequest], Reply]


def echo(request: RecordedRequest) -> Reply:
    """Default handler: answers 200 with what it received (minus the body)."""
    return Reply(200, {"method": request.method, "path": request.path})


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Buffer the status line, headers and body into one write: unbuffered
    # writes meet Nagle's algorithm and the client's delayed ACK, costing ~40 ms
    # per keep-alive request.  handle_one_request() flushes after each request.
    wbufsize = 64 * 1024
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        sock = self.connection
        cert = sock.getpeercert() if isinstance(sock, ssl.SSLSocket) else None
        recorded = RecordedRequest(
            method=self.command,
            path=self.path,
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
            client_cert=cert or None,
            tls_version=sock.version() if isinstance(sock, ssl.SSLSocket) else None,
        )
        with self.server.lock:
            self.server.recorded.append(recorded)
        reply = self.server.handler(recorded)
        if reply.delay and reply.fault != "trickle":
            time.sleep(reply.delay)
        if reply.fault in {"reset", "close"}:
            _abort(self.connection, reset=reply.fault == "reset")
            self.close_connection = True
            return
        data, headers = reply.encode()
        self.send_response(reply.status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if reply.fault == "close_mid_body":
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            _abort(self.connection, reset=False)
            self.close_connection = True
        elif reply.fault == "trickle":
            self.wfile.flush()
            for index in range(len(data)):
                time.sleep(reply.delay)
                try:
                    self.wfile.write(data[index : index + 1])
                    self.wfile.flush()
                except OSError:  # the client gave up
                    self.close_connection = True
                    return
        elif self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle


def _abort(sock: socket.socket, *, reset: bool) -> None:
    """Close ``sock`` at once: with an RST when ``reset`` (SO_LINGER 0), else a FIN."""
    with contextlib.suppress(OSError):
        if reset:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        else:
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], context: ssl.SSLContext, handler: Handler) -> None:
        super().__init__(address, _RequestHandler)
        self.context = context
        self.handler = handler
        self.lock = threading.Lock()
        self.recorded: list[RecordedRequest] = []
        self.handshake_errors: list[str] = []
        self.connections = 0
        self.resumed = 0
        self.closed = 0
        self.connection_faults: list[str] = []

    def finish_request(self, request: Any, client_address: Any) -> None:
        # Handshake here, in the per-connection thread, not in accept().
        request.settimeout(10)
        with contextlib.suppress(OSError):
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            with self.lock:
                self.handshake_errors.append(getattr(exc, "reason", None) or str(exc))
            return
        with self.lock:
            self.connections += 1
            self.resumed += 1 if tls.session_reused else 0
            fault = self.connection_faults.pop(0) if self.connection_faults else None
        if fault is not None:  # misbehave before reading the request
            _abort(tls, reset=fault == "reset")
            return
        try:
            super().finish_request(tls, client_address)
        except (ssl.SSLError, OSError) as exc:
            with self.lock:
                self.handshake_errors.append(getattr(exc, "reason", None) or str(exc))
        finally:
            with contextlib.suppress(OSError):
                tls.close()
            with self.lock:
                self.closed += 1

    def shutdown_request(self, request: Any) -> None:
        with contextlib.suppress(OSError):
            request.shutdown(socket.SHUT_RDWR)
        request.close()

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # failures are recorded in finish_request; keep test output clean


class MTLSServer:
    """A threaded HTTPS server on 127.0.0.1 with an ephemeral port.

    ``context`` decides the TLS policy (demand a client certificate with
    ``verify_mode = CERT_REQUIRED``); ``handler`` maps a
    :class:`RecordedRequest` to a :class:`Reply`.
    """

    def __init__(self, context: ssl.SSLContext, handler: Handler = echo, host: str = "127.0.0.1") -> None:
        self._server = _Server((host, 0), context, handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="mtls-server", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"https://{self._server.server_address[0]!s}:{self.port}"

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._server.lock:
            return list(self._server.recorded)

    @property
    def handshake_errors(self) -> list[str]:
        with self._server.lock:
            return list(self._server.handshake_errors)

    def clear_log(self) -> None:
        """Forget the recorded requests and refused handshakes (a test's view starts empty)."""
        with self._server.lock:
            self._server.recorded.clear()
            self._server.handshake_errors.clear()

    @property
    def connections(self) -> int:
        with self._server.lock:
            return self._server.connections

    @property
    def closed_connections(self) -> int:
        """Connections that ended (closed by either side) after a request was served or tried."""
        with self._server.lock:
            return self._server.closed

    @property
    def resumed_connections(self) -> int:
        """Connections whose TLS handshake resumed an earlier session."""
        with self._server.lock:
            return self._server.resumed

    def set_handler(self, handler: Handler) -> None:
        self._server.handler = handler

    def fail_next_connections(self, count: int = 1, fault: str = "reset") -> None:
        """Make the next ``count`` connections fail right after the TLS
        handshake, before the request is read (``"reset"`` or ``"close"``)."""
        with self._server.lock:
            self._server.connection_faults.extend([fault] * count)

    def start(self) -> MTLSServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> MTLSServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
