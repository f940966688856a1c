"""Remove FakeLean's temporary key directories when the process is told to stop.

A ``FakeLean`` writes a private key to a temporary directory.  ``stop()``, the
``with`` block and interpreter exit (``weakref.finalize`` runs at exit, which
covers Ctrl+C: ``KeyboardInterrupt`` unwinds normally) remove it.  SIGTERM (a CI
runner cancelling a job, ``docker stop``, ``kill``) and SIGHUP (the terminal
closed) kill a Python process by default *without* running exit handlers, so
the key would stay on disk.  While at least one directory is registered, this
module handles those signals: it removes every registered directory, then
hands the signal on: to the handler that was installed before (if it was a
Python callable), else by restoring the default action and re-sending the
signal, so the process still ends with the status the sender expects.

Handlers can only be installed from the main thread (a CPython rule); a
FakeLean started elsewhere gets the exit-time cleanup only.  A signal that was
set to be ignored stays ignored.
"""

from __future__ import annotations

import os
import signal
import threading
import weakref
from typing import Any, Callable

__all__ = ["CLEANUP_SIGNALS", "register"]

#: Signals whose default action ends the process without running exit handlers.
CLEANUP_SIGNALS: tuple[signal.Signals, ...] = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name)
)

_lock = threading.Lock()
_finalizers: list[weakref.finalize[Any, Any]] = []
_previous: dict[int, Any] = {}


def register(finalizer: weakref.finalize[Any, Any]) -> None:
    """Run ``finalizer`` (idempotent) if a cleanup signal arrives before it ran."""
    with _lock:
        _finalizers[:] = [f for f in _finalizers if f.alive]  # stopped servers drop out
        _finalizers.append(finalizer)
        _install()


def _install() -> None:
    if threading.current_thread() is not threading.main_thread():
        return
    for signum in CLEANUP_SIGNALS:
        current = signal.getsignal(signum)
        if current is _on_signal or current is signal.SIG_IGN or current is None:
            continue  # ours already, deliberately ignored, or set from C code we cannot chain
        _previous[int(signum)] = current
        signal.signal(signum, _on_signal)


def _run_finalizers() -> None:
    with _lock:
        pending, _finalizers[:] = list(_finalizers), []
    for finalizer in pending:
        finalizer()


def _on_signal(signum: int, frame: Any) -> None:
    _run_finalizers()
    previous: Callable[[int, Any], Any] | int | None = _previous.get(signum, signal.SIG_DFL)
    if callable(previous):
        previous(signum, frame)
        return
    signal.signal(signum, signal.SIG_DFL)
    os.kill(os.getpid(), signum)
