"""How an app's own test suite uses the lean_mtls pytest plugin.

No import of lean_mtls.testing: the fixtures come from the plugin
(``pytest11`` entry point, or ``-p lean_mtls.testing.pytest_plugin``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from myapp import App

from lean_mtls import DataFailedError, LeanSession, NotFoundError


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture
def app(lean_server) -> Iterator[App]:
    application = App({"LEAN": lean_server.session_kwargs(), "WEBHOOK_SECRET": lean_server.webhook_secret})
    yield application
    application.close()


@pytest.fixture
def live_app(app: App) -> Iterator[str]:
    server: WSGIServer = make_server("127.0.0.1", 0, app, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def test_accounts_view_against_the_emulator(app: App, lean_server) -> None:
    environ = {"PATH_INFO": f"/customers/{lean_server.customer_id}/accounts", "REQUEST_METHOD": "GET"}
    status: list[str] = []
    body = b"".join(app(environ, lambda s, h: status.append(s)))
    assert status == ["200 OK"]
    accounts = json.loads(body)
    assert [a["account_id"] for a in accounts] == lean_server.account_ids
    # the app really went through the emulator, over mutual TLS
    assert any(r.path.startswith("/data/v2/accounts") and r.client_cert for r in lean_server.requests)


def test_lean_session_fixture(lean_session: LeanSession, lean_server) -> None:
    customer = lean_session.customers.get(lean_server.customer_id)
    assert customer["app_user_id"] == lean_server.app_user_id


def test_a_queued_failure_is_left_behind(lean_session: LeanSession, lean_server) -> None:
    lean_server.set_data_status("FAILED", times=3)
    with pytest.raises(DataFailedError):
        lean_session.data.accounts(lean_server.entity_id)


def test_and_does_not_leak_into_the_next_test(lean_session: LeanSession, lean_server) -> None:
    assert lean_session.data.accounts(lean_server.entity_id)["status"] == "OK"


def test_webhook_view_verifies_signatures(app: App, live_app: str, lean_server, lean_server_factory) -> None:
    payload = {"id": "3f6c", "customer_id": lean_server.customer_id, "status": "ACCEPTED_BY_BANK"}
    assert lean_server.send_webhook(live_app + "/lean/webhooks", "payment.created", payload) == 200
    assert app.events[-1].type == "payment.created"
    assert app.events[-1].payload == payload
    impostor = lean_server_factory(webhook_secret="not-the-app-secret", transactions=0)
    assert impostor.send_webhook(live_app + "/lean/webhooks", "payment.created", payload) == 400
    assert len(app.events) == 1


def test_factory_servers_have_their_own_options(lean_server_factory, lean_server) -> None:
    other = lean_server_factory(seed=99, transactions=25, app_token="another-token")
    assert other.url != lean_server.url and other.customer_id != lean_server.customer_id
    with other.session() as session:
        transactions = list(session.data.iter_transactions(other.entity_id, other.account_ids[0]))
    assert len(transactions) == 25


def test_oauth_settings(lean_server) -> None:
    with LeanSession(**lean_server.session_kwargs(auth="oauth")) as session:
        assert session.banks.list()
    assert any(r.path == "/oauth2/token" for r in lean_server.requests)


# Isolation: each test starts from the seeded state (pytest runs these in file order).

def test_a_test_creates_a_customer_and_queues_a_status(lean_session: LeanSession, lean_server) -> None:
    lean_session.customers.create("isolation-user")
    lean_server.set_data_status("PENDING")  # queued and never consumed here


def test_the_next_test_sees_neither(lean_session: LeanSession, lean_server) -> None:
    assert lean_server.requests == [] and lean_server.handshake_errors == []  # the log is reset too
    with pytest.raises(NotFoundError):
        lean_session.customers.get_by_app_user_id("isolation-user")
    assert lean_session.data.accounts(lean_server.entity_id)["status"] == "OK"


def test_the_persistent_server_keeps_state_across_tests(lean_server_persistent) -> None:
    with lean_server_persistent.session() as session:
        session.customers.create("kept-user")


def test_and_the_next_test_still_finds_it(lean_server_persistent, lean_server) -> None:
    with lean_server_persistent.session() as session:
        assert session.customers.get_by_app_user_id("kept-user")["app_user_id"] == "kept-user"
    assert lean_server_persistent.customer_id == lean_server.customer_id  # same seeded ids
