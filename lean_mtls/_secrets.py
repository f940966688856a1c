"""The one place that decides what is secret and how text is scrubbed of it.

Everything else in the SDK asks this module:

* **Which names are sensitive**: :data:`SENSITIVE_HEADERS` (request and
  response headers whose values are credentials) and :data:`SENSITIVE_FIELDS`
  (form / JSON / query field names whose values are credentials).
* **How a secret is held**: :class:`Secret` and :class:`SecretBytes` behave
  exactly like ``str`` and ``bytes`` where the value is *used* (headers, form
  bodies, ``os.write``), but their ``repr`` is ``'<redacted>'``, a pickle
  carries ``'<redacted>'`` instead of the value, and while a :class:`Secret`
  is alive the scrubber knows its value.
* **How text is scrubbed**: :func:`scrub` removes every *spelling* of a
  known secret that the SDK itself produces when it sends one (raw, base64
  standard and URL-safe with or without padding, also inside a longer base64
  run such as a ``Basic`` credential; percent-encoded as ``quote`` and
  ``quote_plus`` / form encoding, with upper- or lower-case hex; JSON string
  escaping, also with ``\\/``; HTML escaping; Python ``repr`` escaping; hex),
  also after decoding the text the way a gateway may re-spell an echo (every
  byte percent-encoded, HTML entities, ``\\uXXXX``/``\\xXX`` escapes, line
  breaks removed: see :func:`_decoded_spans`), private-key PEM blocks (also
  base64-wrapped), and the values that follow a sensitive header or field name.

Why live secrets only: a long-running worker fetches an OAuth token every
hour; scanning every log record for every token ever fetched made logging
slower for ever (22 ms per record after 100k tokens).  The registry holds
each :class:`Secret` *weakly*: when the auth object drops an expired or
replaced token, the value leaves the registry, and scrubbing costs the same
after a year as after a minute.  :func:`remember` pins a value for code that
holds it as a plain ``str`` (the CLI's environment variables); :func:`forget`
unpins it.
"""

from __future__ import annotations

import base64
import bisect
import html
import itertools
import json
import os
import re
import threading
import weakref
from collections.abc import Iterable, Mapping
from typing import Any, TextIO
from urllib.parse import quote, quote_plus

REDACTED = "<redacted>"

#: Header names (lower case) whose values are credentials.
SENSITIVE_HEADERS: frozenset[str] = frozenset(
    {"lean-app-token", "authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"}
)
#: Form, JSON and query field names (lower case) whose values are credentials.
#: ``client_id`` is here because Lean's Application ID *is* the app token.
SENSITIVE_FIELDS: frozenset[str] = frozenset(
    {
        "app_token", "lean_app_token", "client_id", "client_secret", "client_assertion",
        "access_token", "refresh_token", "id_token", "password", "passphrase", "key_password",
        "webhook_secret",
    }
)

#: Shorter values are not scrubbed from free text: replacing "abc" everywhere would
#: mangle ordinary messages.  Credentials shorter than :data:`MIN_CREDENTIAL_LENGTH`
#: (which is longer) are refused where they are taken, so every credential is scrubbed.
MIN_SCRUB_LENGTH = 6
#: The shortest app token, client id, client secret or access token accepted
#: (``ConfigurationError`` at construction; ``InvalidResponseError`` for a token
#: answer).  Lean's Application ID (= app token) is a UUID (36 characters) and its
#: secrets and tokens are longer still: a shorter value is a placeholder or a
#: truncated paste, and it could not be scrubbed from text safely.
MIN_CREDENTIAL_LENGTH = 8
assert MIN_CREDENTIAL_LENGTH >= MIN_SCRUB_LENGTH  # noqa: S101
#: Longer values (certificates, whole keys) are not registered: the PEM rules cover key material.
_MAX_REGISTERED_LENGTH = 4096

_PEM_PRIVATE = re.compile(
    r"-----BEGIN ([A-Z0-9 ]*PRIVATE KEY)-----.*?(?:-----END \1-----|\Z)", re.DOTALL
)
#: base64 of "-----BEGIN" at any of the three alignments (a PEM file wrapped in base64, as
#: Kubernetes secrets and CI variables hold them).
_B64_PEM = re.compile(r"(?:LS0tLS1CRUdJTi|0tLS0tQkVHSU4|tLS0tLUJFR0lO)[A-Za-z0-9+/_-]*={0,2}")
_SCHEMES = r"(?:Bearer|Basic|Token|Digest|Negotiate)"


def _name_value_pattern() -> re.Pattern[str]:
    names = sorted(SENSITIVE_HEADERS | SENSITIVE_FIELDS, key=len, reverse=True)
    alternatives = "|".join(re.escape(n).replace("_", "[_-]").replace(r"\-", "[_-]") for n in names)
    # name, optional closing quote, ":" or "=" (also percent-encoded), optional opening quote,
    # optional auth scheme, then the value up to a delimiter.
    return re.compile(
        rf"(?i)(\b(?:{alternatives})[\"']?\s*(?::|=|%3A|%3D)\s*(?:\\?[\"'])?(?:{_SCHEMES}\s+)?)"
        r"(?:\\u[0-9A-Fa-f]{4}|\\x[0-9A-Fa-f]{2}|\\/|&#[xX]?[0-9A-Fa-f]{1,7};|[^\s\"',&;}<>\\])+"
    )


_NAME_VALUE = _name_value_pattern()
#: Cheap substring tests that rule out the regexes above for almost every log line.
#: Every sensitive name contains one of these (checked at import).
_NAME_HINTS = ("token", "secret", "auth", "pass", "cookie", "client", "api")
assert all(any(h in n for h in _NAME_HINTS) for n in SENSITIVE_HEADERS | SENSITIVE_FIELDS)  # noqa: S101
_B64_PEM_HINTS = ("LS0tLS1CRUdJTi", "0tLS0tQkVHSU4", "tLS0tLUJFR0lO")


# --------------------------------------------------------------------------- the registry

_lock = threading.Lock()
#: id of a weakly held anchor -> (weak reference, value).  Entries leave when the anchor dies.
_live: dict[int, tuple[weakref.ref[Any], str]] = {}
#: Values pinned by remember(), with a count so nested users can forget independently.
_pinned: dict[str, int] = {}
_generation = itertools.count()
_state: dict[str, Any] = {"generation": next(_generation), "compiled": (-1, None)}


def _changed() -> None:
    # A plain assignment: safe from a weakref callback that runs inside another
    # thread's critical section (no lock is taken there).
    _state["generation"] = next(_generation)


def _register(anchor: object, value: str) -> None:
    if not MIN_SCRUB_LENGTH <= len(value) <= _MAX_REGISTERED_LENGTH:
        return
    key = id(anchor)

    def gone(_: weakref.ref[Any], key: int = key) -> None:
        _live.pop(key, None)
        _changed()

    _live[key] = (weakref.ref(anchor, gone), value)
    _changed()


class _Anchor:
    """Lives exactly as long as the ``SecretBytes`` holding it (bytes cannot be weakly referenced)."""

    __slots__ = ("__weakref__",)


class Secret(str):
    """A ``str`` whose ``repr`` (and pickle) hides the value.

    ``Secret(value)`` registers the value with the scrubber for as long as the
    object lives; ``Secret(value, register=False)`` only hides it (for values
    derived from a secret that is registered already, such as
    ``"Bearer " + token``, so that building them costs nothing).
    Operations on a ``Secret`` (``+``, ``strip()``, slicing) return plain
    ``str``: wrap derived values again.
    """

    def __new__(cls, value: str, *, register: bool = True) -> Secret:
        self = super().__new__(cls, value)
        if register:
            _register(self, str.__str__(self))
        return self

    def __repr__(self) -> str:
        return repr(REDACTED)

    def __reduce__(self) -> tuple[Any, ...]:
        # A pickle is a file on disk or a message on a queue: it never carries the value.
        return (str, (REDACTED,))

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: object) -> Secret:
        return self


class SecretBytes(bytes):
    """A ``bytes`` whose ``repr`` (and pickle) hides the value.

    Short text values (a key password given as bytes) are registered with the
    scrubber while the object lives; binary and long values (key files) are not,
    the PEM rules cover those.
    """

    def __new__(cls, value: bytes, *, register: bool = True) -> SecretBytes:
        self = super().__new__(cls, value)
        if register and len(value) <= 256:
            try:
                text = value.decode("utf-8")
            except UnicodeDecodeError:
                return self
            if text.isprintable():
                anchor = _Anchor()
                self.__dict__["_anchor"] = anchor
                _register(anchor, text)
        return self

    def __repr__(self) -> str:
        return "b'<redacted>'"

    def __reduce__(self) -> tuple[Any, ...]:
        return (bytes, (REDACTED.encode(),))

    def __copy__(self) -> SecretBytes:
        return self

    def __deepcopy__(self, memo: object) -> SecretBytes:
        return self


def form_body(fields: Mapping[str, str]) -> SecretBytes:
    """``fields`` form-encoded (``application/x-www-form-urlencoded``) as a
    :class:`SecretBytes`: a request body that carries credentials (the OAuth
    token request's ``client_secret``) shows ``b'<redacted>'`` in frame locals,
    ``repr``/``vars`` of the request, pickles and ``http.client``'s debug
    output, at every layer that passes it on (requests, urllib3, http.client
    keep the object as given).  The field values are registered already."""
    from urllib.parse import urlencode

    return SecretBytes(urlencode(dict(fields)).encode("ascii"), register=False)


def sanitize_response(response: Any) -> None:
    """Make a response an error carries safe to show, pickle or send to a crash reporter.

    Decision (one place, called by :class:`~lean_mtls.errors.LeanError` for every
    error given a ``response``): the object stays attached (callers read its
    status, headers and ``json()``), but

    * its request's body, when it carries a sensitive form field, becomes a
      :class:`Secret` / :class:`SecretBytes` (``repr``/pickle ``'<redacted>'``);
      sensitive request headers are held as :class:`Secret` the same way;
    * its already-read content is scrubbed of every spelling of the credentials
      the request carried and of every live secret (a gateway echoing the form).

    A streamed body not read yet is left alone (reading it would consume it).
    """
    request = getattr(response, "request", None)
    also: list[str] = []
    if request is not None:
        headers = getattr(request, "headers", None)
        body = getattr(request, "body", None)
        also = values_in_request(headers, body)
        if headers is not None:
            for name in list(headers.keys()):
                value = headers[name]
                if is_sensitive_header(name) and isinstance(value, str) and not isinstance(value, Secret):
                    headers[name] = Secret(value, register=False)
        if also and isinstance(body, bytes) and not isinstance(body, SecretBytes):
            request.body = SecretBytes(body, register=False)
        elif also and isinstance(body, str) and not isinstance(body, Secret):
            request.body = Secret(body, register=False)
    content = getattr(response, "_content", None)
    if isinstance(content, bytes) and content:
        text = content.decode("latin-1")  # byte-exact round trip; secrets are ASCII
        clean = scrub(text, also=also)
        if clean != text:
            response._content = clean.encode("latin-1", "replace")


def remember(value: str) -> None:
    """Scrub ``value`` until :func:`forget` is called (for secrets held as plain ``str``)."""
    if isinstance(value, str) and MIN_SCRUB_LENGTH <= len(value) <= _MAX_REGISTERED_LENGTH:
        with _lock:
            _pinned[str.__str__(value)] = _pinned.get(str.__str__(value), 0) + 1
            _changed()


def forget(value: str) -> None:
    """Undo one :func:`remember` of ``value`` and stop scrubbing any :class:`Secret` of that value.

    Called when a token expires or is replaced: its spellings need not be
    searched any more, even if some object still holds it.
    """
    if not isinstance(value, str):
        return
    plain = str.__str__(value)
    with _lock:
        count = _pinned.get(plain, 0)
        if count > 1:
            _pinned[plain] = count - 1
        else:
            _pinned.pop(plain, None)
        for key, (_, held) in list(_live.items()):
            if held == plain:
                _live.pop(key, None)
        _changed()


def live_count() -> int:
    """How many distinct values the scrubber searches for now (diagnostics, tests, bench)."""
    return len(_known_values())


def _known_values() -> frozenset[str]:
    return frozenset(value for _, value in list(_live.values())) | frozenset(_pinned)


# --------------------------------------------------------------------------- spellings


def _base64_cores(raw: bytes) -> set[str]:
    """The part of base64(prefix + raw + suffix) that depends on ``raw`` alone, for the three
    alignments of ``raw`` within the encoded text, in the standard and URL-safe alphabets.

    A secret inside any longer base64 text (``Basic base64(id:secret)``, a base64 JSON blob)
    contains one of these; so does the secret's own base64, with or without padding.
    """
    cores: set[str] = set()
    n = len(raw)
    for k in range(3):
        encoded = base64.b64encode(b"\0" * k + raw).decode("ascii")
        start, end = -(-8 * k // 6), (8 * (k + n)) // 6
        core = encoded[start:end]
        cores.add(core)
        cores.add(core.translate(str.maketrans("+/", "-_")))
    return cores


def spellings(value: str) -> set[str]:
    """Every way the SDK (or a server echoing what the SDK sent) may spell ``value``."""
    found = {
        value,
        quote(value, safe=""),
        quote(value),
        quote_plus(value),
        quote(quote_plus(value), safe=""),  # form-encoded, then percent-encoded again by a gateway
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        json.dumps(value)[1:-1].replace("/", "\\/"),
        html.escape(value),
        repr(value)[1:-1],
        value.encode("utf-8").hex(),
        value.encode("utf-8").hex().upper(),
    }
    found |= _base64_cores(value.encode("utf-8"))
    return {s for s in found if len(s) >= MIN_SCRUB_LENGTH}


_PERCENT = re.compile(r"%([0-9A-F]{2})")


def _literal(spelling: str) -> str:
    pattern = re.escape(spelling)
    if "%" in spelling:  # %2B and %2b are the same byte
        pattern = _PERCENT.sub(lambda m: "%" + "".join(f"[{c}{c.lower()}]" if c.isalpha() else c
                                                     for c in m.group(1)), pattern)
    return pattern


def _pattern_for(values: frozenset[str]) -> re.Pattern[str] | None:
    every = set().union(*(spellings(v) for v in values)) if values else set()
    if not every:
        return None
    return re.compile("|".join(_literal(s) for s in sorted(every, key=len, reverse=True)))


def _known_pattern() -> re.Pattern[str] | None:
    generation, pattern = _state["compiled"]
    current = _state["generation"]
    if generation == current:
        return pattern  # type: ignore[no-any-return]
    with _lock:
        pattern = _pattern_for(_known_values())
        _state["compiled"] = (current, pattern)
    return pattern


# --------------------------------------------------------------------------- decoded views

#: One escaped character (percent, JSON/Python backslash, HTML numeric or named entity), or a
#: line break with the blanks after it (a folded header, base64 wrapped at any column).  Every
#: alternative starts with one of a few characters, so the scan skips ordinary text at C speed.
_ESCAPE = re.compile(
    r"%[0-9A-Fa-f]{2}|\\u[0-9A-Fa-f]{4}|\\x[0-9A-Fa-f]{2}|\\[/\\\"'bfnrt]"
    r"|&#[0-9]{1,7};?|&#[xX][0-9A-Fa-f]{1,6};?|&(?:amp|lt|gt|quot|apos|sol|plus|equals|percnt);"
    r"|[\r\n]\s*"
)
#: Cheap test for "this text may hold an escaped or wrapped spelling" (the slow path).
_ESCAPE_HINTS = ("%", "\\", "&", "\n", "\r")
_NAMED = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'", "sol": "/", "plus": "+", "equals": "=",
          "percnt": "%"}
#: Escaped line breaks are dropped like real ones (a JSON-quoted folded header or wrapped base64).
_BACKSLASHED = {"/": "/", "\\": "\\", '"': '"', "'": "'", "b": "\b", "f": "\f", "n": "", "r": "", "t": "\t"}


def _unescape(token: str) -> str:
    """The character ``token`` spells ("" for a line break and its blanks)."""
    first = token[0]
    try:
        if first == "%":
            return chr(int(token[1:], 16))
        if first == "\\":
            if token[1] in "ux":
                return chr(int(token[2:], 16))
            return _BACKSLASHED[token[1]]
        if first == "&":
            body = token[1:].rstrip(";")
            if body[:2] in ("#x", "#X"):
                return chr(int(body[2:], 16))
            if body[:1] == "#":
                return chr(int(body[1:]))
            return _NAMED[body]
    except (ValueError, OverflowError, KeyError):
        return token
    return ""  # a line break with the blanks around it, or an escaped one


def _unescape_match(match: re.Match[str]) -> str:
    return _unescape(match.group())


class _View:
    """``text`` with every escape decoded and line breaks dropped, and a map from each
    character of the view back to the span of ``text`` it came from."""

    __slots__ = ("ends", "literal", "origins", "starts", "text")

    def __init__(self, text: str) -> None:
        pieces: list[str] = []
        self.starts: list[int] = []  # view offset where each segment begins
        self.origins: list[tuple[int, int]] = []  # the segment's span in the source text
        self.literal: list[bool] = []
        position = length = 0
        for match in _ESCAPE.finditer(text):
            start, end = match.span()
            if start > position:
                self._segment(pieces, text[position:start], length, position, start, literal=True)
                length += start - position
            decoded = _unescape(match.group())
            if decoded:
                self._segment(pieces, decoded, length, start, end, literal=False)
                length += len(decoded)
            position = end
        if position < len(text):
            self._segment(pieces, text[position:], length, position, len(text), literal=True)
        self.text = "".join(pieces)

    def _segment(self, pieces: list[str], piece: str, at: int, start: int, end: int, *, literal: bool) -> None:
        pieces.append(piece)
        self.starts.append(at)
        self.origins.append((start, end))
        self.literal.append(literal)

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The source span of the view's ``[start, end)``."""
        return self._at(start)[0], self._at(end - 1)[1]

    def _at(self, offset: int) -> tuple[int, int]:
        index = bisect.bisect_right(self.starts, offset) - 1
        origin = self.origins[index]
        if self.literal[index]:
            where = origin[0] + offset - self.starts[index]
            return where, where + 1
        return origin


def _decoded_spans(text: str, patterns: list[re.Pattern[str]]) -> list[tuple[int, int]]:
    """Spans of ``text`` that spell a secret once decoded: percent-encoding (every byte, also
    twice), JSON ``\\uXXXX`` (Go's ``\\u0026``), Python ``\\xXX``, HTML entities, and with line
    breaks removed (header folding, base64 wrapped at any column)."""
    # First the decoded texts alone (C speed); the offset maps only when a secret is in one.
    decoded: list[str] = []
    current = text
    for level in range(2):  # twice: form encoding percent-encoded again by a gateway
        if level and not _ESCAPE.search(current):
            break
        following = _ESCAPE.sub(_unescape_match, current)
        if following == current:
            break
        decoded.append(following)
        current = following
    if not any(pattern.search(level) for level in decoded for pattern in patterns):
        return []
    views: list[_View] = []
    current = text
    for _ in decoded:
        views.append(_View(current))
        current = views[-1].text
    spans: list[tuple[int, int]] = []
    for depth in range(len(views), 0, -1):
        text_here = views[depth - 1].text
        for pattern in patterns:
            for match in pattern.finditer(text_here):
                start, end = match.span()
                for view in reversed(views[:depth]):
                    start, end = view.span(start, end)
                spans.append((start, end))
    return spans


def _redact_spans(text: str, spans: list[tuple[int, int]]) -> str:
    pieces: list[str] = []
    position = 0
    for start, end in sorted(spans):
        if end <= position:
            continue
        start = max(start, position)
        pieces.append(text[position:start])
        pieces.append(REDACTED)
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


# --------------------------------------------------------------------------- scrubbing


def scrub(text: str, also: Iterable[str] = ()) -> str:
    """``text`` without any spelling of a live secret (or of the values in ``also``),
    private-key PEM blocks, or values after a sensitive header or field name."""
    if not text:
        return text
    if "PRIVATE KEY" in text:
        text = _PEM_PRIVATE.sub(f"-----{REDACTED} PRIVATE KEY-----", text)
    if any(hint in text for hint in _B64_PEM_HINTS):
        text = _B64_PEM.sub(REDACTED, text)
    extra = frozenset(v for v in also if isinstance(v, str) and len(v) >= MIN_SCRUB_LENGTH) if also else None
    patterns = [p for p in (_pattern_for(extra) if extra else None, _known_pattern()) if p is not None]
    for pattern in patterns:
        text = pattern.sub(REDACTED, text)
    if patterns and any(hint in text for hint in _ESCAPE_HINTS):
        spans = _decoded_spans(text, patterns)
        if spans:
            text = _redact_spans(text, spans)
    lowered = text.lower()
    for hint in _NAME_HINTS:
        if hint in lowered:
            return _NAME_VALUE.sub(lambda m: m.group(1) + REDACTED, text)
    return text


def is_sensitive_header(name: str | bytes) -> bool:
    """True when the header ``name`` carries a credential (case-insensitive)."""
    if isinstance(name, bytes):
        name = name.decode("latin-1")
    return name.strip().lower() in SENSITIVE_HEADERS


def redact_headers(headers: Mapping[Any, Any]) -> dict[str, str]:
    """A copy of ``headers`` for display: sensitive values replaced, others scrubbed."""
    shown: dict[str, str] = {}
    for name, value in headers.items():
        key = name.decode("latin-1") if isinstance(name, bytes) else str(name)
        text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
        shown[key] = REDACTED if is_sensitive_header(key) else scrub(text)
    return shown


def values_in_request(headers: Mapping[Any, Any] | None, body: object) -> list[str]:
    """The credential values a prepared request carries (sensitive headers, and sensitive
    fields of a form body), for scrubbing a server's answer that may echo them."""
    found: list[str] = []
    for name, value in (headers or {}).items():
        if not is_sensitive_header(name):
            continue
        text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
        found.append(text)
        found.extend(part for part in text.split() if len(part) >= MIN_SCRUB_LENGTH)  # "Bearer <token>"
    if isinstance(body, bytes):
        body = body.decode("latin-1")
    if isinstance(body, str) and "=" in body and not body.lstrip().startswith(("{", "[")):
        from urllib.parse import parse_qsl

        found.extend(v for k, v in parse_qsl(body) if k.lower() in SENSITIVE_FIELDS)
    return found


class ScrubbingWriter:
    """Wraps a text stream so that nothing written to it carries a secret
    (the CLI wraps stdout and stderr in it)."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(scrub(text))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _after_fork_in_child() -> None:
    global _lock
    _lock = threading.Lock()  # a parent thread may have held it at fork time


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
