"""Data API v2 (``/data/v2/...``: accounts, account lists, identity, refreshes, results) and v1 (``/data/v1/...``).

Every read goes through :meth:`~.._backend.Backend.data_reply`, so a queued
:meth:`~lean_mtls.testing.FakeLean.set_data_status` (PENDING, FAILED, ...) and
``async=true`` work the same on each.  Lean's spelling of the list types is
kept: the ``type`` is ``direct-debits`` where the list key is ``direct_debits``.
"""

from __future__ import annotations

import copy
import datetime as dt
import time
from typing import Any

from .._backend import Backend
from .._core import (
    OK_MESSAGE,
    PENDING_MESSAGE,
    ApiError,
    Call,
    Handler,
    Refresh,
    flag,
    is_async,
    page_info,
    slice_page,
)
from .._data import CURRENCY, DAY, iso, now_iso
from .._server import Reply

__all__ = ["HANDLERS", "refresh_object"]

#: Data API v2 list key -> Lean's ``type`` value for it.
_TYPES = {"direct_debits": "direct-debits", "scheduled_payments": "scheduled-payments",
          "standing_orders": "standing-orders"}


def accounts(b: Backend, call: Call) -> Reply:
    entity = b.entity(call.param("entity_id"))
    number, size = b.paging(call, "page", "size", 50)
    items = [b.world.account_object(info) for info in b.world.accounts] \
        if entity["id"] == b.world.entity_id else []

    def build(results_id: str) -> dict[str, Any]:
        chunk, page = slice_page(items, number, size)
        return b.v2_body(results_id, entity["id"], "accounts", chunk, page)

    return b.data_reply(build, asynchronous=is_async(call))


def balances(b: Backend, call: Call) -> Reply:
    entity = b.entity(call.param("entity_id"))
    info = b.account(entity["id"], call.args[0])
    number, size = b.paging(call, "page", "size", 50)
    items = b.world.balances(info, now_iso())

    def build(results_id: str) -> dict[str, Any]:
        chunk, page = slice_page(items, number, size)
        return b.v2_body(results_id, entity["id"], "balances", chunk, page)

    return b.data_reply(build, asynchronous=is_async(call))


def transactions(b: Backend, call: Call) -> Reply:
    entity = b.entity(call.param("entity_id"))
    info = b.account(entity["id"], call.args[0])
    number, size = b.paging(call, "page", "size", 50)
    start, end = b.window(call.param("start_date"), call.param("end_date"))
    insights = flag(call.param("insights"))
    table = b.world.table(info.account_id)
    lo, hi = table.window(start, end)

    def build(results_id: str) -> dict[str, Any]:
        items = [table.transaction(i, insights=insights) for i in table.newest_first(lo, hi, number, size)]
        return b.v2_body(results_id, entity["id"], "transactions", items, page_info(number, size, hi - lo))

    return b.data_reply(build, asynchronous=is_async(call))


def _list_of(kind: str) -> Handler:
    def handler(b: Backend, call: Call) -> Reply:
        entity = b.entity(call.param("entity_id"))
        info = b.account(entity["id"], call.args[0])
        number, size = b.paging(call, "page", "size", 50)
        items = b.world.account_lists(info)[kind]

        def build(results_id: str) -> dict[str, Any]:
            chunk, page = slice_page(items, number, size)
            body = b.v2_body(results_id, entity["id"], kind, chunk, page, type_name=_TYPES.get(kind, kind))
            if kind == "identities":
                body["data"]["account_id"] = info.account_id
            return body

        return b.data_reply(build, asynchronous=is_async(call))

    return handler


def identity(b: Backend, call: Call) -> Reply:
    """``GET /data/v2/identity``: the entity's parties, paged, under ``data.identities`` (Lean's shape)."""
    entity = b.entity(call.param("entity_id"))
    number, size = b.paging(call, "page", "size", 50)
    items = b.world.identities(None) if entity["id"] == b.world.entity_id else []

    def build(results_id: str) -> dict[str, Any]:
        chunk, page = slice_page(items, number, size)
        body = b.v2_body(results_id, entity["id"], "identities", chunk, page)
        body["data"]["account_id"] = None
        return body

    return b.data_reply(build, asynchronous=is_async(call))


def results(b: Backend, call: Call) -> Reply:
    results_id = call.args[0]
    stored = b.state.results.get(results_id)
    if stored is None:
        raise ApiError(404, "UNKNOWN_RESULTS_ID", f"No results with id {results_id}.", results_id=results_id)
    if stored.polls_left > 0:
        stored.polls_left -= 1
        empty = "payload" if stored.v1 else "data"
        return Reply(200 if stored.v1 else 202, {
            "status": "PENDING", "results_id": results_id, "message": PENDING_MESSAGE, "meta": None,
            "timestamp": now_iso(), "status_detail": None, empty: None})
    return Reply(200, copy.deepcopy(stored.body))


def refresh_object(b: Backend, refresh: Refresh, *, webhook: bool = False) -> dict[str, Any]:
    """A refresh as ``GET /data/v2/refreshes/{id}`` answers it (``webhook``: as the webhook payload has it)."""
    done = time.time() - refresh.created >= b.refresh_duration
    item = "OK" if done else "PENDING"
    start = dt.datetime.fromtimestamp(b.world.start, dt.timezone.utc).date()
    end = dt.datetime.fromtimestamp(b.world.end - DAY, dt.timezone.utc).date()
    # Lean's own inconsistency, kept: camelCase in the API, snake_case (with complete_months) in the webhook.
    availability = ({"transaction_availability": {"start": start.isoformat(), "end": end.isoformat(),
                                                  "complete_months": (end - start).days // 30}}
                    if webhook else {"transactionAvailability": {"start": start.isoformat(), "end": end.isoformat()}})
    return {
        "refresh_id": refresh.refresh_id,
        "entity_id": refresh.entity_id,
        "customer_id": refresh.customer_id,
        "status": "FINISHED" if done else "PENDING",
        "data_status": {
            "accounts": item,
            "identity": item,
            "account_data": [
                {"account_id": info.account_id, "balance": item, "identity": item, "transactions": item,
                 "scheduled_payments": item if info.sub_type == "CURRENT" else "UNSUPPORTED",
                 "direct_debits": item if info.sub_type == "CURRENT" else "UNSUPPORTED",
                 "standing_orders": item if info.sub_type == "CURRENT" else "UNSUPPORTED",
                 "beneficiaries": item if info.sub_type == "CURRENT" else "UNSUPPORTED",
                 **availability}
                for info in b.world.accounts
            ] if refresh.entity_id == b.world.entity_id else [],
        },
        "created_at": iso(refresh.created),
        "updated_at": iso(refresh.created + (b.refresh_duration if done else 0)),
    }


def create_refresh(b: Backend, call: Call) -> Reply:
    entity = b.entity(call.json().get("entity_id"))
    if entity["id"] in b.state.expired:
        raise ApiError(403, "CONSENT_EXPIRED",
                       "The customer's consent has expired; reconnect the entity through LinkSDK.")
    now = time.time()
    if any(r.entity_id == entity["id"] and now - r.created < b.refresh_duration
           for r in b.state.refreshes.values()):
        raise ApiError(429, "DUPLICATED_REQUEST", "Data refresh is already pending.")
    refresh = Refresh(b.new_id(), entity["id"], entity["customer_id"], now)
    b.state.refreshes[refresh.refresh_id] = refresh
    b.refresh_started(refresh)
    return Reply(200, {"refresh_id": refresh.refresh_id, "status": "OK",
                       "message": "Data refresh triggered successfully", "timestamp": now_iso()})


def list_refreshes(b: Backend, call: Call) -> Reply:
    entity_id = call.param("entity_id")
    if entity_id:
        b.entity(entity_id)
    number, size = b.paging(call, "page", "size", 50)
    items = [refresh_object(b, r) for r in reversed(b.state.refreshes.values())
             if not entity_id or r.entity_id == entity_id]
    chunk, page = slice_page(items, number, size)
    return Reply(200, {"content": chunk, "page": page})


def get_refresh(b: Backend, call: Call) -> Reply:
    if call.param("entity_id"):
        b.entity(call.param("entity_id"))
    refresh = b.state.refreshes.get(call.args[0])
    if refresh is None:
        raise ApiError(404, "UNKNOWN_REFRESH", f"Refresh with id {call.args[0]} was not found.")
    return Reply(200, refresh_object(b, refresh))


def _v1(name: str) -> Handler:
    def handler(b: Backend, call: Call) -> Reply:
        body = call.json()
        entity = b.entity(body.get("entity_id"))
        asynchronous = body.get("async") is True
        world = b.world
        if name == "identity":
            person = world.person
            payload: dict[str, Any] = {
                "full_name": person.full_name, "mobile_number": person.mobile_number,
                "email_address": person.email_address, "gender": person.gender,
                "birth_date": person.birth_date, "national_identity_number": person.emirates_id,
                "address": person.identity()["address"]["address_line"] + ", Dubai, ARE",
            }
            return _v1_reply(b, payload, "identity", asynchronous)
        if name == "accounts":
            payload = {"accounts": [
                {"id": info.account_id, "name": info.nickname, "currency_code": CURRENCY,
                 "type": info.sub_type, "iban": info.iban if info.sub_type != "CREDIT_CARD" else None,
                 "account_number": info.account_number}
                for info in world.accounts if entity["id"] == world.entity_id]}
            return _v1_reply(b, payload, "accounts", asynchronous)
        info = b.account(entity["id"], body.get("account_id"))
        table = world.table(info.account_id)
        if name == "balance":
            payload = {"balance": round(table.closing_balance / 100, 2), "currency_code": CURRENCY,
                       "account_id": info.account_id, "account_name": info.nickname,
                       "account_type": info.sub_type}
            return _v1_reply(b, payload, "balance", asynchronous)
        start, end = b.window(body.get("start_date"), body.get("end_date"))
        lo, hi = table.window(start, end)
        insights = body.get("insights") is True
        return _v1_reply(b, {
            "type": "transactions", "account_id": info.account_id,
            "transactions": [table.transaction_v1(i, insights=insights) for i in range(hi - 1, lo - 1, -1)]},
            "transactions", asynchronous)

    return handler


def _v1_reply(b: Backend, payload: dict[str, Any], kind: str, asynchronous: bool) -> Reply:
    def build(results_id: str) -> dict[str, Any]:
        return {"status": "OK", "type": kind, "payload": payload, "results_id": results_id,
                "message": OK_MESSAGE, "meta": None, "timestamp": now_iso(), "status_detail": None}

    return b.data_reply(build, v1=True, asynchronous=asynchronous)


HANDLERS: dict[str, Handler] = {
    "data.accounts": accounts,
    "data.transactions": transactions,
    "data.balances": balances,
    "data.beneficiaries": _list_of("beneficiaries"),
    "data.identities": _list_of("identities"),
    "data.direct_debits": _list_of("direct_debits"),
    "data.scheduled_payments": _list_of("scheduled_payments"),
    "data.standing_orders": _list_of("standing_orders"),
    "data.identity": identity,
    "data.get_refresh": get_refresh,
    "data.create_refresh": create_refresh,
    "data.list_refreshes": list_refreshes,
    "data.results": results,
    "data_v1.identity": _v1("identity"),
    "data_v1.accounts": _v1("accounts"),
    "data_v1.balance": _v1("balance"),
    "data_v1.transactions": _v1("transactions"),
    "data_v1.results": results,
}
