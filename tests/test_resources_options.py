"""Per-call options, LinkSDK's customer token, PENDING results and the
resources' client interface (issue 9 items 3, 4, 7; issue 12 item 1)."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests
import responses
from responses import matchers

import lean_mtls
from lean_mtls import (
    ConfigurationError,
    InvalidRequestError,
    LeanSession,
    PendingResult,
    ResultPendingError,
    RetryPolicy,
)
from lean_mtls.resources._base import LeanClient
from lean_mtls.resources.customers import Customers
from lean_mtls.resources.data import Data

from .conftest import APP_TOKEN, MOCK_BASE

BASE = MOCK_BASE
AUTH = "https://auth.lean.test"
SECRET = "options-client-secret-0001"
PENDING = {"status": "PENDING", "results_id": "res-9", "message": "Please wait for a webhook or try again later."}
CUS_1 = "36f6b2d4-0c5e-4a8b-9a0e-5a1b2c3d0475"
CUS_2 = "8a2f0c51-7d3e-4b19-a6c4-2e9d1f0b7c33"
OK = {"status": "OK", "data": {"type": "accounts", "accounts": [{"account_id": "a"}]}}


# ---------------------------------------------------------------------- per-call options


def test_headers_reach_the_wire_and_merge_with_the_session_s(session: LeanSession,
                                                              mock: responses.RequestsMock) -> None:
    mock.get(f"{BASE}/insights/v2/expenses", json={"status": "OK"},
             match=[matchers.header_matcher({"lean-correlation-id": "corr-7", "lean-app-token": APP_TOKEN})])
    session.insights.expenses("ent-1", headers={"lean-correlation-id": "corr-7"})


def test_timeout_is_passed_to_the_transport(session: LeanSession, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Any] = []
    real_send = requests.Session.send

    def send(self: requests.Session, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        seen.append(kwargs.get("timeout"))
        return real_send(self, request, **kwargs)

    monkeypatch.setattr(requests.Session, "send", send)
    with responses.RequestsMock() as mock:
        mock.get(f"{BASE}/customers/v1/cus-1", json={"customer_id": "cus-1"})
        mock.get(f"{BASE}/customers/v1/cus-2", json={"customer_id": "cus-2"})
        session.customers.get("cus-1", timeout=(2, 7))
        session.customers.get("cus-2")
    assert seen[0] in ((2, 7), (2.0, 7.0)) and seen[1] != seen[0]


def test_retries_per_call_override_the_session_s(session: LeanSession, mock: responses.RequestsMock) -> None:
    # The mocked session retries nothing; retries= on the call retries the 503.
    mock.get(f"{BASE}/banks/v1/", status=503, json={"status": "BUSY"})
    mock.get(f"{BASE}/banks/v1/", json=[])
    policy = RetryPolicy(retries=1, backoff_factor=0, jitter=0, sleep=lambda _: None)
    assert session.banks.list(retries=policy) == []
    assert len(mock.calls) == 2


def test_idempotency_key_is_sent_where_given_and_generated_for_money(session: LeanSession,
                                                                     mock: responses.RequestsMock) -> None:
    mock.post(f"{BASE}/customers/v1/", json={"customer_id": "c"})
    mock.post(f"{BASE}/payments/account-on-file", json={})
    mock.post(f"{BASE}/payments/account-on-file", json={})
    session.customers.create("u-1", idempotency_key="create-u-1")
    session.payments.create_account_on_file_payment("con-1", "10.00", channel="MOBILE")
    session.payments.create_account_on_file_payment("con-1", "10.00", channel="MOBILE", idempotency_key="order-9")
    keys = [call.request.headers.get("Idempotency-Key") for call in mock.calls]
    assert keys[0] == "create-u-1"
    assert keys[1] and len(keys[1]) == 36 and keys[2] == "order-9"


def test_a_customer_create_without_a_key_sends_none(session: LeanSession, mock: responses.RequestsMock) -> None:
    mock.post(f"{BASE}/customers/v1/", json={"customer_id": "c"})
    session.customers.create("u-1")
    assert "Idempotency-Key" not in mock.calls[0].request.headers


@pytest.mark.parametrize("options", [{"timeot": 3}, {"idempotency_key": ""}, {"headers": ["a"]},
                                     {"idempotency_key": 7}])
def test_bad_options_are_refused_before_sending(session: LeanSession, options: dict[str, Any]) -> None:
    with responses.RequestsMock() as mock:
        with pytest.raises(InvalidRequestError):
            session.customers.get("cus-1", **options)
        assert len(mock.calls) == 0


def test_wait_for_results_timeout_is_the_request_s_and_wait_timeout_the_wait_s(session: LeanSession) -> None:
    clock = iter([0.0, 5.0, 11.0]).__next__
    with responses.RequestsMock() as mock:
        mock.get(f"{BASE}/data/v2/results/res-9", json=PENDING)
        with pytest.raises(lean_mtls.LeanTimeout):
            session.data.wait_for_results("res-9", wait_timeout=10, timeout=3, clock=clock, sleep=lambda _: None)
        assert len(mock.calls) == 2


# ---------------------------------------------------------------------- LinkSDK customer token


@pytest.fixture()
def oauth(client_files: Any) -> Any:
    with LeanSession(APP_TOKEN, cert=client_files.cert, key=client_files.key, ca=client_files.ca,
                     base_url=BASE, auth_url=AUTH, client_secret=SECRET, retries=0) as s:
        yield s


def _token_answers(mock: responses.RequestsMock) -> list[dict[str, str]]:
    forms: list[dict[str, str]] = []

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        form = {k: v[0] for k, v in parse_qs(bytes(request.body).decode()).items()}
        forms.append(form)
        token = f"jwt-{form['scope']}-{len(forms)}-long-enough"
        return 200, {}, json.dumps({"access_token": token, "token_type": "Bearer", "expires_in": 3600,
                                    "scope": form["scope"]})

    mock.add_callback("POST", f"{AUTH}/oauth2/token", callback=answer)
    return forms


def test_customer_token_is_scoped_cached_per_customer_and_redacted(oauth: LeanSession) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        forms = _token_answers(mock)
        one = oauth.customers.access_token(CUS_1)
        again = oauth.customers.access_token(CUS_1)
        other = oauth.customers.access_token(CUS_2)
    assert [f["scope"] for f in forms] == [f"customer.{CUS_1}", f"customer.{CUS_2}"]
    assert forms[0]["grant_type"] == "client_credentials" and forms[0]["client_secret"] == SECRET
    assert one.access_token == again.access_token != other.access_token
    assert one.scope == f"customer.{CUS_1}" and one.token_type == "Bearer"
    for text in (repr(one), str(one), repr(one.access_token), repr(oauth.customers.__dict__)):
        assert str(one.access_token) not in text
    with pytest.raises(TypeError):
        pickle.dumps(one)
    assert json.dumps({"access_token": one.access_token}) == json.dumps({"access_token": str(one.access_token)})


def test_forgetting_a_customer_token_fetches_a_new_one(oauth: LeanSession) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        forms = _token_answers(mock)
        first = oauth.customers.access_token(CUS_1)
        oauth.customers.forget_access_token(CUS_1)
        second = oauth.customers.access_token(CUS_1)
    assert len(forms) == 2 and first.access_token != second.access_token


def test_customer_token_needs_oauth(session: LeanSession) -> None:
    with pytest.raises(ConfigurationError, match="auth='oauth'"):
        session.customers.access_token(CUS_1)


@pytest.mark.parametrize("bad", [
    "", "a\nb", None, "cus-1",
    # each would widen or change the scope on the wire (OAuth scopes are space-separated)
    f"{CUS_1} api", f"{CUS_1}+api", f"{CUS_1}%20api", f"{CUS_1}\tapi", f"{CUS_1},api", f"api {CUS_1}",
    f" {CUS_1}", f"{CUS_1}\u00a0api", f"{CUS_1}\u2003", f"customer.{CUS_1}",
    # UUID spellings that are not Lean's
    CUS_1.replace("-", ""), "{" + CUS_1 + "}", f"urn:uuid:{CUS_1}", CUS_1[:-1], CUS_1 + "0", b"x", 7,
])
def test_customer_token_refuses_bad_ids(oauth: LeanSession, bad: Any) -> None:
    with responses.RequestsMock() as mock:
        with pytest.raises(InvalidRequestError):
            oauth.customers.access_token(bad)
        with pytest.raises(InvalidRequestError):
            oauth.customers.forget_access_token(bad)
        assert len(mock.calls) == 0


def test_customer_token_ids_match_in_any_letter_case(oauth: LeanSession) -> None:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        forms = _token_answers(mock)
        lower = oauth.customers.access_token(CUS_1)
        upper = oauth.customers.access_token(CUS_1.upper())
    assert len(forms) == 1 and forms[0]["scope"] == f"customer.{CUS_1}"
    assert upper.access_token == lower.access_token and upper.customer_id == CUS_1


# ---------------------------------------------------------------------- PENDING


def test_indexing_a_pending_result_says_what_to_do(session: LeanSession, mock: responses.RequestsMock) -> None:
    mock.get(f"{BASE}/data/v2/accounts", json=PENDING, status=202)
    result = session.data.accounts("ent-1")
    assert isinstance(result, PendingResult) and lean_mtls.PendingResult is PendingResult
    for read in (lambda: result["data"], lambda: result.get("data")):
        with pytest.raises(ResultPendingError, match=r"Lean answered PENDING: call \.wait\(\) or pass wait=True"):
            read()
    with pytest.raises(TypeError):  # what indexing raised before, still caught by old code
        result["data"]


def test_a_pending_result_reads_like_the_envelope_lean_sent(session: LeanSession,
                                                            mock: responses.RequestsMock) -> None:
    """BREAK-12 #3: code written from Lean's docs checks ``result["status"]``; the
    envelope keys Lean sent answer, the payload and keys Lean did not send raise the hint."""
    import json

    mock.get(f"{BASE}/data/v2/accounts", json=PENDING, status=202)
    result = session.data.accounts("ent-1")
    assert result["status"] == "PENDING" and result.get("status") == "PENDING"
    assert result["results_id"] == "res-9" and result.get("message") == PENDING["message"]
    assert "status" in result and "message" in result and "data" not in result
    assert dict(result) == PENDING and len(result) == 3 and sorted(result) == sorted(PENDING)
    assert set(result.keys()) == set(PENDING) and dict(result.items()) == PENDING
    assert json.dumps(result.body, sort_keys=True) == json.dumps(PENDING, sort_keys=True)
    for read in (lambda: result["data"], lambda: result.get("data"), lambda: result["insights"],
                 lambda: result.get("insights", {}), lambda: result.get("timestamp")):
        with pytest.raises(ResultPendingError, match=r"Lean answered PENDING: call \.wait\(\)"):
            read()


def test_a_pending_body_with_data_null_still_hides_data(session: LeanSession, mock: responses.RequestsMock) -> None:
    mock.get(f"{BASE}/data/v2/accounts", json={**PENDING, "data": None}, status=202)
    result = session.data.accounts("ent-1")
    assert "data" not in result and "data" not in dict(result) and len(result) == 3
    with pytest.raises(ResultPendingError):
        result["data"]


def test_pending_result_is_exported_lazily() -> None:
    code = "import sys, lean_mtls; assert 'lean_mtls.resources' not in sys.modules; lean_mtls.PendingResult; print(1)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "1\n"


def test_strict_mypy_accepts_wait_true_results(tmp_path: Path) -> None:
    pytest.importorskip("mypy")
    source = tmp_path / "user.py"
    source.write_text(textwrap.dedent("""
        from lean_mtls import LeanSession, PendingResult
        from lean_mtls.resources.types import DataResult

        def first_account(lean: LeanSession, entity_id: str) -> object:
            result: DataResult = lean.data.accounts(entity_id, wait=True)  # no PendingResult in the type
            return result["data"], lean.data.accounts(entity_id, wait=True)["data"]

        def maybe(lean: LeanSession, entity_id: str) -> object:
            result = lean.data.accounts(entity_id)
            if isinstance(result, PendingResult):
                return result.wait()
            return result["data"]

        def typed_iter(lean: LeanSession, entity_id: str) -> list[str]:
            return [t.get("transaction_id", "") for t in lean.data.iter_transactions(entity_id, "a")]
    """))
    import os

    env = {**os.environ, "MYPYPATH": str(Path(lean_mtls.__file__).parent.parent)}
    run = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(source)],
                         capture_output=True, text=True, cwd=tmp_path, env=env)
    assert run.returncode == 0, run.stdout + run.stderr


def test_strict_mypy_rejects_reading_an_unwaited_data_result(tmp_path: Path) -> None:
    """BREAK-12 #2: ``DataResult | PendingResult`` is not indexable for type checkers, so
    mypy points at the PENDING trap; narrowing or ``wait=True`` makes it pass."""
    pytest.importorskip("mypy")
    source = tmp_path / "user.py"
    source.write_text(textwrap.dedent("""
        from lean_mtls import LeanSession, PendingResult
        def trap(lean: LeanSession, e: str) -> object:
            a = lean.data.accounts(e)["data"]  # line 4
            b = lean.data.accounts(e).get("data")  # line 5
            c = lean.data.transactions(e, "acc")["data"]  # line 6
            d = lean.insights.income(e)["insights"]  # line 7
            return a, b, c, d

        def fine(lean: LeanSession, e: str) -> object:
            r = lean.data.accounts(e)
            return lean.data.accounts(e, wait=True)["data"], r.wait() if isinstance(r, PendingResult) else r["data"]
    """))
    import os

    env = {**os.environ, "MYPYPATH": str(Path(lean_mtls.__file__).parent.parent)}
    run = subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(source)],
                         capture_output=True, text=True, cwd=tmp_path, env=env)
    errors = [line for line in run.stdout.splitlines() if ": error:" in line]
    assert sorted({int(line.split(":")[1]) for line in errors}) == [4, 5, 6, 7], run.stdout
    assert all("PendingResult" in line for line in errors), run.stdout


# ---------------------------------------------------------------------- the client interface


class RecordingClient:
    """Anything with request/request_json/request_data serves the resources."""

    base_url = "https://recording.test"

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str, dict[str, Any]]] = []

    def request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        raise AssertionError("resources call request_json/request_data")

    def request_json(self, method: str, path: str, **kwargs: Any) -> Any:
        self.calls.append(("json", method, path, kwargs))
        return {"customer_id": "cus-1"}

    def request_data(self, method: str, path: str, **kwargs: Any) -> Any:
        self.calls.append(("data", method, path, kwargs))
        return OK


def test_resources_need_only_the_client_protocol() -> None:
    client = RecordingClient()
    typed: LeanClient = client
    assert Customers(typed).get("cus-1") == {"customer_id": "cus-1"}
    assert Data(client).accounts("ent-1", headers={"lean-correlation-id": "c"}) == OK
    assert client.calls[0][:3] == ("json", "GET", "/customers/v1/cus-1")
    kind, method, path, kwargs = client.calls[1]
    assert (kind, method, path) == ("data", "GET", "/data/v2/accounts")
    assert kwargs["params"] == {"page": 0, "size": 50, "entity_id": "ent-1"}
    assert kwargs["headers"] == {"lean-correlation-id": "c"}
    assert repr(Customers(client)) == "<Customers of https://recording.test>"


def test_resources_do_not_import_the_session() -> None:
    root = Path(lean_mtls.__file__).parent / "resources"
    for module in root.glob("*.py"):
        text = module.read_text()
        assert "_session" not in text.replace("_session_", ""), f"{module.name} reaches into the session module"
        assert "._request_data" not in text


def test_readme_api_table_lists_every_method(session: LeanSession) -> None:
    import re

    readme = (Path(lean_mtls.__file__).parent.parent / "README.md").read_text()
    section = readme.split("## The whole API", 1)[1].split("\n## ", 1)[0]
    groups = {"banks", "customers", "entities", "data", "data_v1", "insights", "verifications", "payments",
              "consents", "payouts", "refunds"}
    for group in groups:
        assert f"`{group}`" in section, group
        resource = getattr(session, group)
        for name in dir(type(resource)):
            if name.startswith("_") or not callable(getattr(resource, name)):
                continue
            if group == "data" and name.startswith("iter_") and "`iter_*` twin" in section:
                continue  # the data iterators are listed as a family
            assert re.search(rf"\b{name}\b", section), f"README's API table lacks {group}.{name}"


def test_customer_token_cache_gets_fresh_locks_in_a_forked_child(oauth: LeanSession) -> None:
    import os

    if not hasattr(os, "fork"):
        pytest.skip("no fork on this platform")
    tokens = oauth.customers._tokens
    tokens._lock.acquire()  # as if another thread held it at fork time
    try:
        pid = os.fork()
        if pid == 0:  # the child: the cache must not deadlock
            acquired = tokens._lock.acquire(timeout=2)
            os._exit(0 if acquired else 1)
        _, status = os.waitpid(pid, 0)
    finally:
        tokens._lock.release()
    assert os.waitstatus_to_exitcode(status) == 0
