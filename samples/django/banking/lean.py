"""The one LeanSession of this Django process, built lazily and thread-safely.

Why one: the certificate is parsed and the SSL context built once, and
connections to Lean are pooled and reused by every request thread.  Why lazily:
``manage.py migrate`` and friends should not need Lean's certificates, and
each worker process (gunicorn, uWSGI) builds its own on first use.

``LEAN_FAKE=1`` starts the local emulator instead (``lean_mtls.testing.FakeLean``,
``pip install 'lean-mtls[testing]'``), so the sample runs with no Lean account.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

from lean_mtls import LeanSession

logger = logging.getLogger("banking")

_lock = threading.Lock()
_session: LeanSession | None = None
_fake: Any = None  # the FakeLean, when LEAN_FAKE is on


def get_session() -> LeanSession:
    """The shared session; the first caller builds it, concurrent callers wait for it."""
    session = _session
    if session is not None:  # fast path: no lock once built
        return session
    with _lock:
        if _session is None:
            _build()
        assert _session is not None
        return _session


def _build() -> None:
    global _session, _fake
    if getattr(settings, "LEAN_FAKE", False):
        from lean_mtls.testing import FakeLean

        _fake = FakeLean()
        _fake.start()
        # The emulator's webhook secret, so webhooks it sends verify.
        settings.LEAN_WEBHOOK_SECRET = _fake.webhook_secret
        _session = _fake.session()
        logger.info("Using the local Lean emulator at %s; seeded customer_id %s", _fake.url, _fake.customer_id)
    else:
        _session = LeanSession(**settings.LEAN)
    logger.info("Lean session ready: %r", _session)


def webhook_secret() -> str:
    return str(getattr(settings, "LEAN_WEBHOOK_SECRET", ""))


def reset_session() -> None:
    """Close the shared session (and emulator); the next call builds a new one."""
    global _session, _fake
    with _lock:
        if _session is not None:
            _session.close()
        if _fake is not None:
            _fake.stop()
        _session, _fake = None, None


@receiver(setting_changed)
def _lean_setting_changed(setting: str, **kwargs: Any) -> None:
    # override_settings(LEAN=...) in tests, or a settings reload: rebuild on next use.
    if setting in {"LEAN", "LEAN_FAKE"}:
        reset_session()
