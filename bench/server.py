"""A fast loopback mTLS HTTP/1.1 server for the benchmarks, run in its own process.

Run directly (``python bench/server.py --cert ... --key ... --client-ca ...``)
it prints ``READY <port>`` and then answers commands on stdin, one per line,
with one JSON line on stdout:

* ``stats``: cumulative counters (see :class:`Counters`) and process CPU;
* ``mark``:  reset the peak-open-connections counter (returns the stats);
* ``quit``:  exit.

The benchmark process uses :class:`ServerProcess` to start it and read the
counters around each measurement.  Running it in a separate *process* keeps
the server's work off the client's GIL; on a 2-core machine each side gets a
core.

Why not ``http.server``/``lean_mtls.testing.MTLSServer``: those parse headers
with ``email.parser`` and record every request, which costs more CPU per
request than the client under test.  This one parses only the request line,
``Content-Length`` and ``Connection: close``, and answers from pre-encoded
bytes.

Routes (anything else is 404; a path prefixed with ``/close`` is served the
same but the *server* answers ``Connection: close`` and closes the connection
after the answer, whatever the request asked, as some gateways do):

* ``GET /banks/v1/``                         small JSON array (3 banks)
* ``POST /customers/v1/``                    small JSON object
* ``GET /data/v2/accounts/{id}/transactions?page=&size=``
  Lean data-v2 page over ``--transactions`` synthetic transactions, built
  from a template per request (nothing is held in memory).

``--latency SECONDS`` holds every answer that long before sending it (Lean's
round trip; each connection has its own thread, so concurrent requests wait
in parallel).

Handshake accounting: every accepted TCP connection is counted; a completed
handshake is counted as *full* or *resumed* (``SSLSocket.session_reused``).
TLS 1.3 session tickets are on (``num_tickets``) and the context is shared by
every connection, so a client that offers a ticket from an earlier connection
is resumed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import socket
import ssl
import subprocess
import sys
import threading
import time
from typing import Any

BANKS = json.dumps(
    [
        {"identifier": "LEANMB1", "name": "Lean Mockbank One", "arabic_name": "", "logo": "",
         "main_color": "#1beb75", "background_color": "#001E26", "theme": "light", "country_code": "ARE",
         "supported_account_types": ["CURRENT", "SAVINGS"], "availability": {"active": {"payments": True}}},
        {"identifier": "LEANMB2", "name": "Lean Mockbank Two", "arabic_name": "", "logo": "",
         "main_color": "#1beb75", "background_color": "#001E26", "theme": "light", "country_code": "ARE",
         "supported_account_types": ["CURRENT"], "availability": {"active": {"payments": False}}},
        {"identifier": "LEANMB3", "name": "Lean Mockbank Three", "arabic_name": "", "logo": "",
         "main_color": "#1beb75", "background_color": "#001E26", "theme": "light", "country_code": "SAU",
         "supported_account_types": ["CURRENT", "CREDIT"], "availability": {"active": {"payments": True}}},
    ],
    separators=(",", ":"),
).encode()

CUSTOMER = b'{"customer_id":"6a5e0c7e-3bd9-4a5c-a5b6-8d5f3c1e2a90","app_user_id":"bench-user"}'

TXN_TEMPLATE = (
    '{"transaction_id":"txn-%09d","account_id":"%s","transaction_reference":"REF%012d",'
    '"credit_debit_indicator":"%s","status":"BOOKED","booking_date_time":"2024-%s-%sT10:%s:00Z",'
    '"value_date_time":"2024-%s-%sT10:%s:00Z","transaction_information":"Card purchase %d",'
    '"amount":{"amount":%d.%s,"currency":"AED"},"bank_transaction_code":{"code":"POS","sub_code":"CARD"},'
    '"merchant_details":{"merchant_name":"Merchant %d","merchant_category_code":"5411"}}'
)
TWO_DIGITS = [f"{i:02d}" for i in range(100)]


def _response(status: bytes, body: bytes, close: bool) -> bytes:
    return b"".join((
        b"HTTP/1.1 ", status, b"\r\nContent-Type: application/json\r\nContent-Length: ",
        str(len(body)).encode(), b"\r\nConnection: close\r\n\r\n" if close else b"\r\n\r\n", body,
    ))


RESPONSES = {
    (b"GET", b"/banks/v1/"): BANKS,
    (b"GET", b"/banks/v1"): BANKS,
    (b"POST", b"/customers/v1/"): CUSTOMER,
    (b"POST", b"/customers/v1"): CUSTOMER,
}
PRE_KEEP = {key: _response(b"200 OK", body, False) for key, body in RESPONSES.items()}
PRE_CLOSE = {key: _response(b"200 OK", body, True) for key, body in RESPONSES.items()}
NOT_FOUND = b'{"status":"NOT_FOUND","message":"no such route in the benchmark server"}'
TXN_PREFIX = b"/data/v2/accounts/"
SERVER_CLOSE = b"/close"


def transactions_page(account: str, page: int, size: int, total: int) -> bytes:
    size = max(1, min(size, 100))
    start = page * size
    end = min(total, start + size)
    t, acc = TWO_DIGITS, account
    items = ",".join([
        TXN_TEMPLATE % (i, acc, i, "DEBIT" if i % 3 else "CREDIT", t[1 + i % 12], t[1 + i % 28], t[i % 60],
                        t[1 + i % 12], t[1 + i % 28], t[i % 60], i, i % 997, t[i % 100], i % 50)
        for i in range(start, end)
    ])
    total_pages = (total + size - 1) // size
    return (
        '{"status":"OK","data":{"type":"transactions","transactions":[' + items
        + f'],"page":{{"number":{page},"size":{size},"total_elements":{total},"total_pages":{total_pages}}}}},'
        '"results_id":null,"message":null,"timestamp":"2024-06-01T00:00:00Z"}'
    ).encode()


def _query(target: bytes) -> dict[str, str]:
    out: dict[str, str] = {}
    if b"?" in target:
        for part in target.split(b"?", 1)[1].split(b"&"):
            key, _, value = part.partition(b"=")
            out[key.decode()] = value.decode()
    return out


class ConnStats:
    __slots__ = ("cpu", "open", "requests")

    def __init__(self) -> None:
        self.requests = 0
        self.cpu = 0.0
        self.open = True


class Counters:
    """Cumulative counters; read without locks (ints/floats under the GIL)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.accepted = 0
        self.handshakes = 0
        self.resumed = 0
        self.handshake_failures = 0
        self.handshake_cpu = 0.0
        self.open_now = 0
        self.open_peak = 0
        self.conns: list[ConnStats] = []
        self.tls_versions: dict[str, int] = {}

    def snapshot(self) -> dict[str, Any]:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        conns = list(self.conns)
        return {
            "accepted": self.accepted,
            "handshakes": self.handshakes,
            "resumed": self.resumed,
            "full": self.handshakes - self.resumed,
            "handshake_failures": self.handshake_failures,
            "requests": sum(c.requests for c in conns),
            "request_cpu": sum(c.cpu for c in conns),
            "handshake_cpu": self.handshake_cpu,
            "process_cpu": usage.ru_utime + usage.ru_stime,
            "open_now": self.open_now,
            "open_peak": self.open_peak,
            "tls_versions": dict(self.tls_versions),
            "time": time.perf_counter(),
        }


def serve_connection(raw: socket.socket, context: ssl.SSLContext, counters: Counters, total_txns: int,
                     latency: float = 0.0) -> None:
    thread_time = time.thread_time
    started = thread_time()
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    raw.settimeout(600)
    try:
        tls = context.wrap_socket(raw, server_side=True, do_handshake_on_connect=False)
        tls.do_handshake()
    except (ssl.SSLError, OSError):
        with counters.lock:
            counters.handshake_failures += 1
            counters.open_now -= 1
        raw.close()
        return
    stats = ConnStats()
    version = tls.version() or "?"
    with counters.lock:
        counters.handshakes += 1
        if tls.session_reused:
            counters.resumed += 1
        counters.tls_versions[version] = counters.tls_versions.get(version, 0) + 1
        counters.handshake_cpu += thread_time() - started
        counters.conns.append(stats)
    recv, sendall = tls.recv, tls.sendall
    buf = b""
    try:
        while True:
            mark = thread_time()
            end = buf.find(b"\r\n\r\n")
            while end < 0:
                data = recv(65536)
                if not data:
                    return
                buf += data
                end = buf.find(b"\r\n\r\n")
                mark = thread_time()  # waiting for bytes is not work
            head = buf[:end]
            rest = buf[end + 4:]
            line_end = head.find(b"\r\n")
            request_line = head if line_end < 0 else head[:line_end]
            method, target, _ = request_line.split(b" ", 2)
            lower = head.lower()
            length = 0
            pos = lower.find(b"\r\ncontent-length:")
            if pos >= 0:
                stop = lower.find(b"\r\n", pos + 2)
                length = int(lower[pos + 17: stop if stop >= 0 else len(lower)])
            close = b"\r\nconnection: close" in lower
            while len(rest) < length:
                data = recv(65536)
                if not data:
                    return
                rest += data
            buf = rest[length:]
            path = target.split(b"?", 1)[0]
            if path.startswith(SERVER_CLOSE):  # the server decides to close, unasked
                path = path[len(SERVER_CLOSE):]
                close = True
            pre = (PRE_CLOSE if close else PRE_KEEP).get((method, path))
            if pre is not None:
                out = pre
            elif method == b"GET" and path.startswith(TXN_PREFIX) and path.endswith(b"/transactions"):
                query = _query(target)
                account = path[len(TXN_PREFIX):-len(b"/transactions")].decode()
                body = transactions_page(account, int(query.get("page", "0")), int(query.get("size", "50")),
                                         total_txns)
                out = _response(b"200 OK", body, close)
            else:
                out = _response(b"404 Not Found", NOT_FOUND, close)
            stats.requests += 1  # before sending: a client that has the answer must see it counted
            if latency:
                stats.cpu += thread_time() - mark
                time.sleep(latency)  # waiting is not work
                mark = thread_time()
            sendall(out)
            stats.cpu += thread_time() - mark
            if close:
                return
    except (ssl.SSLError, OSError, ValueError):
        return
    finally:
        stats.open = False
        with counters.lock:
            counters.open_now -= 1
        with contextlib.suppress(OSError):
            tls.close()


def build_context(cert: str, key: str, client_ca: str, num_tickets: int) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.load_verify_locations(client_ca)
    context.verify_mode = ssl.CERT_REQUIRED
    context.num_tickets = num_tickets  # TLS 1.3 session tickets, so resumption is possible
    return context


def serve(args: argparse.Namespace) -> None:
    context = build_context(args.cert, args.key, args.client_ca, args.num_tickets)
    counters = Counters()
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((args.host, args.port))
    listener.listen(1024)

    def accept_loop() -> None:
        while True:
            try:
                raw, _ = listener.accept()
            except OSError:
                return
            with counters.lock:
                counters.accepted += 1
                counters.open_now += 1
                counters.open_peak = max(counters.open_peak, counters.open_now)
            threading.Thread(target=serve_connection,
                             args=(raw, context, counters, args.transactions, args.latency), daemon=True).start()

    threading.Thread(target=accept_loop, name="accept", daemon=True).start()
    out = sys.stdout
    out.write(f"READY {listener.getsockname()[1]}\n")
    out.flush()
    for line in sys.stdin:
        command = line.strip()
        if command == "quit":
            break
        if command == "mark":
            with counters.lock:
                counters.open_peak = counters.open_now
        out.write(json.dumps(counters.snapshot()) + "\n")
        out.flush()
    listener.close()


class ServerProcess:
    """Start ``server.py`` in a child process and read its counters."""

    def __init__(self, cert: str, key: str, client_ca: str, transactions: int = 100_000,
                 num_tickets: int = 2, latency: float = 0.0) -> None:
        self._proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--cert", cert, "--key", key, "--client-ca", client_ca,
             "--transactions", str(transactions), "--num-tickets", str(num_tickets), "--latency", str(latency)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
        )
        assert self._proc.stdout is not None and self._proc.stdin is not None
        ready = self._proc.stdout.readline().split()
        if len(ready) != 2 or ready[0] != "READY":
            self._proc.kill()
            raise RuntimeError(f"benchmark server did not start: {ready!r}")
        self.port = int(ready[1])
        self.url = f"https://127.0.0.1:{self.port}"
        self.pid = self._proc.pid
        self._lock = threading.Lock()

    def _command(self, command: str) -> dict[str, Any]:
        with self._lock:
            assert self._proc.stdin is not None and self._proc.stdout is not None
            self._proc.stdin.write(command + "\n")
            self._proc.stdin.flush()
            result: dict[str, Any] = json.loads(self._proc.stdout.readline())
            return result

    def stats(self) -> dict[str, Any]:
        return self._command("stats")

    def mark(self) -> dict[str, Any]:
        """Stats, after resetting the peak of concurrently open connections."""
        return self._command("mark")

    def close(self) -> None:
        if self._proc.poll() is None:
            try:
                assert self._proc.stdin is not None
                self._proc.stdin.write("quit\n")
                self._proc.stdin.flush()
                self._proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self._proc.kill()
                self._proc.wait()

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def delta(after: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    """Counter differences between two ``stats()`` snapshots."""
    keys = ("accepted", "handshakes", "resumed", "full", "handshake_failures", "requests", "request_cpu",
            "handshake_cpu", "process_cpu", "time")
    out = {k: after[k] - before[k] for k in keys}
    out["open_peak"] = after["open_peak"]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cert", required=True, help="server certificate chain (PEM)")
    parser.add_argument("--key", required=True, help="server private key (PEM)")
    parser.add_argument("--client-ca", required=True, help="CA that client certificates must chain to")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--transactions", type=int, default=100_000)
    parser.add_argument("--num-tickets", type=int, default=2)
    parser.add_argument("--latency", type=float, default=0.0, help="seconds to hold every answer")
    serve(parser.parse_args())


if __name__ == "__main__":
    main()
