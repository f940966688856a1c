"""``GET /banks/v1/``: Lean's banks, filtered as Lean filters them."""

from __future__ import annotations

from .._backend import Backend
from .._core import Call, Handler, invalid
from .._data import banks as bank_list
from .._server import Reply

__all__ = ["HANDLERS"]


def banks(b: Backend, call: Call) -> Reply:
    account_type = (call.param("account_types") or "PERSONAL").upper()
    if account_type not in {"PERSONAL", "BUSINESS"}:
        raise invalid("'account_types' must be PERSONAL or BUSINESS.")
    countries = {c.upper() for c in call.params("country_codes")}
    connections = {c.upper() for c in call.params("connection_types")}
    bank_type = (call.param("bank_type") or "").upper()
    result = [bank for bank in bank_list()
              if account_type in bank["supported_account_types"]
              and (not countries or bank["country_code"] in countries)
              and (not connections or bank["connection_type"] in connections)
              and (not bank_type or bank["bank_type"] == bank_type)]
    return Reply(200, result)


HANDLERS: dict[str, Handler] = {"banks.list": banks}
