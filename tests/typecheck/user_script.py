"""A user's script, checked with ``mypy --strict`` (tests/test_typing.py, .ci/run).

It touches every public entry point the way an integrator writes it, so a
public signature that strict type checking rejects (a ``Mapping`` where
Flask passes ``Headers``, a ``str`` where a ``Literal`` belongs, an alias
that cannot be imported) fails CI.  ``python tests/typecheck/user_script.py``
also runs it against the local emulator.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator

import requests
from django.http import HttpRequest
from flask import Flask, request

from lean_mtls import (
    DEFAULT_RETRY,
    DEFAULT_TIMEOUT,
    AppTokenAuth,
    AuthModeName,
    CertificateInfo,
    CertSource,
    ClientCredentialsAuth,
    ConfigurationError,
    ConflictError,
    DataOrPending,
    DateLike,
    Environment,
    EnvironmentName,
    HeadersLike,
    LeanAPIError,
    LeanError,
    LeanSession,
    Password,
    PendingResult,
    Region,
    RegionName,
    RetryOption,
    RetryPolicy,
    TimeoutType,
    WebhookBody,
    WebhookSecret,
    to_dataframe,
    webhooks,
)
from lean_mtls.cli import main as cli_main
from lean_mtls.resources.types import Transaction
from lean_mtls.testing import FakeLean, MTLSServer, RecordedRequest, Reply


def build(cert: CertSource, key: CertSource, ca: CertSource, password: Password | None = None,
          environment: EnvironmentName = "sandbox", region: RegionName = "uae",
          timeout: TimeoutType = DEFAULT_TIMEOUT, retries: RetryOption = None) -> LeanSession:
    return LeanSession("app-token", cert=cert, key=key, ca=ca, key_password=password, environment=environment,
                       region=region, timeout=timeout, retries=retries)


def build_variants(cert: str, key: str, ca: str) -> list[LeanSession]:
    auth: AuthModeName = "oauth"
    return [
        LeanSession("app-token", cert=cert, key=key, ca=ca, environment="production", region="ksa"),
        LeanSession("app-token", cert=cert, key=key, ca=ca, environment=Environment.PRODUCTION, region=Region.UAE),
        LeanSession(client_id="id", client_secret="secret", auth=auth, environment="sandbox"),
        LeanSession.from_env(),
        LeanSession.from_env({"LEAN_APP_TOKEN": "t"}, cert=cert, retries=RetryPolicy(retries=1)),
    ]


def sessionwide(lean: LeanSession, entity_id: str, account_id: str, since: DateLike) -> int:
    info: CertificateInfo | None = lean.certificate
    print(info.not_after if info is not None else None)
    banks = lean.banks.list()
    try:
        customer = lean.customers.create(app_user_id="user-42")
    except ConflictError:
        customer = lean.customers.get_by_app_user_id("user-42")
    print(customer["customer_id"], len(banks))
    with lean.retrying(0):
        raw: requests.Response = lean.get("/banks/v1/")
    print(raw.status_code, len(lean.request_json("GET", "/banks/v1/")))
    transactions: Iterator[Transaction] = lean.data.iter_transactions(entity_id, account_id, start_date=since)
    frame = to_dataframe(transactions)
    result: DataOrPending = lean.data.accounts(entity_id)
    if isinstance(result, PendingResult):
        result = result.wait(timeout=30)
    accounts = lean.data.accounts(entity_id, wait=True)["data"]  # wait=True: the data, never PENDING
    print(len(frame), result["status"], type(accounts).__name__, sorted(lean.settings_from_env({})))
    return 0


def plain_requests(token: str, secret: str) -> None:
    with requests.Session() as plain:
        plain.get("https://api.example/x", auth=AppTokenAuth(token, origins=["https://api.example"]), timeout=5)
        oauth = ClientCredentialsAuth("id", secret, token_url="https://auth.example/oauth2/token",
                                      origins=["https://api.example"])
        plain.get("https://api.example/x", auth=oauth, timeout=5)


def flask_app(secret: WebhookSecret) -> Flask:
    app = Flask(__name__)

    @app.post("/webhooks/lean")
    def webhook() -> str:
        event = webhooks.verify_request(request.headers, request.get_data(), secret)
        return event.type

    return app


def django_view(http: HttpRequest, secret: str) -> str:
    body: WebhookBody = http.body
    event = webhooks.verify_request(http.headers, body, secret)
    other = webhooks.verify_request(http.META, body, secret)
    headers: HeadersLike = {"lean-signature": webhooks.sign(body, secret)}
    return event.type + other.type + webhooks.verify_request(headers, body, secret).type


def handler(recorded: RecordedRequest) -> Reply:
    return Reply(200, {"path": recorded.path})


def run() -> int:
    try:
        with FakeLean(transactions=50) as fake, fake.session() as lean:
            account = next(iter(lean.data.iter_accounts(fake.entity_id)))
            since = dt.date.today() - dt.timedelta(days=30)
            return sessionwide(lean, fake.entity_id, account["account_id"], since)
    except LeanAPIError as error:
        print(error.status_code, error.status, error.request_id)
    except (ConfigurationError, LeanError) as error:
        print(error.code, error.message)
    print(DEFAULT_RETRY, MTLSServer, cli_main)
    return 1


if __name__ == "__main__":
    sys.exit(run())
