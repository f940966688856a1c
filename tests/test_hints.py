"""Issue 12 item 2: hints name what actually works.

The constructor does not read environment variables, so its messages must not
say "or set LEAN_X" as if it did; they say which keyword to pass and that
``LeanSession.from_env()`` reads LEAN_X.  Each hint is then followed: setting
the variable it names makes ``from_env()`` get past that error.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

import pytest
from cryptography.hazmat.primitives import serialization

from lean_mtls import AppTokenAuth, ClientCredentialsAuth, ConfigurationError, LeanSession
from tests.conftest import APP_TOKEN, KEY_PASSWORD, ClientFiles

_VARIABLE = re.compile(r"LEAN_[A-Z_]+")


def assert_honest(message: str) -> list[str]:
    """Every LEAN_* variable named is introduced as read by from_env(); returns them."""
    names = _VARIABLE.findall(message)
    for name in names:
        assert f"LeanSession.from_env() reads {name}" in message, message
    assert "or set LEAN_" not in message and "(LEAN_" not in message, message
    return names


def encrypted_key(client_files: ClientFiles, tmp_path: Path) -> Path:
    key = serialization.load_pem_private_key(client_files.key.read_bytes(), None)
    path = tmp_path / "encrypted.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.BestAvailableEncryption(KEY_PASSWORD.encode())))
    return path


def cases(files: ClientFiles, encrypted: Path) -> list[tuple[str, Callable[[], Any], str]]:
    kw: dict[str, Any] = {"cert": files.cert, "key": files.key, "ca": files.ca}
    return [
        ("no token", lambda: LeanSession(**kw), "LEAN_APP_TOKEN"),
        ("blank token", lambda: LeanSession("  ", **kw), "LEAN_APP_TOKEN"),
        ("quoted token", lambda: LeanSession(f'"{APP_TOKEN}"', **kw), "LEAN_APP_TOKEN"),
        ("smart-quoted token", lambda: LeanSession(f"\u201c{APP_TOKEN}\u201d", **kw), "LEAN_APP_TOKEN"),
        ("no cert", lambda: LeanSession(APP_TOKEN, key=files.key, ca=files.ca), "LEAN_CERT"),
        ("encrypted key, no password",
         lambda: LeanSession(APP_TOKEN, cert=files.cert, key=encrypted, ca=files.ca), "LEAN_KEY_PASSWORD"),
        ("oauth without client id",
         lambda: LeanSession(client_secret="s3cret-value", auth="oauth", **kw), "LEAN_CLIENT_ID"),
        ("AppTokenAuth without token", lambda: AppTokenAuth("", origins=["https://lean.test"]), "LEAN_APP_TOKEN"),
        ("ClientCredentialsAuth without id",
         lambda: ClientCredentialsAuth("", "s3cret-value", token_url="https://auth.test/oauth2/token",
                                       origins=["https://lean.test"]), "LEAN_CLIENT_ID"),
        ("ClientCredentialsAuth without secret",
         lambda: ClientCredentialsAuth("client-1234", "", token_url="https://auth.test/oauth2/token",
                                       origins=["https://lean.test"]), "LEAN_CLIENT_SECRET"),
    ]


def test_constructor_hints_do_not_pretend_the_constructor_reads_variables(client_files: ClientFiles,
                                                                           tmp_path: Path) -> None:
    encrypted = encrypted_key(client_files, tmp_path)
    for label, build, variable in cases(client_files, encrypted):
        with pytest.raises(ConfigurationError) as info:
            build()
        named = assert_honest(info.value.message)
        assert variable in named, (label, info.value.message)


def test_following_the_hint_works(client_files: ClientFiles, tmp_path: Path) -> None:
    """Each variable a hint names is one from_env() really reads."""
    encrypted = encrypted_key(client_files, tmp_path)
    base = {"LEAN_CERT": str(client_files.cert), "LEAN_KEY": str(client_files.key), "LEAN_CA": str(client_files.ca),
            "LEAN_BASE_URL": "https://lean.test"}
    with pytest.raises(ConfigurationError, match="LEAN_APP_TOKEN"):
        LeanSession.from_env(base)
    LeanSession.from_env({**base, "LEAN_APP_TOKEN": APP_TOKEN}).close()
    with pytest.raises(ConfigurationError, match=r"from_env\(\) reads LEAN_CERT"):
        LeanSession.from_env({k: v for k, v in base.items() if k != "LEAN_CERT"} | {"LEAN_APP_TOKEN": APP_TOKEN,
                             "LEAN_BASE_URL": ""})
    env = {**base, "LEAN_APP_TOKEN": APP_TOKEN, "LEAN_KEY": str(encrypted)}
    with pytest.raises(ConfigurationError, match=r"from_env\(\) reads LEAN_KEY_PASSWORD"):
        LeanSession.from_env(env)
    LeanSession.from_env({**env, "LEAN_KEY_PASSWORD": KEY_PASSWORD}).close()
    LeanSession.from_env({**base, "LEAN_CLIENT_ID": "client-1234", "LEAN_CLIENT_SECRET": "s3cret-value",
                          "LEAN_AUTH": "oauth", "LEAN_AUTH_URL": "https://auth.test"}).close()
