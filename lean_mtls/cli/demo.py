"""``lean-mtls demo``: a real mutual-TLS session against the local emulator
(:class:`lean_mtls.testing.FakeLean`, the ``testing`` extra); no account, no network."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from collections.abc import Mapping
from typing import Any, TextIO

from .. import ConflictError
from ._output import EXIT_OK, EXIT_PROBLEM, EXIT_USAGE, TESTING_EXTRA_HINT
from ._settings import non_negative_int


def add_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    demo = sub.add_parser(
        "demo",
        parents=[common],
        help="walk a real mTLS session against a local Lean emulator (no account, no network)",
        description="Start a local Lean emulator that demands a client certificate and use the SDK against it: "
        "banks, customers, accounts, balances, a year of transactions, a payment intent and a signed webhook. "
        f"Needs the testing extra: {TESTING_EXTRA_HINT}",
    )
    demo.add_argument("--transactions", type=non_negative_int, default=3000, metavar="N",
                      help="transactions the emulator seeds (default: 3000)")
    demo.add_argument("--no-progress", action="store_true", help="no progress line, even on a terminal")
    demo.set_defaults(func=cmd_demo)


def _money(value: float, currency: str) -> str:
    return f"{value:,.2f} {currency}"


def _items(body: Any, key: str) -> list[Any]:
    """The list under ``data.<key>`` of a Data API v2 result (``[]`` when absent)."""
    data = body.get("data") if isinstance(body, Mapping) else None
    items = data.get(key) if isinstance(data, Mapping) else None
    return list(items) if isinstance(items, list) else []


def _merchant(tx: Mapping[str, Any]) -> str | None:
    details = tx.get("merchant_details")
    if isinstance(details, Mapping):
        for name in ("merchant_name", "name"):
            if isinstance(details.get(name), str) and details[name]:
                return str(details[name])
    return None


def _amount(tx: Mapping[str, Any]) -> tuple[float, str]:
    amount = tx.get("amount")
    if isinstance(amount, Mapping):
        return float(amount.get("amount") or 0), str(amount.get("currency") or "")
    return float(amount or 0), str(tx.get("currency") or "")


class _Progress:
    """``\r``-updated count on a terminal; silent otherwise."""

    def __init__(self, out: TextIO, enabled: bool, label: str) -> None:
        self.out, self.enabled, self.label = out, enabled, label
        self.count = 0
        self.shown = False

    def step(self) -> None:
        self.count += 1
        if self.enabled and self.count % 100 == 0:
            self.out.write(f"\r   {self.label}: {self.count} ...")
            self.out.flush()
            self.shown = True

    def done(self) -> None:
        if self.shown:
            self.out.write("\r" + " " * (len(self.label) + 20) + "\r")
            self.out.flush()


class _WebhookReceiver:
    """A tiny HTTP server on 127.0.0.1 that verifies Lean webhook signatures."""

    def __init__(self, secret: str) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        from .. import webhooks

        receiver = self
        self.events: list[webhooks.WebhookEvent] = []
        self.rejected: list[str] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    event = webhooks.verify_request(dict(self.headers.items()), body, secret)
                except webhooks.WebhookSignatureError as error:
                    receiver.rejected.append(error.reason)
                    self.send_response(400)
                else:
                    receiver.events.append(event)
                    self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature of the base
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks/lean"
        import threading

        self.thread = threading.Thread(target=self.server.serve_forever, name="lean-demo-webhooks", daemon=True)

    def __enter__(self) -> _WebhookReceiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def run_demo(out: TextIO, *, transactions: int = 3000, progress: bool = False) -> int:
    """The ``demo`` command: a real mTLS session against :class:`~lean_mtls.testing.FakeLean`."""
    import uuid

    import requests

    from ..testing import FakeLean

    def say(text: str = "") -> None:
        out.write(text + "\n")
        out.flush()

    with FakeLean(transactions=transactions) as lean, lean.session() as session:
        cert = session.certificate
        say(f"Local Lean emulator on {lean.url} (HTTPS, demands a client certificate; no network, no account)")
        if cert is not None:
            say(f"Client certificate: {cert.subject} (valid until {cert.not_after:%Y-%m-%d})")
        say()

        # 1. banks
        banks = session.banks.list()
        recorded = list(getattr(lean, "requests", []) or [])
        tls = getattr(recorded[-1], "tls_version", None) if recorded else None
        say(f"1. Banks: {len(banks)} banks" + (f" (over {tls}, mutual TLS)" if tls else ""))
        for bank in banks[:5]:
            say(f"   - {bank.get('name')} [{bank.get('identifier')}] {bank.get('country_code', '')}".rstrip())
        if len(banks) > 5:
            say(f"   ... and {len(banks) - 5} more")

        # 2. customers
        app_user_id = f"demo-user-{uuid.uuid4().hex[:8]}"
        customer = session.customers.create(app_user_id=app_user_id)
        say(f"2. Customer: created {customer.get('customer_id')} for app_user_id {app_user_id!r}")
        try:
            session.customers.create(app_user_id=app_user_id)
        except ConflictError as error:
            again = session.customers.get_by_app_user_id(app_user_id)
            say(f"   creating it again -> HTTP {error.status_code} {error.status}; "
                f"fetched the existing one instead ({again.get('customer_id')})")

        # 3. accounts and balances of the seeded customer's bank connection
        entity_id, customer_id = lean.entity_id, lean.customer_id
        say(f"3. Accounts of the seeded customer {customer_id} (entity {entity_id}):")
        accounts = list(session.data.iter_accounts(entity_id))
        for account in accounts:
            account_id = account.get("account_id", "")
            balances = _items(session.data.balances(entity_id, account_id, wait=True), "balances")
            balance_text = ""
            if balances:
                value, currency = _amount(balances[0])
                sign = "-" if str(balances[0].get("credit_debit_indicator", "")).upper() == "DEBIT" else ""
                balance_text = f", balance {sign}{_money(value, currency)}"
            name = account.get("nickname") or account.get("description") or account.get("account_sub_type") or ""
            say(f"   - {account_id} {name} ({account.get('currency', '?')}){balance_text}")

        # 4. a year of transactions
        end = dt.date.today()
        start = end - dt.timedelta(days=365)
        before = len(getattr(lean, "requests", []) or [])
        meter = _Progress(out, progress, "transactions fetched")
        money_in: dict[str, float] = {}
        money_out: dict[str, float] = {}
        merchants: dict[str, float] = {}
        for account in accounts:
            for tx in session.data.iter_transactions(entity_id, account.get("account_id", ""),
                                                     start_date=start, end_date=end):
                meter.step()
                value, currency = _amount(tx)
                if str(tx.get("credit_debit_indicator", "")).upper() == "CREDIT":
                    money_in[currency] = money_in.get(currency, 0.0) + value
                else:
                    money_out[currency] = money_out.get(currency, 0.0) + value
                    merchant = _merchant(tx)
                    if merchant is not None:
                        merchants[merchant] = merchants.get(merchant, 0.0) + value
        meter.done()
        pages = len(getattr(lean, "requests", []) or []) - before
        say(f"4. Transactions {start} .. {end}: {meter.count} in {pages} requests (pages of 100, fetched lazily)")
        for currency in sorted(set(money_in) | set(money_out)):
            say(f"   in {_money(money_in.get(currency, 0.0), currency)}, "
                f"out {_money(money_out.get(currency, 0.0), currency)}")
        top = sorted(merchants.items(), key=lambda item: -item[1])[:5]
        if top:
            say("   top merchants by spend: " + ", ".join(f"{name} ({value:,.2f})" for name, value in top))

        # 5. a payment intent
        intent = session.payments.create_intent(customer_id, 250.0, "AED", description="lean-mtls demo invoice")
        say(f"5. Payment intent: {intent.get('payment_intent_id')} for "
            f"{_money(float(intent.get('amount', 250.0)), str(intent.get('currency', 'AED')))}")

        # 6. a signed webhook, verified by a receiver on 127.0.0.1
        with _WebhookReceiver(lean.webhook_secret) as receiver:
            payload = {
                "id": str(uuid.uuid4()),
                "intent_id": intent.get("payment_intent_id"),
                "customer_id": customer_id,
                "status": "ACCEPTED_BY_BANK",
                "amount": 250.0,
                "currency": "AED",
            }
            status = lean.send_webhook(receiver.url, "payment.created", payload)
            with requests.Session() as plain:  # a forgery: same body shape, wrong signature
                plain.trust_env = False
                forged = plain.post(receiver.url, json={"type": "payment.created", "payload": payload},
                                    headers={"lean-signature": "sha512=" + "0" * 128}, timeout=5)
            if receiver.events:
                event = receiver.events[0]
                say(f"6. Webhook: {event.type} received on {receiver.url}, signature verified "
                    f"(HTTP {status}; event id {event.event_id})")
            else:
                say(f"6. Webhook: NOT verified (HTTP {status}; rejected: {', '.join(receiver.rejected) or '-'})")
                return EXIT_PROBLEM
            say(f"   a forged webhook was refused with HTTP {forged.status_code} ({', '.join(receiver.rejected)})")

        total = len(getattr(lean, "requests", []) or [])
        say()
        say(f"Done: {total} requests over mutual TLS to {lean.url}. Next: 'lean-mtls check --help' "
            "to check your real Lean credentials.")
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    try:
        import trustme  # noqa: F401 - the testing extra

        from ..testing import FakeLean  # noqa: F401
    except ImportError as exc:
        missing = getattr(exc, "name", None) or "trustme"
        print(f"error: the demo needs the testing extra ({missing} is not installed): {TESTING_EXTRA_HINT}",
              file=sys.stderr)
        return EXIT_USAGE
    return run_demo(sys.stdout, transactions=args.transactions,
                    progress=sys.stdout.isatty() and not args.no_progress)
