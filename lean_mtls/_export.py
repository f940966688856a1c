"""Entity export: every list of every account of an entity, as one ordered stream of records.

The nightly job of a Lean integrator reads every account of an entity, a year
of transactions each.  :meth:`lean_mtls.resources.data.Data.export` walks
those lists through the one page walker with *one* concurrency budget for
the whole entity: while the last pages of one account are in flight, the
first page of the next one is already asked for, so small accounts do not
leave the budget idle.  Records keep Lean's order (accounts as Lean lists
them, the kinds in the order asked, each list in its page order).

:func:`write_jsonl` turns the records into JSON lines.  This module has no
dependency beyond the standard library, so ``import lean_mtls`` stays light.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import IO, Any, NamedTuple

from .errors import InvalidRequestError

#: The per-account lists of Data API v2 an export can read, in Lean's names:
#: kind ``"x"`` is the endpoint ``data.x`` of the one endpoint list
#: (``lean_mtls/resources/_endpoints.py``), which gives its path, paging and item key.
EXPORT_KINDS: tuple[str, ...] = (
    "transactions",
    "balances",
    "beneficiaries",
    "identities",
    "direct_debits",
    "scheduled_payments",
    "standing_orders",
)


class ExportRecord(NamedTuple):
    """One item of an export, with where it came from.

    ``kind`` is one of :data:`EXPORT_KINDS` (``"transactions"``, ...);
    ``item`` is Lean's JSON object as is.
    """

    entity_id: str
    account_id: str
    kind: str
    item: Any

    def as_json(self) -> dict[str, Any]:
        """``{"entity_id", "account_id", "kind", "item"}``: one JSON line of :func:`write_jsonl`."""
        return {"entity_id": self.entity_id, "account_id": self.account_id, "kind": self.kind, "item": self.item}


def check_kinds(kinds: Iterable[str]) -> tuple[str, ...]:
    """``kinds`` as a tuple, refusing unknown ones and a bare string (``"transactions"`` is not a tuple)."""
    if isinstance(kinds, (str, bytes)):
        raise InvalidRequestError(f"kinds must be a tuple of list names, e.g. ({kinds!r},), not a string.")
    chosen = tuple(kinds)
    unknown = [kind for kind in chosen if kind not in EXPORT_KINDS]
    if unknown or not chosen:
        raise InvalidRequestError(
            f"Unknown export kinds {unknown!r}: choose from {', '.join(EXPORT_KINDS)}." if unknown
            else "kinds is empty: name at least one list, e.g. ('transactions',)."
        )
    return chosen


def write_jsonl(records: Iterable[ExportRecord], file: IO[str]) -> int:
    """Write each record as one JSON line (:meth:`ExportRecord.as_json`) to a
    text file opened for writing; returns how many were written.

    Lines are UTF-8 text (``ensure_ascii=False``) with sorted keys, so two
    exports of the same data are byte-identical.  Records are written as they
    arrive: memory stays flat however long the export.  Every line is strict
    JSON (RFC 8259) that ``json.loads`` reads back to the same value:

    * A record holding ``NaN`` or ``Infinity`` (Python's ``json`` accepts them
      in an answer, JSON does not) or a value JSON has no type for
      (``Decimal``, ``datetime``, ``bytes``, a set, ...) raises
      :class:`~lean_mtls.errors.InvalidRequestError` naming the record (its
      line number, account and kind) and the problem; nothing of that record
      is written, the lines before it are complete.  Convert such values
      first (``str(decimal)``, ``dt.isoformat()``) if they are yours.
    * A string the file cannot encode (a lone surrogate such as ``"\\ud800"``,
      which a JSON answer can carry as an escape, or any non-ASCII text in a
      file opened with a narrower encoding) is written ``\\u``-escaped: that
      line is ASCII-only JSON, valid in any encoding, and reads back to the
      same string.
    """
    encoding = getattr(file, "encoding", None)
    count = 0
    for record in records:
        file.write(_json_line(record, count + 1, encoding if isinstance(encoding, str) else None))
        count += 1
    return count


def _json_line(record: ExportRecord, line: int, encoding: str | None) -> str:
    """One record as a JSON line ending in ``\\n``, escaped when ``encoding`` cannot carry its text."""
    value = record.as_json()
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError) as error:
        raise InvalidRequestError(
            f"Export record {line} (account {record.account_id!r}, kind {record.kind!r}) cannot be written as "
            f"JSON: {_why(error)}. Nothing of it was written; the {line - 1} lines before it are complete."
        ) from None
    if encoding is not None:
        try:
            text.encode(encoding)
        except UnicodeError:
            text = json.dumps(value, ensure_ascii=True, allow_nan=False, sort_keys=True, separators=(",", ":"))
    return text + "\n"


def _why(error: Exception) -> str:
    message = str(error)
    if isinstance(error, ValueError) and "Out of range float" in message:
        return "it holds NaN or Infinity, which JSON cannot represent"
    if isinstance(error, TypeError) and "is not JSON serializable" in message:
        kind = message.split("Object of type ", 1)[-1].split(" is not", 1)[0]
        return f"it holds a {kind} value, which JSON has no type for (convert it first, e.g. with str())"
    return message
