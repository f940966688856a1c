"""Customers and their entities: ``/customers/v1...`` (payment sources live in :mod:`.payments`)."""

from __future__ import annotations

import copy
from typing import Any

from .._backend import Backend
from .._core import ApiError, Call, Handler, invalid, missing, parse_date, slice_page
from .._server import Reply

__all__ = ["HANDLERS"]


def identifiers(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list) or not all(
            isinstance(i, dict) and isinstance(i.get("type"), str) and isinstance(i.get("value"), str)
            for i in value):
        raise invalid("'government_identifiers' must be a list of {\"type\", \"value\"} objects.")
    return [{"type": i["type"], "value": i["value"]} for i in value]



def create_customer(b: Backend, call: Call) -> Reply:
    body = call.json()
    app_user_id = body.get("app_user_id")
    if app_user_id is None or app_user_id == "":
        raise missing("app_user_id")
    if not isinstance(app_user_id, str) or len(app_user_id) > 255:
        raise invalid("'app_user_id' must be a string of 1 to 255 characters.")
    if any(c["app_user_id"] == app_user_id for c in b.state.customers.values()):
        raise ApiError(409, "CUSTOMER_ALREADY_EXISTS",
                        f"A customer with app_user_id {app_user_id} already exists.")
    customer: dict[str, Any] = {"customer_id": b.new_id(), "app_user_id": app_user_id}
    if body.get("government_identifiers") is not None:
        customer["government_identifiers"] = identifiers(body["government_identifiers"])
    b.state.customers[customer["customer_id"]] = customer
    return Reply(200, copy.deepcopy(customer))


def list_customers(b: Backend, call: Call) -> Reply:
    number, size = b.paging(call, "page_number", "page_size", 10)
    chunk, page = slice_page(list(b.state.customers.values()), number, size)
    return Reply(200, {"data": copy.deepcopy(chunk), "page": page})


def get_customer(b: Backend, call: Call) -> Reply:
    return Reply(200, copy.deepcopy(b.customer(call.args[0])))


def customer_by_app_user_id(b: Backend, call: Call) -> Reply:
    for customer in b.state.customers.values():
        if customer["app_user_id"] == call.args[0]:
            return Reply(200, copy.deepcopy(customer))
    raise ApiError(404, "UNKNOWN_CUSTOMER", f"Customer with app_user_id {call.args[0]} was not found.")


def update_customer(b: Backend, call: Call) -> Reply:
    customer = b.customer(call.args[0])
    body = call.json()
    if "government_identifiers" not in body:
        raise missing("government_identifiers")
    customer["government_identifiers"] = identifiers(body["government_identifiers"])
    return Reply(200, copy.deepcopy(customer))


def customer_entities(b: Backend, customer_id: str) -> list[dict[str, Any]]:
    b.customer(customer_id)
    return [e for e in b.state.entities.values() if e["customer_id"] == customer_id]


def list_entities(b: Backend, call: Call) -> Reply:
    return Reply(200, copy.deepcopy(customer_entities(b, call.args[0])))


def get_entity(b: Backend, call: Call) -> Reply:
    for entity in customer_entities(b, call.args[0]):
        if entity["id"] == call.args[1]:
            return Reply(200, copy.deepcopy(entity))
    raise ApiError(404, "UNKNOWN_ENTITY", f"Entity with id {call.args[1]} was not found.")


def delete_entity(b: Backend, call: Call) -> Reply:
    if not any(e["id"] == call.args[1] for e in customer_entities(b, call.args[0])):
        raise ApiError(404, "UNKNOWN_ENTITY", f"Entity with id {call.args[1]} was not found.")
    del b.state.entities[call.args[1]]
    return Reply(200, None)


def entities_by_range(b: Backend, call: Call) -> Reply:
    for name in ("start_date", "end_date"):
        if not call.param(name):
            raise missing(name)
    start = parse_date(call.param("start_date"), "start_date")
    end = parse_date(call.param("end_date"), "end_date")
    number, size = b.paging(call, "page_number", "page_size", 100)
    assert start is not None and end is not None  # noqa: S101 - checked just above
    items = [e for e in b.state.entities.values()
             if start.isoformat() <= e["created_at"][:10] <= end.isoformat()]
    chunk, page = slice_page(items, number, size)
    return Reply(200, {"data": copy.deepcopy(chunk), "page": page})


HANDLERS: dict[str, Handler] = {
    "customers.create": create_customer,
    "customers.list": list_customers,
    "customers.get_by_app_user_id": customer_by_app_user_id,
    "customers.get": get_customer,
    "customers.update": update_customer,
    "entities.list": list_entities,
    "entities.get": get_entity,
    "entities.list_by_date_range": entities_by_range,
    "entities.delete": delete_entity,
}
