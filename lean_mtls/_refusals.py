"""Why a LeanSession refused a URL, and what to do instead.

A session only sends to the origins it was built for.  The generic fix for
another API (``mount_certificate`` or ``allow_other_origins=True``) is the
wrong one when the URL is one of Lean's own hosts (it would go out without
this app's certificate and token) or plain ``http://`` (never allowed), so
those cases get their own advice, read from the one host table.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from ._environments import AuthMode, Origin, lean_hosts_of

__all__ = ["REDIRECT_ATTRIBUTE", "not_a_path", "refusal_message"]

#: Set by ``LeanSession.rebuild_auth`` on a redirected request: the URL that redirected.
REDIRECT_ATTRIBUTE = "_lean_redirected_from"


def _path_hint(url: str) -> str:
    parts = urlsplit(url)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return f"session.get({path!r})"


#: The start of a relative URL that names a host, not a path: ``//host/...`` (a network-path
#: reference, RFC 3986 section 4.2), ``host:port/...``, ``api.leantech.me/...``, ``127.0.0.1/...``,
#: or a scheme without its ``//`` (``https:/host/...``, ``https:host``).
_SCHEME_WITHOUT_SLASHES = re.compile(r"(?i)(https?):/?(?!/)")
_HOST_PORT = re.compile(r"[A-Za-z0-9.-]+:\d*(?:/|$)")
_HOST_NAME = re.compile(r"(?i)(?:(?:[a-z0-9-]+\.)+[a-z]{2,63}\.?|\d{1,3}(?:\.\d{1,3}){3}|localhost)/")


def not_a_path(url: str) -> str | None:
    """Why a relative ``url`` given to a session is not a path under its base URL, or None.

    requests would glue ``"api.leantech.me/banks/v1"`` or ``"//host/x"`` onto
    the base URL as a path and the user would get a 404 about a path they did
    not mean; the session refuses them with this advice instead.
    """
    text = url.lstrip()
    suggestion = f"write the full URL with https://, or pass a path such as {_path_hint('/' + _after_host(text))}"
    if text.startswith(("//", "\\\\")):
        return (f"{url!r} is a network-path reference (a leading '//' names a host, not a path): {suggestion}.")
    scheme = _SCHEME_WITHOUT_SLASHES.match(text)
    if scheme:
        return f"{url!r} lacks the '//' after '{scheme.group(1)}:': {suggestion}."
    if _HOST_PORT.match(text) or _HOST_NAME.match(text):
        return f"{url!r} starts with a host name, not a path (no scheme): {suggestion}."
    return None


def _after_host(text: str) -> str:
    text = _SCHEME_WITHOUT_SLASHES.sub("", text, count=1).lstrip("/")
    return text.split("/", 1)[1] if "/" in text else ""


def refusal_message(url: str, session_origin: str, session_label: str, redirected_from: str | None) -> str:
    """The message of the error raised for a request to ``url``.

    ``session_label`` says what the session is built for (e.g. "Lean's UAE
    sandbox API (app token + mTLS)"); ``redirected_from`` is the URL whose
    answer redirected to ``url``, if any.
    """
    origin = Origin.of(url)
    shown = origin.text()
    redirect = (f"The server at {Origin.of(redirected_from).text()} redirected this request to {shown}; the "
                "redirect was not followed. " if redirected_from else "")
    mine = f"This session is built for {session_label} ({session_origin})"
    here = Origin.of(session_origin)
    other_port = origin.scheme == here.scheme and origin.host == here.host and origin.port != here.port
    port_note = (f" {shown} is this session's host on another port ({origin.port}, not {here.port}): if you "
                 f"meant this session's API, drop the port or pass a path such as {_path_hint(url)}."
                 if other_port else "")
    if other_port and lean_hosts_of(url):  # Lean's API host on a port it does not serve: a typo
        return (f"{redirect}Refused {shown}: the port {origin.port} differs from this session's origin "
                f"{session_origin} (port {here.port}); a port is part of the origin the certificate and token "
                f"are bound to. Drop the port, or pass a path such as {_path_hint(url)}. {mine}.")
    if origin.scheme == "http":
        https = Origin("https", origin.host, 443 if origin.port == 80 else origin.port).text()
        if https == session_origin:
            return (f"{redirect}Refused plain http:// to {shown}: credentials and data only travel over TLS. "
                    f"Use https:// ({https}), or pass a path such as {_path_hint(url)}.")
        rows = lean_hosts_of(url)
        what = f" ({https} is {rows[0].describe()})" if rows else ""
        return (f"{redirect}Refused plain http:// to {shown}: credentials and data only travel over TLS. "
                f"Use https://{what}. {mine}.")
    rows = lean_hosts_of(url)
    if rows:
        other = rows[0]
        env_vars = f"LEAN_ENVIRONMENT={other.environment.value} and LEAN_REGION={other.region.value}"
        if other.mode is AuthMode.OAUTH:
            env_vars += " and LEAN_AUTH=oauth"
        then = (f"To call this session's API, pass a path such as {_path_hint(url)}." if other.role == "api" else
                "A session built that way fetches its OAuth2 tokens from this host itself.")
        return (
            f"{redirect}Refused {shown}: it is {other.describe()}. {mine}; a Lean host of another environment, "
            f"region or auth mode needs its own session, with that environment's certificate and token: "
            f"{other.constructor_hint()}, or LeanSession.from_env() with {env_vars}. {then} "
            "(mount_certificate and allow_other_origins are not the fix here: they would send no app token.)"
        )
    return (
        f"{redirect}No certificate is configured for {shown}: {mine[0].lower() + mine[1:]} and only talks to the "
        "origins it was built for. Use session.mount_certificate(...) for another mTLS API, or build the "
        "session with allow_other_origins=True to reach other hosts over plain TLS (no client certificate, "
        f"no token).{port_note}"
    )
