"""Secrets that do not show themselves.

A token held in a plain ``str`` leaks through every ``repr``: a debugger, a
crash reporter that captures frame locals (Sentry does), a ``logging`` call
with ``%r``.  :class:`Secret` and :class:`SecretBytes` behave exactly like
``str`` and ``bytes`` where the value is *used* (headers, form bodies,
``os.write``), but their ``repr`` is ``'<redacted>'``.

Every secret wrapped here is also remembered (weakly, by value) so the
logging filter can scrub it from any message that formats it by accident.
"""

from __future__ import annotations

import re
import threading

REDACTED = "<redacted>"

_known: set[str] = set()
_known_lock = threading.Lock()
_MIN_SCRUB_LENGTH = 6  # scrubbing "abc" everywhere would mangle ordinary text

_PEM_PRIVATE = re.compile(
    r"-----BEGIN ([A-Z0-9 ]*PRIVATE KEY)-----.*?(?:-----END \1-----|\Z)", re.DOTALL
)
_HEADER_VALUE = re.compile(
    r"(?i)((?:lean-app-token|authorization|proxy-authorization|client_secret|password)"
    r"[\"']?\s*[:=]\s*[\"']?)(?:Bearer\s+|Basic\s+)?[^\s\"',&}]+"
)


class Secret(str):
    """A ``str`` whose ``repr`` hides the value."""

    __slots__ = ()

    def __new__(cls, value: str) -> Secret:
        remember(value)
        return super().__new__(cls, value)

    def __repr__(self) -> str:
        return repr(REDACTED)


class SecretBytes(bytes):
    """A ``bytes`` whose ``repr`` hides the value."""

    def __new__(cls, value: bytes) -> SecretBytes:
        return super().__new__(cls, value)

    def __repr__(self) -> str:
        return "b'<redacted>'"


def remember(value: str) -> None:
    """Add ``value`` to the values the log filter scrubs."""
    if isinstance(value, str) and len(value) >= _MIN_SCRUB_LENGTH:
        with _known_lock:
            _known.add(str.__str__(value))


def scrub(text: str) -> str:
    """Remove known secrets, private-key PEM blocks and credential header
    values from ``text``."""
    if not text:
        return text
    text = _PEM_PRIVATE.sub(f"-----{REDACTED} PRIVATE KEY-----", text)
    text = _HEADER_VALUE.sub(lambda m: m.group(1) + REDACTED, text)
    with _known_lock:
        known = sorted(_known, key=len, reverse=True)
    for value in known:
        if value in text:
            text = text.replace(value, REDACTED)
    return text
