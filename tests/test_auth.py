"""Auth modes (app token, OAuth2 client credentials) and the region/host table."""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Iterator
from urllib.parse import parse_qsl

import pytest
import requests
import trustme

from lean_mtls import (
    AuthenticationError,
    ConfigurationError,
    Environment,
    LeanSession,
    Region,
)
from lean_mtls._auth import AppTokenAuth, ClientCredentialsAuth
from lean_mtls._environments import HOSTS, AuthMode
from lean_mtls.testing import MTLSServer, RecordedRequest, Reply

from .conftest import APP_TOKEN, ClientFiles, incomplete_chain_is_not_the_point, server_context

CLIENT_SECRET = "cs_live_9d8e7f6a5b4c-SECRET-client-secret"


# ---------------------------------------------------------------------- host table


@incomplete_chain_is_not_the_point
@pytest.mark.parametrize(
    ("region", "environment", "auth", "api", "token"),
    [
        ("uae", "sandbox", "app_token", "https://mtls.sandbox.leantech.me", None),
        ("uae", "production", "app_token", "https://api.leantech.me", None),
        ("ksa", "sandbox", "app_token", "https://mtls.sandbox.sa.leantech.me", None),
        ("ksa", "production", "app_token", "https://api.sa.leantech.me", None),
        ("uae", "sandbox", "oauth", "https://sandbox.leantech.me", "https://auth.sandbox.leantech.me/oauth2/token"),
        ("uae", "production", "oauth", "https://api2.leantech.me", "https://auth.leantech.me/oauth2/token"),
        ("ksa", "sandbox", "oauth", "https://sandbox.sa.leantech.me",
         "https://auth.sandbox.sa.leantech.me/oauth2/token"),
        ("KSA", "Production", "oauth", "https://api2.sa.leantech.me", "https://auth.sa.leantech.me/oauth2/token"),
    ],
)
def test_region_environment_and_auth_pick_the_hosts(
    client_files: ClientFiles, region: str, environment: str, auth: str, api: str, token: str | None
) -> None:
    kwargs = {"client_secret": CLIENT_SECRET} if auth == "oauth" else {}
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, region=region,
                     environment=environment, auth=auth, **kwargs) as session:
        assert session.base_url == api
        assert session.token_url == token
        assert session.region is Region(region.lower())


def test_every_table_row_is_https_and_every_oauth_row_has_an_auth_host() -> None:
    assert len(HOSTS) == len(Region) * len(Environment) * len(AuthMode)
    for (_, _, mode), hosts in HOSTS.items():
        assert hosts.api.startswith("https://")
        assert (hosts.auth is not None) == (mode is AuthMode.OAUTH)


@pytest.mark.parametrize(("field", "value", "valid"), [
    ("region", "egypt", "'uae', 'ksa'"),
    ("auth", "basic", "'app_token', 'oauth'"),
])
def test_unknown_region_or_auth_mode(client_files: ClientFiles, field: str, value: str, valid: str) -> None:
    with pytest.raises(ConfigurationError, match=valid) as info:
        LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, **{field: value})
    # A base URL is the way to another server, not to another auth mode (BREAK-12 #10).
    assert ("base_url" in str(info.value)) == (field == "region")


def test_client_secret_implies_oauth_and_client_id_defaults_to_the_app_token(client_files: ClientFiles) -> None:
    with LeanSession(APP_TOKEN, client_secret=CLIENT_SECRET) as session:
        assert session.auth_mode is AuthMode.OAUTH
        assert session.certificate is None  # OAuth hosts do not require a client certificate
        assert "no client certificate" in repr(session)


def test_app_token_hosts_require_a_certificate() -> None:
    with pytest.raises(ConfigurationError, match="cert= is required") as info:
        LeanSession(APP_TOKEN, environment="production")
    assert info.value.code == "missing-conf"


def test_oauth_without_secret_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="client_secret is missing"):
        LeanSession(APP_TOKEN, auth="oauth")


# ---------------------------------------------------------------------- a fake Lean with OAuth


class FakeOAuthLean:
    """Token endpoint + API on one loopback mTLS server."""

    def __init__(self, expires_in: int = 3599, token_delay: float = 0.0) -> None:
        self.expires_in = expires_in
        self.token_delay = token_delay
        self.issued: list[str] = []
        self.token_forms: list[dict[str, str]] = []
        self.rejected_tokens: set[str] = set()
        self.lock = threading.Lock()

    def __call__(self, request: RecordedRequest) -> Reply:
        if request.path == "/oauth2/token":
            form = dict(parse_qsl(request.body.decode()))
            if form.get("client_secret") != CLIENT_SECRET:
                return Reply(401, {"error": "invalid_client", "error_description": "Client authentication failed"})
            time.sleep(self.token_delay)
            with self.lock:
                self.token_forms.append(form)
                token = f"jwt-token-{len(self.issued) + 1}"
                self.issued.append(token)
            return Reply(200, {"access_token": token, "token_type": "Bearer", "scope": form.get("scope"),
                               "expires_in": self.expires_in})
        if "lean-app-token" in request.headers and "authorization" in request.headers:
            return Reply(400, {"status": "INVALID_PARAMETERS", "message": "Do not supply a 'lean-app-token' "
                               "header when providing an 'Authorization' header"})
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        if bearer not in self.issued or bearer in self.rejected_tokens:
            return Reply(401, {"status": "UNAUTHORIZED", "message": "invalid token"})
        return Reply(200, {"token": bearer})


@pytest.fixture()
def fake(server: MTLSServer) -> FakeOAuthLean:
    handler = FakeOAuthLean()
    server.set_handler(handler)
    return handler


def oauth_session(server: MTLSServer, files: ClientFiles, **kwargs: object) -> LeanSession:
    options: dict[str, object] = {"cert": files.cert, "key": files.key, "ca": files.ca, "base_url": server.url,
                                  "auth_url": server.url, "client_secret": CLIENT_SECRET}
    options.update(kwargs)
    return LeanSession(APP_TOKEN, **options)  # type: ignore[arg-type]


def test_oauth_over_mtls_sends_bearer_only(server: MTLSServer, client_files: ClientFiles,
                                           fake: FakeOAuthLean) -> None:
    with oauth_session(server, client_files) as session:
        assert session.request_json("GET", "/banks/v1/") == {"token": "jwt-token-1"}
    token_request, api_request = server.requests[-2:]
    assert token_request.path == "/oauth2/token"
    assert fake.token_forms[0] == {"client_id": APP_TOKEN, "client_secret": CLIENT_SECRET,
                                   "grant_type": "client_credentials", "scope": "api"}
    assert token_request.client_subject_cn == "app-1234"  # the auth host sees the certificate too
    assert api_request.headers["authorization"] == "Bearer jwt-token-1"
    assert "lean-app-token" not in api_request.headers
    assert api_request.client_subject_cn == "app-1234"


def test_oauth_without_a_client_certificate(server_ca: trustme.CA, client_files: ClientFiles) -> None:
    handler = FakeOAuthLean()
    context = server_context(server_ca, None)  # plain TLS: no client certificate asked
    with MTLSServer(context, handler) as plain, LeanSession(
        client_id="app-id-123456", client_secret=CLIENT_SECRET, ca=client_files.ca, base_url=plain.url,
        auth_url=plain.url,
    ) as session:
        assert session.request_json("GET", "/banks/v1/") == {"token": "jwt-token-1"}
    assert handler.token_forms[0]["client_id"] == "app-id-123456"
    assert plain.requests[-1].client_cert is None


def test_app_token_mode_without_certificate_against_a_custom_host(server_ca: trustme.CA,
                                                                   client_files: ClientFiles) -> None:
    with MTLSServer(server_context(server_ca, None)) as plain, LeanSession(
        APP_TOKEN, ca=client_files.ca, base_url=plain.url
    ) as session:
        assert session.get("/banks/v1/").ok
    assert plain.requests[-1].headers["lean-app-token"] == APP_TOKEN


def test_token_is_cached_and_refreshed_60s_before_expiry(server: MTLSServer, client_files: ClientFiles,
                                                          fake: FakeOAuthLean) -> None:
    now = [1000.0]
    with oauth_session(server, client_files) as session:
        auth = session.auth
        assert isinstance(auth, ClientCredentialsAuth)
        auth._clock = lambda: now[0]
        session.get("/a")
        now[0] += 3599 - 61  # still inside the window
        session.get("/b")
        assert auth.fetch_count == 1
        now[0] += 2  # now within 60 s of expiry
        assert session.request_json("GET", "/c") == {"token": "jwt-token-2"}
        assert auth.fetch_count == 2


def test_one_fetch_for_16_threads_asking_at_once(server: MTLSServer, client_files: ClientFiles,
                                                 fake: FakeOAuthLean) -> None:
    fake.token_delay = 0.3  # a slow auth server makes the race real
    barrier = threading.Barrier(16)
    results: list[object] = []
    with oauth_session(server, client_files, pool_size=16) as session:

        def call() -> None:
            barrier.wait()
            try:
                results.append(session.request_json("GET", "/banks/v1/"))
            except Exception as exc:
                results.append(exc)

        threads = [threading.Thread(target=call) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
    assert results == [{"token": "jwt-token-1"}] * 16
    assert len(fake.issued) == 1


def test_401_refetches_once_and_replays(server: MTLSServer, client_files: ClientFiles,
                                        fake: FakeOAuthLean) -> None:
    with oauth_session(server, client_files) as session:
        session.get("/warm-up")
        fake.rejected_tokens.add("jwt-token-1")  # Lean revoked it early
        response = session.post("/customers/v1/", json={"app_user_id": "u"})
        assert response.status_code == 200 and response.json() == {"token": "jwt-token-2"}
        assert [r.status_code for r in response.history] == [401]
        assert server.requests[-1].json() == {"app_user_id": "u"}  # the body was replayed


def test_persistent_401_is_raised_after_exactly_one_retry(server: MTLSServer, client_files: ClientFiles,
                                                          fake: FakeOAuthLean) -> None:
    with oauth_session(server, client_files) as session:
        before = len(server.requests)
        original = fake.__call__

        def always_401(request: RecordedRequest) -> Reply:
            if request.path == "/oauth2/token":
                return original(request)
            return Reply(401, {"status": "UNAUTHORIZED", "message": "nope"})

        server.set_handler(always_401)
        with pytest.raises(AuthenticationError):
            session.request_json("GET", "/banks/v1/")
    paths = [r.path for r in server.requests[before:]]
    assert paths == ["/oauth2/token", "/banks/v1/", "/oauth2/token", "/banks/v1/"]


def test_token_endpoint_refusal_is_typed_and_secret_free(server: MTLSServer, client_files: ClientFiles,
                                                         fake: FakeOAuthLean,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with oauth_session(server, client_files, client_secret="wrong-secret-value-123") as session:
        with pytest.raises(AuthenticationError, match="Client authentication failed") as info:
            session.get("/banks/v1/")
        texts = [str(info.value), repr(info.value), repr(session), repr(session.auth)]
    texts += [r.getMessage() for r in caplog.records]
    blob = "\n".join(texts)
    for secret in ("wrong-secret-value-123", CLIENT_SECRET, APP_TOKEN):
        assert secret not in blob


def test_mixing_the_two_schemes_is_refused_before_sending(server: MTLSServer, client_files: ClientFiles,
                                                          fake: FakeOAuthLean) -> None:
    before = len(server.requests)
    with oauth_session(server, client_files) as session, pytest.raises(ConfigurationError, match="both"):
        session.get("/x", headers={"lean-app-token": APP_TOKEN})
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=client_files.ca,
                     base_url=server.url) as session, pytest.raises(ConfigurationError, match="both"):
        session.get("/x", headers={"Authorization": "Bearer abc"})
    assert len(server.requests) == before


# ---------------------------------------------------------------------- plain requests


@pytest.fixture()
def plain_requests_session(client_files: ClientFiles) -> Iterator[requests.Session]:
    session = requests.Session()
    session.trust_env = False
    session.verify = str(client_files.ca)
    session.cert = (str(client_files.cert), str(client_files.key))
    yield session
    session.close()


def test_auth_objects_work_on_plain_requests(server: MTLSServer, fake: FakeOAuthLean,
                                             plain_requests_session: requests.Session) -> None:
    app_auth = AppTokenAuth(APP_TOKEN, origins=[server.url])
    # The server is not reachable without the client intermediate in the cert file here; use the session's.
    response = plain_requests_session.get(server.url + "/x", auth=app_auth)
    assert server.requests[-1].headers.get("lean-app-token") == APP_TOKEN
    assert response.status_code == 401  # the fake wants a Bearer token for API paths

    oauth = ClientCredentialsAuth(APP_TOKEN, CLIENT_SECRET, token_url=server.url + "/oauth2/token",
                                  origins=[server.url], token_session=plain_requests_session)
    assert plain_requests_session.get(server.url + "/x", auth=oauth).json() == {"token": "jwt-token-1"}
    assert "SECRET" not in repr(oauth) and "SECRET" not in repr(app_auth)


def test_auth_objects_leave_other_origins_alone() -> None:
    auth = AppTokenAuth(APP_TOKEN, origins=["https://api.leantech.me"])
    prepared = requests.Request("GET", "https://example.com/", headers={"lean-app-token": "x"}).prepare()
    assert "lean-app-token" not in auth(prepared).headers
    prepared = requests.Request("GET", "https://api.leantech.me:443/banks/v1").prepare()
    assert auth(prepared).headers["lean-app-token"] == APP_TOKEN


def test_server_requiring_cert_rejects_oauth_session_without_one(server: MTLSServer, client_files: ClientFiles,
                                                                 fake: FakeOAuthLean) -> None:
    with LeanSession(client_id="app-id-123456", client_secret=CLIENT_SECRET, ca=client_files.ca, base_url=server.url,
                     auth_url=server.url) as session, pytest.raises(Exception) as info:
        session.get("/banks/v1/")
    assert isinstance(info.value, (ssl.SSLError, requests.RequestException))
    assert type(info.value).__module__.startswith("lean_mtls")
