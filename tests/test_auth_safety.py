"""Issue 11: credentials only to their origin, token answers validated, token
fetches shared across threads and safe across fork().  Real TLS on 127.0.0.1."""

from __future__ import annotations

import json
import os
import pickle
import select
import signal
import socket
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl

import pytest
import requests
import trustme

from lean_mtls import ConcurrencyBudget, ConfigurationError, LeanError, LeanSession
from lean_mtls._auth import AppTokenAuth, ClientCredentialsAuth
from lean_mtls._secrets import scrub, spellings
from lean_mtls.errors import InvalidResponseError, LeanAPIError, LeanTimeout
from lean_mtls.testing import MTLSServer, RecordedRequest, Reply

from .conftest import APP_TOKEN, ClientFiles, incomplete_chain_is_not_the_point, server_context

CLIENT_SECRET = "cs+Zx/9q=&k%7Ea-SECRET=="  # every character form and percent encoding change
LONG_TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhcHAtMTIzNCJ9.signature-{n}-aaaaaaaaaaaaaaaa"


class OAuthHandler:
    """Token endpoint and API on one server; tokens long enough to be scrubbed."""

    def __init__(self) -> None:
        self.issued: list[str] = []
        self.token_reply: Callable[[dict[str, str]], Reply] | None = None
        self.api_reply: Callable[[RecordedRequest], Reply] | None = None
        self.stall = threading.Event()  # while clear, the *first* token request hangs
        self.stall.set()
        self.lock = threading.Lock()
        self.token_requests = 0

    def __call__(self, request: RecordedRequest) -> Reply:
        if request.path == "/oauth2/token":
            form = dict(parse_qsl(request.body.decode()))
            if self.token_reply is not None:
                return self.token_reply(form)
            with self.lock:
                self.token_requests += 1
                first = self.token_requests == 1
            if first:
                self.stall.wait(10)
            with self.lock:
                token = LONG_TOKEN.format(n=len(self.issued) + 1)
                self.issued.append(token)
            return Reply(200, {"access_token": token, "token_type": "Bearer", "expires_in": 3599})
        if self.api_reply is not None:
            return self.api_reply(request)
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        return Reply(200 if bearer in self.issued else 401, {"ok": bearer in self.issued})


@pytest.fixture()
def oauth(server: MTLSServer) -> OAuthHandler:
    handler = OAuthHandler()
    server.set_handler(handler)
    return handler


@pytest.fixture()
def other(server_ca: trustme.CA) -> Iterator[MTLSServer]:
    """Another origin (plain TLS, same CA) that must never see a credential."""
    with MTLSServer(server_context(server_ca, None)) as foreign:
        yield foreign


@pytest.fixture()
def plain(client_files: ClientFiles) -> Iterator[requests.Session]:
    session = requests.Session()
    session.trust_env = False
    session.verify = str(client_files.ca)
    session.cert = (str(client_files.cert), str(client_files.key))
    yield session
    session.close()


def credential_headers(request: RecordedRequest) -> set[str]:
    return {name for name in request.headers if name.lower() in {"authorization", "lean-app-token"}}


def oauth_session(server: MTLSServer, files: ClientFiles, **kwargs: Any) -> LeanSession:
    options: dict[str, Any] = {"cert": files.cert, "key": files.key, "ca": files.ca, "base_url": server.url,
                               "auth_url": server.url, "client_secret": CLIENT_SECRET, "retries": 0}
    options.update(kwargs)
    return LeanSession(APP_TOKEN, **options)


# ---------------------------------------------------------------------- item 1: token requests never redirect


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308, 300])
@pytest.mark.parametrize("where", ["other origin", "same origin"])
def test_token_request_never_follows_a_redirect(server: MTLSServer, other: MTLSServer, client_files: ClientFiles,
                                                oauth: OAuthHandler, status: int, where: str) -> None:
    target = other.url if where == "other origin" else server.url
    oauth.token_reply = lambda form: Reply(status, b"", {"Location": target + "/oauth2/token"})
    before = len(server.requests)
    with oauth_session(server, client_files) as session, pytest.raises(LeanAPIError) as info:
        session.get("/banks/v1/")
    assert info.value.code == "token-redirect" and info.value.status_code == status
    assert server.url.replace("https://", "") in str(info.value)  # names the token host
    assert "auth_url=" in str(info.value)
    assert other.requests == []
    assert [r.path for r in server.requests[before:]] == ["/oauth2/token"]  # nothing followed, no API call


def test_token_redirect_on_plain_requests(server: MTLSServer, other: MTLSServer, oauth: OAuthHandler,
                                          plain: requests.Session) -> None:
    oauth.token_reply = lambda form: Reply(307, b"", {"Location": other.url + "/steal"})
    auth = ClientCredentialsAuth(APP_TOKEN, CLIENT_SECRET, token_url=server.url + "/oauth2/token",
                                 origins=[server.url], token_session=plain)
    with pytest.raises(LeanAPIError, match="never follow redirects"):
        plain.get(server.url + "/x", auth=auth)
    assert other.requests == [] and auth.fetch_count == 1


# ---------------------------------------------------------------------- item 2: auth objects on plain requests


class RecordingAdapter(requests.adapters.BaseAdapter):
    """Stands in for a foreign http:// origin: records what would have been sent there."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:
        self.sent.append(request)
        response = requests.Response()
        response.status_code, response.request, response.url = 200, request, request.url or ""
        response._content = b"{}"
        return response

    def close(self) -> None:
        """Nothing to close."""


def redirects(server: MTLSServer, chain: dict[str, tuple[int, str]], api: Callable[[RecordedRequest], Reply]
              ) -> Callable[[RecordedRequest], Reply]:
    def handle(request: RecordedRequest) -> Reply:
        if request.path in chain:
            status, location = chain[request.path]
            return Reply(status, b"", {"Location": location})
        return api(request)
    return handle


@pytest.mark.parametrize("auth_kind", ["app_token", "client_credentials"])
@pytest.mark.parametrize("hops", ["302 to other host", "307 then 303 to other host", "308 to other port",
                                  "301 to http same host", "302 back and forth"])
def test_auth_objects_strip_credentials_on_cross_origin_redirects(
    server: MTLSServer, other: MTLSServer, plain: requests.Session, auth_kind: str, hops: str,
) -> None:
    oauth = OAuthHandler()
    recorder = RecordingAdapter()
    plain.mount("http://", recorder)
    other_host = other.url.replace("127.0.0.1", "localhost")  # another host name, another port
    same_host_other_port = other.url
    http_same_host = server.url.replace("https://", "http://")
    chain = {
        "302 to other host": {"/start": (302, other_host + "/landing")},
        "307 then 303 to other host": {"/start": (307, server.url + "/second"), "/second": (303, other_host + "/l")},
        "308 to other port": {"/start": (308, same_host_other_port + "/landing")},
        "301 to http same host": {"/start": (301, http_same_host + "/landing")},
        "302 back and forth": {"/start": (302, server.url + "/again"), "/again": (302, other_host + "/x")},
    }[hops]
    server.set_handler(redirects(server, chain, oauth))
    other.set_handler(lambda r: Reply(401, {"status": "UNAUTHORIZED"}))  # a 401 must not trigger a token replay
    if auth_kind == "app_token":
        auth: requests.auth.AuthBase = AppTokenAuth(APP_TOKEN, origins=[server.url])
    else:
        auth = ClientCredentialsAuth(APP_TOKEN, CLIENT_SECRET, token_url=server.url + "/oauth2/token",
                                     origins=[server.url], token_session=plain)
    before = len(server.requests)
    response = plain.post(server.url + "/start", data={"a": "b"}, auth=auth)
    sent_to_lean = [r for r in server.requests[before:] if r.path != "/oauth2/token"]
    assert sent_to_lean and credential_headers(sent_to_lean[0])  # the first hop did carry it
    assert response.history, "the redirect chain was followed"
    foreign = other.requests + [RecordedRequest(r.method or "", r.path_url, dict(r.headers), b"", None, None)
                                for r in recorder.sent]
    assert foreign, "the last hop reached the foreign origin"
    for request in foreign:
        assert not credential_headers(request), f"{hops}: credential sent to a foreign origin"
    if auth_kind == "client_credentials":
        assert oauth.issued and len(oauth.issued) == 1  # the foreign 401 did not cause a refetch


# ---------------------------------------------------------------------- item 4: userinfo


@pytest.mark.parametrize("userinfo", ["x@", "user:pw@", ":pw@", "@"])
def test_userinfo_urls_are_refused(server: MTLSServer, client_files: ClientFiles, userinfo: str) -> None:
    before = len(server.requests)
    host = server.url.removeprefix("https://")
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=client_files.ca,
                     base_url=server.url, allow_other_origins=True, retries=0) as session:
        with pytest.raises(ConfigurationError, match="userinfo") as info:
            session.get(f"https://{userinfo}{host}/banks/v1/")
        assert "pw" not in str(info.value)
        if userinfo != "@":  # requests' own preparation drops an empty userinfo
            with pytest.raises(ConfigurationError, match="userinfo"):
                session.send(requests.Request("GET", f"https://{userinfo}{host}/x").prepare())
    with pytest.raises(ConfigurationError, match="userinfo"):
        LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, base_url=f"https://{userinfo}{host}")
    assert len(server.requests) == before


def test_redirect_to_userinfo_url_is_refused(server: MTLSServer, client_files: ClientFiles) -> None:
    host = server.url.removeprefix("https://")
    server.set_handler(lambda r: Reply(302, b"", {"Location": f"https://x@{host}/landing"})
                       if r.path == "/start" else Reply(200, {}))
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=client_files.ca,
                     base_url=server.url, allow_other_origins=True, retries=0) as session, \
            pytest.raises(ConfigurationError, match="userinfo"):
        session.get("/start")
    assert [r.path for r in server.requests[-1:]] == ["/start"]


def test_auth_objects_refuse_userinfo_urls_on_plain_requests() -> None:
    auth = AppTokenAuth(APP_TOKEN, origins=["https://api.leantech.me"])
    with pytest.raises(ConfigurationError, match="userinfo"):
        auth(requests.Request("GET", "https://x@api.leantech.me/banks/v1").prepare())
    with pytest.raises(ConfigurationError, match="userinfo"):
        AppTokenAuth(APP_TOKEN, origins=["https://u:p@api.leantech.me"])


# ---------------------------------------------------------------------- item 6: one spelling of a host


@pytest.mark.parametrize("base_url", [
    "https://api.leantech.me.", "HTTPS://API.LEANTECH.ME:443", "https://Api.LeanTech.me.:443/",
    "https://api\u3002leantech\u3002me", "https://api.sa.leantech.me.",
])
def test_verify_false_is_refused_for_every_spelling_of_production(base_url: str) -> None:
    with pytest.raises(ConfigurationError, match="verify=False is refused"):
        LeanSession(APP_TOKEN, base_url=base_url, verify=False)


def test_verify_false_refused_for_a_production_auth_host_spelling() -> None:
    with pytest.raises(ConfigurationError, match="verify=False is refused"):
        LeanSession(client_id="app-id-123456", client_secret=CLIENT_SECRET, base_url="https://localhost:1",
                    auth_url="https://AUTH.leantech.me.", verify=False)


@pytest.mark.parametrize("spelling", ["https://LOCALHOST:{port}", "https://localhost.:{port}",
                                      "HTTPS://LocalHost.:{port}"])
def test_every_spelling_of_the_lean_host_gets_certificate_and_token(
    server: MTLSServer, client_files: ClientFiles, spelling: str,
) -> None:
    url = spelling.format(port=server.port)
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=client_files.ca,
                     base_url=f"https://localhost:{server.port}", retries=0) as session:
        assert session.get(url + "/banks/v1/").ok
    seen = server.requests[-1]
    assert seen.client_subject_cn == "app-1234" and seen.headers.get("lean-app-token") == APP_TOKEN


# ---------------------------------------------------------------------- item 8: Bearer tokens are Secrets


def test_bearer_header_and_401_retry_frame_hide_the_token(server: MTLSServer, client_files: ClientFiles,
                                                          oauth: OAuthHandler) -> None:
    with oauth_session(server, client_files) as session:
        response = session.get("/warm-up")
        assert response.ok
        header = response.request.headers["Authorization"]
        assert oauth.issued[0] in header and oauth.issued[0] not in repr(header)
        assert oauth.issued[0] not in repr(dict(response.request.headers))
        # Lean revokes the token; the replay then dies on the wire: look at every frame's locals.
        oauth.api_reply = lambda r: Reply(401, {"status": "UNAUTHORIZED"}) if len(oauth.issued) == 1 else \
            Reply(200, b"", fault="reset")
        with pytest.raises(LeanError) as info:
            session.get("/again")
    frames = [frame for frame, _ in traceback.walk_tb(info.value.__traceback__)]
    texts = [repr(value) for frame in frames for value in frame.f_locals.values()]
    assert any(frame.f_code.co_name == "_retry_on_401" for frame in frames)
    blob = "\n".join(texts)
    for token in oauth.issued:
        assert token not in blob


# ---------------------------------------------------------------------- item 10: token answers validated


BAD_TOKEN_ANSWERS: dict[str, tuple[bytes, str]] = {
    "CR/LF": (b'{"access_token": "tok-abcdef\\r\\nX-Injected: 1", "expires_in": 3600}', "access_token"),
    "NUL": (b'{"access_token": "tok-abcdef\\u0000zz", "expires_in": 3600}', "access_token"),
    "non-ASCII": (b'{"access_token": "tok-abcdef\\u201cq\\u201d", "expires_in": 3600}', "access_token"),
    "space": (b'{"access_token": "tok-abcdef more", "expires_in": 3600}', "access_token"),
    "number": (b'{"access_token": 12345678901, "expires_in": 3600}', "access_token"),
    "list": (b'{"access_token": ["tok-abcdef"], "expires_in": 3600}', "access_token"),
    "empty": (b'{"access_token": "", "expires_in": 3600}', "access_token"),
    "missing": (b'{"token": "tok-abcdef", "expires_in": 3600}', "access_token"),
    "huge": (b'{"access_token": "' + b"a" * 20000 + b'", "expires_in": 3600}', "access_token"),
    "not an object": (b'["tok-abcdef"]', "body"),
    "mac token": (b'{"access_token": "tok-abcdef", "token_type": "mac", "expires_in": 3600}', "token_type"),
    "expires text": (b'{"access_token": "tok-abcdef", "expires_in": "an hour"}', "expires_in"),
    "expires zero": (b'{"access_token": "tok-abcdef", "expires_in": 0}', "expires_in"),
    "expires negative": (b'{"access_token": "tok-abcdef", "expires_in": -5}', "expires_in"),
    "expires NaN": (b'{"access_token": "tok-abcdef", "expires_in": NaN}', "expires_in"),
    "expires inf": (b'{"access_token": "tok-abcdef", "expires_in": 1e400}', "expires_in"),
    "expires bool": (b'{"access_token": "tok-abcdef", "expires_in": true}', "expires_in"),
    "expires ms": (b'{"access_token": "tok-abcdef", "expires_in": 3600000000}', "expires_in"),
}


@pytest.mark.parametrize("case", list(BAD_TOKEN_ANSWERS))
def test_token_answers_are_validated_before_caching(server: MTLSServer, client_files: ClientFiles,
                                                    oauth: OAuthHandler, case: str) -> None:
    body, field = BAD_TOKEN_ANSWERS[case]
    oauth.token_reply = lambda form: Reply(200, body, {"Content-Type": "application/json"})
    with oauth_session(server, client_files) as session:
        for attempt in (1, 2):
            with pytest.raises(InvalidResponseError) as info:
                session.get("/banks/v1/")
            text = "\n".join([str(info.value), repr(info.value), str(info.value.args), info.value.body or ""])
            assert f"{field} " in str(info.value) and "not cached" in str(info.value)
            assert "tok-abcdef" not in text and "1234567890" not in text
            assert session.auth.fetch_count == attempt  # type: ignore[union-attr]  # nothing was cached


@pytest.mark.parametrize("expires_in", ['"3600"', "3600.5", '" 120 "', "1"])
def test_sane_expires_in_spellings_are_accepted(server: MTLSServer, client_files: ClientFiles,
                                                oauth: OAuthHandler, expires_in: str) -> None:
    token = LONG_TOKEN.format(n=7)
    oauth.issued.append(token)
    oauth.token_reply = lambda form: Reply(200, f'{{"access_token": "{token}", "token_type": "bearer", '
                                                f'"expires_in": {expires_in}}}'.encode())
    with oauth_session(server, client_files) as session:
        assert session.get("/banks/v1/").ok


# ---------------------------------------------------------------------- item 11: one fetch for many waiters


class BlackHole:
    """A TCP listener on loopback that accepts connections and never answers."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.accepted: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.listener.getsockname()[1]}"

    def _run(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.listener], [], [], 0.05)
            if ready:
                self.accepted.append(self.listener.accept()[0])

    def drop_all(self) -> None:
        for sock in self.accepted:
            sock.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self.drop_all()
        self.listener.close()


@pytest.fixture()
def black_hole() -> Iterator[BlackHole]:
    hole = BlackHole()
    yield hole
    hole.close()


def wait_for(condition: Callable[[], bool], what: str) -> None:
    for _ in range(400):  # a bound on polling, not a timing assertion
        if condition():
            return
        time.sleep(0.025)
    raise AssertionError(f"never happened: {what}")


def run_threads(count: int, target: Callable[[], object]) -> tuple[list[BaseException], list[threading.Thread]]:
    errors: list[BaseException] = []
    barrier = threading.Barrier(count)

    def call() -> None:
        barrier.wait()
        try:
            target()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(count)]
    for thread in threads:
        thread.start()
    return errors, threads


def test_six_threads_share_one_token_fetch_and_its_outcome(server: MTLSServer, client_files: ClientFiles,
                                                           black_hole: BlackHole) -> None:
    before = len(server.requests)
    with oauth_session(server, client_files, auth_url=black_hole.url, timeout=(30, 30), pool_size=8) as session:
        auth = session.auth
        assert isinstance(auth, ClientCredentialsAuth)
        errors, threads = run_threads(6, lambda: session.get("/banks/v1/"))
        wait_for(lambda: auth._flight is not None and auth._flight.followers == 5, "5 threads waiting")
        black_hole.drop_all()  # the stalled token host finally gives up on the connection
        for thread in threads:
            thread.join(30)
    assert len(errors) == 6 and all(error is errors[0] for error in errors)  # one outcome, shared
    assert isinstance(errors[0], LeanError)
    assert auth.fetch_count == 1  # one token request, not six
    # ... on at most two connections: the transport may reconnect once when a connection
    # drops before anything was sent (safe even for a POST); six callers would make 6-12.
    assert len(black_hole.accepted) <= 2
    assert server.requests[before:] == []  # no API call went out without a token


def test_waiters_give_up_at_their_own_deadline(server: MTLSServer, client_files: ClientFiles,
                                               black_hole: BlackHole) -> None:
    with oauth_session(server, client_files, auth_url=black_hole.url, timeout=(30, 30)) as session:
        auth = session.auth
        assert isinstance(auth, ClientCredentialsAuth)
        auth.token_wait = 0.2  # each waiter's own deadline; the token request itself may take 30 s
        leader_error: list[BaseException] = []
        leader = threading.Thread(target=lambda: leader_error.extend(_catch(auth.token)))
        leader.start()
        wait_for(lambda: len(black_hole.accepted) == 1, "the token request to be sent")
        follower_errors, threads = run_threads(3, auth.token)
        for thread in threads:
            thread.join(10)
        assert len(follower_errors) == 3
        assert all(isinstance(e, LeanTimeout) and e.code == "token-timeout" for e in follower_errors)
        assert leader.is_alive()  # the stalled request goes on; the waiters did not wait for it
        black_hole.drop_all()
        leader.join(30)
    assert len(leader_error) == 1 and not isinstance(leader_error[0], LeanTimeout)
    assert auth.fetch_count == 1


def _catch(call: Callable[[], object]) -> list[BaseException]:
    try:
        call()
    except BaseException as exc:
        return [exc]
    return []


# ---------------------------------------------------------------------- item 12: fork while a fetch is running


def in_forked_child(child: Callable[[], bool], release: Callable[[], None]) -> str:
    """Fork while other threads hold locks; in the parent ``release`` them at once (the
    parent's own threads, e.g. the test server's, may need them); run ``child`` in the
    child.  Its verdict, or "deadlocked" if it never answers."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid != 0:
        release()
    if pid == 0:
        try:
            os.close(read_end)
            os.write(write_end, b"ok" if child() else b"bad")
        except BaseException as exc:
            os.write(write_end, f"error {type(exc).__name__}: {exc}"[:200].encode())
        finally:
            os._exit(0)
    os.close(write_end)
    try:
        ready, _, _ = select.select([read_end], [], [], 30)  # a bound, so a deadlock fails instead of hanging
        verdict = os.read(read_end, 300).decode() if ready else "deadlocked"
    finally:
        if not ready:
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(read_end)
    return verdict


def holding(*locks: Any) -> Callable[[], None]:
    """Hold ``locks`` in another thread until the returned function is called."""
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        for lock in locks:
            lock.acquire()
        held.set()
        release.wait(30)
        for lock in reversed(locks):
            lock.release()

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait(10)

    def done() -> None:  # idempotent
        release.set()
        if thread.is_alive():
            thread.join(10)
    return done


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_fork_while_a_token_fetch_holds_the_lock(server: MTLSServer, oauth: OAuthHandler,
                                                 plain: requests.Session) -> None:
    from lean_mtls import _secrets

    auth = ClientCredentialsAuth(APP_TOKEN, CLIENT_SECRET, token_url=server.url + "/oauth2/token",
                                 origins=[server.url], token_session=plain, token_wait=60)
    oauth.stall.clear()  # the parent's token request hangs at the server
    parent_fetch = threading.Thread(target=lambda: _catch(auth.token))
    parent_fetch.start()
    wait_for(lambda: auth._flight is not None, "the parent's token request in flight")
    release = holding(auth._lock, _secrets._lock)

    def child() -> bool:  # its own token, and scrubbing, without the parent's threads
        token = auth.token()
        return token.startswith("eyJ") and scrub(f"x {token} y") == "x <redacted> y"

    try:
        verdict = in_forked_child(child, release)
    finally:
        release()
        oauth.stall.set()
        parent_fetch.join(15)
    assert verdict == "ok"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_fork_with_every_session_lock_held(server: MTLSServer, client_files: ClientFiles,
                                           oauth: OAuthHandler) -> None:
    from lean_mtls import _secrets

    with oauth_session(server, client_files) as session:
        assert session.get("/warm-up").ok  # a TLS session cached, a token cached
        auth = session.auth
        assert isinstance(auth, ClientCredentialsAuth)
        tls_cache_lock = session._lean_adapter.ssl_context._cache()[0]  # type: ignore[attr-defined]
        tokens = session.customers._tokens
        budget = ConcurrencyBudget(2)  # shared by page walks; the parent has both slots taken
        assert budget.acquire(threading.Event()) is not None and budget.acquire(threading.Event()) is not None
        auth.invalidate()  # the child must fetch a token, under the auth lock
        release = holding(auth._lock, _secrets._lock, tls_cache_lock, tokens._lock, session._reload_lock,
                          budget._cond)

        def child() -> bool:
            response = session.get("/banks/v1/")
            slot = budget.acquire(threading.Event())
            return (response.ok and slot is not None
                    and scrub(str(response.request.headers["Authorization"])) == "Bearer <redacted>")

        try:
            verdict = in_forked_child(child, release)
        finally:
            release()
    assert verdict == "ok"


# ---------------------------------------------------------------------- item 13: credentials checked at construction


BAD_CREDENTIALS = {
    "smart quotes": "\u201ctok-abcdef-123\u201d",
    "non-breaking space": "tok-abcdef\u00a0123",
    "latin-1 letter": "tok-abcd\u00e9f-123",
    "emoji": "tok-abcdef-\U0001f511",
    "CR/LF": "tok-abcdef\r\nX-Evil: 1",
    "NUL": "tok-abcdef\x00123",
    "tab": "tok-abc\tdef",
    "inner space": "tok-abc def",
    "straight quotes": '"tok-abcdef-123"',
    "single quotes": "'tok-abcdef-123'",
}


@incomplete_chain_is_not_the_point
@pytest.mark.parametrize("case", list(BAD_CREDENTIALS))
def test_credentials_that_cannot_travel_are_refused_at_construction(client_files: ClientFiles, case: str) -> None:
    value = BAD_CREDENTIALS[case]
    attempts: list[Callable[[], object]] = [
        lambda: LeanSession(value, cert=client_files.cert, key=client_files.key),
        lambda: AppTokenAuth(value, origins=["https://api.leantech.me"]),
        lambda: ClientCredentialsAuth(value, CLIENT_SECRET, token_url="https://auth.leantech.me/oauth2/token",
                                      origins=["https://api2.leantech.me"]),
        lambda: LeanSession(client_id=value, client_secret=CLIENT_SECRET),
    ]
    if case not in {"inner space"}:  # a space is a legal form value for a client secret
        attempts.append(lambda: LeanSession(APP_TOKEN, client_secret=value))
    for attempt in attempts:
        with pytest.raises(ConfigurationError) as info:
            attempt()
        text = "\n".join([str(info.value), repr(info.value), str(info.value.args)])
        assert "tok-abc" not in text and ("position" in text or "quote" in text)
        assert "abcdef" not in text and "123" not in text
        pickled = pickle.dumps(info.value)
        assert b"abcdef" not in pickled


def test_awkward_but_valid_client_secret_is_sent_intact(server: MTLSServer, client_files: ClientFiles,
                                                        oauth: OAuthHandler) -> None:
    seen: list[dict[str, str]] = []

    def token(form: dict[str, str]) -> Reply:
        seen.append(form)
        oauth.issued.append(LONG_TOKEN.format(n=1))
        return Reply(200, {"access_token": LONG_TOKEN.format(n=1), "expires_in": 60})

    oauth.token_reply = token
    secret = "a+b/c=d&e f%20g"
    with oauth_session(server, client_files, client_secret=secret) as session:
        assert session.get("/banks/v1/").ok
    assert seen[0]["client_secret"] == secret


# ---------------------------------------------------------------------- item 5: echoed spellings are redacted


def test_gateway_echo_of_the_form_in_any_spelling_is_redacted(server: MTLSServer, client_files: ClientFiles,
                                                              oauth: OAuthHandler) -> None:
    import base64
    from urllib.parse import quote

    def echo_form(form: dict[str, str]) -> Reply:
        raw = server.requests[-1].body.decode()  # the form exactly as sent (form-encoded)
        b64 = base64.b64encode(form["client_secret"].encode()).decode()
        basic = base64.b64encode(f"{form['client_id']}:{form['client_secret']}".encode()).decode()
        text = f"bad request {raw} | {quote(raw)} | {b64} | Basic {basic} | {json.dumps(form)}"
        return Reply(400, {"error": "invalid_request", "error_description": text})

    oauth.token_reply = echo_form
    with oauth_session(server, client_files) as session, pytest.raises(LeanAPIError) as info:
        session.get("/banks/v1/")
    error = info.value
    outputs = "\n".join([str(error), repr(error), str(error.args), json.dumps(error.body)])
    assert "bad request" in outputs
    for secret in (CLIENT_SECRET, APP_TOKEN):
        for spelling in spellings(secret):
            assert spelling not in outputs, spelling


# ---------------------------------------------------------------------- item 9: only live secrets are searched


def test_refreshed_tokens_leave_the_scrubber(server: MTLSServer, client_files: ClientFiles,
                                             oauth: OAuthHandler) -> None:
    import gc

    from lean_mtls import _secrets

    now = [1000.0]
    with oauth_session(server, client_files) as session:
        auth = session.auth
        assert isinstance(auth, ClientCredentialsAuth)
        auth._clock = lambda: now[0]
        assert session.get("/banks/v1/").ok
        gc.collect()
        live = _secrets.live_count()
        for _ in range(40):  # forty hourly refreshes
            now[0] += 3600
            assert session.get("/banks/v1/").ok
        gc.collect()
        assert auth.fetch_count == 41
        assert _secrets.live_count() == live  # the replaced tokens are no longer searched
        current = auth.token()
        assert scrub(f"a {current} b") == "a <redacted> b"
        assert oauth.issued[0] in scrub(f"a {oauth.issued[0]} b")  # a token long replaced is not searched


# ---------------------------------------------------------------------- sibling: malformed credential headers


@incomplete_chain_is_not_the_point
@pytest.mark.parametrize(("name", "value"), [
    ("Authorization", "Bearer my-own-secret-123\n"),
    ("Proxy-Authorization", "Basic bXktb3duLXNlY3JldC0xMjM=\r\nX: y"),
    ("X-Api-Key", " my-own-secret-123"),
    ("Cookie", "session=my-own-secret-123\r\n"),
])
def test_a_malformed_credential_header_is_not_echoed(client_files: ClientFiles, name: str, value: str) -> None:
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, base_url="https://127.0.0.1:9",
                     allow_other_origins=True, retries=0) as session, pytest.raises(LeanError) as info:
        session.get("https://other.example/x", headers={name: value})
    text = "".join(traceback.format_exception(info.value)) + repr(info.value.args)
    assert "header" in str(info.value)
    assert "my-own-secret-123" not in text and "bXktb3duLXNlY3JldC0xMjM" not in text


@incomplete_chain_is_not_the_point
def test_a_malformed_ordinary_header_is_still_named(client_files: ClientFiles) -> None:
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, base_url="https://127.0.0.1:9",
                     retries=0) as session, pytest.raises(LeanError, match="plain"):
        session.get("/x", headers={"X-Trace": "plain\nvalue"})


@pytest.mark.parametrize("userinfo", ["x@", "user:pw@"])
def test_auth_url_with_userinfo_is_refused(userinfo: str) -> None:
    with pytest.raises(ConfigurationError, match="userinfo") as info:
        LeanSession(client_id="app-id-123456", client_secret=CLIENT_SECRET, base_url="https://localhost:1",
                    auth_url=f"https://{userinfo}localhost:2")
    assert "pw" not in str(info.value)


def test_mount_certificate_prefix_in_any_spelling(server: MTLSServer, client_files: ClientFiles) -> None:
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=client_files.ca,
                     base_url=server.url, retries=0) as session:
        session.mount_certificate("HTTPS://Other.Example.:443", cert=client_files.cert, key=client_files.key,
                                  ca=client_files.ca)
        mounted = session.get_adapter("https://other.example/x")
        assert session.get_adapter("https://OTHER.example.:443/y") is mounted
        assert session.get_adapter("https://other.example.evil.test/") is not mounted
