"""The ``LEAN_*`` variables: read and checked by one function.

``LeanSession.from_env()`` and ``lean-mtls check`` both read their settings
here, so the doctor can never call healthy what the SDK refuses
(``LEAN_ENVIRONMENT=prod``, ``LEAN_REGION=sa``, ``LEAN_AUTH=oauth2``, an
``http://`` base URL).  Values are checked with the same parsers the
constructor uses; a bad value raises :class:`~lean_mtls.errors.ConfigurationError`
naming the variable, never echoing a secret.  Credentials are not loaded
here: the constructor (or the doctor) does that.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Callable, cast

from ._environments import (
    OTHER_SERVER_TAIL,
    AuthMode,
    normalize_base_url,
    parse_auth_mode,
    parse_environment,
    parse_region,
    resolve_hosts,
)
from .errors import ConfigurationError

__all__ = ["ENV_VARS", "check_credentials", "from_env_hint", "read_settings"]

#: Constructor keyword -> the variable ``LeanSession.from_env()`` reads it from.
ENV_VARS = {
    "app_token": "LEAN_APP_TOKEN",
    "cert": "LEAN_CERT",
    "key": "LEAN_KEY",
    "ca": "LEAN_CA",
    "key_password": "LEAN_KEY_PASSWORD",
    "environment": "LEAN_ENVIRONMENT",
    "region": "LEAN_REGION",
    "auth": "LEAN_AUTH",
    "client_id": "LEAN_CLIENT_ID",
    "client_secret": "LEAN_CLIENT_SECRET",
    "scope": "LEAN_SCOPE",
    "base_url": "LEAN_BASE_URL",
    "auth_url": "LEAN_AUTH_URL",
}


def from_env_hint(name: str) -> str:
    """What a constructor message says about the variable for keyword ``name``:
    only :meth:`LeanSession.from_env` reads variables, so a hint must say so."""
    return f"LeanSession.from_env() reads {ENV_VARS[name]}"


#: Variables that may hold the file's PEM text instead of a path.
_FILE_SETTINGS = frozenset({"cert", "key", "ca"})

_CHECKS: dict[str, Callable[[Any], Any]] = {
    "environment": parse_environment,
    "region": parse_region,
    "auth": parse_auth_mode,
    "base_url": normalize_base_url,
    "auth_url": normalize_base_url,
}

_KEYWORD = re.compile(r"\b(?:pass |use )?(" + "|".join(ENV_VARS) + r")=")


def _in_env_terms(message: str) -> str:
    """``"or pass base_url= for ..."`` -> ``"or set LEAN_BASE_URL for ..."``."""
    return _KEYWORD.sub(lambda m: f"set {ENV_VARS[m.group(1)]}", message)


def _about_variable(name: str, message: str) -> str:
    """The constructor's message about keyword ``name``, told about its variable."""
    var = ENV_VARS[name]
    for spelling in (name, "base_url"):  # normalize_base_url says "base_url" for auth_url too
        if message.startswith(spelling + " "):
            return var + _in_env_terms(message[len(spelling):])
    return f"{var}: {_in_env_terms(message)}"


def _read(environ: Mapping[str, str]) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for name, var in ENV_VARS.items():
        value = environ.get(var)
        if value:
            if name in _FILE_SETTINGS and "-----BEGIN" in value:
                settings[name] = value.encode("ascii", "replace")
            else:
                settings[name] = value
    return settings


def read_settings(environ: Mapping[str, str], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """The constructor keywords for ``environ``'s ``LEAN_*`` variables, with
    ``overrides`` winning; environment, region, auth mode and URLs checked.

    A value from a variable that the constructor would refuse raises
    :class:`ConfigurationError` whose message starts with the variable's name
    and gives the fix in variable terms; overrides are checked by the
    constructor itself, with its own message.
    """
    from_env = _read(environ)
    settings = {**from_env, **overrides}
    for name, check in _CHECKS.items():
        if name in from_env and name not in overrides:
            try:
                check(from_env[name])
            except ConfigurationError as error:
                message = error.message
                if settings.get("base_url") and message.endswith(OTHER_SERVER_TAIL):  # it is set already
                    message = (message[: -len(OTHER_SERVER_TAIL)] + f". LEAN_BASE_URL is set, but {ENV_VARS[name]} "
                               f"still has to be one of these (or unset {ENV_VARS[name]}).")
                raise ConfigurationError(_about_variable(name, message), code=error.code) from None
    _check_hosts(settings, from_env, overrides)
    return settings


def _check_hosts(settings: Mapping[str, Any], from_env: Mapping[str, Any], overrides: Mapping[str, Any]) -> None:
    """The combination must have a row in the host table (as the constructor requires)."""
    try:
        environment = parse_environment(settings.get("environment", "sandbox"))
        region = parse_region(settings.get("region", "uae"))
        auth = settings.get("auth")
        mode = parse_auth_mode(auth) if auth is not None else (
            AuthMode.OAUTH if settings.get("client_secret") is not None else AuthMode.APP_TOKEN)
        resolve_hosts(region, environment, mode, settings.get("base_url"), settings.get("auth_url"))
    except ConfigurationError as error:
        if any(name in overrides for name in _CHECKS):
            raise  # the caller's own keywords: the constructor's message as it is
        raise ConfigurationError(_in_env_terms(error.message), code=error.code) from None


#: The credentials :func:`check_credentials` looks at.
_CREDENTIALS = ("app_token", "client_id", "client_secret")


def _auth_mode(settings: Mapping[str, Any]) -> AuthMode:
    auth = settings.get("auth")
    if auth is not None:
        return parse_auth_mode(auth)
    return AuthMode.OAUTH if settings.get("client_secret") is not None else AuthMode.APP_TOKEN


def check_credentials(settings: Mapping[str, Any], overrides: Mapping[str, Any] = {}) -> None:
    """Raise :class:`ConfigurationError` when ``settings`` (from
    :func:`read_settings`) lack the credentials their auth mode needs, or hold
    one the constructor would refuse (a pasted quote, a control character).

    :meth:`LeanSession.from_env` calls it before building the session and
    ``lean-mtls check`` calls it without building one, so the doctor never
    calls healthy a configuration on which the application cannot start
    (no ``LEAN_APP_TOKEN``; ``LEAN_AUTH=oauth`` without ``LEAN_CLIENT_SECRET``).
    Never echoes a value.
    """
    from ._auth import AppTokenAuth, ClientCredentialsAuth  # _auth imports this module

    mode = _auth_mode(settings)
    # Kept as given (a Secret stays a Secret); "" for absent.
    app_token, client_id, client_secret = (cast(str, settings.get(name) or "") for name in _CREDENTIALS)
    if not app_token and not (mode is AuthMode.OAUTH and client_id):
        raise ConfigurationError(
            "LEAN_APP_TOKEN is not set: LeanSession.from_env() needs the app token from the developer "
            "portal (or LEAN_CLIENT_ID and LEAN_CLIENT_SECRET for OAuth).",
            code="missing-conf",
        )
    if mode is AuthMode.APP_TOKEN and settings.get("client_secret") is not None:
        raise ConfigurationError(
            "LEAN_CLIENT_SECRET is only used with LEAN_AUTH=oauth: unset it, or set LEAN_AUTH=oauth.",
            code="missing-conf",
        )
    if mode is AuthMode.OAUTH and not client_secret:
        raise ConfigurationError(
            "LEAN_CLIENT_SECRET is not set: LEAN_AUTH=oauth needs the OAuth client secret from the developer "
            "portal (and LEAN_CLIENT_ID, or LEAN_APP_TOKEN as the Application ID).",
            code="missing-conf",
        )
    origin = "https://lean.invalid"  # the auth objects check the values; no request is made
    try:
        if mode is AuthMode.OAUTH:
            ClientCredentialsAuth(client_id or app_token, client_secret, token_url=origin + "/oauth2/token",
                                  origins=[origin])
        else:
            AppTokenAuth(app_token, origins=[origin])
    except ConfigurationError as error:
        if any(name in overrides for name in _CREDENTIALS):
            raise
        name = next((n for n in _CREDENTIALS if error.message.startswith(n + " ")), None)
        if name is None:
            raise
        raise ConfigurationError(_about_variable(name, error.message), code=error.code) from None
