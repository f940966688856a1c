"""``to_dataframe``: Lean items (transactions above all) as a pandas ``DataFrame``.

pandas is an optional extra (the ``[pandas]`` extra, or ``pip install pandas``) and is
imported only when :func:`to_dataframe` is called, so ``import lean_mtls``
never pays for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from ._extras import install_hint
from .errors import InvalidRequestError

__all__ = ["PANDAS_HINT", "to_dataframe"]

#: What to run when pandas is missing.
PANDAS_HINT = install_hint("pandas")

#: Columns that hold Lean ISO 8601 timestamps and become timezone-aware datetimes (UTC).
DATETIME_COLUMNS = ("booking_date_time", "value_date_time", "date_time", "status_update_date_time")

#: Shown first, in this order, when present.
_LEADING = (
    "transaction_id",
    "account_id",
    "booking_date_time",
    "amount",
    "currency",
    "credit_debit_indicator",
    "signed_amount",
    "transaction_information",
)


def _import_pandas() -> Any:
    import importlib

    try:
        # import_module keeps mypy from needing pandas' stubs; pandas stays optional.
        return importlib.import_module("pandas")
    except ImportError:
        raise ImportError(f"lean_mtls.to_dataframe needs pandas, which is not installed: {PANDAS_HINT}") from None


def _flatten(item: Mapping[str, Any]) -> dict[str, Any]:
    row = dict(item)
    amount = row.get("amount")
    if isinstance(amount, Mapping):
        # {"amount": {"amount": 12.5, "currency": "AED"}} -> amount=12.5, currency="AED"
        row["amount"] = amount.get("amount")
        if "currency" in amount and "currency" not in item:
            row["currency"] = amount.get("currency")
        elif "currency" in amount:
            row["amount_currency"] = amount.get("currency")
    return row


def _to_datetime(pd: Any, column: Any) -> Any:
    major = int(str(pd.__version__).split(".", 1)[0])
    if major >= 2:  # mixed precisions (".349Z", nanoseconds, none) in one column need format="ISO8601"
        return pd.to_datetime(column, utc=True, errors="coerce", format="ISO8601")
    return pd.to_datetime(column, utc=True, errors="coerce")  # pandas 1.x infers ISO 8601 per value


#: Where Lean's envelopes keep their items: Data API v2 nests them under ``data``
#: (``{"data": {"type": "transactions", "transactions": [...]}}``), Data API v1
#: under ``payload``, pages under ``data`` or ``content`` (see LEAN_API.md).
_ENVELOPE_KEYS = ("data", "payload")
_LIST_KEYS = ("data", "content")

_WHAT_TO_PASS = (
    "pass the list of items (e.g. result['data']['transactions']), a page body, a data call's result, "
    "or an iter_* iterator such as session.data.iter_transactions(entity_id, account_id)"
)


def _refuse(message: str) -> InvalidRequestError:
    return InvalidRequestError(f"to_dataframe: {message}; {_WHAT_TO_PASS}.")


def _is_pending(value: Any) -> bool:
    # Duck-typed so that this module never imports the resources at import time.
    return getattr(value, "status", None) == "PENDING" and hasattr(value, "results_id") and hasattr(value, "wait")


def _pending_error(results_id: object) -> InvalidRequestError:
    return InvalidRequestError(
        f"to_dataframe: Lean answered PENDING (results_id={results_id}), so there are no items yet: "
        "call .wait() on the result, or pass wait=True to the data call, then pass what it returns."
    )


def _list_in(container: Mapping[str, Any]) -> list[Any] | None:
    """The item list of one envelope level: under its ``type``, ``data`` or
    ``content``, else its only list; a single object under its ``type`` is one item."""
    kind = container.get("type")
    for key in (kind, *_LIST_KEYS):
        value = container.get(key) if isinstance(key, str) else None
        if isinstance(value, list):
            return value
    if isinstance(kind, str) and isinstance(container.get(kind), Mapping):
        return [container[kind]]  # e.g. {"type": "identity", "identity": {...}}
    lists = [value for value in container.values() if isinstance(value, list)]
    return lists[0] if len(lists) == 1 else None


def _unwrap(body: Mapping[str, Any]) -> list[Any]:
    """The items of one of Lean's envelopes (a data result, a page, a v1 payload)."""
    if body.get("status") == "PENDING":
        raise _pending_error(body.get("results_id"))
    for key in _ENVELOPE_KEYS:
        nested = body.get(key)
        if isinstance(nested, Mapping):
            found = _list_in(nested)
            if found is not None:
                return found
            if "type" in body and key == "payload":
                return [nested]  # Data API v1 answers one object (e.g. balance) as the payload itself
    if isinstance(body.get("type"), str):
        found = _list_in(body)  # the inner level of a v2 result: {"type": "transactions", "transactions": [...]}
        if found is not None:
            return found
    for key in _LIST_KEYS:
        flat = body.get(key)
        if isinstance(flat, list):
            return flat  # a flat page: {"data" | "content": [...], "page": {...}}
    nested_object = _object_result(body)
    if nested_object is not None:
        raise nested_object
    keys = ", ".join(repr(k) for k in list(body)[:8])
    raise _refuse(
        f"got a mapping (keys: {keys}) that is not one of Lean's envelopes and holds no item list "
        "(for a one-row table of a single object, pass [obj])"
    )


def _object_result(body: Mapping[str, Any]) -> InvalidRequestError | None:
    """A data call's result whose content is one object, not a list (insights such as income or
    expenses keep ``insights: {...}``, name verification ``data: {...}``): say where the lists are."""
    if "status" not in body:
        return None
    holders = [k for k, v in body.items() if isinstance(v, Mapping) and k not in ("meta", "status_detail")]
    if not holders:
        return None
    key = holders[0]
    inner = body[key]
    lists = [k for k, v in inner.items() if isinstance(v, list)]
    objects = [k for k, v in inner.items() if isinstance(v, Mapping)]
    where = (f"result[{key!r}][{lists[0]!r}]" if lists else
             f"result[{key!r}][{objects[0]!r}][...]" if objects else f"[result[{key!r}]]")
    kind = f" {body['type']!r}" if isinstance(body.get("type"), str) else ""
    inner_keys = ", ".join(repr(k) for k in list(inner)[:8])
    return InvalidRequestError(
        f"to_dataframe: this{kind} result is one of Lean's data results, but its content under {key!r} is "
        f"one object (keys: {inner_keys}), not a list of items. Pass a list from inside it, e.g. {where}, "
        f"or [result[{key!r}]] for a one-row table."
    )


def _is_envelope(value: Mapping[str, Any]) -> bool:
    """A page or data result rather than one item: Lean's envelope keys around a list."""
    if "status" in value and any(k in value for k in (*_ENVELOPE_KEYS, "results_id")):
        return True
    return isinstance(value.get("page"), Mapping) and any(
        isinstance(value.get(k), (list, Mapping)) for k in _LIST_KEYS
    )


def _rows(items: Any) -> Iterator[Mapping[str, Any]]:
    """Every item of ``items``, whatever envelope holds them."""
    if _is_pending(items):
        raise _pending_error(items.results_id)
    if isinstance(items, Mapping):
        items = _unwrap(items)
    elif isinstance(items, (str, bytes, bytearray)) or not isinstance(items, Iterable):
        hint = " (a requests.Response: pass response.json())" if hasattr(items, "json") else ""
        raise _refuse(f"cannot take a {type(items).__name__}{hint}")
    for index, item in enumerate(items):
        if _is_pending(item):
            raise _pending_error(item.results_id)
        if isinstance(item, Mapping) and _is_envelope(item):
            yield from _rows(item)  # an iterable of pages
        elif isinstance(item, Mapping):
            yield item
        else:
            raise _refuse(f"item {index} is a {type(item).__name__}, not a JSON object")


def to_dataframe(items: Any) -> Any:
    """Return Lean items (transactions above all) as a ``pandas.DataFrame``.

    ``items`` may be:

    * a list or any iterable of Lean JSON objects, including the lazy
      ``iter_*`` iterators (it is consumed);
    * what a data call returns (``session.data.transactions(...)``: Data API v2
      keeps the list under ``data.<type>``, v1 under ``payload.<type>``), or a
      page body (``{"data" | "content": [...], "page": {...}}``), or an
      iterable of such pages.

    No items give an empty frame with no columns.  A data result whose content
    is one object (insights, name verification) raises
    :class:`~lean_mtls.errors.InvalidRequestError` naming the lists inside it.
    A PENDING result (``PendingResult``, or a body with ``status: PENDING``)
    has no items yet and raises :class:`~lean_mtls.errors.InvalidRequestError`
    saying to call ``.wait()`` or pass ``wait=True``; so does anything else
    that holds no list of JSON objects, with what to pass instead.

    (Typed ``Any`` so that type-checking the SDK needs neither pandas nor its stubs.)

    * ``amount: {"amount", "currency"}`` becomes two columns, ``amount`` (float)
      and ``currency``;
    * ``booking_date_time`` (and ``value_date_time``, ``date_time``) become
      timezone-aware UTC datetimes; unparseable values become ``NaT``;
    * ``credit_debit_indicator`` is kept, and ``signed_amount`` is added
      (negative for ``DEBIT``), which makes sums of spend and income one call;
    * every other field is kept as a column as it is (nested objects stay
      Python objects).

    Raises ``ImportError`` saying how to install pandas (:data:`PANDAS_HINT`) when
    pandas is not installed.
    """
    rows = [_flatten(item) for item in _rows(items)]  # refuse bad input before asking for pandas
    pd = _import_pandas()
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame  # no items, no columns: an empty list of accounts is not an empty transactions table
    if "amount" in frame.columns:
        frame["amount"] = pd.to_numeric(frame["amount"], errors="coerce")
    for column in DATETIME_COLUMNS:
        if column in frame.columns:
            frame[column] = _to_datetime(pd, frame[column])
    if "amount" in frame.columns and "credit_debit_indicator" in frame.columns:
        debit = frame["credit_debit_indicator"].astype("string").str.upper() == "DEBIT"
        frame["signed_amount"] = frame["amount"].where(~debit.fillna(False), -frame["amount"])
    leading = [c for c in _LEADING if c in frame.columns]
    return frame[leading + [c for c in frame.columns if c not in leading]]
