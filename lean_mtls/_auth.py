"""Authentication as ``requests.auth.AuthBase`` objects.

Credentials are attached by auth objects rather than stored in
``session.headers`` so that they are added only to requests whose origin is
Lean's: a header in ``session.headers`` would go to every host the session
ever talks to.  Both objects also work on plain ``requests`` calls.

Lean rejects a request that carries both ``lean-app-token`` and
``Authorization``, so each auth object refuses to send a request that already
holds the other scheme's header.
"""

from __future__ import annotations

import logging
import math
import re
import threading
import time
import unicodedata
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urljoin

import requests
from requests.auth import AuthBase

from ._environments import Origin, has_userinfo
from ._fork import reset_in_child
from ._secrets import MIN_CREDENTIAL_LENGTH, Secret, form_body, scrub, values_in_request
from ._settings import from_env_hint
from .errors import ConfigurationError, InvalidResponseError, LeanAPIError, LeanTimeout

logger = logging.getLogger("lean_mtls")

APP_TOKEN_HEADER = "lean-app-token"
AUTHORIZATION_HEADER = "Authorization"

#: Refresh an OAuth token this many seconds before Lean says it expires.
TOKEN_REFRESH_MARGIN = 60.0
#: Lean's documented token lifetime, used when a token answer omits ``expires_in``.
DEFAULT_TOKEN_LIFETIME = 3599.0
#: The longest ``expires_in`` taken as sane (one year): more is a unit mistake or garbage.
MAX_TOKEN_LIFETIME = 366 * 86400.0
#: The longest access token accepted: servers refuse header blocks beyond 8-16 KiB anyway.
MAX_TOKEN_LENGTH = 16384
#: (connect, read) seconds for token requests made on plain ``requests``.
TOKEN_TIMEOUT = (10.0, 30.0)

_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _first_bad_character(value: str, *, space_ok: bool) -> str | None:
    """Describe the first character that cannot travel in an HTTP header (or form
    value), by code point and position only: never the value itself."""
    for position, char in enumerate(value, 1):
        if "!" <= char <= "~" or (space_ok and char == " "):
            continue
        code = f"U+{ord(char):04X}"
        if char == " ":
            kind = "a space"
        elif unicodedata.category(char).startswith("C"):
            kind = f"a control character ({code})"
        else:
            kind = f"a non-ASCII character ({code} {unicodedata.name(char, 'unnamed')})"
        return f"{kind} at position {position} of {len(value)}"
    return None


def check_header_secret(value: object, name: str, hint: str, *, header: bool = True) -> Secret:
    """Validate a credential that will travel in an HTTP header (or, with
    ``header=False``, in a form body), and wrap it as a :class:`Secret`.

    Raises :class:`ConfigurationError` naming the problem (which character,
    where), never the value: a pasted smart quote, a non-breaking space, CR/LF,
    quotes copied along with the value.
    """
    if isinstance(value, str) and not isinstance(value, Secret):
        value = Secret(value, register=False)  # frame locals of the errors below show '<redacted>'
    if not isinstance(value, str) or not value.strip():
        raise ConfigurationError(f"{name} is missing: {hint}.", code="missing-conf")
    value = Secret(value.strip(), register=False)
    if len(value) > 1 and value[0] == value[-1] and value[0] in "\"'`":
        raise ConfigurationError(
            f"{name} is wrapped in quote characters: remove the quotes around the value ({hint})."
        )
    problem = _first_bad_character(value, space_ok=not header)
    if problem is not None:
        raise ConfigurationError(
            f"{name} contains {problem}: credentials are printable ASCII. Copy it again from the "
            f"portal as plain text ({hint})."
        )
    if len(value) < MIN_CREDENTIAL_LENGTH:
        raise ConfigurationError(
            f"{name} is {len(value)} characters long, shorter than any real credential "
            f"(at least {MIN_CREDENTIAL_LENGTH}): is it a placeholder or a truncated paste? ({hint})."
        )
    return Secret(value)


class _OriginBoundAuth(AuthBase):
    """An auth that only ever touches requests for a fixed set of origins.

    It also keeps that promise across redirects on a plain ``requests.Session``:
    a response hook removes the credential from the request that requests copies
    for the next hop whenever the redirect leaves those origins (another host,
    scheme or port, or a URL with userinfo).
    """

    #: The header this auth adds (set by subclasses).
    header_name = ""

    def __init__(self, origins: Iterable[str]) -> None:
        given = list(origins)
        if any(has_userinfo(o) for o in given):
            raise ConfigurationError("An auth origin must not carry userinfo (user:password@); pass the bare origin.")
        self.origins = frozenset(Origin.of(o) for o in given)
        if not self.origins:
            raise ConfigurationError("An auth object needs at least one origin to send credentials to.")
        # Prepared URLs almost always spell the origin exactly like this: a
        # prefix test settles them without parsing the URL.
        self._prefixes = tuple(origin.text() + "/" for origin in self.origins)

    def applies_to(self, url: str) -> bool:
        """True when credentials may be sent to ``url``'s origin (never to a URL with userinfo)."""
        if url.startswith(self._prefixes):
            return True
        return not has_userinfo(url) and Origin.of(url) in self.origins

    def _check_userinfo(self, request: requests.PreparedRequest) -> None:
        url = request.url or ""
        if has_userinfo(url) and Origin.of(url) in self.origins:
            raise ConfigurationError(
                f"Refusing to send credentials to a URL with userinfo (user@host) for {Origin.of(url).text()}: "
                "such URLs bypass the origin checks. Remove the user@ part."
            )

    def _origins_text(self) -> str:
        return ", ".join(sorted(f"{o.scheme}://{o.host}:{o.port}" for o in self.origins))

    @staticmethod
    def _refuse_mixed(request: requests.PreparedRequest, other: str) -> None:
        if other in request.headers:
            raise ConfigurationError(
                f"This request already carries a {other!r} header. Lean rejects requests that send "
                "both lean-app-token and Authorization: remove the header, or pick one auth mode."
            )

    def _strip_on_redirect(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        """Response hook: requests builds the next hop from a copy of this request, so the
        credential must leave this request before that copy when the target is foreign."""
        request = response.request
        if request is None or not response.is_redirect:
            return response
        target = redirect_target(response)
        if target is None or not self.applies_to(target):
            request.headers.pop(self.header_name, None)
        return response


def redirect_target(response: requests.Response) -> str | None:
    """The absolute URL a redirect response points to (``None`` without ``Location``)."""
    location = response.headers.get("Location")
    if not location:
        return None
    if isinstance(location, bytes):
        location = location.decode("latin-1")
    return urljoin(response.url or (response.request.url if response.request else "") or "", location.strip())


class AppTokenAuth(_OriginBoundAuth):
    """Adds ``lean-app-token`` to requests bound for the given origins only.

    Works on plain requests too, redirects included::

        requests.get(url, auth=AppTokenAuth(token, origins=["https://api.leantech.me"]), ...)

    Raises :class:`~lean_mtls.errors.ConfigurationError` at construction for a
    token that cannot travel in a header (non-ASCII, control characters, quotes).
    """

    header_name = APP_TOKEN_HEADER

    def __init__(self, app_token: str, origins: Iterable[str]) -> None:
        app_token = Secret(app_token, register=False) if isinstance(app_token, str) else app_token
        super().__init__(origins)
        self._app_token = check_header_secret(
            app_token, "app_token", f"pass the app token from Lean's developer portal ({from_env_hint('app_token')})"
        )

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if self.applies_to(request.url or ""):
            self._refuse_mixed(request, AUTHORIZATION_HEADER)
            request.headers[APP_TOKEN_HEADER] = self._app_token
            request.register_hook("response", self._strip_on_redirect)  # type: ignore[no-untyped-call]
        else:
            self._check_userinfo(request)
            request.headers.pop(APP_TOKEN_HEADER, None)
        return request

    def __repr__(self) -> str:
        return f"AppTokenAuth(app_token=<redacted>, origins=[{self._origins_text()}])"


class _Flight:
    """One token request in progress, and its outcome, shared by every thread that asked."""

    __slots__ = ("done", "error", "followers")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.error: BaseException | None = None
        #: Threads waiting for this request besides the one that sends it.
        self.followers = 0


class _CachedToken:
    __slots__ = ("expires_at", "header", "token")

    def __init__(self, token: Secret, expires_at: float) -> None:
        self.token = token
        self.header = Secret("Bearer " + token, register=False)  # the token itself is registered
        self.expires_at = expires_at


class ClientCredentialsAuth(_OriginBoundAuth):
    """OAuth2 client credentials: fetches a Bearer token and adds it to
    requests for the given API origins.

    * The token is cached until ``TOKEN_REFRESH_MARGIN`` (60 s) before its
      ``expires_in``.  Many threads asking at once share one token request and
      its outcome (token or error); each waits at most ``token_wait`` seconds
      (default: the token request's connect + read timeout), so a stalled
      token host costs every caller one timeout, not one each in turn.
    * The token answer is validated before it is cached: ``access_token`` a
      printable-ASCII string, ``token_type`` Bearer when given, ``expires_in``
      a positive number of seconds up to one year (``"3600"`` is accepted).
      Otherwise :class:`~lean_mtls.errors.InvalidResponseError` names the field.
    * The token request never follows a redirect (it carries the client
      secret): a 3xx raises :class:`~lean_mtls.errors.LeanAPIError` naming the
      token host.
    * A 401 answer makes it fetch a new token and replay the request once.
    * ``client_id`` is Lean's Application ID, which is the same value as the
      app token, so both it and the secret are treated as secrets.
    * Safe across ``fork()``: a child process gets a fresh lock and no
      inherited token request in flight.

    ``token_session`` sends the token request (a ``LeanSession`` passes itself,
    so the request goes through the same TLS policy); by default a private
    ``requests.Session`` with ``trust_env`` off is used.
    """

    header_name = AUTHORIZATION_HEADER

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        *,
        token_url: str,
        origins: Iterable[str],
        scope: str = "api",
        token_session: requests.Session | None = None,
        token_wait: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        client_id = Secret(client_id, register=False) if isinstance(client_id, str) else client_id
        client_secret = Secret(client_secret, register=False) if isinstance(client_secret, str) else client_secret
        super().__init__(origins)
        self._client_id = check_header_secret(
            client_id, "client_id", f"pass the Application ID ({from_env_hint('client_id')})"
        )
        self._client_secret = check_header_secret(
            client_secret,
            "client_secret",
            f"pass the OAuth client secret from the developer portal ({from_env_hint('client_secret')})",
            header=False
        )
        if has_userinfo(token_url):
            raise ConfigurationError("token_url must not carry userinfo (user:password@).")
        self.token_url = token_url
        self.scope = scope
        if token_wait is not None and not (isinstance(token_wait, (int, float)) and token_wait > 0):
            raise ConfigurationError("token_wait must be a positive number of seconds.")
        self.token_wait = token_wait
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: _CachedToken | None = None
        self._flight: _Flight | None = None
        self._token_session = token_session
        self._owns_session = token_session is None
        #: Number of token requests started (for diagnostics and tests).
        self.fetch_count = 0
        reset_in_child(self)

    # ------------------------------------------------------------------ token cache

    def token(self) -> Secret:
        """A valid access token, fetched when needed (one request at a time)."""
        return self._current().token

    def _current(self) -> _CachedToken:
        cached = self._cached
        if cached is not None and self._clock() < cached.expires_at:
            return cached
        with self._lock:
            cached = self._cached
            if cached is not None and self._clock() < cached.expires_at:
                return cached
            flight = self._flight
            leading = flight is None
            if flight is None:
                flight = self._flight = _Flight()
            else:
                flight.followers += 1
        return self._lead(flight) if leading else self._follow(flight)

    def _lead(self, flight: _Flight) -> _CachedToken:
        try:
            token, expires_at = self._fetch()
            fresh = _CachedToken(token, expires_at)
            self._cached = fresh  # the old token is dropped, and with it from the scrubber
            return fresh
        except BaseException as error:
            flight.error = error
            raise
        finally:
            with self._lock:
                if self._flight is flight:
                    self._flight = None
            flight.done.set()

    def _follow(self, flight: _Flight) -> _CachedToken:
        wait = self._wait_seconds()
        if not flight.done.wait(wait):
            raise LeanTimeout(
                f"Gave up after waiting {wait:g} s for the OAuth token from {Origin.of(self.token_url).text()}: "
                "the token request another thread started is still running (token host slow or unreachable).",
                phase="connect",
                code="token-timeout",
            )
        if flight.error is not None:
            raise flight.error  # the same outcome for every thread that shared the request
        cached = self._cached
        if cached is None:  # pragma: no cover - invalidated between the fetch and now
            return self._current()
        return cached

    def _wait_seconds(self) -> float:
        if self.token_wait is not None:
            return float(self.token_wait)
        timeout = getattr(self._token_session, "timeout", None) or TOKEN_TIMEOUT
        if isinstance(timeout, (int, float)):
            return float(timeout) * 2
        return float(sum(t for t in timeout if t))

    def for_scope(self, scope: str) -> ClientCredentialsAuth:
        """A new auth with the same credentials, token endpoint and origins for
        another ``scope`` (e.g. LinkSDK's ``customer.<customer_id>``), with its
        own token cache."""
        return ClientCredentialsAuth(
            self._client_id, self._client_secret, token_url=self.token_url,
            origins=[origin.text() for origin in self.origins], scope=scope,
            token_session=self._token_session, clock=self._clock,
        )

    def reset_after_fork(self) -> None:
        """In a forked child: a fresh lock (a parent thread may have held it), no
        token request in flight (its thread does not exist here), and no pooled
        connection shared with the parent."""
        self._lock = threading.Lock()
        self._flight = None
        if self._owns_session:
            self._token_session = None

    def invalidate(self, token: str | None = None) -> None:
        """Forget the cached token (only if it is still ``token``, when given)."""
        with self._lock:
            cached = self._cached
            if cached is not None and (token is None or token in (cached.token, cached.header)):
                self._cached = None

    def _fetch(self) -> tuple[Secret, float]:
        session = self._token_session or self._default_session()
        # Pre-encoded and redacted: every frame from here to the socket holds b'<redacted>'.
        form = form_body({
            "client_id": self._client_id,
            "client_secret": self._client_secret,
            "grant_type": "client_credentials",
            "scope": self.scope,
        })
        started = self._clock()
        self.fetch_count += 1
        response = session.post(
            self.token_url,
            data=form,
            headers={"Accept": "application/json", "Content-Type": "application/x-www-form-urlencoded"},
            auth=_no_auth,
            timeout=getattr(session, "timeout", TOKEN_TIMEOUT),
            allow_redirects=False,  # the body holds client_secret: it goes to token_url or nowhere
        )
        if 300 <= response.status_code < 400:
            raise self._redirect_error(response)
        token, lifetime = _parse_token_response(response, self.token_url)
        margin = min(TOKEN_REFRESH_MARGIN, lifetime / 2)
        logger.debug("Fetched an OAuth token for scope %r, valid %.0f s", self.scope, lifetime)
        return token, started + lifetime - margin

    def _redirect_error(self, response: requests.Response) -> LeanAPIError:
        target = redirect_target(response)
        where = f" to {Origin.of(target).text()}" if target else ""
        response.close()
        message = scrub(
            f"The token endpoint {Origin.of(self.token_url).text()} answered HTTP {response.status_code} with a "
            f"redirect{where}. Token requests never follow redirects, because they carry the client secret: "
            "if the token endpoint really moved, pass its final URL as auth_url=.",
            also=values_in_request(response.request.headers, response.request.body),
        )
        return LeanAPIError(message, status_code=response.status_code, headers=response.headers,
                            response=response, code="token-redirect")

    def _default_session(self) -> requests.Session:
        """The session this auth owns for token requests on plain ``requests``.

        Its TLS is built like :class:`~lean_mtls.LeanSession`'s, by the one
        context builder (:func:`lean_mtls._tls.build_ssl_context`): certifi's
        bundle fixed, ``SSLKEYLOGFILE`` ignored (the request carries the client
        secret), no environment proxy or CA (``trust_env`` off), and the SDK's
        connections (no ``http.client`` debug printing)."""
        from ._adapter import LeanAdapter
        from ._credentials import default_ca_bundle
        from ._exceptions import TLSDescription
        from ._tls import build_ssl_context

        session = requests.Session()
        session.trust_env = False
        description = TLSDescription(ca_source=default_ca_bundle().source, client_subject=None, is_lean=False)
        session.mount("https://", LeanAdapter(build_ssl_context(None, None), description))
        self._token_session = session
        return session

    # ------------------------------------------------------------------ requests hooks

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        if not self.applies_to(request.url or ""):
            self._check_userinfo(request)
            request.headers.pop(AUTHORIZATION_HEADER, None)
            return request
        self._refuse_mixed(request, APP_TOKEN_HEADER)
        request.headers[AUTHORIZATION_HEADER] = self._current().header
        request.register_hook("response", self._strip_on_redirect)  # type: ignore[no-untyped-call]
        request.register_hook("response", self._retry_on_401)  # type: ignore[no-untyped-call]
        return request

    def _retry_on_401(self, response: requests.Response, **kwargs: Any) -> requests.Response:
        request = response.request
        if response.status_code != 401 or getattr(request, "_lean_token_retried", False):
            return response
        if not self.applies_to(request.url or "") or AUTHORIZATION_HEADER not in request.headers:
            return response  # not our credential that was refused
        if request.body is not None and not isinstance(request.body, (bytes, str)):
            return response  # a streamed body cannot be sent twice
        self.invalidate(request.headers[AUTHORIZATION_HEADER])
        response.content  # noqa: B018 - drain so the connection can be reused
        response.close()
        retry = request.copy()
        retry._lean_token_retried = True  # type: ignore[attr-defined]
        retry.headers[AUTHORIZATION_HEADER] = self._current().header
        logger.debug("Got 401 from %s; retrying once with a new OAuth token", request.url)
        connection = response.connection
        new_response: requests.Response = connection.send(retry, **kwargs)
        new_response.history.append(response)
        new_response.request = retry
        return new_response

    def __repr__(self) -> str:
        return (
            f"ClientCredentialsAuth(client_id=<redacted>, client_secret=<redacted>, "
            f"token_url={self.token_url!r}, scope={self.scope!r}, origins=[{self._origins_text()}])"
        )


def _no_auth(request: requests.PreparedRequest) -> requests.PreparedRequest:
    """Per-request auth that adds nothing (so the session's auth is not applied)."""
    return request


def _token_error(token_url: str, response: requests.Response, problem: str) -> InvalidResponseError:
    return InvalidResponseError(
        f"The token endpoint {Origin.of(token_url).text()} answered a token response whose {problem}; "
        "the token was not cached. Check auth_url= (is it Lean's token endpoint?) or ask Lean support.",
        status_code=response.status_code,
        response=response,
    )


def _parse_token_response(response: requests.Response, token_url: str) -> tuple[Secret, float]:
    """Validate a token answer before anything is cached: the error names the field, never its value."""
    from ._response import decode_json

    body = decode_json(response)
    if not isinstance(body, dict):
        raise _token_error(token_url, response, f"body is a JSON {type(body).__name__}, not an object")
    # Hide the secrets in the parsed body at once: crash reporters capture this frame's locals.
    for field in ("access_token", "refresh_token", "id_token"):
        if isinstance(body.get(field), str):
            body[field] = Secret(body[field], register=False)
    token = body.get("access_token")
    if not isinstance(token, str):
        what = "missing" if token is None else f"a JSON {type(token).__name__}, not a string"
        raise _token_error(token_url, response, f"access_token is {what}")
    if not token:
        raise _token_error(token_url, response, "access_token is empty")
    if len(token) < MIN_CREDENTIAL_LENGTH:
        raise _token_error(token_url, response,
                           f"access_token is {len(token)} characters (under {MIN_CREDENTIAL_LENGTH})")
    if len(token) > MAX_TOKEN_LENGTH:
        raise _token_error(token_url, response, f"access_token is {len(token)} characters (over {MAX_TOKEN_LENGTH})")
    problem = _first_bad_character(token, space_ok=False)
    if problem is not None:
        raise _token_error(token_url, response, f"access_token cannot be sent in a header: it contains {problem}")
    token_type = body.get("token_type")
    if token_type is not None and (not isinstance(token_type, str) or token_type.strip().lower() != "bearer"):
        raise _token_error(token_url, response, "token_type is not 'Bearer'")
    lifetime = _lifetime(body.get("expires_in"))
    if lifetime is None:
        raise _token_error(
            token_url, response,
            f"expires_in is not a number of seconds between 0 and {MAX_TOKEN_LIFETIME:.0f} (RFC 6749 5.1)",
        )
    return Secret(token), lifetime


def _lifetime(expires_in: object) -> float | None:
    """Seconds from ``expires_in``: a number or a numeric string (some servers send ``"3600"``);
    the default when absent; ``None`` when it is not sane."""
    if expires_in is None:
        return DEFAULT_TOKEN_LIFETIME
    if isinstance(expires_in, bool):
        return None
    if isinstance(expires_in, str):
        if not _NUMBER.fullmatch(expires_in.strip()):
            return None
        expires_in = float(expires_in.strip())
    if not isinstance(expires_in, (int, float)):
        return None
    value = float(expires_in)
    if not math.isfinite(value) or value <= 0 or value > MAX_TOKEN_LIFETIME:
        return None
    return value

