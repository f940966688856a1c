"""Checks on request bodies the caller builds as mappings (lists of refunds,
payout details, control parameters): the names Lean requires must be there,
so a missing one fails here, naming it, instead of as Lean's 400."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..errors import InvalidRequestError

__all__ = ["require_keys", "require_list"]


def require_keys(value: Any, required: Sequence[str], what: str) -> dict[str, Any]:
    """``dict(value)`` after checking it is a mapping holding every name of ``required``."""
    if not isinstance(value, Mapping):
        raise InvalidRequestError(f"{what} must be a mapping (dict), got {type(value).__name__}.")
    missing = [name for name in required if value.get(name) is None]
    if missing:
        raise InvalidRequestError(f"{what} lacks {', '.join(missing)} (Lean requires them).")
    return dict(value)


def require_list(values: Any, required: Sequence[str], what: str) -> list[dict[str, Any]]:
    """A non-empty list of mappings, each checked with :func:`require_keys`."""
    if isinstance(values, (str, bytes, Mapping)) or not isinstance(values, Sequence) or not values:
        raise InvalidRequestError(f"{what} must be a non-empty list of mappings.")
    return [require_keys(item, required, f"{what}[{index}]") for index, item in enumerate(values)]
