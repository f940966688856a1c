"""Entity export (issue 13 item 3): every list of every account, tagged, in order, on one
concurrency budget; the JSON-lines writer; over FakeLean and a real mTLS server."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from lean_mtls import (
    ConcurrencyBudget,
    ExportRecord,
    InvalidRequestError,
    LeanSession,
    NotFoundError,
    write_jsonl,
)
from lean_mtls.testing import FakeLean, MTLSServer
from lean_mtls.testing._server import RecordedRequest, Reply

from .conftest import APP_TOKEN, ClientFiles


def page_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("lean-pages-")]


def identity(record: ExportRecord) -> tuple[str, str, str, Any]:
    ids = sorted((k, v) for k, v in record.item.items() if k.endswith("_id") and k not in {"entity_id", "account_id"})
    return record.entity_id, record.account_id, record.kind, ids or record.item


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeLean]:
    with FakeLean(transactions=450) as server:
        yield server


@pytest.fixture()
def lean(fake: FakeLean) -> Iterator[LeanSession]:
    with fake.session() as session:
        yield session


def test_export_yields_every_list_of_every_account_in_lean_s_order(fake: FakeLean, lean: LeanSession) -> None:
    kinds = ("transactions", "beneficiaries", "standing_orders")
    expected = [
        ExportRecord(fake.entity_id, account["account_id"], kind, item)
        for account in lean.data.iter_accounts(fake.entity_id, concurrency=1)
        for kind in kinds
        for item in getattr(lean.data, f"iter_{kind}")(fake.entity_id, account["account_id"], concurrency=1)
    ]
    assert len({r.account_id for r in expected}) == len(fake.account_ids) >= 2
    assert sum(r.kind == "transactions" for r in expected) >= 450

    budget = ConcurrencyBudget(8)
    records = list(lean.data.export(fake.entity_id, kinds=kinds, concurrency=budget))

    # Some fields of the emulator's items depend on the time of asking: compare identities.
    assert [identity(r) for r in records] == [identity(r) for r in expected]
    assert 1 <= budget.peak_in_flight <= 8
    assert page_threads() == []


def test_export_passes_the_date_range_to_transactions_only(fake: FakeLean, lean: LeanSession) -> None:
    before = len(fake.requests)
    records = list(lean.data.export(fake.entity_id, kinds=("transactions", "balances"),
                                    start_date="2026-01-01", end_date="2026-03-31", page_size=50))
    assert records
    sent = [r for r in fake.requests[before:] if "/accounts/" in r.path]
    for request in sent:
        query = parse_qs(urlsplit(request.path).query)
        assert query["size"] == ["50"]
        if request.path.split("?")[0].endswith("/transactions"):
            assert query["start_date"] == ["2026-01-01"] and query["end_date"] == ["2026-03-31"]
        else:
            assert "start_date" not in query


def test_export_of_named_accounts_does_not_list_accounts(fake: FakeLean, lean: LeanSession) -> None:
    before = len(fake.requests)
    chosen = fake.account_ids[1]
    records = list(lean.data.export(fake.entity_id, kinds=("balances",), account_ids=[chosen]))
    assert records and {r.account_id for r in records} == {chosen}
    assert not any(urlsplit(r.path).path == "/data/v2/accounts" for r in fake.requests[before:])


@pytest.mark.parametrize(("kinds", "match"), [
    ("transactions", "not a string"),
    (("transactions", "loans"), "Unknown export kinds"),
    ((), "kinds is empty"),
])
def test_export_refuses_bad_kinds_before_any_request(lean: LeanSession, kinds: Any, match: str) -> None:
    with pytest.raises(InvalidRequestError, match=match):
        lean.data.export("ent-1", kinds=kinds)


def test_write_jsonl_writes_one_line_per_record(fake: FakeLean, lean: LeanSession) -> None:
    records = list(lean.data.export(fake.entity_id, kinds=("balances",)))
    out = io.StringIO()
    assert write_jsonl(iter(records), out) == len(records)
    lines = out.getvalue().splitlines()
    assert [json.loads(line) for line in lines] == [r.as_json() for r in records]
    assert set(json.loads(lines[0])) == {"entity_id", "account_id", "kind", "item"}
    assert write_jsonl(iter(records), io.StringIO()) == len(records)  # deterministic: same text twice
    again = io.StringIO()
    write_jsonl(iter(records), again)
    assert again.getvalue() == out.getvalue()


# ---------------------------------------------------------------------- one budget, over a real server


class ThreeAccounts:
    """Three accounts of two transaction pages each; page 1 of ``failing`` answers 404."""

    def __init__(self, failing: str | None = None) -> None:
        self.failing = failing
        self.lock = threading.Lock()
        self.in_flight = 0
        self.peak = 0

    def __call__(self, request: RecordedRequest) -> Reply:
        url = urlsplit(request.path)
        query = parse_qs(url.query)
        number, size = int(query["page"][0]), int(query["size"][0])
        if url.path == "/data/v2/accounts":
            accounts = [{"account_id": f"acc-{n}"} for n in range(3)]
            return Reply(200, {"status": "OK", "data": {"type": "accounts", "accounts": accounts,
                                                        "page": {"number": 0, "size": size, "total_pages": 1}}})
        account = url.path.split("/")[4]
        with self.lock:
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
        threading.Event().wait(0.03)
        with self.lock:
            self.in_flight -= 1
        if account == self.failing and number == 1:
            return Reply(404, {"status": "UNKNOWN_ACCOUNT", "message": "gone", "timestamp": "x", "metadata": None})
        items = [{"transaction_id": f"{account}-{number}-{i}"} for i in range(size)]
        return Reply(200, {"status": "OK", "data": {"type": "transactions", "transactions": items,
                                                    "page": {"number": number, "size": size, "total_pages": 2}}})


@pytest.fixture()
def remote(server: MTLSServer, client_files: ClientFiles) -> Iterator[LeanSession]:
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=client_files.ca,
                     base_url=server.url, retries=0) as session:
        yield session


def test_accounts_share_one_budget(server: MTLSServer, remote: LeanSession) -> None:
    handler = ThreeAccounts()
    server.set_handler(handler)
    ids = [r.item["transaction_id"] for r in remote.data.export("ent-1", page_size=10, concurrency=8)]
    assert ids == [f"acc-{a}-{p}-{i}" for a in range(3) for p in range(2) for i in range(10)]
    # Each account has one page left after its first: more than one in flight means the next
    # account's first page went out while the previous account was still being read.
    assert handler.peak >= 2


def test_an_export_error_comes_after_the_records_before_it(server: MTLSServer, remote: LeanSession) -> None:
    server.set_handler(ThreeAccounts(failing="acc-1"))
    seen: list[str] = []
    with pytest.raises(NotFoundError):
        for record in remote.data.export("ent-1", page_size=10, concurrency=4):
            seen.append(record.item["transaction_id"])
    assert seen == [f"acc-0-{p}-{i}" for p in range(2) for i in range(10)] + [f"acc-1-0-{i}" for i in range(10)]
    assert page_threads() == []


def test_export_kinds_are_the_per_account_lists_of_the_endpoint_list() -> None:
    from lean_mtls._export import EXPORT_KINDS
    from lean_mtls.resources._endpoints import ENDPOINTS

    per_account = {e.key.split(".", 1)[1] for e in ENDPOINTS
                   if e.key.startswith("data.") and "{account_id}" in e.path and e.paging is not None}
    assert set(EXPORT_KINDS) == per_account
