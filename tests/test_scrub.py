"""The one scrubber: every spelling of a live secret, and only live secrets."""

from __future__ import annotations

import base64
import copy
import gc
import html
import json
import logging
import pickle
import re
from urllib.parse import quote, quote_plus, urlencode

import pytest

from lean_mtls import _secrets
from lean_mtls._secrets import (
    REDACTED,
    Secret,
    SecretBytes,
    forget,
    redact_headers,
    remember,
    scrub,
    values_in_request,
)

# A client secret with every character that form and percent encoding change.
AWKWARD = "cs+Zx/9q=&k%7Ea b~\"'<>\\u00e9"
TOKEN = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhcHAifQ.c2lnbmF0dXJl-_x"


def every_spelling(value: str) -> list[str]:
    """Spellings written independently of the module under test."""
    raw = value.encode()
    return [
        value,
        quote(value, safe=""), quote(value), quote_plus(value),
        re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), quote(value, safe="")),
        urlencode({"client_secret": value}).split("=", 1)[1],
        json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1], html.escape(value),
        base64.b64encode(raw).decode(), base64.b64encode(raw).decode().rstrip("="),
        base64.urlsafe_b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode().rstrip("="),
        base64.b64encode(b"client:" + raw).decode(),  # a Basic credential holding it
        base64.b64encode(b"x" + raw + b"y").decode(),
    ]


@pytest.mark.parametrize("value", [AWKWARD, TOKEN, "p\u00e4ssw\u00f6rd-\u201csmart\u201d"])
def test_every_spelling_of_a_live_secret_is_scrubbed(value: str) -> None:
    held = Secret(value)
    for spelling in every_spelling(value):
        text = f"gateway said: [{spelling}] (end)"
        out = scrub(text)
        assert spelling not in out, spelling
        assert "gateway said: [" in out and "(end)" in out  # scrubbed, not dropped
    del held


def test_also_values_are_scrubbed_in_every_spelling() -> None:
    for spelling in every_spelling(AWKWARD):
        assert spelling not in scrub(f"echo {spelling}", also=[AWKWARD])


def test_only_live_secrets_are_searched() -> None:
    gc.collect()
    before = _secrets.live_count()
    held = Secret("tok-" + "a" * 20)
    assert _secrets.live_count() == before + 1
    del held
    gc.collect()
    assert _secrets.live_count() == before
    assert "tok-" + "a" * 20 in scrub("tok-" + "a" * 20)  # no longer known: left alone


def test_remember_and_forget_pin_plain_strings() -> None:
    remember("env-secret-123")
    remember("env-secret-123")
    forget("env-secret-123")
    assert "env-secret-123" not in scrub("x env-secret-123 y")  # still pinned once
    forget("env-secret-123")
    assert "env-secret-123" in scrub("x env-secret-123 y")


def test_names_and_pem_blocks() -> None:
    text = (
        "Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ== lean-app-token=abcdef123 "
        '{"client_secret": "s3cr3t-value", "access_token":"tkn12345"} client_secret%3Dzzzzzz9 '
        "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg\n-----END PRIVATE KEY----- "
        "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE (truncated"
    )
    out = scrub(text)
    for leaked in ("QWxhZGRpbjpvcGVuIHNlc2FtZQ", "abcdef123", "s3cr3t-value", "tkn12345", "zzzzzz9",
                   "MIIEvQIBADANBg", "MHcCAQEE"):
        assert leaked not in out
    pem_b64 = base64.b64encode(b"-----BEGIN PRIVATE KEY-----\nMIIEvQ\n-----END PRIVATE KEY-----\n").decode()
    assert scrub(f"LEAN_KEY={pem_b64}").count(pem_b64[:20]) == 0


def test_redacted_types_hide_in_repr_pickle_and_copy() -> None:
    secret, blob = Secret("hidden-value-1"), SecretBytes(b"hidden-bytes-1")
    assert repr(secret) == repr(REDACTED) and "hidden" not in repr([secret, blob])
    assert b"hidden" not in pickle.dumps((secret, blob)) and pickle.loads(pickle.dumps(secret)) == REDACTED  # noqa: S301
    assert copy.deepcopy(secret) is secret and copy.copy(blob) is blob
    assert f"{secret}" == "hidden-value-1"  # still usable where the value is used
    assert "hidden-bytes-1" not in scrub("a hidden-bytes-1 b")


def test_headers_and_request_values() -> None:
    headers = {"Authorization": "Bearer abcdefgh123", "LEAN-APP-TOKEN": "t0ken-123", "Accept": "json"}
    assert redact_headers(headers) == {"Authorization": REDACTED, "LEAN-APP-TOKEN": REDACTED, "Accept": "json"}
    found = values_in_request(headers, urlencode({"client_secret": AWKWARD, "scope": "api"}))
    assert AWKWARD in found and "abcdefgh123" in found and "api" not in found


def test_log_filter_covers_urllib3_records(caplog: pytest.LogCaptureFixture) -> None:
    held = Secret("urllib3-sees-this-9")
    caplog.set_level(logging.DEBUG)
    logging.getLogger("urllib3.connectionpool").debug("GET /x?token=%s", "urllib3-sees-this-9")
    assert "urllib3-sees-this-9" not in caplog.text
    del held
