"""The lazy page walker: both page styles, both list keys, nested and flat bodies,
where it stops, that it asks for the largest page, and that it is lazy."""

from __future__ import annotations

import gc
import itertools
import weakref
from typing import Any

import pytest
import responses
from responses import matchers

from lean_mtls import InvalidResponseError, LeanSession
from lean_mtls.resources._pagination import (
    CUSTOMERS,
    DATA_V2,
    ENTITIES,
    MAX_DATA_PAGE_SIZE,
    iter_items,
    split_page,
)

from .conftest import MOCK_BASE

BASE = MOCK_BASE




def page_info(number: int, total_pages: int, size: int = 100, total: int = 0) -> dict[str, Any]:
    return {"number": number, "size": size, "total_elements": total, "total_pages": total_pages, "sort": None}


def data_v2_body(kind: str, items: list[Any], number: int, total_pages: int) -> dict[str, Any]:
    """A Data API v2 list answer: the list nested under data.<type>."""
    return {"status": "OK", "results_id": f"res-{number}", "type": kind, "message": None,
            "data": {"type": kind, kind: items, "page": page_info(number, total_pages)}}


def numbered(prefix: str, start: int, count: int, key: str = "id") -> list[dict[str, Any]]:
    return [{key: f"{prefix}{i}"} for i in range(start, start + count)]


# ---------------------------------------------------------------------- body shapes


@pytest.mark.parametrize(("body", "key", "items", "page"), [
    pytest.param(data_v2_body("transactions", [1, 2], 0, 3), "transactions", [1, 2], page_info(0, 3),
                 id="nested-data-v2"),
    pytest.param(data_v2_body("direct_debits", [1], 1, 2), "direct-debits?", [1], page_info(1, 2),
                 id="nested-found-by-type"),
    pytest.param({"data": [1, 2, 3], "page": page_info(0, 1)}, None, [1, 2, 3], page_info(0, 1), id="flat-data"),
    pytest.param({"content": [4], "page": page_info(2, 3)}, None, [4], page_info(2, 3), id="flat-content"),
    pytest.param([5, 6], None, [5, 6], None, id="bare-array"),
    pytest.param({"data": [7]}, None, [7], None, id="no-page"),
    pytest.param({"status": "OK", "data": None}, None, [], None, id="no-list"),
    pytest.param({"status": "OK", "data": {"type": "x", "page": page_info(0, 1)}}, "x", [], page_info(0, 1),
                 id="nested-without-list"),
    pytest.param(None, None, [], None, id="empty-body"),
])
def test_split_page_shapes(body: Any, key: str | None, items: list[Any], page: dict[str, Any] | None) -> None:
    assert split_page(body, key) == (items, page)


# ---------------------------------------------------------------------- the walker alone


def _pages(bodies: list[Any]) -> tuple[list[dict[str, int]], Any]:
    requested: list[dict[str, int]] = []

    def fetch(params: dict[str, int]) -> Any:
        requested.append(params)
        return bodies[len(requested) - 1]

    return requested, fetch


def test_walker_stops_on_total_pages_without_an_extra_request() -> None:
    requested, fetch = _pages([{"data": [1, 2], "page": page_info(0, 2)}, {"data": [3], "page": page_info(1, 2)}])
    assert list(iter_items(fetch, CUSTOMERS)) == [1, 2, 3]
    assert requested == [{"page_number": 0, "page_size": 100}, {"page_number": 1, "page_size": 100}]


def test_walker_stops_on_an_empty_page_even_if_total_pages_says_more() -> None:
    requested, fetch = _pages([{"content": [1], "page": page_info(0, 9)}, {"content": [], "page": page_info(1, 9)}])
    assert list(iter_items(fetch, DATA_V2, concurrency=1)) == [1]
    assert len(requested) == 2


def test_walker_stops_when_there_is_no_page_information() -> None:
    requested, fetch = _pages([{"data": list(range(100))}])
    assert len(list(iter_items(fetch, DATA_V2))) == 100
    assert len(requested) == 1


def test_walker_without_total_pages_stops_on_a_short_page() -> None:
    requested, fetch = _pages([{"data": [1, 2], "page": {"number": 0}}, {"data": [3], "page": {"number": 1}}])
    assert list(iter_items(fetch, DATA_V2, page_size=2, concurrency=1)) == [1, 2, 3]
    assert requested == [{"page": 0, "size": 2}, {"page": 1, "size": 2}]


def test_walker_uses_the_number_lean_reports() -> None:
    # Lean says this is page 4 of 5: no further page, whatever was asked.
    requested, fetch = _pages([{"data": [1], "page": page_info(4, 5)}])
    assert list(iter_items(fetch, DATA_V2)) == [1]
    assert len(requested) == 1


def test_walker_is_lazy_and_holds_one_page_at_a_time() -> None:
    class Item:
        pass

    refs: list[list[weakref.ref[Item]]] = []

    def fetch(params: dict[str, int]) -> Any:
        items = [Item() for _ in range(3)]
        refs.append([weakref.ref(item) for item in items])
        return {"data": items, "page": page_info(params["page"], 1000)}

    walker = iter_items(fetch, DATA_V2, concurrency=1)  # tests/test_concurrent_paging.py: the window
    assert refs == []  # nothing fetched before the first item is asked for
    for _ in range(7):  # pages 0 and 1 used up, first item of page 2 taken (and dropped)
        next(walker)
    gc.collect()
    assert len(refs) == 3
    assert all(ref() is None for ref in refs[0] + refs[1])
    assert any(ref() is not None for ref in refs[2])  # the current page is still held


def test_a_long_walk_stays_flat_in_memory() -> None:
    sizes: list[int] = []

    def fetch(params: dict[str, int]) -> Any:
        gc.collect()
        sizes.append(len(gc.get_objects()))
        return {"data": [{"n": [i]} for i in range(100)], "page": page_info(params["page"], 50)}

    assert sum(1 for _ in iter_items(fetch, DATA_V2, concurrency=1)) == 5000
    assert sizes[-1] - sizes[1] < 100  # 48 more pages read, no page kept


# ---------------------------------------------------------------------- through the resources


def test_data_v2_iterator_walks_nested_pages_at_max_size(session: LeanSession, mock: responses.RequestsMock) -> None:
    url = f"{BASE}/data/v2/accounts/acc-1/transactions"
    query = {"entity_id": "ent-1", "start_date": "2026-01-01", "size": MAX_DATA_PAGE_SIZE}
    for number in range(3):
        mock.get(url, json=data_v2_body("transactions", numbered("tx", number * 2, 2, "transaction_id"), number, 3),
                 match=[matchers.query_param_matcher({**query, "page": number})])

    ids = [t["transaction_id"] for t in session.data.iter_transactions("ent-1", "acc-1", start_date="2026-01-01")]

    assert ids == [f"tx{i}" for i in range(6)]
    assert MAX_DATA_PAGE_SIZE == 100
    assert len(mock.calls) == 3


def test_data_v2_iterator_is_lazy(session: LeanSession) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        for number in range(3):
            mock.get(f"{BASE}/data/v2/accounts", json=data_v2_body("accounts", numbered("a", number, 1), number, 3),
                     match=[matchers.query_param_matcher({"entity_id": "e", "page": number, "size": 100})])
        accounts = session.data.iter_accounts("e", concurrency=1)
        assert len(mock.calls) == 0
        assert next(accounts) == {"id": "a0"}
        assert len(mock.calls) == 1
        assert next(accounts) == {"id": "a1"}
        assert len(mock.calls) == 2


@pytest.mark.parametrize(("method", "path", "kind"), [
    ("iter_balances", "balances", "balances"),
    ("iter_beneficiaries", "beneficiaries", "beneficiaries"),
    ("iter_identities", "identities", "identities"),
    ("iter_direct_debits", "direct-debits", "direct_debits"),
    ("iter_scheduled_payments", "scheduled-payments", "scheduled_payments"),
    ("iter_standing_orders", "standing-orders", "standing_orders"),
])
def test_every_account_iterator(session: LeanSession, mock: responses.RequestsMock, method: str, path: str,
                                kind: str) -> None:
    for number in range(2):
        mock.get(f"{BASE}/data/v2/accounts/acc-1/{path}", json=data_v2_body(kind, numbered(kind, number, 1), number, 2),
                 match=[matchers.query_param_matcher({"entity_id": "ent-1", "page": number, "size": 100})])
    items = list(getattr(session.data, method)("ent-1", "acc-1"))
    assert items == [{"id": f"{kind}0"}, {"id": f"{kind}1"}]


def test_refreshes_iterator_reads_content(session: LeanSession, mock: responses.RequestsMock) -> None:
    for number in range(2):
        mock.get(f"{BASE}/data/v2/refreshes",
                 json={"content": numbered("rf", number * 3, 3, "refresh_id"), "page": page_info(number, 2)},
                 match=[matchers.query_param_matcher({"entity_id": "ent-1", "page": number, "size": 100})])
    assert [r["refresh_id"] for r in session.data.iter_refreshes("ent-1")] == [f"rf{i}" for i in range(6)]


def test_customers_iterator_uses_page_number_style(session: LeanSession, mock: responses.RequestsMock) -> None:
    for number in range(3):
        mock.get(f"{BASE}/customers/v1",
                 json={"data": numbered("c", number * 100, 100 if number < 2 else 5, "customer_id"),
                       "page": page_info(number, 3, total=205)},
                 match=[matchers.query_param_matcher({"page_number": number, "page_size": CUSTOMERS.max_size})])
    customers = list(session.customers.iter_customers())
    assert len(customers) == 205
    assert customers[-1] == {"customer_id": "c204"}


def test_entities_range_iterator_single_page(session: LeanSession, mock: responses.RequestsMock) -> None:
    mock.get(f"{BASE}/customers/v1/entities", json={"data": [{"id": "ent-1"}], "page": page_info(0, 1)},
             match=[matchers.query_param_matcher({"start_date": "2026-01-01", "end_date": "2026-01-31",
                                                  "page_number": 0, "page_size": ENTITIES.max_size})])
    assert list(session.entities.iter_by_date_range("2026-01-01", "2026-01-31")) == [{"id": "ent-1"}]
    assert len(mock.calls) == 1


def test_payment_intents_iterator_with_filters_and_own_page_size(session: LeanSession,
                                                                mock: responses.RequestsMock) -> None:
    for number in range(2):
        mock.get(f"{BASE}/payments/v1/intents",
                 json={"data": numbered("pi", number * 10, 10, "payment_intent_id"), "page": page_info(number, 2, 10)},
                 match=[matchers.query_param_matcher({"customer_id": "cus-1", "status": "COMPLETED",
                                                      "page": number, "size": 10})])
    intents = session.payments.iter_intents(customer_id="cus-1", status="COMPLETED", page_size=10)
    assert [i["payment_intent_id"] for i in intents] == [f"pi{i}" for i in range(20)]


@pytest.mark.parametrize(("url", "body", "call"), [
    pytest.param(f"{BASE}/customers/v1", {"data": [], "page": page_info(0, 0)},
                 lambda s: s.customers.iter_customers(), id="customers-data"),
    pytest.param(f"{BASE}/data/v2/refreshes", {"content": [], "page": page_info(0, 0)},
                 lambda s: s.data.iter_refreshes(), id="refreshes-content"),
    pytest.param(f"{BASE}/data/v2/accounts", data_v2_body("accounts", [], 0, 0),
                 lambda s: s.data.iter_accounts("e"), id="data-v2-nested"),
])
def test_empty_lists_make_one_request(session: LeanSession, mock: responses.RequestsMock, url: str, body: Any,
                                      call: Any) -> None:
    mock.get(url, json=body)
    assert list(call(session)) == []
    assert len(mock.calls) == 1


def test_iterator_stops_on_a_body_without_page(session: LeanSession, mock: responses.RequestsMock) -> None:
    mock.get(f"{BASE}/data/v2/accounts", json={"status": "OK", "data": {"type": "accounts", "accounts": [{"id": 1}]}})
    assert list(itertools.islice(session.data.iter_accounts("e"), 10)) == [{"id": 1}]
    assert len(mock.calls) == 1


def test_a_server_that_ignores_the_page_parameter_is_detected() -> None:
    # page.number stays 0 whatever is asked: walking on would never end.
    def fetch(params: dict[str, int]) -> Any:
        return {"data": list(range(100)), "page": page_info(0, 5)}

    walker = iter_items(fetch, DATA_V2)
    with pytest.raises(InvalidResponseError, match="ignored the paging parameter"):
        for _ in range(1000):
            next(walker)


def test_the_same_unnumbered_page_twice_is_detected() -> None:
    def fetch(params: dict[str, int]) -> Any:
        return {"data": [{"id": i} for i in range(100)], "page": {"size": 100}}  # no number, no total

    walker = iter_items(fetch, DATA_V2)
    with pytest.raises(InvalidResponseError, match="same item"):
        for _ in range(1000):
            next(walker)


def test_numeric_strings_in_the_page_object() -> None:
    requested, fetch = _pages([{"data": [1], "page": {"number": "0", "total_pages": "2"}},
                               {"data": [2], "page": {"number": "1", "total_pages": "2"}}])
    assert list(iter_items(fetch, DATA_V2)) == [1, 2]
    assert len(requested) == 2
