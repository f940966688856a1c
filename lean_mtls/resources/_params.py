"""Turn Python values into the strings Lean expects in query strings.

requests would send ``True`` as ``"True"`` and a ``date`` through ``str()``;
Lean wants ``true`` and ``YYYY-MM-DD``.  Converting here, in one place, keeps
the resource methods one line per parameter and fails on a malformed date
before anything is sent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Literal, Union

from ..errors import InvalidRequestError

#: A date parameter: a ``datetime.date`` (a ``datetime`` is cut to its date) or ``"YYYY-MM-DD"``.
DateLike = Union[dt.date, str]
#: A date-time parameter: a ``datetime``/``date`` (sent in ISO 8601) or an ISO string sent as is.
DateTimeLike = Union[dt.datetime, dt.date, str]

#: How a list goes into a query string: ``"comma"`` (``a,b``) or ``"repeat"`` (``k=a&k=b``).
ListStyle = Literal["comma", "repeat"]


def iso_date(value: DateLike | None, name: str) -> str | None:
    """``YYYY-MM-DD`` for a date, a datetime or an ISO date string; ``None`` stays ``None``."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        # Lean's data dates are UTC days: an aware datetime is converted first
        # (01:00 in Dubai is still the previous day in UTC).
        if value.tzinfo is not None and value.utcoffset() is not None:
            value = value.astimezone(dt.timezone.utc)
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        return dt.date.fromisoformat(value).isoformat()
    except (TypeError, ValueError):
        raise InvalidRequestError(f"{name} must be a datetime.date or a 'YYYY-MM-DD' string, got {value!r}.") from None


def iso_datetime(value: DateTimeLike | None) -> str | None:
    """ISO 8601 for a datetime or date; strings are passed through untouched."""
    if value is None or isinstance(value, str):
        return value
    return value.isoformat()


def query_bool(value: bool | None) -> str | None:
    """``"true"``/``"false"`` (what Lean's Java back end parses), ``None`` stays ``None``."""
    return None if value is None else ("true" if value else "false")


def query_list(values: str | Sequence[str] | None, style: ListStyle) -> str | list[str] | None:
    """A query list in the chosen style; a single string is a one-item list."""
    if values is None:
        return None
    items = [values] if isinstance(values, str) else list(values)
    return ",".join(items) if style == "comma" else items
