"""vcrpy / pytest-recording settings that keep Lean credentials out of cassettes.

A cassette is a file on disk, often committed: the app token, an OAuth
``client_secret`` or a bearer token recorded there would be a leaked
credential.  :func:`vcr_config` returns keyword arguments for
``vcr.VCR(...)``/``use_cassette(...)`` (and what pytest-recording's
``vcr_config`` fixture returns) that, before anything is written:

* drop every credential header (``lean-app-token``, ``Authorization``,
  cookies...: the names :mod:`lean_mtls._secrets` calls sensitive), in
  requests and answers;
* replace credential fields (``client_secret``, ``client_id``,
  ``access_token``...) in form and JSON bodies and in query strings with
  :data:`PLACEHOLDER`, so a recorded OAuth exchange replays;
* scrub any live secret the process knows from the remaining text.

Matching is vcrpy's default (method, scheme, host, port, path, query), so
replay does not depend on the removed values.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from .._secrets import REDACTED, SENSITIVE_FIELDS, is_sensitive_header, scrub

__all__ = ["PLACEHOLDER", "vcr_config"]

#: What a recorded credential field holds instead of its value (the secrets
#: module's marker; an OAuth answer recorded with it still replays).
PLACEHOLDER = REDACTED


def vcr_config() -> dict[str, Any]:
    """Keyword arguments for vcrpy that record no Lean credential (see module docs).

    Add your own settings on top: ``{**vcr_config(), "record_mode": "once"}``.
    """
    return {
        "before_record_request": scrub_request,
        "before_record_response": scrub_response,
        # Compressed bodies cannot be scrubbed; decoded ones are also readable in review.
        "decode_compressed_response": True,
    }


def scrub_request(request: Any) -> Any:
    """vcrpy ``before_record_request``: ``request`` without credentials."""
    for name in [n for n in request.headers if is_sensitive_header(n)]:
        del request.headers[name]
    request.uri = _scrub_uri(request.uri)
    if request.body:
        request.body = _scrub_body(request.body, request.headers.get("Content-Type", ""))
    return request


def scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    """vcrpy ``before_record_response``: ``response`` (a dict) without credentials."""
    headers = response.get("headers") or {}
    for name in [n for n in headers if is_sensitive_header(n)]:
        del headers[name]
    # A server (or gateway) may echo a credential in any header (X-Echo, a debug header):
    # every value is scrubbed of the live secrets, as bodies are.
    for name in list(headers):
        value = headers[name]
        if isinstance(value, list):
            headers[name] = [scrub(v) if isinstance(v, str) else v for v in value]
        elif isinstance(value, str):
            headers[name] = scrub(value)
    body = response.get("body") or {}
    if body.get("string"):
        content_type = next((v[0] if isinstance(v, list) and v else v for k, v in headers.items()
                             if k.lower() == "content-type"), "")
        before = body["string"]
        body["string"] = _scrub_body(before, str(content_type))
        if body["string"] != before:  # replay must announce the length it now serves
            for name in [n for n in headers if n.lower() == "content-length"]:
                size = len(body["string"] if isinstance(body["string"], bytes) else body["string"].encode())
                headers[name] = [str(size)]
    return response


def _scrub_uri(uri: str) -> str:
    parts = urlsplit(uri)
    if not parts.query:
        return uri
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if not any(k.lower() in SENSITIVE_FIELDS for k, _ in pairs):
        return uri
    query = urlencode([(k, PLACEHOLDER if k.lower() in SENSITIVE_FIELDS else v) for k, v in pairs])
    return urlunsplit(parts._replace(query=query))


def _scrub_body(body: bytes | str, content_type: str) -> bytes | str:
    text = body.decode("utf-8", "surrogateescape") if isinstance(body, bytes) else body
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        text = _scrub_json(text)
    elif ("=" in text and "x-www-form-urlencoded" in content_type.lower()) or _looks_like_form(text):
        pairs = parse_qsl(text, keep_blank_values=True)
        if any(k.lower() in SENSITIVE_FIELDS for k, _ in pairs):
            text = urlencode([(k, PLACEHOLDER if k.lower() in SENSITIVE_FIELDS else v) for k, v in pairs])
    text = scrub(text)
    return text.encode("utf-8", "surrogateescape") if isinstance(body, bytes) else text


def _looks_like_form(text: str) -> bool:
    return "=" in text and " " not in text.strip() and "\n" not in text.strip()


def _scrub_json(text: str) -> str:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return text
    cleaned, changed = _clean(data)
    return json.dumps(cleaned) if changed else text


def _clean(value: Any) -> tuple[Any, bool]:
    if isinstance(value, dict):
        changed = False
        out: dict[str, Any] = {}
        for key, item in value.items():
            if isinstance(key, str) and key.lower() in SENSITIVE_FIELDS and item not in (None, ""):
                out[key], changed = PLACEHOLDER, True
            else:
                out[key], sub = _clean(item)
                changed = changed or sub
        return out, changed
    if isinstance(value, list):
        items = [_clean(item) for item in value]
        return [item for item, _ in items], any(sub for _, sub in items)
    return value, False
