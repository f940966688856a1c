"""One rule for every timeout a caller can give: the session's and each call's.

requests accepts ``None`` ("wait for ever"), ``(2, None)`` (connect bounded,
answer unbounded), ``float("inf")``, ``0`` (non-blocking sockets that fail at
once, reported as a confusing read error), negative numbers and NaN (raw
``ValueError`` from deep inside urllib3), and ``True`` (a bool is an int: one
second).  None of these is a deadline, so none of them is accepted: every
request to Lean has a finite, positive connect *and* read timeout, and the
read timeout is the budget for the whole answer (see :mod:`lean_mtls._reading`).
"""

from __future__ import annotations

import decimal
import math
import numbers
from typing import Any

import urllib3

from .errors import ConfigurationError, InvalidRequestError

#: The longest timeout accepted, in seconds (one day).  Anything longer is a
#: way of saying "for ever", and very large values overflow socket timeouts.
MAX_TIMEOUT = 86400.0

_ADVICE = (
    "Pass a number of seconds (e.g. timeout=30) or a (connect, read) tuple of numbers "
    "(e.g. timeout=(10, 60)); every request to Lean has a finite timeout, there is no 'wait for ever'."
)


def seconds(value: object) -> float | None:
    """``value`` as seconds when it is a finite number in (0, MAX_TIMEOUT], else ``None``."""
    # Decimal is a number of seconds too (numbers.Real leaves it out only for exactness reasons).
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, decimal.Decimal)):
        return None
    try:
        number = float(value)
    except ValueError:  # Decimal("sNaN")
        return None
    if not math.isfinite(number) or number <= 0 or number > MAX_TIMEOUT:
        return None
    return number


def check_timeout(value: object, *, per_call: bool = False) -> tuple[float, float]:
    """Return ``value`` as ``(connect, read)`` seconds, or raise naming the fix.

    Accepts a number, a ``(connect, read)`` tuple of numbers, or a
    ``urllib3.Timeout`` whose connect and read timeouts are both set.
    Raises :class:`~lean_mtls.errors.ConfigurationError` for the session's
    ``timeout=``, :class:`~lean_mtls.errors.InvalidRequestError` for a
    per-call one (``per_call=True``).
    """
    pair: tuple[object, object] | None = None
    if isinstance(value, tuple) and len(value) == 2:
        pair = (value[0], value[1])
    elif isinstance(value, urllib3.Timeout):
        pair = (value.connect_timeout, value.read_timeout)
    elif not isinstance(value, (tuple, list)):
        pair = (value, value)
    if pair is not None:
        connect, read = seconds(pair[0]), seconds(pair[1])
        if connect is not None and read is not None:
            return connect, read
    raise _error(value, pair, per_call)


def _error(value: object, pair: tuple[object, object] | None, per_call: bool) -> Exception:
    where = "timeout= for this call" if per_call else "timeout="
    if pair is None:
        problem = f"{where} must be a number or a (connect, read) tuple, got {_show(value)}"
    else:
        bad = [(name, part) for name, part in zip(("connect", "read"), pair) if seconds(part) is None]
        name, part = bad[0]
        problem = f"{where} has no usable {name} timeout ({_show(part)}: {_why(part)})"
    message = f"{problem}. {_ADVICE}"
    return InvalidRequestError(message) if per_call else ConfigurationError(message)


def _why(part: object) -> str:
    if part is None:
        return "None means wait for ever"
    if isinstance(part, bool):
        return "a bool is not a number of seconds"
    if not isinstance(part, (numbers.Real, decimal.Decimal)):
        return "not a number"
    try:
        number = float(part)
    except ValueError:
        return "not a number"
    if math.isnan(number):
        return "not a number"
    if math.isinf(number):
        return "infinity means wait for ever"
    if number <= 0:
        return "it must be more than 0"
    return f"more than {MAX_TIMEOUT:.0f} s (one day)"


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
