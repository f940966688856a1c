"""A Flask app using lean-mtls: one shared LeanSession per app, built in the app factory.

Run it against the local Lean emulator (no Lean account, no network):

    python -m pip install '.[testing]' flask
    LEAN_FAKE=1 flask --app samples/flask/app.py run
    curl http://127.0.0.1:5000/customers/<customer_id>/accounts   # the id is logged at start-up

Against Lean itself, set LEAN_APP_TOKEN, LEAN_CERT, LEAN_KEY, LEAN_CA (and
LEAN_ENVIRONMENT, LEAN_WEBHOOK_SECRET) instead of LEAN_FAKE.

Design:

* ``create_app(config)`` builds the session once and keeps it in
  ``app.extensions["lean"]``; every request (and thread) shares it, so the
  certificate is parsed once and connections are pooled.
* The session is **not** closed per request (``teardown_appcontext`` runs after
  every request): it is closed when the app goes away, through
  ``weakref.finalize`` (which also runs at interpreter exit), or explicitly with
  ``close_lean(app)``.
* Config: ``LEAN`` (a dict of ``LeanSession`` keyword arguments), else
  ``LEAN_FAKE`` (start ``FakeLean``), else ``LeanSession.from_env()``;
  ``LEAN_WEBHOOK_SECRET`` for webhooks.
"""

from __future__ import annotations

import logging
import os
import weakref
from collections.abc import Mapping
from typing import Any

from flask import Flask, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from lean_mtls import LeanAPIError, LeanError, LeanSession, NotFoundError, webhooks
from lean_mtls.errors import DataStatusError

logger = logging.getLogger("lean_sample_flask")


def _build_session(app: Flask) -> LeanSession:
    if app.config.get("LEAN"):
        return LeanSession(**app.config["LEAN"])
    if app.config.get("LEAN_FAKE"):
        from lean_mtls.testing import FakeLean

        fake = FakeLean()
        fake.start()
        app.extensions["lean_fake"] = fake
        app.config["LEAN_WEBHOOK_SECRET"] = fake.webhook_secret
        logger.warning("Using the local Lean emulator at %s; seeded customer_id %s", fake.url, fake.customer_id)
        return fake.session()
    return LeanSession.from_env()


def _close(session: LeanSession, fake: Any) -> None:
    session.close()
    if fake is not None:
        fake.stop()


def close_lean(app: Flask) -> None:
    """Close the app's session (and emulator) now, e.g. on a graceful shutdown."""
    finalizer = app.extensions.pop("lean_finalizer", None)
    if finalizer is not None:
        finalizer()


def lean() -> LeanSession:
    """The current app's shared session."""
    session: LeanSession = current_app.extensions["lean"]
    return session


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update(
        LEAN_FAKE=os.environ.get("LEAN_FAKE") == "1",
        LEAN_WEBHOOK_SECRET=os.environ.get("LEAN_WEBHOOK_SECRET", ""),
    )
    app.config.update(config or {})

    session = _build_session(app)
    app.extensions["lean"] = session
    app.extensions["lean_finalizer"] = weakref.finalize(app, _close, session, app.extensions.get("lean_fake"))

    @app.get("/customers/<customer_id>/accounts")
    def customer_accounts(customer_id: str) -> ResponseReturnValue:
        """Every account of every bank the customer connected."""
        try:
            accounts = [
                {**account, "bank_identifier": entity.get("bank_identifier")}
                for entity in lean().entities.list(customer_id)
                for account in lean().data.iter_accounts(entity["id"])
            ]
        except NotFoundError:
            return jsonify(error="unknown customer", customer_id=customer_id), 404
        except DataStatusError as error:  # RECONNECT_REQUIRED, CONSENT_EXPIRED, FAILED
            return jsonify(error=error.status, message=error.message), 409
        except LeanAPIError as error:
            logger.warning("Lean refused the accounts call: %s", error)
            return jsonify(error=error.status or "lean-error"), 502
        except LeanError as error:  # network, TLS, timeout
            logger.error("Could not reach Lean: %s", error)
            return jsonify(error=error.code), 503
        return jsonify(customer_id=customer_id, accounts=accounts)

    received: list[webhooks.WebhookEvent] = []
    app.extensions["lean_webhooks"] = received

    @app.post("/webhooks/lean")
    def lean_webhook() -> ResponseReturnValue:
        """Verify ``lean-signature`` over the raw body; 400 when it does not match."""
        try:
            event = webhooks.verify_request(
                request.headers, request.get_data(cache=False), current_app.config["LEAN_WEBHOOK_SECRET"]
            )
        except webhooks.WebhookSignatureError as error:
            logger.warning("Refused a webhook: %s", error.reason)
            return jsonify(error="invalid signature", reason=error.reason), 400
        if event.event_id is None or all(e.event_id != event.event_id for e in received[-1000:]):
            received.append(event)  # a real app enqueues the work and answers at once
        return jsonify(received=event.type, event_id=event.event_id)

    return app


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    create_app().run()
