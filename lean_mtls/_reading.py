"""Reading an answer: interim responses, one deadline, framing, session tickets.

urllib3 reads status line, headers and body through ``http.client``; two of
its habits are wrong for a client that must never mix up answers or wait
without end:

* ``http.client`` skips only ``100 Continue``.  Any other interim answer
  (``102 Processing``, ``103 Early Hints``, an unknown ``1xx``) is returned
  as *the* answer, and the real one stays in the connection for the next
  request to read.  RFC 9110 section 15.2 says a client must skip interim
  answers it does not expect; :class:`LeanHTTPResponse` does, except
  ``101 Switching Protocols``, after which the connection no longer speaks
  HTTP/1.1 and is never reused.
* The socket timeout bounds each *wait*, not the answer: a server sending one
  header byte every 0.9 s, or ``100 Continue`` for ever, holds a call with a
  1 s read timeout indefinitely.  Here the read timeout is a budget for the
  whole answer (status line, interim answers, headers and body), counted
  from the moment the request was sent.  When it is spent, bytes that have
  already arrived can still be read (a slow *reader* of a streamed body is
  not the server's fault); waiting for more raises ``TimeoutError``, which
  urllib3 reports as a read timeout.

A connection whose framing is in doubt (bytes left over after an answer, a
protocol switch) is marked, and the pool closes it instead of reusing it.

This is also where a TLS 1.3 session ticket is kept for resumption: tickets
arrive after the handshake, so they are read once the first answer has
arrived on a connection, whether or not that connection will be reused
(a server answering ``Connection: close`` ends every connection).
"""

from __future__ import annotations

import contextlib
import http.client
import io
import socket
import ssl
import time
from collections.abc import Iterator
from typing import Any, Callable

import requests

#: Clock used for answer deadlines; tests may replace it.
clock: Callable[[], float] = time.monotonic
#: Once the budget is spent, a read may still take what has already arrived,
#: waiting at most this long for it.
_GRACE = 0.001
#: Attribute set on a socket whose HTTP framing can no longer be trusted.
DOUBT = "_lean_framing_in_doubt"
#: Socket attribute: how often its TLS session was read for a ticket (-1: kept).
_TICKET = "_lean_ticket"
#: Reads of a connection's TLS session, at most (see :func:`keep_ticket`).
TICKET_TRIES = 2


class _DeadlineReader(io.RawIOBase):
    """Raw reads from a socket that stop waiting at a fixed deadline."""

    def __init__(self, sock: socket.socket, deadline: float | None) -> None:
        super().__init__()
        self._sock = sock
        self._io = sock.makefile("rb", buffering=0)  # counted by the socket, like http.client's own file
        self.deadline = deadline
        self.probing = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        if self.probing:  # a look at what is buffered must never wait for the network
            return None
        if self.deadline is not None:
            remaining = self.deadline - clock()
            self._sock.settimeout(remaining if remaining > _GRACE else _GRACE)
        count: int | None = self._io.readinto(buffer)
        return count

    def close(self) -> None:
        if not self.closed:
            self._io.close()
        super().close()


class _SocketView:
    """What ``http.client.HTTPResponse`` needs from a socket: ``makefile``."""

    def __init__(self, reader: io.BufferedReader) -> None:
        self._reader = reader

    def makefile(self, mode: str = "rb", *args: Any, **kwargs: Any) -> io.BufferedReader:
        return self._reader


class LeanHTTPResponse(http.client.HTTPResponse):
    """``http.client.HTTPResponse`` that skips interim answers and keeps one deadline.

    Installed as ``response_class`` on every connection of a Lean pool.  The
    deadline is the socket timeout in force when the answer starts (urllib3
    sets it to the read timeout just before), added to the current time.
    """

    def __init__(self, sock: socket.socket, debuglevel: int = 0, method: str | None = None,
                 url: str | None = None) -> None:
        timeout = sock.gettimeout()
        deadline = clock() + timeout if timeout else None
        self._lean_sock = sock
        self._lean_raw = _DeadlineReader(sock, deadline)
        reader = io.BufferedReader(self._lean_raw)
        # debuglevel 0 whatever the connection says: response headers (Set-Cookie) are not printed.
        super().__init__(_SocketView(reader), 0, method, url)  # type: ignore[arg-type]

    def _read_status(self) -> tuple[str, int, str]:
        while True:
            version, status, reason = super()._read_status()  # type: ignore[misc]
            # 100 is skipped by begin(); 101 ends HTTP on this connection and is returned.
            if status in (100, 101) or not 100 <= status < 200:
                return version, status, reason
            http.client._read_headers(self.fp)  # type: ignore[attr-defined]  # an interim answer's fields

    def begin(self) -> None:
        if self.headers is not None:
            return
        # http.client takes EOF for the end of the header block (and a status line cut short
        # for a complete one): read status and headers through a reader that calls that a cut.
        real = self.fp
        self.fp = _HeadReader(real)
        try:
            super().begin()
        finally:
            if isinstance(self.fp, _HeadReader):
                self.fp = real
        if self.status == 101:  # the connection now speaks another protocol
            self.will_close = True
            mark_in_doubt(self._lean_sock)
        else:
            self._check_framing()
        keep_ticket(self._lean_sock)

    def _check_framing(self) -> None:
        """RFC 9112 section 6.3: Transfer-Encoding overrides Content-Length, and
        both together (a sign of response splitting) or a coding other than a
        final ``chunked`` leave nothing but the end of the connection to mark
        the end of the body.  Either way the connection is not reused."""
        codings = self.headers.get_all("Transfer-Encoding") if self.headers is not None else None
        if not codings:
            return
        if not self.chunked:  # not exactly "chunked": the body ends when the connection does
            self.length = None
            self.will_close = True
            mark_in_doubt(self._lean_sock)
        elif self.headers.get("Content-Length") is not None:
            self.will_close = True
            mark_in_doubt(self._lean_sock)

    def _close_conn(self) -> None:
        fp = self.fp
        if fp is not None and not self.will_close and _has_leftover(self._lean_raw, fp):
            # More bytes than the framing announced: the next answer read from
            # this connection could be this one's tail.
            mark_in_doubt(self._lean_sock)
        super()._close_conn()  # type: ignore[misc]


class _HeadReader:
    """The response's file while the status line and headers are read.

    A line that ends without its LF (and below the length limit, which
    http.client reports as over-long itself), or EOF after the status line
    arrived but before the blank line ending the header block, means the
    connection was cut inside the answer's head: ``IncompleteRead``, which the
    one table calls a cut answer (retried where a cut may be), never a
    complete answer with an empty body.  EOF before any byte stays
    http.client's ``RemoteDisconnected`` (a kept-alive connection the server
    had closed).
    """

    def __init__(self, fp: Any) -> None:
        self._fp = fp
        self._lines = 0

    def readline(self, limit: int = -1) -> bytes:
        line: bytes = self._fp.readline(limit)
        if line.endswith(b"\n") or (0 <= limit <= len(line)):
            self._lines += 1
            return line
        if line or self._lines:
            raise http.client.IncompleteRead(line)
        return line

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fp, name)


def _has_leftover(raw: _DeadlineReader, fp: Any) -> bool:
    if raw.closed:
        return False
    raw.probing = True
    try:
        return bool(fp.peek(1))
    except (OSError, ValueError):
        return False
    finally:
        raw.probing = False


def mark_in_doubt(sock: Any) -> None:
    with contextlib.suppress(AttributeError):  # a socket type without attributes: nothing to mark
        setattr(sock, DOUBT, True)


def in_doubt(conn: Any) -> bool:
    """True when ``conn``'s socket must not carry another request."""
    sock = getattr(conn, "sock", None)
    if sock is None:
        return False
    if getattr(sock, DOUBT, False):
        return True
    pending = getattr(sock, "pending", None)  # TLS bytes decrypted but not read: unasked-for data
    try:
        return bool(pending()) if pending is not None else False
    except (OSError, ValueError):
        return True


def keep_ticket(sock: Any) -> None:
    """Keep ``sock``'s TLS session for resumption (see ``ResumingSSLContext``).

    Called when an answer has arrived (TLS 1.3 tickets come after the
    handshake, before the first answer) and when a kept-alive connection goes
    back to the pool.  At most :data:`TICKET_TRIES` times per connection:
    reading ``SSLSocket.session`` serialises it, too costly for every answer
    from a server that issues no tickets.
    """
    if not isinstance(sock, ssl.SSLSocket):
        return
    tries = sock.__dict__.get(_TICKET, 0)
    if tries < 0 or tries >= TICKET_TRIES:  # kept already, or given up
        return
    from ._tls import ResumingSSLContext, _peer_key

    kept = False
    context = sock.context
    if isinstance(context, ResumingSSLContext):
        key = _peer_key(sock, sock.server_hostname)
        kept = key is not None and context.remember(key, sock)
    sock.__dict__[_TICKET] = -1 if kept else tries + 1


def install(conn: Any) -> Any:
    """Make ``conn`` (an ``http.client.HTTPConnection``) read answers with :class:`LeanHTTPResponse`."""
    if isinstance(conn, http.client.HTTPConnection):
        conn.response_class = LeanHTTPResponse
        # http.client prints every header and body it sends when debuglevel > 0 (the
        # "debug requests" recipe sets HTTPConnection.debuglevel = 1 on the class), with
        # print(), past every log filter: the app token, the Bearer token, the token form.
        # The SDK's connections never print; its DEBUG logging is the scrubbed channel.
        conn.debuglevel = 0
        conn.set_debuglevel = _no_debuglevel  # type: ignore[method-assign]
    return conn


def _no_debuglevel(level: int) -> None:
    """``HTTPConnection.set_debuglevel`` on the SDK's connections: ignored (see :func:`install`)."""


class LeanResponse(requests.Response):
    """The ``requests.Response`` a LeanAdapter returns.

    When the body is streamed (``stream=True``), ``iter_content`` (and so
    ``content``, ``text``, ``json()`` and ``iter_lines``) refuses more than
    ``lean_max_bytes`` decoded bytes, and read failures are lean_mtls errors
    rather than bare requests exceptions.  The answer's deadline applies to
    streamed bodies too (see :class:`LeanHTTPResponse`).
    """

    #: Largest body ``iter_content`` will read (decoded bytes); ``None``: no limit.
    lean_max_bytes: int | None = None

    def json(self, **kwargs: Any) -> Any:
        """``requests.Response.json()``, with its failures named: a body in a
        coding this installation cannot decode is a
        :class:`~lean_mtls.errors.ResponseDecodingError`; a body that is not JSON,
        or is nested too deeply for the parser (``RecursionError`` in requests),
        a :class:`~lean_mtls.errors.ResponseJSONDecodeError` (also
        ``requests.exceptions.JSONDecodeError``)."""
        from ._response import not_json, undecodable, unsupported_content_codings

        codings = unsupported_content_codings(self.headers.get("Content-Encoding", ""))
        if codings:
            raise undecodable(self, codings)
        from .errors import LeanError

        try:
            return super().json(**kwargs)
        except LeanError:
            raise
        except (RecursionError, ValueError) as exc:
            raise not_json(self, exc) from None

    def iter_content(self, chunk_size: int | None = 1, decode_unicode: bool = False) -> Iterator[Any]:
        chunks = super().iter_content(chunk_size, decode_unicode)
        if self._content_consumed:  # type: ignore[attr-defined]  # already in memory: nothing to guard
            return chunks
        return self._guarded(chunks)

    def _guarded(self, chunks: Iterator[Any]) -> Iterator[Any]:
        from ._exceptions import TRANSPORT_FAILURES, map_transport_error
        from .errors import LeanError

        limit, total = self.lean_max_bytes, 0
        try:
            for chunk in chunks:
                total += len(chunk)
                if limit is not None and total > limit:
                    raise too_large(self, limit)
                yield chunk
        except LeanError:
            raise
        except TRANSPORT_FAILURES as exc:
            self.close()
            description = getattr(self.connection, "description", None)
            raise map_transport_error(exc, self.url or "", description, answered=True,
                                      request=self.request, response=self) from None


def too_large(response: requests.Response, limit: int) -> BaseException:
    """Close ``response`` and return the error for a body over ``limit`` bytes."""
    from urllib.parse import urlsplit

    from .errors import InvalidResponseError

    response.close()
    path = urlsplit(response.url or "").path or "/"
    return InvalidResponseError(
        f"HTTP {response.status_code} to {path} sent more than {limit} bytes; "
        "refusing to read it (raise max_response_bytes= if this is expected).",
        status_code=response.status_code,
        response=response,
        request=response.request,
    )
