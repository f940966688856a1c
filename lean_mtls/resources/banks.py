"""Lean's bank directory."""

from __future__ import annotations

from typing import Any, cast

from ._base import Resource, drop_none


class Banks(Resource):
    """``GET /banks/v1/``."""

    def list(self, account_types: str | None = None) -> list[dict[str, Any]]:
        """Banks supported by Lean, as a list of bank objects.

        ``account_types`` is ``"PERSONAL"`` (Lean's default) or ``"BUSINESS"``.
        """
        params = drop_none({"account_types": account_types})
        return cast("list[dict[str, Any]]", self._request("GET", "/banks/v1/", params=params or None))
