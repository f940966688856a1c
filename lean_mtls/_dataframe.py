"""``to_dataframe``: Lean items (transactions above all) as a pandas ``DataFrame``.

pandas is an optional extra (``pip install 'lean-mtls[pandas]'``) and is
imported only when :func:`to_dataframe` is called, so ``import lean_mtls``
never pays for it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["PANDAS_HINT", "to_dataframe"]

#: What to run when pandas is missing.
PANDAS_HINT = "pip install 'lean-mtls[pandas]'"

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


def to_dataframe(items: Iterable[Mapping[str, Any]]) -> Any:
    """Return ``items`` (Lean JSON objects, e.g. from ``iter_transactions``) as a ``pandas.DataFrame``.

    (Typed ``Any`` so that type-checking the SDK needs neither pandas nor its stubs.)

    * ``amount: {"amount", "currency"}`` becomes two columns, ``amount`` (float)
      and ``currency``;
    * ``booking_date_time`` (and ``value_date_time``, ``date_time``) become
      timezone-aware UTC datetimes; unparseable values become ``NaT``;
    * ``credit_debit_indicator`` is kept, and ``signed_amount`` is added
      (negative for ``DEBIT``), which makes sums of spend and income one call;
    * every other field is kept as a column as it is (nested objects stay
      Python objects).

    ``items`` may be any iterable, including the lazy ``iter_*`` iterators (it
    is consumed).  Raises ``ImportError`` naming ``pip install
    'lean-mtls[pandas]'`` when pandas is not installed.
    """
    pd = _import_pandas()
    rows = [_flatten(item) for item in items]
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=["transaction_id", "booking_date_time", "amount", "currency",
                                     "credit_debit_indicator"])
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
