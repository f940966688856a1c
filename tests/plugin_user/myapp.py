"""A tiny WSGI app standing in for a user's Django/Flask app.

It builds one shared ``LeanSession`` from its settings, lists a customer's
accounts, and verifies Lean's webhooks, which is what the plugin's users test.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from typing import Any, Callable

from lean_mtls import LeanSession, webhooks

StartResponse = Callable[..., Any]


class App:
    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = settings
        self._session: LeanSession | None = None
        self._lock = threading.Lock()
        self.events: list[webhooks.WebhookEvent] = []

    @property
    def lean(self) -> LeanSession:
        with self._lock:
            if self._session is None:
                self._session = LeanSession(**self.settings["LEAN"])
            return self._session

    def close(self) -> None:
        if self._session is not None:
            self._session.close()

    # -------------------------------------------------------------- views

    def accounts(self, customer_id: str) -> list[dict[str, Any]]:
        accounts: list[dict[str, Any]] = []
        for entity in self.lean.entities.list(customer_id):
            accounts.extend(self.lean.data.iter_accounts(entity["id"]))
        return accounts

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path, method = environ["PATH_INFO"], environ["REQUEST_METHOD"]
        if method == "POST" and path == "/lean/webhooks":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = environ["wsgi.input"].read(length)
            try:
                event = webhooks.verify(body, environ.get("HTTP_LEAN_SIGNATURE"), self.settings["WEBHOOK_SECRET"])
            except webhooks.WebhookSignatureError:
                start_response("400 Bad Request", [("Content-Type", "text/plain")])
                return [b"bad signature"]
            self.events.append(event)
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]
        parts = path.strip("/").split("/")
        if method == "GET" and len(parts) == 3 and parts[0] == "customers" and parts[2] == "accounts":
            data = json.dumps(self.accounts(parts[1])).encode()
            start_response("200 OK", [("Content-Type", "application/json")])
            return [data]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]
