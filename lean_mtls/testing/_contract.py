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

import functools
import json
from importlib import resources
from typing import Any

__all__ = ["CONTRACT_SOURCE", "load_contract"]

#: Where the vendored contract was derived from.
CONTRACT_SOURCE = "leantechnologies/lean-postman@b883f28 (UAE and KSA Postman collections)"


@functools.lru_cache(maxsize=1)
def _load_text() -> str:
    return resources.files(__package__).joinpath("lean_contract.json").read_text(encoding="utf-8")


def load_contract() -> dict[str, Any]:
    """The parsed contract: ``{"source", "notes", "endpoints", "webhooks"}`` (a fresh copy each call)."""
    data: dict[str, Any] = json.loads(_load_text())
    return data
