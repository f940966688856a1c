"""Lean's bank directory: which banks a customer can connect, and how."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import TYPE_CHECKING, cast

from ._base import Resource, drop_none
from ._params import ListStyle, query_list
from .types import Bank

if TYPE_CHECKING:
    from typing_extensions import Unpack

    from ._base import CallOptions

__all__ = ["Banks"]

#: Lean's default ``account_types`` (LEAN_API.md, P).
DEFAULT_ACCOUNT_TYPES = "PERSONAL"


class Banks(Resource):
    """``GET /banks/v1/``."""

    #: How list filters go into the query.  Lean's OpenAPI file declares
    #: ``country_codes``/``connection_types`` as arrays without saying how they
    #: are serialised (UNCERTAIN): ``"comma"`` sends ``ARE,SAU``, ``"repeat"``
    #: sends ``country_codes=ARE&country_codes=SAU``.
    list_style: ListStyle = "comma"

    def list(
        self,
        account_types: str = DEFAULT_ACCOUNT_TYPES,
        *,
        customer_id: str | None = None,
        bank_type: str | None = None,
        country_codes: str | Sequence[str] | None = None,
        connection_types: str | Sequence[str] | None = None,
        **options: Unpack[CallOptions],
    ) -> builtins.list[Bank]:
        """Banks supported by Lean, as a list of bank objects.

        ``account_types`` is ``"PERSONAL"`` (Lean's default, always sent as
        Lean's own request does) or ``"BUSINESS"``.  From Lean's OpenAPI
        files: ``bank_type`` e.g. ``"RETAIL"``; ``country_codes`` ISO alpha-3
        codes (``["ARE"]``); ``connection_types`` ``OPEN_BANKING`` and/or
        ``DIRECT_CONNECTION``.  Lists are sent comma-separated (see
        :attr:`list_style`).
        """
        params = drop_none({
            "account_types": account_types,
            "customer_id": customer_id,
            "bank_type": bank_type,
            "country_codes": query_list(country_codes, self.list_style),
            "connection_types": query_list(connection_types, self.list_style),
        })
        return cast("builtins.list[Bank]", self._call("banks.list", params=params, options=options))
