"""Lean's published API contract, vendored as package data (``lean_contract.json``).

Where it comes from: Lean's public Postman collections (UAE and KSA) in
``leantechnologies/lean-postman`` at commit ``b883f28``, reduced by a script to
shapes: 63 distinct endpoints (method, path template, regions, query names,
headers, request body shape, Lean's remarks on body fields) and the 266 example
answers Lean recorded (region, status, body shape), plus the 11 sample webhook
deliveries.  Values are type markers (``<string>``, ``<integer>``, ``<number>``,
``<boolean>``, ``<uuid>``, ``<date>``, ``<date-time>``), ``null`` where Lean
sent null, and Lean's upper-case vocabulary kept verbatim.  Defects of the
collections were corrected as listed in the file's ``notes``.

The emulator (:class:`~lean_mtls.testing.FakeLean`) is checked against it, and
the conformance tests read it from here, never from outside the package.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import uuid
from importlib import resources
from typing import Any

__all__ = ["CONTRACT_SOURCE", "answer_shape", "complete", "load_contract"]

#: Where the vendored contract was derived from.
CONTRACT_SOURCE = "leantechnologies/lean-postman@b883f28 (UAE and KSA Postman collections)"


@functools.lru_cache(maxsize=1)
def _load_text() -> str:
    return resources.files(__package__).joinpath("lean_contract.json").read_text(encoding="utf-8")


def load_contract() -> dict[str, Any]:
    """The parsed contract: ``{"source", "notes", "endpoints", "webhooks"}`` (a fresh copy each call)."""
    data: dict[str, Any] = json.loads(_load_text())
    return data


_OK_CLASSES = {None, 200, 201, 202, 204}


@functools.cache
def _answer_shapes() -> dict[tuple[str, str], Any]:
    from ._shapes import merge_elements

    shapes: dict[tuple[str, str], Any] = {}
    for endpoint in load_contract()["endpoints"]:
        examples = sorted((r for r in endpoint["responses"] if r["status"] in _OK_CLASSES and r["body"] is not None),
                          key=lambda r: r["region"] != "UAE")  # the emulator is a UAE app: AED first
        bodies = [r["body"] for r in examples]
        if bodies and all(isinstance(b, list) for b in bodies):
            shapes[(endpoint["method"], endpoint["path"])] = [merge_elements([e for b in bodies for e in b])]
        elif bodies:
            shapes[(endpoint["method"], endpoint["path"])] = merge_elements([b for b in bodies if isinstance(b, dict)])
    return shapes


def answer_shape(method: str, path: str) -> Any:
    """Lean's example answer shape for an endpoint: the union of its 2xx examples (``None`` if it has none)."""
    return _answer_shapes().get((method, path))


def _merged(shapes: list[Any]) -> Any:
    """One request shape from Lean's body and its variants: objects take the union of their keys."""
    dicts = [shape for shape in shapes if isinstance(shape, dict)]
    if not dicts:
        return shapes[0] if shapes else None
    merged: dict[str, Any] = {}
    for shape in dicts:
        for key, value in shape.items():
            merged[key] = _merged([merged[key], value]) if key in merged else value
    return merged


@functools.cache
def _request_shapes() -> dict[tuple[str, str], Any]:
    return {(e["method"], e["path"]): _merged([e["body"], *(e.get("body_variants") or [])])
            for e in load_contract()["endpoints"] if e.get("body") is not None}


def request_shape(method: str, path: str) -> Any:
    """Lean's request body shape for an endpoint (body and variants merged; ``None`` if it sends none)."""
    return _request_shapes().get((method, path))


def _fill(shape: Any, key: str) -> Any:
    """A concrete value for a part of Lean's shape: markers become plausible values, literals stay."""
    if isinstance(shape, dict):
        return {k: _fill(v, k) for k, v in shape.items()}
    if isinstance(shape, list):
        return [_fill(item, key) for item in shape if item is not None]
    if not isinstance(shape, str) or not shape.startswith("<"):
        return shape
    if shape == "<uuid>":
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://fakelean.test/{key}"))
    if shape == "<date>":
        return dt.datetime.now(dt.timezone.utc).date().isoformat()
    if shape == "<date-time>":
        return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
    return {"<integer>": 0, "<number>": 0.0, "<boolean>": False}.get(shape, f"FakeLean {key.replace('_', ' ')}")


def complete(value: Any, shape: Any, key: str = "") -> Any:
    """``value`` with every key of Lean's ``shape`` it lacks added (in place for objects; returns it).

    What the emulator models keeps its value; a field it does not model gets a
    value of Lean's kind (Lean's literal vocabulary where the example has one).
    ``null`` stays null and an empty list stays empty: they are state, not gaps.
    """
    if isinstance(value, dict) and isinstance(shape, dict):
        for name, part in shape.items():
            if name not in value:
                value[name] = _fill(part, name)
            else:
                complete(value[name], part, name)
    elif isinstance(value, list) and isinstance(shape, list) and shape:
        from ._shapes import merge_elements

        element = merge_elements(shape)
        for item in value:
            complete(item, element, key)
    return value
