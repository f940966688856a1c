"""The samples, run against FakeLean: Django, Flask, the cron script, the notebook,
and the ``to_dataframe`` helper the notebook uses.

Sample-only dependencies are optional (``pytest.importorskip``); the ``test``
extra installs them so these tests run in CI.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("trustme")

from lean_mtls import LeanSession, webhooks
from lean_mtls.testing import FakeLean

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeLean]:
    with FakeLean(transactions=1500) as lean:
        yield lean


def envelope(event_type: str, payload: dict[str, Any]) -> bytes:
    return json.dumps({
        "type": event_type,
        "payload": payload,
        "message": "sample event",
        "timestamp": "2025-05-12T15:40:36.398576427Z",
        "event_id": str(uuid.uuid4()),
    }).encode()


# --------------------------------------------------------------------------- Django


@pytest.fixture(scope="module")
def django_project(fake: FakeLean) -> Iterator[Any]:
    django = pytest.importorskip("django")
    from django.conf import settings

    path = str(SAMPLES / "django")
    sys.path.insert(0, path)
    old = os.environ.get("DJANGO_SETTINGS_MODULE")
    os.environ["DJANGO_SETTINGS_MODULE"] = "leansite.settings"
    try:
        if settings.configured and settings.ROOT_URLCONF != "leansite.urls":
            pytest.skip("Django is already configured for another project in this process")
        django.setup()
        from django.test.utils import override_settings, setup_test_environment

        setup_test_environment()
        with override_settings(LEAN=fake.session_kwargs(), LEAN_FAKE=False,
                               LEAN_WEBHOOK_SECRET=fake.webhook_secret):
            yield django
    finally:
        from banking import lean

        lean.reset_session()
        from django.test.utils import teardown_test_environment

        teardown_test_environment()
        sys.path.remove(path)
        if old is None:
            os.environ.pop("DJANGO_SETTINGS_MODULE", None)
        else:
            os.environ["DJANGO_SETTINGS_MODULE"] = old


def test_django_accounts_view(django_project: Any, fake: FakeLean) -> None:
    from django.test import Client

    client = Client()
    response = client.get(f"/customers/{fake.customer_id}/accounts")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["customer_id"] == fake.customer_id
    assert sorted(a["account_id"] for a in body["accounts"]) == sorted(fake.account_ids)
    # The second request reuses the same shared session.
    from banking.lean import get_session

    session = get_session()
    assert client.get(f"/customers/{fake.customer_id}/accounts").status_code == 200
    assert get_session() is session
    assert isinstance(session, LeanSession)


def test_django_unknown_customer_is_404(django_project: Any) -> None:
    from django.test import Client

    response = Client().get(f"/customers/{uuid.uuid4()}/accounts")
    assert response.status_code == 404


def test_django_session_is_built_once_under_concurrency(django_project: Any) -> None:
    from banking import lean

    lean.reset_session()
    built: list[object] = []
    original = lean._build

    def counting_build() -> None:
        built.append(object())
        original()

    lean._build = counting_build  # type: ignore[assignment]
    try:
        barrier = threading.Barrier(16)
        results: list[LeanSession] = []

        def worker() -> None:
            barrier.wait()
            results.append(lean.get_session())

        threads = [threading.Thread(target=worker) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
    finally:
        lean._build = original  # type: ignore[assignment]
    assert len(built) == 1
    assert len(results) == 16 and all(s is results[0] for s in results)


def test_django_webhook_verifies_signatures(django_project: Any, fake: FakeLean) -> None:
    from django.test import Client

    client = Client()
    body = envelope("entity.created", {"id": fake.entity_id, "customer_id": fake.customer_id})
    good = client.post("/webhooks/lean", data=body, content_type="application/json",
                       headers={"lean-signature": webhooks.sign(body, fake.webhook_secret)})
    assert good.status_code == 200
    assert good.json()["received"] == "entity.created"

    forged = client.post("/webhooks/lean", data=body, content_type="application/json",
                         headers={"lean-signature": webhooks.sign(body, "not-the-secret")})
    assert forged.status_code == 400
    assert forged.json()["reason"] == "mismatch"
    unsigned = client.post("/webhooks/lean", data=body, content_type="application/json")
    assert unsigned.status_code == 400
    assert client.get("/webhooks/lean").status_code == 405


def test_django_webhook_sent_by_fake_lean(django_project: Any, fake: FakeLean) -> None:
    """End to end: FakeLean signs and POSTs, the Django app (served over WSGI) verifies."""
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    from banking import views
    from django.core.wsgi import get_wsgi_application

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

    server = make_server("127.0.0.1", 0, get_wsgi_application(), handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        before = len(views.received)
        url = f"http://127.0.0.1:{server.server_port}/webhooks/lean"
        status = fake.send_webhook(url, "payment.created", {"id": str(uuid.uuid4()), "status": "ACCEPTED_BY_BANK"})
        assert status == 200
        assert views.received[before].type == "payment.created"
    finally:
        server.shutdown()
        server.server_close()


# --------------------------------------------------------------------------- Flask


def load_flask_sample() -> Any:
    pytest.importorskip("flask")
    spec = importlib.util.spec_from_file_location("lean_flask_sample", SAMPLES / "flask" / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_flask_app(fake: FakeLean) -> None:
    sample = load_flask_sample()
    app = sample.create_app({"LEAN": fake.session_kwargs(), "LEAN_FAKE": False,
                             "LEAN_WEBHOOK_SECRET": fake.webhook_secret, "TESTING": True})
    session = app.extensions["lean"]
    assert isinstance(session, LeanSession)
    closed: list[int] = []
    original_close = session.close
    session.close = lambda: (closed.append(1), original_close())[1]

    client = app.test_client()
    for _ in range(3):
        response = client.get(f"/customers/{fake.customer_id}/accounts")
        assert response.status_code == 200, response.data
        assert sorted(a["account_id"] for a in response.get_json()["accounts"]) == sorted(fake.account_ids)
    assert app.extensions["lean"] is session
    assert closed == []  # not closed at request teardown

    body = envelope("results.ready", {"id": str(uuid.uuid4())})
    ok = client.post("/webhooks/lean", data=body, content_type="application/json",
                     headers={"lean-signature": webhooks.sign(body, fake.webhook_secret)})
    assert ok.status_code == 200 and ok.get_json()["received"] == "results.ready"
    bad = client.post("/webhooks/lean", data=body, content_type="application/json",
                      headers={"lean-signature": "sha512=" + "ab" * 64})
    assert bad.status_code == 400 and bad.get_json()["reason"] == "mismatch"
    assert client.get(f"/customers/{uuid.uuid4()}/accounts").status_code == 404

    sample.close_lean(app)
    assert closed == [1]
    sample.close_lean(app)  # idempotent
    assert closed == [1]


def test_flask_app_with_fake_lean_flag() -> None:
    sample = load_flask_sample()
    app = sample.create_app({"LEAN_FAKE": True, "TESTING": True})
    try:
        fake_lean = app.extensions["lean_fake"]
        response = app.test_client().get(f"/customers/{fake_lean.customer_id}/accounts")
        assert response.status_code == 200
        assert response.get_json()["accounts"]
    finally:
        sample.close_lean(app)


# --------------------------------------------------------------------------- cron_sync


def run_cron(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("LEAN_")}
    environ.update(env or {})
    return subprocess.run([sys.executable, str(SAMPLES / "cron_sync.py"), *args], capture_output=True, text=True,
                          env=environ, timeout=180, check=False)


def busy_day(fake: FakeLean) -> tuple[dt.date, int]:
    """A recent day with transactions, and how many (over every account)."""
    with fake.session() as session:
        counts: dict[str, int] = {}
        for account_id in fake.account_ids:
            for tx in session.data.iter_transactions(fake.entity_id, account_id,
                                                     start_date=dt.date.today() - dt.timedelta(days=20),
                                                     end_date=dt.date.today() - dt.timedelta(days=1)):
                day = tx["booking_date_time"][:10]
                counts[day] = counts.get(day, 0) + 1
    day = max(counts, key=lambda d: (counts[d], d))
    return dt.date.fromisoformat(day), counts[day]


def test_cron_sync_is_idempotent(fake: FakeLean, tmp_path: Path) -> None:
    day, expected = busy_day(fake)
    env = {"LEAN_APP_TOKEN": fake.app_token, "LEAN_CERT": str(fake.cert_file), "LEAN_KEY": str(fake.key_file),
           "LEAN_CA": str(fake.ca_file), "LEAN_BASE_URL": fake.url, "LEAN_ENTITY_ID": fake.entity_id}
    out = tmp_path / "out"
    first = run_cron("--date", day.isoformat(), "--output", str(out), env=env)
    assert first.returncode == 0, first.stderr
    path = out / f"transactions-{day}.jsonl"
    content = path.read_bytes()
    rows = [json.loads(line) for line in content.splitlines()]
    assert len(rows) == expected
    assert len({r["transaction_id"] for r in rows}) == expected

    second = run_cron("--date", day.isoformat(), "--output", str(out), env=env)
    assert second.returncode == 0, second.stderr
    assert path.read_bytes() == content  # same rows, same order, no duplicates
    assert "(0 new)" in second.stderr
    assert [p.name for p in out.iterdir()] == [path.name]  # no temporary file left behind


def test_cron_sync_with_fake_twice(tmp_path: Path) -> None:
    day = (dt.date.today() - dt.timedelta(days=2)).isoformat()
    first = run_cron("--fake", "--date", day, "--output", str(tmp_path))
    assert first.returncode == 0, first.stderr
    content = (tmp_path / f"transactions-{day}.jsonl").read_bytes()
    second = run_cron("--fake", "--date", day, "--output", str(tmp_path))
    assert second.returncode == 0, second.stderr
    assert (tmp_path / f"transactions-{day}.jsonl").read_bytes() == content


def test_cron_sync_exit_codes(fake: FakeLean, tmp_path: Path) -> None:
    no_config = run_cron("--output", str(tmp_path))
    assert no_config.returncode == 2
    assert "LEAN_APP_TOKEN" in no_config.stderr
    env = {"LEAN_APP_TOKEN": "wrong-token", "LEAN_CERT": str(fake.cert_file), "LEAN_KEY": str(fake.key_file),
           "LEAN_CA": str(fake.ca_file), "LEAN_BASE_URL": fake.url, "LEAN_ENTITY_ID": fake.entity_id}
    refused = run_cron("--output", str(tmp_path), env=env)
    assert refused.returncode == 1
    assert "Traceback" not in refused.stderr
    assert not list(tmp_path.iterdir())  # nothing written on failure


# --------------------------------------------------------------------------- to_dataframe and the notebook


def test_to_dataframe_flattens_transactions() -> None:
    pd = pytest.importorskip("pandas")
    from lean_mtls._dataframe import to_dataframe

    frame = to_dataframe(iter([
        {"transaction_id": "a", "amount": {"amount": 10.5, "currency": "AED"}, "credit_debit_indicator": "DEBIT",
         "booking_date_time": "2025-03-01T10:21:32.349Z", "transaction_information": "CARREFOUR", "extra": 1},
        {"transaction_id": "b", "amount": {"amount": 3, "currency": "AED"}, "credit_debit_indicator": "CREDIT",
         "booking_date_time": "2025-04-01T08:00:00.123456789Z"},
    ]))
    assert list(frame["amount"]) == [10.5, 3.0]
    assert list(frame["currency"]) == ["AED", "AED"]
    assert list(frame["signed_amount"]) == [-10.5, 3.0]
    assert str(frame["booking_date_time"].dtype).startswith("datetime64")
    assert frame["booking_date_time"][0] == pd.Timestamp("2025-03-01T10:21:32.349Z")
    assert "extra" in frame.columns and "transaction_information" in frame.columns
    assert to_dataframe([]).empty


def test_to_dataframe_without_pandas_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from lean_mtls._dataframe import to_dataframe

    monkeypatch.setitem(sys.modules, "pandas", None)  # makes `import pandas` fail
    with pytest.raises(ImportError, match=r"pip install pandas.*/path/to/lean-mtls\[pandas\]"):
        to_dataframe([{"transaction_id": "a"}])


def test_to_dataframe_takes_what_the_data_calls_return(fake: FakeLean) -> None:
    """Issue 12 item 4: to_dataframe(lean.data.transactions(...)) used to fail with
    "dictionary update sequence element #0 has length 1"."""
    pytest.importorskip("pandas")
    from lean_mtls import to_dataframe

    with fake.session() as lean:
        account_id = lean.data.accounts(fake.entity_id, wait=True)["data"]["accounts"][0]["account_id"]
        start = dt.date.today() - dt.timedelta(days=30)
        expected = list(lean.data.iter_transactions(fake.entity_id, account_id, start_date=start))
        ids = [t["transaction_id"] for t in expected]
        result = lean.data.transactions(fake.entity_id, account_id, start_date=start, size=100, wait=True)
        first_page = ids[:100]
        assert list(to_dataframe(result)["transaction_id"]) == first_page  # Data v2: data.transactions
        assert list(to_dataframe(result["data"])["transaction_id"]) == first_page  # the inner page
        walked = lean.data.iter_transactions(fake.entity_id, account_id, start_date=start)
        assert list(to_dataframe(walked)["transaction_id"]) == ids  # an iterator, consumed
        assert list(to_dataframe([result, result])["transaction_id"]) == first_page * 2  # pages
        accounts = to_dataframe(lean.data.accounts(fake.entity_id, wait=True))
        assert account_id in list(accounts["account_id"])
        balances = to_dataframe(lean.data.balances(fake.entity_id, account_id, wait=True))
        assert len(balances) >= 1
        identity = to_dataframe(lean.data.identity(fake.entity_id, wait=True))
        assert len(identity) == 1  # one object under data.identity is one row
        v1 = lean.data_v1.transactions(fake.entity_id, account_id, wait=True)
        assert len(to_dataframe(v1)) == len(v1["payload"]["transactions"]) > 0  # Data v1: payload.<type>
        customers = lean.customers.list()
        assert len(to_dataframe(customers)) >= 1  # a flat page {"data": [...], "page": {...}}


@pytest.mark.parametrize("body", [
    {"content": [{"refresh_id": "r1"}, {"refresh_id": "r2"}], "page": {"number": 0, "total_pages": 1}},
    {"data": [{"refresh_id": "r1"}, {"refresh_id": "r2"}], "page": {"number": 0}},
    {"status": "OK", "type": "refreshes", "data": {"type": "refreshes", "refreshes": [{"refresh_id": "r1"},
                                                                                  {"refresh_id": "r2"}]}},
    [{"refresh_id": "r1"}, {"refresh_id": "r2"}],
    ({"refresh_id": r} for r in ("r1", "r2")),
])
def test_to_dataframe_envelope_shapes(body: Any) -> None:
    pytest.importorskip("pandas")
    from lean_mtls import to_dataframe

    assert list(to_dataframe(body)["refresh_id"]) == ["r1", "r2"]


@pytest.mark.parametrize(("value", "says"), [
    ({"status": "PENDING", "results_id": "abc", "data": None}, r"PENDING .*call \.wait\(\).*wait=True"),
    ({"transaction_id": "t1", "flags": ["x"]}, r"not one of Lean's envelopes.*pass \[obj\]"),
    ("transactions", r"cannot take a str"),
    (b"[]", r"cannot take a bytes"),
    (42, r"cannot take a int"),
    ([{"a": 1}, "b"], r"item 1 is a str, not a JSON object"),
    ([["transaction_id", "t1"]], r"item 0 is a list"),
])
def test_to_dataframe_says_what_to_pass(value: Any, says: str) -> None:
    from lean_mtls import InvalidRequestError, to_dataframe

    with pytest.raises(InvalidRequestError, match=says) as info:
        to_dataframe(value)
    if "PENDING" not in says:
        assert "iter_transactions" in str(info.value)  # what to pass instead


def test_to_dataframe_of_a_pending_result(fake: FakeLean) -> None:
    from lean_mtls import InvalidRequestError, to_dataframe

    with fake.session() as lean:
        fake.set_data_status("PENDING")
        pending = lean.data.accounts(fake.entity_id)
        with pytest.raises(InvalidRequestError, match=r"PENDING.*\.wait\(\).*wait=True"):
            to_dataframe(pending)
        with pytest.raises(InvalidRequestError, match="PENDING"):
            to_dataframe(pending.body)
        pending.wait(timeout=30)  # leave nothing queued for the next test


def test_notebook_runs_headless(tmp_path: Path) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    pytest.importorskip("pandas")
    pytest.importorskip("matplotlib")
    import lean_mtls

    if not hasattr(lean_mtls, "to_dataframe"):
        pytest.skip("lean_mtls.to_dataframe is not exported yet: add `from ._dataframe import to_dataframe` "
                    "(and '__all__' entry) to lean_mtls/__init__.py")
    notebook = nbformat.read(SAMPLES / "notebook.ipynb", as_version=4)
    environ = {k: v for k, v in os.environ.items() if not k.startswith("LEAN_")}
    client = nbclient.NotebookClient(notebook, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute(env=environ)  # a kernel without any LEAN_* variable: FakeLean mode
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert "transactions from" in text
    assert any("image/png" in o.get("data", {}) for o in outputs)  # the monthly spend plot
    assert any("text/html" in o.get("data", {}) for o in outputs)  # the table


def test_quickstart_sample_runs() -> None:
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parent.parent / "samples" / "quickstart.py"
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "The server saw client certificate CN='my-app'" in done.stdout
    assert "LeanTLSError (side=server)" in done.stdout
