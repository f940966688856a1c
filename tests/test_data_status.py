"""Data statuses: OK is returned, FAILED / RECONNECT_REQUIRED / CONSENT_EXPIRED
raise, PENDING becomes a PendingResult, and waiting polls with a capped
backoff on a fake clock (no test really sleeps)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Callable

import pytest
import requests
import responses
from responses import matchers
from responses.registries import OrderedRegistry

from lean_mtls import (
    ConfigurationError,
    ConsentExpiredError,
    DataFailedError,
    LeanError,
    LeanSession,
    LeanTimeout,
    NotFoundError,
    ReconnectRequiredError,
)
from lean_mtls.resources._results import DEFAULT_BACKOFF, Backoff
from lean_mtls.resources.data import PendingResult

from .conftest import MOCK_BASE

BASE = MOCK_BASE
RESULTS_ID = "8f0c1d2e-results-0001"
RESULTS_URL = f"{BASE}/data/v2/results/{RESULTS_ID}"

OK = {"status": "OK", "results_id": RESULTS_ID, "message": "Data successfully retrieved", "meta": None,
      "timestamp": "2026-11-23T10:00:00Z", "status_detail": None, "type": "accounts",
      "data": {"type": "accounts", "accounts": [{"account_id": "acc-1"}], "page": None}}
PENDING = {"status": "PENDING", "results_id": RESULTS_ID, "message": "Please wait for a webhook or try again later.",
           "meta": None, "timestamp": "2026-11-23T10:00:00Z", "status_detail": None, "data": None}
FAILED = {"status": "FAILED", "results_id": RESULTS_ID, "message": "The bank is under maintenance",
          "status_detail": {"granular_status_code": "BANK_MAINTENANCE", "status_additional_info": "back at 6"},
          "data": None}

Call = Callable[[LeanSession], Any]


class FakeTime:
    """A clock that only moves when something sleeps on it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now



@pytest.fixture()
def fake_time(session: LeanSession) -> FakeTime:
    fake = FakeTime()
    for group in (session.data, session.data_v1):
        group.sleep, group.clock = fake.sleep, fake.clock
    return fake


@pytest.fixture()
def mock() -> Iterator[responses.RequestsMock]:
    """Answers in registration order, each used once, all of them used."""
    with responses.RequestsMock(assert_all_requests_are_fired=True, registry=OrderedRegistry) as m:
        yield m


DATA_CALLS = [
    pytest.param("GET", f"{BASE}/data/v2/accounts", lambda s: s.data.accounts("ent-1"), id="v2.accounts"),
    pytest.param("GET", f"{BASE}/data/v2/accounts/acc-1/transactions",
                 lambda s: s.data.transactions("ent-1", "acc-1"), id="v2.transactions"),
    pytest.param("GET", f"{BASE}/data/v2/identity", lambda s: s.data.identity("ent-1"), id="v2.identity"),
    pytest.param("GET", RESULTS_URL, lambda s: s.data.results(RESULTS_ID), id="v2.results"),
    pytest.param("POST", f"{BASE}/data/v1/balance", lambda s: s.data_v1.balance("ent-1", "acc-1"), id="v1.balance"),
]


# ---------------------------------------------------------------------- one answer, each status


@pytest.mark.parametrize(("method", "url", "call"), DATA_CALLS)
def test_ok_returns_the_body(session: LeanSession, mock: responses.RequestsMock, method: str, url: str,
                             call: Call) -> None:
    mock.add(method, url, json=OK)
    assert call(session) == OK


@pytest.mark.parametrize(("method", "url", "call"), DATA_CALLS)
def test_failed_raises_with_details(session: LeanSession, mock: responses.RequestsMock, method: str, url: str,
                                    call: Call) -> None:
    mock.add(method, url, json=FAILED)
    with pytest.raises(DataFailedError) as info:
        call(session)
    error = info.value
    assert (error.status, error.status_code) == ("FAILED", 200)
    assert error.granular_status_code == "BANK_MAINTENANCE"
    assert error.status_additional_info == "back at 6"
    assert error.results_id == RESULTS_ID
    assert RESULTS_ID in str(error)


@pytest.mark.parametrize(("method", "url", "call"), DATA_CALLS)
def test_reconnect_required_raises(session: LeanSession, mock: responses.RequestsMock, method: str, url: str,
                                   call: Call) -> None:
    mock.add(method, url, json={"status": "RECONNECT_REQUIRED", "results_id": RESULTS_ID, "message": "reconnect"})
    with pytest.raises(ReconnectRequiredError) as info:
        call(session)
    assert info.value.results_id == RESULTS_ID


@pytest.mark.parametrize(("method", "url", "call"), DATA_CALLS)
def test_consent_expired_raises(session: LeanSession, mock: responses.RequestsMock, method: str, url: str,
                                call: Call) -> None:
    mock.add(method, url, json={"status": "CONSENT_EXPIRED", "results_id": RESULTS_ID, "message": "expired"})
    with pytest.raises(ConsentExpiredError) as info:
        call(session)
    assert info.value.status_code == 200


def test_consent_expired_as_http_403_from_refreshes(session: LeanSession, mock: responses.RequestsMock) -> None:
    mock.post(f"{BASE}/data/v2/refreshes", status=403,
              json={"status": "CONSENT_EXPIRED", "message": "Consent expired", "timestamp": "2026-11-23T10:00:00Z"})
    with pytest.raises(ConsentExpiredError) as info:
        session.data.create_refresh("ent-1")
    assert (info.value.status_code, info.value.status) == (403, "CONSENT_EXPIRED")


@pytest.mark.parametrize("http_status", [200, 202])
@pytest.mark.parametrize(("method", "url", "call"), DATA_CALLS)
def test_pending_becomes_a_pending_result(session: LeanSession, mock: responses.RequestsMock, method: str,
                                          url: str, call: Call, http_status: int) -> None:
    mock.add(method, url, json=PENDING, status=http_status)
    result = call(session)
    assert isinstance(result, PendingResult)
    assert result.results_id == RESULTS_ID
    assert result.body == PENDING
    assert result.status == "PENDING"
    assert RESULTS_ID in repr(result)
    assert len(mock.calls) == 1  # no polling unless asked


def test_refresh_status_pending_is_not_a_data_status(session: LeanSession, mock: responses.RequestsMock) -> None:
    mock.get(f"{BASE}/data/v2/refreshes/rf-1", json={"refresh_id": "rf-1", "status": "PENDING"})
    assert session.data.get_refresh("rf-1") == {"refresh_id": "rf-1", "status": "PENDING"}


# ---------------------------------------------------------------------- waiting


def test_wait_for_results_backs_off_until_ok(session: LeanSession, mock: responses.RequestsMock,
                                             fake_time: FakeTime) -> None:
    for _ in range(6):
        mock.get(RESULTS_URL, json=PENDING)
    mock.get(RESULTS_URL, json=OK)

    backoff = Backoff(initial=1, factor=2, maximum=5)
    result = session.data.wait_for_results(RESULTS_ID, wait_timeout=300, backoff=backoff)

    assert result == OK
    assert len(mock.calls) == 7
    assert fake_time.sleeps == [1, 2, 4, 5, 5, 5]  # grows, then capped


def test_default_backoff_grows_and_is_capped(session: LeanSession, mock: responses.RequestsMock,
                                             fake_time: FakeTime) -> None:
    for _ in range(8):
        mock.get(RESULTS_URL, json=PENDING)
    mock.get(RESULTS_URL, json=OK)
    assert session.data.wait_for_results(RESULTS_ID, wait_timeout=1000) == OK
    sleeps = fake_time.sleeps
    assert sleeps[0] == DEFAULT_BACKOFF.initial
    assert all(later >= earlier for earlier, later in zip(sleeps, sleeps[1:]))
    assert sleeps[1] > sleeps[0]
    assert max(sleeps) == DEFAULT_BACKOFF.maximum
    assert sleeps[-1] == sleeps[-2] == DEFAULT_BACKOFF.maximum


def test_wait_for_results_times_out_without_sleeping(session: LeanSession, fake_time: FakeTime) -> None:
    with responses.RequestsMock() as mock:
        mock.get(RESULTS_URL, json=PENDING)  # forever PENDING
        with pytest.raises(LeanTimeout) as info:
            session.data.wait_for_results(RESULTS_ID, wait_timeout=10, backoff=Backoff(1, 2, 8))
        polls = len(mock.calls)

    assert fake_time.sleeps == [1, 2, 4, 3]  # the last sleep is cut to the deadline
    assert polls == 5  # one more poll at the deadline
    error = info.value
    assert isinstance(error, requests.exceptions.Timeout)
    assert error.phase == "read"
    assert RESULTS_ID in str(error)
    assert "10.0 s" in str(error)


def test_injected_sleep_and_clock_arguments_win(session: LeanSession) -> None:
    fake = FakeTime()
    with responses.RequestsMock() as mock:
        mock.get(RESULTS_URL, json=PENDING)
        with pytest.raises(LeanTimeout):
            session.data.wait_for_results(RESULTS_ID, wait_timeout=3, sleep=fake.sleep, clock=fake.clock,
                                          backoff=Backoff(1, 1, 1))
    assert fake.sleeps == [1, 1, 1]


@pytest.mark.parametrize(("body", "error"), [
    (FAILED, DataFailedError),
    ({"status": "RECONNECT_REQUIRED", "results_id": RESULTS_ID}, ReconnectRequiredError),
    ({"status": "CONSENT_EXPIRED", "results_id": RESULTS_ID}, ConsentExpiredError),
])
def test_failures_while_waiting_raise(session: LeanSession, mock: responses.RequestsMock, fake_time: FakeTime,
                                      body: dict[str, Any], error: type[Exception]) -> None:
    mock.get(RESULTS_URL, json=PENDING)
    mock.get(RESULTS_URL, json=body)
    with pytest.raises(error):
        session.data.wait_for_results(RESULTS_ID)
    assert fake_time.sleeps == [DEFAULT_BACKOFF.initial]


def test_not_found_while_waiting_raises_unless_asked_to_retry(session: LeanSession, mock: responses.RequestsMock,
                                                              fake_time: FakeTime) -> None:
    unknown = {"status": "UNKNOWN_RESULTS_ID", "message": "unknown results id"}
    mock.get(RESULTS_URL, status=404, json=unknown)
    with pytest.raises(NotFoundError):
        session.data.wait_for_results(RESULTS_ID)
    mock.get(RESULTS_URL, status=404, json=unknown)
    mock.get(RESULTS_URL, json=OK)
    assert session.data.wait_for_results(RESULTS_ID, retry_not_found=True) == OK
    assert fake_time.sleeps == [DEFAULT_BACKOFF.initial]


def test_pending_result_wait(session: LeanSession, mock: responses.RequestsMock, fake_time: FakeTime) -> None:
    mock.get(f"{BASE}/data/v2/accounts/acc-1/balances", json=PENDING, status=202)
    mock.get(RESULTS_URL, json=PENDING)
    mock.get(RESULTS_URL, json=OK)
    pending = session.data.balances("ent-1", "acc-1")
    assert isinstance(pending, PendingResult)
    assert pending.wait(timeout=30) == OK
    assert fake_time.sleeps == [DEFAULT_BACKOFF.initial]


def test_pending_result_wait_times_out(session: LeanSession, fake_time: FakeTime) -> None:
    with responses.RequestsMock() as mock:
        mock.get(f"{BASE}/data/v2/identity", json=PENDING)
        mock.get(RESULTS_URL, json=PENDING)
        pending = session.data.identity("ent-1")
        assert isinstance(pending, PendingResult)
        with pytest.raises(LeanTimeout, match=RESULTS_ID):
            pending.wait(timeout=5)
    assert sum(fake_time.sleeps) == 5


def test_wait_true_resolves_inline(session: LeanSession, mock: responses.RequestsMock, fake_time: FakeTime) -> None:
    mock.get(f"{BASE}/data/v2/accounts", json=PENDING, status=202,
             match=[matchers.query_param_matcher({"entity_id": "ent-1", "page": 0, "size": 50})])
    mock.get(RESULTS_URL, json=PENDING)
    mock.get(RESULTS_URL, json=PENDING)
    mock.get(RESULTS_URL, json=OK)
    assert session.data.accounts("ent-1", wait=True, wait_timeout=60) == OK
    assert fake_time.sleeps == [1.0, 2.0]


def test_wait_true_honours_wait_timeout(session: LeanSession, fake_time: FakeTime) -> None:
    with responses.RequestsMock() as mock:
        mock.get(f"{BASE}/data/v2/accounts", json=PENDING)
        mock.get(RESULTS_URL, json=PENDING)
        with pytest.raises(LeanTimeout):
            session.data.accounts("ent-1", wait=True, wait_timeout=2.5)
    assert sum(fake_time.sleeps) == 2.5


def test_wait_true_on_an_ok_answer_does_not_poll(session: LeanSession, mock: responses.RequestsMock,
                                                 fake_time: FakeTime) -> None:
    mock.get(f"{BASE}/data/v2/identity", json=OK)
    assert session.data.identity("ent-1", wait=True) == OK
    assert fake_time.sleeps == []


def test_pending_without_results_id_cannot_be_waited(session: LeanSession, mock: responses.RequestsMock) -> None:
    mock.get(f"{BASE}/data/v2/identity", json={"status": "PENDING", "results_id": None})
    pending = session.data.identity("ent-1")
    assert isinstance(pending, PendingResult)
    assert pending.results_id is None
    with pytest.raises(LeanError) as info:
        pending.wait()
    assert info.value.code == "no-results-id"


def test_iterator_waits_through_a_pending_page(session: LeanSession, mock: responses.RequestsMock,
                                               fake_time: FakeTime) -> None:
    url = f"{BASE}/data/v2/accounts/acc-1/transactions"

    def page(number: int, ids: list[str]) -> dict[str, Any]:
        return {"status": "OK", "data": {"type": "transactions", "transactions": [{"transaction_id": i} for i in ids],
                                         "page": {"number": number, "size": 100, "total_pages": 2}}}

    mock.get(url, json=page(0, ["t0"]),
             match=[matchers.query_param_matcher({"entity_id": "e", "page": 0, "size": 100})])
    mock.get(url, json=PENDING, status=202,
             match=[matchers.query_param_matcher({"entity_id": "e", "page": 1, "size": 100})])
    mock.get(RESULTS_URL, json=page(1, ["t1"]))
    assert [t["transaction_id"] for t in session.data.iter_transactions("e", "acc-1")] == ["t0", "t1"]


def test_data_v1_async_pending_waits_on_v1_results(session: LeanSession, mock: responses.RequestsMock,
                                                   fake_time: FakeTime) -> None:
    v1_ok = {"status": "OK", "results_id": RESULTS_ID, "payload": {"accounts": []}}
    mock.post(f"{BASE}/data/v1/accounts", json=PENDING,
              match=[matchers.json_params_matcher({"entity_id": "ent-1", "async": True})])
    mock.get(f"{BASE}/data/v1/results/{RESULTS_ID}", json=PENDING)
    mock.get(f"{BASE}/data/v1/results/{RESULTS_ID}", json=v1_ok)
    pending = session.data_v1.accounts("ent-1", async_=True)
    assert isinstance(pending, PendingResult)
    assert pending.wait() == v1_ok


@pytest.mark.parametrize("bad", [
    {"initial": 0}, {"factor": 0.5}, {"initial": 10, "maximum": 5},
])
def test_backoff_refuses_settings_that_would_spin(bad: dict[str, float]) -> None:
    with pytest.raises(ConfigurationError):
        Backoff(**bad)


@responses.activate
def test_consent_expired_as_http_403_carries_the_linksdk_advice(session: LeanSession) -> None:
    responses.post(f"{BASE}/data/v2/refreshes", status=403,
                   json={"status": "CONSENT_EXPIRED", "message": "Consent expired", "results_id": "r-9"})
    with pytest.raises(ConsentExpiredError) as info:
        session.data.create_refresh("ent-1")
    assert "LinkSDK" in str(info.value) and info.value.results_id == "r-9"
