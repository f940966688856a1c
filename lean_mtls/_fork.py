"""Locks survive ``fork()`` in whatever state a parent thread left them.

gunicorn ``--preload``, Celery prefork and ``multiprocessing`` fork a process
whose other threads may be inside a critical section at that instant: the
child inherits the lock *held*, and no thread in the child will ever release
it.  Every SDK object that holds a lock registers here, and in a forked child
each gets :meth:`reset_after_fork` (fresh locks, no inherited work in flight)
before any code of the child runs.  Objects are held weakly.
"""

from __future__ import annotations

import os
import weakref
from typing import Protocol, TypeVar


class ForkAware(Protocol):
    def reset_after_fork(self) -> None: ...


_T = TypeVar("_T", bound=ForkAware)
_objects: weakref.WeakSet[ForkAware] = weakref.WeakSet()


def reset_in_child(obj: _T) -> _T:
    """Call ``obj.reset_after_fork()`` in every forked child while ``obj`` lives; returns ``obj``."""
    _objects.add(obj)
    return obj


def _after_fork_in_child() -> None:
    for obj in list(_objects):
        obj.reset_after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
