"""Compare an answer with one of Lean's example answers, by LEAN_CONTRACT.md's rules.

The rules (the project is measured by them):

* every key of Lean's example is in the answer, at the same nesting; extra
  keys in the answer are allowed;
* each value has the same kind: object, list, string, number or boolean
  (integer and number are one kind; Lean's type markers ``<string>``,
  ``<uuid>``, ``<date>``, ``<date-time>`` are strings, ``<integer>`` and
  ``<number>`` numbers, ``<boolean>`` booleans; any other literal has its own
  JSON kind);
* ``null`` on either side matches anything;
* a list is compared through the union of its elements' keys: Lean's example
  shows one element (the union of what Lean sent), and the answer's elements
  are merged the same way; a list Lean filled must not be answered empty.

Values are not compared.  :func:`shape_mismatches` returns readable
differences (``$.data.identities[]: missing key 'emails'``), empty when the
answer matches.
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["kind_of", "merge_elements", "shape_mismatches", "vocabulary_mismatches"]

_MARKER_KINDS = {
    "<string>": "string",
    "<uuid>": "string",
    "<date>": "string",
    "<date-time>": "string",
    "<integer>": "number",
    "<number>": "number",
    "<boolean>": "boolean",
}


def kind_of(value: Any) -> str | None:
    """The JSON kind of ``value`` (a type marker counts as its type); ``None`` for null."""
    if value is None:
        return None
    if isinstance(value, str):
        return _MARKER_KINDS.get(value, "string")
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "list"
    return type(value).__name__


def merge_elements(items: list[Any]) -> Any:
    """One element standing for all of ``items``: objects merge their keys (recursively, first non-null wins)."""
    present = [item for item in items if item is not None]
    if not present:
        return None
    if not all(isinstance(item, dict) for item in present):
        return present[0]
    merged: dict[str, Any] = {}
    for item in present:
        for key, value in item.items():
            if key not in merged or merged[key] is None:
                merged[key] = value
            elif isinstance(merged[key], dict) and isinstance(value, dict):
                merged[key] = merge_elements([merged[key], value])
            elif isinstance(merged[key], list) and isinstance(value, list):
                merged[key] = merged[key] + value
    return merged


def shape_mismatches(expected: Any, actual: Any, where: str = "$") -> list[str]:
    """Where ``actual`` departs from the shape ``expected`` (empty: it matches)."""
    want, have = kind_of(expected), kind_of(actual)
    if want is None or have is None:
        return []
    if want != have:
        return [f"{where}: expected {want}, got {have}"]
    if want == "object":
        problems: list[str] = []
        for key, value in expected.items():
            if key not in actual:
                problems.append(f"{where}: missing key {key!r}")
            else:
                problems.extend(shape_mismatches(value, actual[key], f"{where}.{key}"))
        return problems
    if want == "list":
        element = merge_elements(expected)
        if element is None:
            return []
        if not actual:
            return [f"{where}: empty list where Lean's example has elements"]
        return shape_mismatches(element, merge_elements(actual), f"{where}[]")
    return []


_TOKEN = re.compile(r"[A-Z][A-Z0-9_\-]*")
#: Keys whose values are Lean's vocabulary (LEAN_CONTRACT.md: enum values, ``type`` and ``status``).
_VOCABULARY_KEYS = frozenset({"type", "status", "currency", "scheme_name", "credit_debit_indicator", "scope"})


def _is_vocabulary(key: str) -> bool:
    return key in _VOCABULARY_KEYS or key.endswith(("_type", "_status", "_indicator"))


def vocabulary_mismatches(expected: Any, actual: Any, where: str = "$") -> list[str]:
    """Where Lean's example has an upper-case enum value and the answer a string not in that style.

    Lean's vocabulary is upper-case tokens (``OK``, ``PENDING``, ``IBAN``,
    ``ACCEPTED_BY_BANK``); an answer that says ``ok`` or ``Pending`` where
    Lean says ``OK`` does not use it.  Values are otherwise not compared.
    """
    if isinstance(expected, dict) and isinstance(actual, dict):
        problems = []
        for key, value in expected.items():
            if key not in actual:
                continue
            if isinstance(value, str) and _is_vocabulary(key):
                if _TOKEN.fullmatch(value) and len(value) > 1 and isinstance(actual[key], str) \
                        and not _TOKEN.fullmatch(actual[key]):
                    problems.append(f"{where}.{key}: Lean says {value!r}, got {actual[key]!r}")
            else:
                problems.extend(vocabulary_mismatches(value, actual[key], f"{where}.{key}"))
        return problems
    if isinstance(expected, list) and isinstance(actual, list):
        element, merged = merge_elements(expected), merge_elements(actual)
        return vocabulary_mismatches(element, merged, f"{where}[]") if element is not None else []
    return []
