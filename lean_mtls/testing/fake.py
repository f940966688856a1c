"""``FakeLean``: a local Lean API over real mutual TLS, for demos and tests.

::

    from lean_mtls.testing import FakeLean

    with FakeLean() as lean:
        session = lean.session()                  # a real LeanSession, real mTLS
        banks = session.banks.list()
        accounts = session.data.accounts(lean.entity_id)
        for tx in session.data.iter_transactions(lean.entity_id, lean.account_ids[0]):
            ...

What it is:

* A threaded HTTPS server on ``127.0.0.1`` (ephemeral port) built on
  :class:`~lean_mtls.testing.MTLSServer`.  At :meth:`FakeLean.start` it makes
  its own PKI with ``trustme`` (the ``[testing]`` extra): a server
  CA and a server certificate for ``127.0.0.1``/``localhost``, and a client
  certificate issued through an intermediate CA, as Lean's portal does.  The
  three files Lean's portal gives you are written to a private (0700)
  temporary directory: :attr:`~FakeLean.cert_file` (the client certificate
  alone), :attr:`~FakeLean.key_file` (its key, 0600) and
  :attr:`~FakeLean.ca_file` (the server CA plus the client chain, like
  ``lean_public_cert_chain.pem``).  The server trusts only the client *root*,
  so a client must send the intermediate as well, as with Lean.  The directory
  is removed by :meth:`~FakeLean.stop`.  With a plain ``requests.Session``,
  set ``trust_env = False`` (or pass ``verify=`` per call): requests lets
  ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE`` override a ``session.verify``
  attribute, and the emulator's CA is then not used.
* It checks credentials as Lean does: the ``lean-app-token`` header, or an
  ``Authorization: Bearer`` token it issued from ``POST /oauth2/token``
  (OAuth2 client credentials, same origin), never both at once (400
  ``INVALID_PARAMETERS``), and with ``require_client_cert=True`` (the default)
  the TLS layer refuses clients without a certificate from its client CA.
* It speaks Lean's published contract (:mod:`lean_mtls.testing._contract`,
  vendored from Lean's Postman collections).  Routing reads the one endpoint
  list (:mod:`lean_mtls.resources._endpoints`): every endpoint (UAE and KSA),
  method and path exactly as Lean spells them (``POST /customers/v1/`` and
  ``GET /banks/v1/`` with their trailing slash; the other spelling is 404
  ``INVALID_URL`` or 405 ``INVALID_HTTP_METHOD``).  Each resource group is a
  module of :mod:`lean_mtls.testing._routes`.  Requests are checked as Lean
  checks them: a missing required field is 400 ``MISSING_PARAMETERS``, a wrong
  value 400 ``INVALID_PARAMETERS`` (a field of another JSON type than in
  Lean's request, an unknown currency, a value outside Lean's vocabulary), a
  malformed id (path, query or body; only the canonical 8-4-4-4-12 UUID
  spelling, in any letter case, is an id) 400 ``INVALID_PARAMETERS`` before
  any lookup, an unknown one 404; a payment past an account-on-file consent's
  limits 400 ``CONSENT_LIMIT_EXCEEDED``; an ``Idempotency-Key`` reused with a
  different body 409 ``IDEMPOTENCY_KEY_REUSED`` (the emulator's choice: what
  Lean answers is UNCERTAIN); error bodies
  are ``{"timestamp", "status", "message", "metadata": null}``, plus
  ``results_id`` on data endpoints.  Answers carry what the emulator models
  (its seeded, stateful data); a success answer is then given every key of
  Lean's example answer for that endpoint that it lacks, with a value of
  Lean's kind (Lean's vocabulary where the example has a literal), so fields
  it does not model still arrive in Lean's shape.  Only one endpoint needs
  that (a KSA corporate's commercial-registry record); every other answer is
  whole from the emulator's state.  ``tests/test_conformance_fake.py`` checks
  every one of Lean's 266 example answers against it, with and without the
  fill-in.
* It sends Lean's webhooks by itself when its state changes, to
  :attr:`~FakeLean.webhook_url` (signed like :meth:`~FakeLean.send_webhook`):
  ``entity.data.refresh.updated`` when a refresh finishes,
  ``payment_intent.created``, ``payment.created`` (LinkSDK ``pay()``, an
  account-on-file payment), ``payment.updated``
  (:meth:`~FakeLean.update_payment`) and ``results.ready`` when PENDING data
  is ready; :meth:`~FakeLean.wait_for_webhooks` waits for them.
* It holds seeded data (deterministic for a ``seed``, dates relative to
  today): banks (Lean's mock banks and real UAE banks), one customer
  (:attr:`~FakeLean.customer_id`) with one entity (:attr:`~FakeLean.entity_id`)
  at ``LEANMB1`` and three accounts (:attr:`~FakeLean.account_ids`: current,
  savings, credit card).  The current account holds ``transactions``
  transactions over the last 365 days (salary, rent, bills, groceries,
  deliveries, fuel, refunds...), the card a tenth of that, the savings
  account two a month; plus a finished refresh, ready results, an authorised
  account-on-file consent, a payout with its destination and a refund
  (:attr:`~FakeLean.seeded_ids`).  It keeps what clients create: customers,
  payment destinations, payment intents, refreshes, consents,
  account-on-file payments and payouts (the latter two de-duplicated on their
  ``Idempotency-Key``), payout destinations and refunds.
* Test controls: :meth:`~FakeLean.set_data_status` (PENDING then OK, FAILED,
  RECONNECT_REQUIRED, CONSENT_EXPIRED), :meth:`~FakeLean.fail_next` (429 with
  ``Retry-After``, 5xx, any body), :meth:`~FakeLean.fail_next_connections`,
  :meth:`~FakeLean.revoke_tokens`, :meth:`~FakeLean.complete_intent` (what
  the customer does in LinkSDK ``pay()``), :meth:`~FakeLean.update_payment`,
  :meth:`~FakeLean.authorize_consent`, :meth:`~FakeLean.expire_consent`,
  :meth:`~FakeLean.reset`, and :meth:`~FakeLean.send_webhook` to post signed
  webhooks to your app.  ``set_data_status`` applies to every data endpoint of
  the list (Data API, insights, verifications).

Choices where Lean's material says nothing (UNCERTAIN): the 401 status code is
``INVALID_TOKEN``; unknown customers are 404 ``UNKNOWN_CUSTOMER``; PENDING data
answers are HTTP 202 on Data API v2 and 200 on v1; the answers of
``GET /consents/{id}/balance``, ``POST /payments/account-on-file`` and
``GET /payouts/refunds/reasons`` (Lean recorded none) are the emulator's own.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import random
import shutil
import socket
import ssl
import tempfile
import threading
import time
import traceback
import uuid
import weakref
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests as _http

from .._extras import install_hint
from .._session import LeanSession
from ..errors import ConfigurationError
from ..webhooks import SIGNATURE_HEADER, sign
from ._backend import Backend
from ._cleanup import register as _remove_on_signal
from ._contract import answer_shape, complete, request_shape
from ._core import (
    BOTH_HEADERS_MESSAGE,
    CANONICAL_UUID,
    DATA_STATUSES,
    ERROR_CODES,
    GATEWAY_PAGE,
    REASONS,
    WEBHOOK_MESSAGES,
    ApiError,
    Call,
    Override,
    check_body_values,
    check_required_body,
    check_uuid,
    error_body,
    invalid,
    same,
)
from ._data import World, build_world, now_iso
from ._routes import Route, Router
from ._server import MTLSServer, RecordedRequest, Reply

__all__ = ["DATA_STATUSES", "FakeLean", "port_is_open"]


def _trustme() -> Any:
    try:
        import trustme
    except ImportError as exc:
        raise ConfigurationError(
            "FakeLean makes its certificates with the optional 'trustme' package, which is not installed: "
            + install_hint("testing"),
            code="missing-dependency",
        ) from exc
    return trustme


def _json_or_none(call: Call) -> Any:
    """The request's JSON body, or ``None`` when it has none or it is not JSON (the handler answers that)."""
    try:
        return json.loads(call.body) if call.body.strip() else None
    except ValueError:
        return None


class FakeLean:
    """A local Lean API over mutual TLS (see the module docstring).

    Args:
        app_token: the ``lean-app-token`` it accepts (also the OAuth
            ``client_id`` unless ``client_id`` is given, as at Lean).
        client_id / client_secret: the OAuth2 client credentials
            ``POST /oauth2/token`` accepts.
        webhook_secret: the key :meth:`send_webhook` signs with.
        transactions: how many transactions the current account
            (``account_ids[0]``) holds over the last 365 days.
        seed: makes the data (ids, names, amounts) reproducible.
        require_client_cert: demand a client certificate in the TLS handshake
            (``False`` behaves like ``sandbox.leantech.me``: a certificate is
            checked if sent, not required).
        directory: write the certificate files there (kept on stop) instead
            of a private temporary directory (removed on stop).
        webhook_url: where to send Lean's webhooks by itself when its state
            changes (also settable later as :attr:`webhook_url`).

    Thread-safe: one lock guards the state; the server answers each
    connection in its own thread.
    """

    #: Seconds a data refresh stays PENDING before it is FINISHED.
    refresh_duration: float = 0.5

    def __init__(
        self,
        *,
        app_token: str = "fake-app-token",  # noqa: S107 - a fake server's fake credentials
        client_id: str | None = None,
        client_secret: str = "fake-client-secret",  # noqa: S107
        webhook_secret: str = "fake-webhook-secret",  # noqa: S107
        transactions: int = 3000,
        seed: int = 7,
        require_client_cert: bool = True,
        directory: str | os.PathLike[str] | None = None,
        webhook_url: str | None = None,
    ) -> None:
        for name, value in (("app_token", app_token), ("client_secret", client_secret),
                            ("webhook_secret", webhook_secret)):
            if not isinstance(value, str) or not value:
                raise ConfigurationError(f"FakeLean needs a non-empty {name}, got {value!r}.")
        self.app_token = app_token
        self.client_id = client_id or app_token
        self.client_secret = client_secret
        self.webhook_secret = webhook_secret
        self.seed = seed
        self.require_client_cert = require_client_cert
        self._directory = Path(directory) if directory is not None else None
        self._world: World = build_world(seed, transactions)
        self.customer_id: str = self._world.customer_id
        self.app_user_id: str = self._world.app_user_id
        self.entity_id: str = self._world.entity_id
        self.account_ids: list[str] = [account.account_id for account in self._world.accounts]
        self.payment_source_id: str = self._world.payment_source_id
        self.default_destination_id: str = self._world.default_destination_id

        self._faults: deque[Reply] = deque()
        self._webhooks: list[dict[str, Any]] = []
        self._pending_webhooks: list[threading.Timer] = []
        #: Where the emulator sends Lean's webhooks by itself when its state changes (``None``: nowhere).
        self.webhook_url: str | None = webhook_url
        #: Tracebacks of requests the emulator itself failed on (answered 500).
        self.errors: list[str] = []
        self._server: MTLSServer | None = None
        self._stopped = False
        self._temp_dir: Path | None = None
        self._cleanup: Callable[[], object] | None = None
        self._files: tuple[Path, Path, Path] | None = None
        self._router = Router()
        self._backend = Backend(self, self._world)
        self._lock = self._backend.lock

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> FakeLean:
        """Make the PKI, write the certificate files and start serving."""
        with self._lock:
            if self._server is not None:
                return self
            if self._stopped:
                raise ConfigurationError("This FakeLean was stopped; create a new one.")
            trustme = _trustme()
            server_ca = trustme.CA(organization_name="FakeLean Server CA")
            client_root = trustme.CA(organization_name="FakeLean Client Root CA")
            client_intermediate = client_root.create_child_ca()
            # Not the app token: it is a secret, and a certificate's subject gets printed.
            leaf = client_intermediate.issue_cert(f"app-{self.seed}@apps.fakelean.test",
                                                  common_name=f"fakelean-app-{self.seed}")
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            server_ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
            client_root.configure_trust(context)
            context.verify_mode = ssl.CERT_REQUIRED if self.require_client_cert else ssl.CERT_OPTIONAL
            self._write_files(
                leaf.cert_chain_pems[0].bytes(),
                leaf.private_key_pem.bytes(),
                server_ca.cert_pem.bytes() + client_intermediate.cert_pem.bytes() + client_root.cert_pem.bytes(),
            )
            server = MTLSServer(context, self._handle)
            server.start()
            self._server = server
            return self

    def _write_files(self, cert: bytes, key: bytes, ca: bytes) -> None:
        if self._directory is not None:
            folder = self._directory
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        else:
            folder = Path(tempfile.mkdtemp(prefix="fakelean-"))  # 0700
            self._temp_dir = folder
            remover = weakref.finalize(self, shutil.rmtree, str(folder), True)
            _remove_on_signal(remover)  # SIGTERM/SIGHUP end the process without exit handlers
            self._cleanup = remover
        cert_file = folder / "fakelean_cert.crt"
        key_file = folder / "fakelean_private_key.pem"
        ca_file = folder / "lean_public_cert_chain.pem"
        cert_file.write_bytes(cert)
        ca_file.write_bytes(ca)
        with contextlib.suppress(FileNotFoundError):
            key_file.unlink()
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(key)
        self._files = (cert_file, key_file, ca_file)

    def stop(self) -> None:
        """Stop serving and remove the temporary certificate directory (idempotent)."""
        with self._lock:
            server, self._server = self._server, None
            self._stopped = self._stopped or server is not None
        self._cancel_webhooks()
        if server is not None:
            server.stop()
        if self._cleanup is not None:
            self._cleanup()  # removes the temporary directory, once
            self._cleanup = None

    def __enter__(self) -> FakeLean:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._server is not None

    def _running_server(self) -> MTLSServer:
        server = self._server
        if server is None:
            raise ConfigurationError("FakeLean is not running: call start() or use it as a context manager.")
        return server

    @property
    def url(self) -> str:
        """``https://127.0.0.1:PORT``: the API and ``/oauth2/token`` share this origin."""
        return self._running_server().url

    @property
    def port(self) -> int:
        return self._running_server().port

    def _file(self, index: int) -> Path:
        if self._files is None:
            raise ConfigurationError("FakeLean writes its certificate files at start(); start it first.")
        return self._files[index]

    @property
    def cert_file(self) -> Path:
        """The client certificate (leaf only, as Lean's portal gives it)."""
        return self._file(0)

    @property
    def key_file(self) -> Path:
        """The client certificate's private key (mode 0600)."""
        return self._file(1)

    @property
    def ca_file(self) -> Path:
        """The CA bundle: the server CA and the client chain (intermediate and root)."""
        return self._file(2)

    @property
    def directory(self) -> Path:
        """Where the certificate files are."""
        return self._file(0).parent

    # ------------------------------------------------------------------ sessions

    def session_kwargs(self, **overrides: Any) -> dict[str, Any]:
        """Keyword arguments for ``LeanSession`` pointed at this server.

        ``{"app_token", "cert", "key", "ca", "base_url"}`` (paths as strings),
        plus ``client_id``, ``client_secret`` and ``auth_url`` when
        ``auth="oauth"`` is among ``overrides``; ``overrides`` win.  For apps
        that build their own session from settings.
        """
        kwargs: dict[str, Any] = {
            "app_token": self.app_token,
            "cert": str(self.cert_file),
            "key": str(self.key_file),
            "ca": str(self.ca_file),
            "base_url": self.url,
        }
        auth = overrides.get("auth")
        mode = str(getattr(auth, "value", auth)).replace("-", "_").lower() if auth is not None else None
        if mode == "oauth" or (auth is None and overrides.get("client_secret") is not None):
            kwargs.update(auth="oauth", client_id=self.client_id, client_secret=self.client_secret,
                          auth_url=self.url)
        kwargs.update(overrides)
        return kwargs

    def session(self, **overrides: Any) -> LeanSession:
        """A :class:`~lean_mtls.LeanSession` connected to this server over mTLS.

        ``fake.session(auth="oauth")`` uses OAuth client credentials from
        ``/oauth2/token`` instead of the app token; other keyword arguments
        (``retries=``, ``timeout=``, ...) are passed on.
        """
        return LeanSession(**self.session_kwargs(**overrides))

    # ------------------------------------------------------------------ test controls

    def set_data_status(self, status: str, *, times: int = 1, granular_status_code: str | None = None,
                        pending_polls: int = 0) -> None:
        """Make the next ``times`` data calls answer ``status`` instead of the data.

        Data calls are the Data API v2 reads (not refreshes or results), Data
        API v1 and insights.  ``PENDING`` answers with a ``results_id`` whose
        results endpoint then answers OK (after ``pending_polls`` more PENDING
        answers); ``FAILED``, ``RECONNECT_REQUIRED`` and ``CONSENT_EXPIRED``
        answer HTTP 200 with that status and ``status_detail`` (FAILED
        defaults to ``BANK_ISSUE``).  ``"OK"`` clears what is queued.
        """
        status = status.upper()
        if status == "OK":
            with self._lock:
                self._backend.data_statuses.clear()
            return
        if status not in DATA_STATUSES:
            raise ValueError(f"status must be one of {DATA_STATUSES} or 'OK', got {status!r}")
        if times < 1 or pending_polls < 0:
            raise ValueError("times must be >= 1 and pending_polls >= 0")
        with self._lock:
            self._backend.data_statuses.extend(
                Override(status, granular_status_code, pending_polls) for _ in range(times))

    def fail_next(self, status: int, *, times: int = 1, retry_after: float | None = None, body: Any = None,
                  headers: Mapping[str, str] | None = None) -> None:
        """Answer the next ``times`` requests (any endpoint) with HTTP ``status``.

        The default body is Lean's JSON error (``RATE_LIMIT_EXCEEDED`` for 429,
        ``INTERNAL_SERVER_ERROR`` for 500) or, for 502/503/504, the HTML page
        a gateway answers with.  ``body`` replaces it (a ``str`` starting with
        ``<`` is sent as ``text/html``).  ``retry_after`` adds ``Retry-After``.
        """
        if not 400 <= status <= 599 or times < 1:
            raise ValueError("fail_next needs an HTTP error status (4xx/5xx) and times >= 1")
        extra = dict(headers or {})
        if retry_after is not None:
            extra["Retry-After"] = f"{retry_after:g}"
        if body is None:
            if status in {502, 503, 504}:
                body = GATEWAY_PAGE.format(status=status, reason=REASONS[status])
            else:
                message = {429: "Too many requests; slow down and retry later.",
                           500: "An unexpected error occurred."}.get(status, f"HTTP {status}")
                body = error_body(ERROR_CODES.get(status, "ERROR"), message)
        if isinstance(body, str) and body.lstrip().startswith("<"):
            extra.setdefault("Content-Type", "text/html; charset=utf-8")
        with self._lock:
            self._faults.extend(Reply(status, copy.deepcopy(body), dict(extra)) for _ in range(times))

    def fail_next_connections(self, count: int = 1, fault: str = "reset") -> None:
        """Cut the next ``count`` connections right after the TLS handshake (``"reset"`` or ``"close"``)."""
        self._running_server().fail_next_connections(count, fault)

    def clear_faults(self) -> None:
        """Drop queued :meth:`fail_next` answers and :meth:`set_data_status` statuses."""
        with self._lock:
            self._faults.clear()
            self._backend.data_statuses.clear()

    def reset(self) -> None:
        """Back to the seeded state: created objects, queued faults, tokens, and the
        :attr:`requests` / :attr:`handshake_errors` logs are dropped.

        New ids are drawn from the start of the seeded sequence again, so a
        test run after a reset sees the same ids whatever ran before it.
        """
        with self._lock:
            self.clear_faults()
            self._cancel_webhooks()
            self._webhooks.clear()
            self.errors.clear()
            self._backend.tokens.clear()
            self._backend.ids = random.Random(self.seed + 1)  # noqa: S311 - reproducible test ids
            self._backend.reset_state()
            if self._server is not None:
                self._server.clear_log()  # lean_server.requests[0] is this test's first request

    def revoke_tokens(self) -> None:
        """Invalidate every OAuth token issued so far (the next Bearer call gets 401)."""
        with self._lock:
            self._backend.tokens.clear()

    def complete_intent(self, payment_intent_id: str, *, status: str = "ACCEPTED_BY_BANK") -> dict[str, Any]:
        """Pay an intent as the customer would through LinkSDK ``pay()``; returns the payment."""
        with self._lock:
            intent = self._backend.state.intents.get(payment_intent_id)
            if intent is None:
                raise KeyError(f"unknown payment intent {payment_intent_id!r}")
            payment = self._backend.new_payment(intent, status)
            return copy.deepcopy(payment)

    # ------------------------------------------------------------------ introspection

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received since the start or the last :meth:`reset`, oldest first."""
        return self._server.requests if self._server is not None else []

    @property
    def handshake_errors(self) -> list[str]:
        """TLS handshakes the server refused (e.g. a client without a certificate), since the start or
        the last :meth:`reset`."""
        return self._server.handshake_errors if self._server is not None else []

    @property
    def account_on_file_payments(self) -> list[dict[str, Any]]:
        """Account-on-file payments made (one per distinct ``Idempotency-Key``)."""
        with self._lock:
            return copy.deepcopy(self._backend.state.aof_payments)

    @property
    def payouts(self) -> list[dict[str, Any]]:
        """Payouts made (one per distinct ``Idempotency-Key``)."""
        with self._lock:
            return copy.deepcopy(self._backend.state.payouts)

    @property
    def webhooks_sent(self) -> list[dict[str, Any]]:
        """``{"url", "body", "status"}`` of every :meth:`send_webhook` call."""
        with self._lock:
            return copy.deepcopy(self._webhooks)

    def __repr__(self) -> str:
        where = self._server.url if self._server is not None else "not running"
        return f"<FakeLean {where} seed={self.seed} entity_id={self.entity_id!r}>"

    # ------------------------------------------------------------------ webhooks

    def send_webhook(self, url: str, event_type: str, payload: Mapping[str, Any], *,
                     verify: bool | str = True, message: str | None = None, event_id: str | None = None,
                     timeout: float = 10.0) -> int:
        """POST a signed webhook to ``url`` as Lean does; return the HTTP status.

        The body is ``{"type", "message", "payload", "event_id", "timestamp"}``
        and ``lean-signature`` is ``sha512=<hex HMAC-SHA512 of the raw body>``
        keyed with :attr:`webhook_secret`.  ``verify`` is passed to requests
        (``True``, ``False`` or a CA bundle path) for ``https://`` receivers.
        """
        envelope = {
            "type": event_type,
            "message": message or WEBHOOK_MESSAGES.get(event_type, f"A {event_type} event occurred."),
            "payload": dict(payload),
            "event_id": event_id or str(uuid.uuid4()),
            "timestamp": now_iso(),
        }
        body = json.dumps(envelope).encode("utf-8")
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "Lean-Webhooks/1.0 (FakeLean)",
            SIGNATURE_HEADER: sign(body, self.webhook_secret),
        }
        with _http.Session() as client:
            client.trust_env = False
            response = client.post(url, data=body, headers=headers, timeout=timeout, verify=verify,
                                   allow_redirects=False)
            status = response.status_code
        with self._lock:
            self._webhooks.append({"url": url, "body": envelope, "status": status})
        return status

    def update_payment(self, payment_id: str, status: str) -> dict[str, Any]:
        """Move a payment to ``status`` (as the bank does later); sends ``payment.updated``. Returns it."""
        with self._lock:
            payment = self._backend.state.payments.get(payment_id)
            if payment is None:
                raise KeyError(f"unknown payment {payment_id!r}")
            payment["status"] = status
            self._backend.payment_event("payment.updated", payment)
            return copy.deepcopy(payment)

    def expire_consent(self, entity_id: str | None = None) -> None:
        """The entity's data consent expires: refreshes answer 403 ``CONSENT_EXPIRED``, data ``CONSENT_EXPIRED``."""
        with self._lock:
            entity = self._backend.state.entities.get(entity_id or self.entity_id)
            if entity is None:
                raise KeyError(f"unknown entity {entity_id!r}")
            self._backend.state.expired.add(entity["id"])
            for consent in entity["consents"]:
                consent["consent_status"] = "EXPIRED"

    def authorize_consent(self, consent_id: str) -> dict[str, Any]:
        """Authorise an account-on-file consent as the customer would in LinkSDK; returns it."""
        with self._lock:
            consent = self._backend.state.aof_consents.get(consent_id)
            if consent is None:
                raise KeyError(f"unknown consent {consent_id!r}")
            consent["status"] = "AUTHORIZED"
            return copy.deepcopy(consent)

    @property
    def seeded_ids(self) -> dict[str, str]:
        """The seeded objects' ids by Lean's parameter names (stable for a ``seed``).

        ``customer_id``, ``app_user_id``, ``entity_id``, ``account_id`` (the
        current account), ``payment_intent_id``, ``payment_id``,
        ``payment_source_id``, ``destination_id``, ``consent_id`` (an
        authorised account-on-file consent), ``refresh_id`` (a finished
        refresh), ``results_id`` (ready results), ``payout_id``,
        ``payout_intent_id``, ``payout_destination_id`` and ``refund_id``.
        """
        return dict(self._backend.seeded)

    @property
    def person_name(self) -> str:
        """The seeded customer's full name (what name and account verification match against)."""
        return self._world.person.full_name

    def unrouted_endpoints(self) -> list[str]:
        """Keys of endpoints in the endpoint list that have no handler here (empty when complete)."""
        return list(self._router.unrouted)

    def handler_for(self, method: str, path: str) -> Callable[..., Reply] | None:
        """The handler serving ``method path`` (a path template or a concrete path), or ``None``."""
        route, _, _ = self._router.match(method, path)
        return route.handler if route is not None else None

    # ------------------------------------------------------------------ webhooks by state change

    @property
    def url_or_empty(self) -> str:
        return self._server.url if self._server is not None else ""

    def _emit(self, event_type: str, payload: dict[str, Any] | Callable[[], dict[str, Any]], delay: float) -> None:
        """Send a state-change webhook to :attr:`webhook_url` from a timer thread (never inside a request)."""
        url = self.webhook_url
        if not url:
            return
        body = payload if callable(payload) else copy.deepcopy(payload)

        def deliver() -> None:
            try:
                with self._lock:
                    data = body() if callable(body) else body
                self.send_webhook(url, event_type, data)
            except Exception:  # noqa: BLE001 - a receiver that is down must not break the emulator
                with self._lock:
                    self.errors.append(f"webhook {event_type} to {url} failed: {traceback.format_exc()}")

        timer = threading.Timer(max(0.0, delay), deliver)
        timer.daemon = True
        with self._lock:
            self._pending_webhooks = [t for t in self._pending_webhooks if t.is_alive()]
            self._pending_webhooks.append(timer)
        timer.start()

    def wait_for_webhooks(self, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Wait until the state-change webhooks scheduled so far were delivered; returns :attr:`webhooks_sent`."""
        with self._lock:
            pending = list(self._pending_webhooks)
        for timer in pending:
            timer.join(timeout)
        return self.webhooks_sent

    def _cancel_webhooks(self) -> None:
        with self._lock:
            pending, self._pending_webhooks = self._pending_webhooks, []
        for timer in pending:
            timer.cancel()

    # ------------------------------------------------------------------ request handling

    def _handle(self, request: RecordedRequest) -> Reply:
        route: Route | None = None
        try:
            parts = urlsplit(request.path)
            path = parts.path or "/"
            route, args, allowed = self._router.match(request.method, path)
            with self._lock:
                if self._faults:
                    return self._fault(self._faults.popleft(), route)
            # Path ids are UUIDs, compared as values (any letter case); a malformed one is 400 below.
            args = {name: value.lower() if name.endswith("_id") and name != "app_user_id"
                    and CANONICAL_UUID.fullmatch(value) else value for name, value in args.items()}
            call = Call(request.method, path, parse_qs(parts.query, keep_blank_values=True), request.headers,
                        request.body, tuple(args.values()))
            if route is None or not route.public:
                self._authenticate(call)
            if route is None:
                if allowed:
                    raise ApiError(405, "INVALID_HTTP_METHOD",
                                   f"Request method '{request.method}' is not supported for {path}.",
                                   headers={"Allow": ", ".join(sorted(set(allowed)))})
                raise ApiError(404, "INVALID_URL", f"The requested URL {path} is not valid.")
            for name, value in args.items():
                if name.endswith("_id") and name != "app_user_id":
                    check_uuid(value, name)
            if route.endpoint.body_kind == "json":
                # A field of the wrong kind is INVALID_PARAMETERS even where an absent one would be MISSING.
                check_body_values(request_shape(route.endpoint.method, route.endpoint.path), _json_or_none(call))
                check_required_body([p.name for p in route.endpoint.body if p.required and not p.copied], call)
                # ...and the same vocabulary for the values a DELETE may send in its query instead.
                check_body_values(None, {name: call.param(name) for name in call.query})
            with self._lock:
                reply = route.handler(self._backend, call)
            reply = self._in_lean_shape(route, reply)
        except ApiError as error:
            if route is not None and route.endpoint.data_call and error.results_id is None \
                    and 400 <= error.http_status < 500 and error.http_status not in {401, 403, 429}:
                error.results_id = self._backend.new_id()  # Lean's data errors carry one
            reply = error.reply()
        except Exception:  # noqa: BLE001 - the emulator must answer, and say what broke
            with self._lock:
                self.errors.append(traceback.format_exc())
            reply = Reply(500, error_body("INTERNAL_SERVER_ERROR", "The emulator failed on this request."))
        correlation = request.headers.get("lean-correlation-id")
        if correlation:
            reply.headers.setdefault("lean-correlation-id", correlation)
        return reply

    def _fault(self, reply: Reply, route: Route | None) -> Reply:
        """A queued fault; Lean's JSON error on a data endpoint carries a ``results_id``, as Lean's does."""
        body = reply.body
        if route is not None and route.endpoint.data_call and isinstance(body, dict) and "status" in body \
                and "results_id" not in body:
            reply.body = {"results_id": self._backend.new_id(), **body}
        return reply

    @staticmethod
    def _in_lean_shape(route: Route, reply: Reply) -> Reply:
        """Give a success answer every key of Lean's example answer for the endpoint (see the module docstring)."""
        body = reply.body
        if not 200 <= reply.status < 300 or not isinstance(body, (dict, list)):
            return reply
        if isinstance(body, dict) and body.get("status") in DATA_STATUSES:
            return reply  # PENDING and failures are answered exactly as Lean does, nothing to fill
        shape = answer_shape(route.endpoint.method, route.endpoint.path)
        if shape is not None:
            complete(body, shape)
        return reply

    def _authenticate(self, call: Call) -> None:
        app_token = call.headers.get("lean-app-token")
        authorization = call.headers.get("authorization")
        if app_token is not None and authorization is not None:
            raise invalid(BOTH_HEADERS_MESSAGE)
        if authorization is not None:
            scheme, _, value = authorization.strip().partition(" ")
            if scheme.lower() != "bearer" or not value.strip():
                raise ApiError(401, "INVALID_TOKEN", "The Authorization header must be 'Bearer <access token>'.")
            with self._lock:
                token = self._backend.tokens.get(value.strip())
            if token is None or token.expires_at <= time.time():
                raise ApiError(401, "INVALID_TOKEN", "The access token is invalid or has expired.")
            if token.scope != "api":
                raise ApiError(403, "INCORRECT_ACCESS_LEVEL",
                               "A customer-scoped token can only be used by LinkSDK; use a token with scope 'api'.")
            return
        if app_token is None:
            raise ApiError(401, "INVALID_TOKEN",
                           "No lean-app-token header or Authorization bearer token was supplied.")
        if not same(app_token, self.app_token):
            raise ApiError(401, "INVALID_TOKEN", "The lean-app-token is not valid for this application.")

def port_is_open(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections on ``host:port`` (for shutdown checks)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        return probe.connect_ex((host, port)) == 0

