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
    arrive: memory stays flat however long the export.
    """
    count = 0
    for record in records:
        file.write(json.dumps(record.as_json(), ensure_ascii=False, sort_keys=True, separators=(",", ":")))
        file.write("\n")
        count += 1
    return count
