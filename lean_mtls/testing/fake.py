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
  its own PKI with ``trustme`` (``pip install 'lean-mtls[testing]'``): a server
  CA and a server certificate for ``127.0.0.1``/``localhost``, and a client
  certificate issued through an intermediate CA, as Lean's portal does.  The
  three files Lean's portal gives you are written to a private (0700)
  temporary directory: :attr:`~FakeLean.cert_file` (the client certificate
  alone), :attr:`~FakeLean.key_file` (its key, 0600) and
  :attr:`~FakeLean.ca_file` (the server CA plus the client chain, like
  ``lean_public_cert_chain.pem``).  The server trusts only the client *root*,
  so a client must send the intermediate as well, as with Lean.  The directory
  is removed by :meth:`~FakeLean.stop`.
* It checks credentials as Lean does: the ``lean-app-token`` header, or an
  ``Authorization: Bearer`` token it issued from ``POST /oauth2/token``
  (OAuth2 client credentials, same origin), never both at once (400
  ``INVALID_PARAMETERS``), and with ``require_client_cert=True`` (the default)
  the TLS layer refuses clients without a certificate from its client CA.
* It answers every endpoint :mod:`lean_mtls.resources` calls, with Lean's
  response shapes, status codes and error bodies ``{"timestamp", "status",
  "message", "metadata": null}`` (plus ``results_id`` on data errors), both
  pagination styles (``page``/``size`` and ``page_number``/``page_size``, list
  under ``data`` or ``content``), 404 ``INVALID_URL`` for unknown paths and
  405 ``INVALID_HTTP_METHOD`` for a wrong method.
* It holds seeded data (deterministic for a ``seed``, dates relative to
  today): banks (Lean's mock banks and real UAE banks), one customer
  (:attr:`~FakeLean.customer_id`) with one entity (:attr:`~FakeLean.entity_id`)
  at ``LEANMB1`` and three accounts (:attr:`~FakeLean.account_ids`: current,
  savings, credit card).  The current account holds ``transactions``
  transactions over the last 365 days (salary, rent, bills, groceries,
  deliveries, fuel, refunds...), the card a tenth of that, the savings
  account two a month.  It keeps what clients create: customers, payment
  destinations, payment intents, refreshes, account-on-file payments and
  payouts (the latter two de-duplicated on their ``Idempotency-Key``).
* Test controls: :meth:`~FakeLean.set_data_status` (PENDING then OK, FAILED,
  RECONNECT_REQUIRED, CONSENT_EXPIRED), :meth:`~FakeLean.fail_next` (429 with
  ``Retry-After``, 5xx, any body), :meth:`~FakeLean.fail_next_connections`,
  :meth:`~FakeLean.revoke_tokens`, :meth:`~FakeLean.complete_intent` (what
  the customer does in LinkSDK ``pay()``), :meth:`~FakeLean.reset`, and
  :meth:`~FakeLean.send_webhook` to post signed webhooks to your app.

Shapes that LEAN_API.md marks UNCERTAIN (Lean does not document them) and that
this emulator had to choose: insights answers put their figures under
``insights``; account verification answers under ``data``; the 401 status
code is ``INVALID_TOKEN``; unknown customers are 404 ``UNKNOWN_CUSTOMER``;
PENDING data answers are HTTP 202 on Data API v2 and 200 on v1.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import datetime as dt
import hmac
import json
import os
import random
import re
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
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, unquote, urlsplit

import requests as _http

from .._session import LeanSession
from ..errors import ConfigurationError
from ..webhooks import SIGNATURE_HEADER, sign
from ._cleanup import register as _remove_on_signal
from ._data import (
    CURRENCY,
    DAY,
    AccountInfo,
    World,
    banks,
    build_world,
    fast_iso,
    iban_is_valid,
    iso,
    money,
    now_iso,
)
from ._server import MTLSServer, RecordedRequest, Reply

__all__ = ["DATA_STATUSES", "FakeLean", "port_is_open"]

#: Statuses :meth:`FakeLean.set_data_status` accepts (``"OK"`` clears the queue).
DATA_STATUSES = ("PENDING", "FAILED", "RECONNECT_REQUIRED", "CONSENT_EXPIRED")
#: Lean's OAuth token lifetime.
TOKEN_LIFETIME = 3599
#: Largest page Lean serves (Data API v2 documents ``size`` 1..100).
MAX_PAGE_SIZE = 100
#: Lean's purpose codes for payment intents.
PURPOSE_CODES = frozenset({"FIS", "TCS", "MWP", "OAT", "IFS", "RNT", "LNC", "PIN", "GDS"})
#: Payment limits per currency (min, max), from Lean's payments errors page.
PAYMENT_LIMITS = {"AED": (10.0, 1_000_000.0), "USD": (3.0, 270_000.0)}
#: Fields Lean's OpenAPI file requires to create a payment destination.
DESTINATION_REQUIRED = ("name", "display_name", "address", "city", "country", "account_number", "bank_type",
                        "government_identifier")

BOTH_HEADERS_MESSAGE = "Do not supply a 'lean-app-token' header when providing an 'Authorization' header"
PENDING_MESSAGE = "Please wait for a webhook or try again later."
OK_MESSAGE = "Data successfully retrieved"

_DATA_MESSAGES = {
    "FAILED": "Lean could not retrieve the data from the bank.",
    "RECONNECT_REQUIRED": "The entity must be reconnected through LinkSDK before data can be retrieved.",
    "CONSENT_EXPIRED": "The customer's consent has expired; ask the customer to connect again.",
}
_DEFAULT_GRANULAR = {"FAILED": ("BANK_ISSUE", "The bank returned an error; try again later.")}

_WEBHOOK_MESSAGES = {
    "entity.created": "An entity object has been created.",
    "entity.updated": "An entity object has been updated.",
    "entity.data.refresh.updated": "A data refresh has been updated.",
    "results.ready": "Your results are ready.",
    "payment.created": "A payment object has been created.",
    "payment.updated": "A payment object has been updated.",
    "payment_intent.created": "A payment intent object has been created.",
    "payment_source.created": "A payment source object has been created.",
    "payment_source.beneficiary.created": "A payment source beneficiary has been created.",
    "payment_source.beneficiary.updated": "A payment source beneficiary has been updated.",
    "bank.availability.updated": "Bank availability has been updated.",
}

_GATEWAY_PAGE = (
    "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{status} {reason}</h1></center>\r\n</body>\r\n</html>\r\n"
)
_REASONS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Temporarily Unavailable",
            504: "Gateway Time-out"}
_ERROR_CODES = {
    400: "INVALID_PARAMETERS",
    401: "INVALID_TOKEN",
    403: "INSUFFICIENT_ACCESS_LEVEL",
    404: "INVALID_URL",
    405: "INVALID_HTTP_METHOD",
    409: "CONFLICT",
    429: "RATE_LIMIT_EXCEEDED",
    500: "INTERNAL_SERVER_ERROR",
}


def _trustme() -> Any:
    try:
        import trustme
    except ImportError as exc:
        raise ConfigurationError(
            "FakeLean makes its certificates with the optional 'trustme' package, which is not installed: "
            "pip install 'lean-mtls[testing]'",
            code="missing-dependency",
        ) from exc
    return trustme


def error_body(status: str, message: str, results_id: str | None = None) -> dict[str, Any]:
    """Lean's error body: ``{"timestamp", "status", "message", "metadata": null}``."""
    body: dict[str, Any] = {"timestamp": now_iso(), "status": status, "message": message, "metadata": None}
    if results_id is not None:
        body["results_id"] = results_id
    return body


def page_info(number: int, size: int, total: int) -> dict[str, Any]:
    """Lean's (Spring's) page object."""
    return {
        "number": number,
        "size": size,
        "total_elements": total,
        "total_pages": -(-total // size) if size else 0,
        "sort": {"sorted": False, "unsorted": True, "empty": True},
    }


class _ApiError(Exception):
    """Raised inside a handler; becomes a Lean error answer."""

    def __init__(self, http_status: int, status: str, message: str, *, results_id: str | None = None,
                 headers: dict[str, str] | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.status = status
        self.message = message
        self.results_id = results_id
        self.headers = headers or {}
        self.body = body

    def reply(self) -> Reply:
        body = self.body if self.body is not None else error_body(self.status, self.message, self.results_id)
        return Reply(self.http_status, body, dict(self.headers))


def _missing(name: str) -> _ApiError:
    return _ApiError(400, "MISSING_PARAMETERS", f"Missing required parameter '{name}'.")


def _invalid(message: str) -> _ApiError:
    return _ApiError(400, "INVALID_PARAMETERS", message)


@dataclass
class _Call:
    """A request, parsed: path arguments, query, headers, body."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: Mapping[str, str]
    body: bytes
    args: tuple[str, ...] = ()

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else None

    def params(self, name: str) -> list[str]:
        """A list parameter, comma-separated and/or repeated."""
        return [item.strip() for value in self.query.get(name, []) for item in value.split(",") if item.strip()]

    def json(self) -> dict[str, Any]:
        if not self.body.strip():
            raise _invalid("The request body must be a JSON object.")
        try:
            data = json.loads(self.body)
        except ValueError:
            raise _invalid("Malformed JSON request body.") from None
        if not isinstance(data, dict):
            raise _invalid("The request body must be a JSON object.")
        return data

    def form(self) -> dict[str, str]:
        try:
            return dict(parse_qsl(self.body.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            return {}


@dataclass
class _Override:
    status: str
    granular: str | None
    pending_polls: int


@dataclass
class _Stored:
    """A data result announced by a PENDING answer."""

    body: dict[str, Any]
    polls_left: int
    v1: bool


@dataclass
class _Token:
    expires_at: float
    scope: str


@dataclass
class _Refresh:
    refresh_id: str
    entity_id: str
    customer_id: str
    created: float


@dataclass
class _State:
    """Everything clients can change; rebuilt from the world by :meth:`FakeLean.reset`."""

    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    entities: dict[str, dict[str, Any]] = field(default_factory=dict)
    destinations: dict[str, dict[str, Any]] = field(default_factory=dict)
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    payment_sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    refreshes: dict[str, _Refresh] = field(default_factory=dict)
    results: dict[str, _Stored] = field(default_factory=dict)
    idempotent: dict[tuple[str, str], tuple[int, dict[str, Any]]] = field(default_factory=dict)
    aof_payments: list[dict[str, Any]] = field(default_factory=list)
    payouts: list[dict[str, Any]] = field(default_factory=list)


Handler = Callable[[_Call], Reply]


@dataclass(frozen=True)
class _Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    public: bool = False


def _compile(template: str) -> re.Pattern[str]:
    """``/customers/v1/*/entities`` -> a regex with one group per ``*`` segment."""
    parts = ["([^/]+)" if part == "*" else re.escape(part) for part in template.strip("/").split("/")]
    return re.compile("/" + "/".join(parts))


def _parse_date(value: object, name: str) -> dt.date | None:
    if value is None or value == "":
        return None
    try:
        return dt.date.fromisoformat(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise _invalid(f"'{name}' must be a date in the format YYYY-MM-DD, got '{value}'.") from None


def _parse_datetime(value: str | None, name: str) -> dt.datetime | None:
    if not value:
        return None
    text = value.strip().replace("Z", "+00:00").replace(" ", "+")
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        try:
            moment = dt.datetime.combine(dt.date.fromisoformat(text), dt.time())
        except ValueError:
            raise _invalid(f"'{name}' must be an ISO 8601 date-time, got '{value}'.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def _epoch(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc).timestamp())


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _same(given: object, expected: str) -> bool:
    return isinstance(given, str) and hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def _name_match(given: str, actual: str) -> tuple[str, float]:
    """Lean's name-match verdict for ``given`` against ``actual``."""
    want = {part for part in re.split(r"[\s\-]+", given.casefold()) if part}
    have = {part for part in re.split(r"[\s\-]+", actual.casefold()) if part}
    if want and want == have:
        return "PERFECT_MATCH", 1.0
    common = want & have
    if common:
        return "PARTIAL_MATCH", round(len(common) / len(want | have), 2)
    return "NO_MATCH", 0.0


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

        self._lock = threading.RLock()
        self._ids = random.Random(seed + 1)  # noqa: S311 - reproducible test ids, not secrets
        self._state = _State()
        self._data_statuses: deque[_Override] = deque()
        self._faults: deque[Reply] = deque()
        self._tokens: dict[str, _Token] = {}
        self._webhooks: list[dict[str, Any]] = []
        #: Tracebacks of requests the emulator itself failed on (answered 500).
        self.errors: list[str] = []
        self._server: MTLSServer | None = None
        self._stopped = False
        self._temp_dir: Path | None = None
        self._cleanup: Callable[[], object] | None = None
        self._files: tuple[Path, Path, Path] | None = None
        self._routes = self._build_routes()
        self._reset_state()

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
                self._data_statuses.clear()
            return
        if status not in DATA_STATUSES:
            raise ValueError(f"status must be one of {DATA_STATUSES} or 'OK', got {status!r}")
        if times < 1 or pending_polls < 0:
            raise ValueError("times must be >= 1 and pending_polls >= 0")
        with self._lock:
            self._data_statuses.extend(_Override(status, granular_status_code, pending_polls) for _ in range(times))

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
                body = _GATEWAY_PAGE.format(status=status, reason=_REASONS[status])
            else:
                message = {429: "Too many requests; slow down and retry later.",
                           500: "An unexpected error occurred."}.get(status, f"HTTP {status}")
                body = error_body(_ERROR_CODES.get(status, "ERROR"), message)
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
            self._data_statuses.clear()

    def reset(self) -> None:
        """Back to the seeded state: created objects, queued faults and tokens are dropped.

        New ids are drawn from the start of the seeded sequence again, so a
        test run after a reset sees the same ids whatever ran before it.
        """
        with self._lock:
            self.clear_faults()
            self._tokens.clear()
            self._webhooks.clear()
            self.errors.clear()
            self._ids = random.Random(self.seed + 1)  # noqa: S311 - reproducible test ids
            self._reset_state()

    def revoke_tokens(self) -> None:
        """Invalidate every OAuth token issued so far (the next Bearer call gets 401)."""
        with self._lock:
            self._tokens.clear()

    def complete_intent(self, payment_intent_id: str, *, status: str = "ACCEPTED_BY_BANK") -> dict[str, Any]:
        """Pay an intent as the customer would through LinkSDK ``pay()``; returns the payment."""
        with self._lock:
            intent = self._state.intents.get(payment_intent_id)
            if intent is None:
                raise KeyError(f"unknown payment intent {payment_intent_id!r}")
            payment = self._new_payment(intent, status)
            return copy.deepcopy(payment)

    # ------------------------------------------------------------------ introspection

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first."""
        return self._server.requests if self._server is not None else []

    @property
    def handshake_errors(self) -> list[str]:
        """TLS handshakes the server refused (e.g. a client without a certificate)."""
        return self._server.handshake_errors if self._server is not None else []

    @property
    def account_on_file_payments(self) -> list[dict[str, Any]]:
        """Account-on-file payments made (one per distinct ``Idempotency-Key``)."""
        with self._lock:
            return copy.deepcopy(self._state.aof_payments)

    @property
    def payouts(self) -> list[dict[str, Any]]:
        """Payouts made (one per distinct ``Idempotency-Key``)."""
        with self._lock:
            return copy.deepcopy(self._state.payouts)

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
            "message": message or _WEBHOOK_MESSAGES.get(event_type, f"A {event_type} event occurred."),
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

    # ------------------------------------------------------------------ state

    def _new_id(self) -> str:
        return str(uuid.UUID(int=self._ids.getrandbits(128), version=4))

    def _reset_state(self) -> None:
        world = self._world
        state = _State()
        state.customers[world.customer_id] = {"customer_id": world.customer_id, "app_user_id": world.app_user_id}
        state.entities[world.entity_id] = self._seed_entity()
        created = world.entity_created_at
        state.destinations[world.default_destination_id] = {
            "id": world.default_destination_id,
            "customer_id": None,
            "name": "Fake Merchant LLC",
            "display_name": "Fake Merchant",
            "address": "Office 1204, Bay Square 7, Business Bay",
            "city": "Dubai",
            "country": "ARE",
            "account_number": "1012345678901",
            "iban": "AE460261012345678901234",
            "swift_code": "EBILAEAD",
            "branch_address": "Business Bay",
            "bank_type": "RETAIL",
            "bank_identifier": "ENBD_UAE",
            "government_identifier": "TRN-100234567800003",
            "currency": CURRENCY,
            "status": "CONFIRMED",
            "default": True,
            "created_at": created,
        }
        current, savings = world.accounts[0], world.accounts[1]
        cool_off = iso(world.end - 20 * DAY)
        state.payment_sources[world.payment_source_id] = {
            "id": world.payment_source_id,
            "customer_id": world.customer_id,
            "app_id": self.client_id,
            "status": "ACTIVE",
            "beneficiary_cool_off_expiry": cool_off,
            "bank_identifier": world.bank_identifier,
            "beneficiaries": [{
                "id": str(uuid.UUID(int=random.Random(self.seed + 2).getrandbits(128), version=4)),  # noqa: S311
                "payment_destination_id": world.default_destination_id,
                "status": "ACTIVE",
                "beneficiary_cool_off_expiry": cool_off,
            }],
            "accounts": [
                {"id": info.account_id, "account_id": info.account_id, "account_name": info.nickname,
                 "account_number": info.account_number, "iban": info.iban, "balance": None,
                 "currency": CURRENCY, "balance_last_updated": None}
                for info in (current, savings)
            ],
        }
        intent = {
            "payment_intent_id": world.seeded_intent_id,
            "customer_id": world.customer_id,
            "amount": 250.0,
            "currency": CURRENCY,
            "description": "Wallet top-up",
            "purpose_code": "OAT",
            "payments": [],
            "payment_destination": copy.deepcopy(state.destinations[world.default_destination_id]),
            "created_at": iso(world.end - 2 * DAY + 11 * 3600),
            "updated_at": iso(world.end - 2 * DAY + 11 * 3600),
        }
        state.intents[world.seeded_intent_id] = intent
        self._state = state
        self._new_payment(intent, "ACCEPTED_BY_BANK", payment_id=world.seeded_payment_id,
                          when=world.end - 2 * DAY + 11 * 3600 + 95)

    def _seed_entity(self) -> dict[str, Any]:
        world = self._world
        created = world.entity_created_at
        expires = iso(world.end + 335 * DAY)
        permissions = {name: True for name in ("identity", "accounts", "balance", "transactions", "identities",
                                               "scheduled_payments", "standing_orders", "direct_debits",
                                               "beneficiaries")}
        return {
            "id": world.entity_id,
            "customer_id": world.customer_id,
            "bank_identifier": world.bank_identifier,
            "permissions": permissions,
            "bank_type": "RETAIL",
            "created_at": created,
            "consents": [{
                "id": world.consent_id,
                "bank_consent_id": f"urn:leanmb1:aisconsent:{world.consent_id[:8]}",
                "consent_status": "ACTIVE",
                "permissions": sorted(name.upper() for name in permissions),
                "creation_date_time": created,
                "status_update_date_time": created,
                "expiration_date_time": expires,
                "transaction_from_date_time": iso(world.start),
                "transaction_to_date_time": expires,
                "accounts": [
                    {"scheme_name": "IBAN" if a.sub_type != "CREDIT_CARD" else "PAN",
                     "identification": a.iban if a.sub_type != "CREDIT_CARD"
                     else f"4*** **** **** {a.account_number[-4:]}",
                     "name": world.person.full_name, "secondary_identification": None}
                    for a in world.accounts
                ],
            }],
        }

    def _new_payment(self, intent: dict[str, Any], status: str, *, payment_id: str | None = None,
                     when: float | None = None) -> dict[str, Any]:
        world = self._world
        stamp = iso(when if when is not None else time.time())
        seeded = intent["customer_id"] == world.customer_id
        sender = world.accounts[0]
        destination = intent["payment_destination"]
        payment = {
            "id": payment_id or self._new_id(),
            "payment_intent_id": intent["payment_intent_id"],
            "payment_source_id": world.payment_source_id if seeded else self._new_id(),
            "sender_details": {
                "account_number": sender.account_number if seeded else None,
                "iban": sender.iban if seeded else None,
                "name": world.person.full_name if seeded else None,
            },
            "recipient_details": {
                "account_number": destination.get("account_number"),
                "iban": destination.get("iban"),
                "name": destination.get("name"),
            },
            "amount": intent["amount"],
            "currency": intent["currency"],
            "description": intent.get("description"),
            "submission_timestamp": stamp,
            "initiation_timestamp": stamp,
            "status": status,
            "bank_transaction_reference": f"LEAN{self._ids.randrange(10**11, 10**12)}",
        }
        self._state.payments[payment["id"]] = payment
        intent["payments"].append(payment)
        intent["updated_at"] = stamp
        return payment

    # ------------------------------------------------------------------ request handling

    def _build_routes(self) -> list[_Route]:
        table: Sequence[tuple[str, str, Handler]] = (
            ("POST", "/oauth2/token", self._token),
            ("GET", "/banks/v1", self._banks),
            ("POST", "/customers/v1", self._create_customer),
            ("GET", "/customers/v1", self._list_customers),
            ("GET", "/customers/v1/entities", self._entities_by_range),
            ("GET", "/customers/v1/app-user-id/*", self._customer_by_app_user_id),
            ("GET", "/customers/v1/*", self._get_customer),
            ("PUT", "/customers/v1/*", self._update_customer),
            ("GET", "/customers/v1/*/entities", self._list_entities),
            ("GET", "/customers/v1/*/entities/*", self._get_entity),
            ("DELETE", "/customers/v1/*/entities/*", self._delete_entity),
            ("GET", "/customers/v1/*/destinations", self._customer_destinations),
            ("GET", "/customers/v1/*/payment-sources", self._list_payment_sources),
            ("GET", "/customers/v1/*/payment-sources/*", self._get_payment_source),
            ("DELETE", "/customers/v1/*/payment-sources/*", self._delete_payment_source),
            ("GET", "/data/v2/accounts", self._v2_accounts),
            ("GET", "/data/v2/accounts/*/balances", self._v2_balances),
            ("GET", "/data/v2/accounts/*/transactions", self._v2_transactions),
            ("GET", "/data/v2/accounts/*/beneficiaries", self._v2_list_of("beneficiaries")),
            ("GET", "/data/v2/accounts/*/identities", self._v2_list_of("identities")),
            ("GET", "/data/v2/accounts/*/direct-debits", self._v2_list_of("direct_debits")),
            ("GET", "/data/v2/accounts/*/scheduled-payments", self._v2_list_of("scheduled_payments")),
            ("GET", "/data/v2/accounts/*/standing-orders", self._v2_list_of("standing_orders")),
            ("GET", "/data/v2/identity", self._v2_identity),
            ("POST", "/data/v2/refreshes", self._create_refresh),
            ("GET", "/data/v2/refreshes", self._list_refreshes),
            ("GET", "/data/v2/refreshes/*", self._get_refresh),
            ("GET", "/data/v2/results/*", self._results),
            ("GET", "/data/v1/results/*", self._results),
            ("GET", "/v1/results/*", self._results),
            ("POST", "/insights/v2/income", self._income),
            ("GET", "/insights/v2/expenses", self._expenses),
            ("GET", "/insights/v2/assets/cashflows", self._cashflows),
            ("POST", "/insights/v1/name-verification", self._name_verification),
            ("POST", "/verifications/v1/accounts", self._verify_account),
            ("POST", "/payments/v1/intents", self._create_intent),
            ("GET", "/payments/v1/intents", self._list_intents),
            ("GET", "/payments/v1/intents/*", self._get_intent),
            ("POST", "/payments/v1/destinations", self._create_destination),
            ("GET", "/payments/v1/destinations", self._list_destinations),
            ("GET", "/payments/v1/destinations/*", self._get_destination),
            ("POST", "/payments/v1/account-on-file", self._account_on_file),
            ("POST", "/payments/account-on-file", self._account_on_file),
            ("GET", "/payments/v1/*", self._get_payment),
            ("POST", "/payouts/v1/payment", self._payout),
        )
        routes = [_Route(method, _compile(template), handler, template == "/oauth2/token")
                  for method, template, handler in table]
        for prefix in ("/data/v1", "/v1"):
            for name in ("identity", "accounts", "balance", "transactions"):
                routes.append(_Route("POST", _compile(f"{prefix}/{name}"), self._v1_handler(name)))
        return routes

    def _match(self, method: str, path: str) -> tuple[_Route | None, tuple[str, ...], list[str]]:
        """The route for ``method path``, its arguments, and the methods the path allows."""
        allowed: list[str] = []
        wanted = "GET" if method == "HEAD" else method
        for route in self._routes:
            found = route.pattern.fullmatch(path)
            if found is None:
                continue
            if route.method == wanted:
                return route, tuple(unquote(arg) for arg in found.groups()), allowed
            allowed.append(route.method)
        return None, (), allowed

    def _handle(self, request: RecordedRequest) -> Reply:
        try:
            with self._lock:
                if self._faults:
                    return self._faults.popleft()
            parts = urlsplit(request.path)
            path = parts.path.rstrip("/") or "/"
            route, args, allowed = self._match(request.method, path)
            call = _Call(request.method, path, parse_qs(parts.query, keep_blank_values=True), request.headers,
                         request.body, args)
            if route is None or not route.public:
                self._authenticate(call)
            if route is None:
                if allowed:
                    raise _ApiError(405, "INVALID_HTTP_METHOD",
                                    f"Request method '{request.method}' is not supported for {path}.",
                                    headers={"Allow": ", ".join(sorted(set(allowed)))})
                raise _ApiError(404, "INVALID_URL", f"The requested URL {path} is not valid.")
            with self._lock:
                reply = route.handler(call)
        except _ApiError as error:
            reply = error.reply()
        except Exception:  # noqa: BLE001 - the emulator must answer, and say what broke
            with self._lock:
                self.errors.append(traceback.format_exc())
            reply = Reply(500, error_body("INTERNAL_SERVER_ERROR", "The emulator failed on this request."))
        correlation = request.headers.get("lean-correlation-id")
        if correlation:
            reply.headers.setdefault("lean-correlation-id", correlation)
        return reply

    def _authenticate(self, call: _Call) -> None:
        app_token = call.headers.get("lean-app-token")
        authorization = call.headers.get("authorization")
        if app_token is not None and authorization is not None:
            raise _invalid(BOTH_HEADERS_MESSAGE)
        if authorization is not None:
            scheme, _, value = authorization.strip().partition(" ")
            if scheme.lower() != "bearer" or not value.strip():
                raise _ApiError(401, "INVALID_TOKEN", "The Authorization header must be 'Bearer <access token>'.")
            with self._lock:
                token = self._tokens.get(value.strip())
            if token is None or token.expires_at <= time.time():
                raise _ApiError(401, "INVALID_TOKEN", "The access token is invalid or has expired.")
            if token.scope != "api":
                raise _ApiError(403, "INCORRECT_ACCESS_LEVEL",
                                "A customer-scoped token can only be used by LinkSDK; use a token with scope 'api'.")
            return
        if app_token is None:
            raise _ApiError(401, "INVALID_TOKEN",
                            "No lean-app-token header or Authorization bearer token was supplied.")
        if not _same(app_token, self.app_token):
            raise _ApiError(401, "INVALID_TOKEN", "The lean-app-token is not valid for this application.")

    # ------------------------------------------------------------------ OAuth

    def _token(self, call: _Call) -> Reply:
        form = call.form()
        client_id, secret = form.get("client_id"), form.get("client_secret")
        basic = call.headers.get("authorization", "")
        if basic.lower().startswith("basic "):
            with contextlib.suppress(ValueError, UnicodeDecodeError):
                client_id, _, secret = base64.b64decode(basic[6:].strip()).decode("utf-8").partition(":")
        if form.get("grant_type") != "client_credentials":
            return Reply(400, {"error": "unsupported_grant_type",
                               "error_description": "Only grant_type=client_credentials is supported."})
        if not (_same(client_id, self.client_id) and _same(secret, self.client_secret)):
            return Reply(401, {"error": "invalid_client", "error_description": "Client authentication failed."})
        scope = form.get("scope") or "api"
        if scope != "api" and not (scope.startswith("customer.") and scope[9:] in self._state.customers):
            return Reply(400, {"error": "invalid_scope",
                               "error_description": "scope must be 'api' or 'customer.<customer_id>'."})
        now = int(time.time())
        claims = {"sub": self.client_id, "aud": self._server.url if self._server else "", "nbf": now,
                  "scope": ["api"] if scope == "api" else [scope], "iss": self._server.url if self._server else "",
                  "exp": now + TOKEN_LIFETIME, "iat": now, "jti": self._new_id(),
                  "applications": [{"id": self.client_id}]}

        def part(data: Any) -> str:
            raw = data if isinstance(data, bytes) else json.dumps(data, separators=(",", ":")).encode()
            return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

        token = ".".join((part({"kid": "fakelean", "alg": "RS256"}), part(claims),
                          part(self._ids.getrandbits(2048).to_bytes(256, "big"))))
        self._tokens[token] = _Token(time.time() + TOKEN_LIFETIME, scope)
        return Reply(200, {"access_token": token, "scope": scope, "token_type": "Bearer",
                           "expires_in": TOKEN_LIFETIME}, {"Cache-Control": "no-store"})

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _int(call: _Call, name: str, default: int, minimum: int, maximum: int | None = None) -> int:
        raw = call.param(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise _invalid(f"'{name}' must be an integer, got '{raw}'.") from None
        if value < minimum or (maximum is not None and value > maximum):
            bound = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
            raise _invalid(f"'{name}' must be {bound}, got {value}.")
        return value

    def _paging(self, call: _Call, page_name: str, size_name: str, default_size: int) -> tuple[int, int]:
        return (self._int(call, page_name, 0, 0),
                self._int(call, size_name, default_size, 1, MAX_PAGE_SIZE))

    @staticmethod
    def _slice(items: list[Any], number: int, size: int) -> tuple[list[Any], dict[str, Any]]:
        return items[number * size:(number + 1) * size], page_info(number, size, len(items))

    def _customer(self, customer_id: str) -> dict[str, Any]:
        customer = self._state.customers.get(customer_id)
        if customer is None:
            raise _ApiError(404, "UNKNOWN_CUSTOMER", f"Customer with id {customer_id} was not found.")
        return customer

    def _entity(self, entity_id: str | None) -> dict[str, Any]:
        if not entity_id:
            raise _missing("entity_id")
        entity = self._state.entities.get(entity_id)
        if entity is None:
            raise _ApiError(404, "UNKNOWN_ENTITY", f"Entity with id {entity_id} was not found.")
        return entity

    def _account(self, entity_id: str, account_id: str | None) -> AccountInfo:
        if not account_id:
            raise _missing("account_id")
        info = self._world.account(account_id)
        if info is None or entity_id != self._world.entity_id:
            raise _ApiError(404, "UNKNOWN_ACCOUNT", f"Account with id {account_id} was not found for this entity.")
        return info

    def _refreshed_at(self, entity_id: str) -> str:
        finished = [r.created + self.refresh_duration for r in self._state.refreshes.values()
                    if r.entity_id == entity_id and time.time() - r.created >= self.refresh_duration]
        return iso(max(finished)) if finished else self._world.entity_created_at

    # ------------------------------------------------------------------ data answers

    def _data_reply(self, build: Callable[[str], dict[str, Any]], *, v1: bool = False,
                    asynchronous: bool = False) -> Reply:
        """The data answer, unless a status is queued (or ``async`` asked): then PENDING or the failure."""
        results_id = self._new_id()
        override = self._data_statuses.popleft() if self._data_statuses else None
        if override is None and asynchronous:
            override = _Override("PENDING", None, 0)
        if override is None:
            return Reply(200, build(results_id))
        empty = "payload" if v1 else "data"
        if override.status == "PENDING":
            self._state.results[results_id] = _Stored(build(results_id), override.pending_polls, v1)
            pending = {"status": "PENDING", "results_id": results_id, "message": PENDING_MESSAGE, "meta": None,
                       "timestamp": now_iso(), "status_detail": None, empty: None}
            return Reply(200 if v1 else 202, pending)
        granular, info = override.granular, None
        if granular is None and override.status in _DEFAULT_GRANULAR:
            granular, info = _DEFAULT_GRANULAR[override.status]
        detail = {"granular_status_code": granular, "status_additional_info": info} if granular else None
        failure: dict[str, Any] = {
            "status": override.status, "results_id": results_id, "message": _DATA_MESSAGES[override.status],
            "meta": None, "timestamp": now_iso(), "status_detail": detail, empty: None}
        return Reply(200, failure)

    def _v2_body(self, results_id: str, entity_id: str, kind: str, content: Any,
                 page: dict[str, Any] | None) -> dict[str, Any]:
        data: dict[str, Any] = {"type": kind, kind: content}
        if page is not None:
            data["page"] = page
        return {"status": "OK", "results_id": results_id, "message": OK_MESSAGE, "meta": None,
                "timestamp": now_iso(), "status_detail": None, "refreshed_at": self._refreshed_at(entity_id),
                "type": kind, "data": data}

    @staticmethod
    def _async(call: _Call) -> bool:
        return (call.param("async") or "").lower() == "true"

    def _v2_accounts(self, call: _Call) -> Reply:
        entity = self._entity(call.param("entity_id"))
        number, size = self._paging(call, "page", "size", 50)
        items = [self._world.account_object(info) for info in self._world.accounts] \
            if entity["id"] == self._world.entity_id else []

        def build(results_id: str) -> dict[str, Any]:
            chunk, page = self._slice(items, number, size)
            return self._v2_body(results_id, entity["id"], "accounts", chunk, page)

        return self._data_reply(build, asynchronous=self._async(call))

    def _v2_balances(self, call: _Call) -> Reply:
        entity = self._entity(call.param("entity_id"))
        info = self._account(entity["id"], call.args[0])
        number, size = self._paging(call, "page", "size", 50)
        items = self._world.balances(info, now_iso())

        def build(results_id: str) -> dict[str, Any]:
            chunk, page = self._slice(items, number, size)
            return self._v2_body(results_id, entity["id"], "balances", chunk, page)

        return self._data_reply(build, asynchronous=self._async(call))

    def _window(self, start_date: object, end_date: object) -> tuple[int | None, int | None]:
        start, end = _parse_date(start_date, "start_date"), _parse_date(end_date, "end_date")
        latest = dt.datetime.now(dt.timezone.utc).date() + dt.timedelta(days=1)  # a client a timezone ahead
        for name, day in (("start_date", start), ("end_date", end)):
            if day is not None and day > latest:
                raise _invalid(f"'{name}' must be a date in the past or present, got '{day.isoformat()}'.")
        if start is not None and end is not None and end < start:
            raise _invalid("'end_date' must not be before 'start_date'.")
        return (_epoch(start) if start else None, _epoch(end) + DAY if end else None)

    def _v2_transactions(self, call: _Call) -> Reply:
        entity = self._entity(call.param("entity_id"))
        info = self._account(entity["id"], call.args[0])
        number, size = self._paging(call, "page", "size", 50)
        start, end = self._window(call.param("start_date"), call.param("end_date"))
        insights = (call.param("insights") or "").lower() == "true"
        table = self._world.table(info.account_id)
        lo, hi = table.window(start, end)

        def build(results_id: str) -> dict[str, Any]:
            items = [table.transaction(i, insights=insights) for i in table.newest_first(lo, hi, number, size)]
            return self._v2_body(results_id, entity["id"], "transactions", items, page_info(number, size, hi - lo))

        return self._data_reply(build, asynchronous=self._async(call))

    def _v2_list_of(self, kind: str) -> Handler:
        def handler(call: _Call) -> Reply:
            entity = self._entity(call.param("entity_id"))
            info = self._account(entity["id"], call.args[0])
            number, size = self._paging(call, "page", "size", 50)
            items = self._world.account_lists(info)[kind]

            def build(results_id: str) -> dict[str, Any]:
                chunk, page = self._slice(items, number, size)
                return self._v2_body(results_id, entity["id"], kind, chunk, page)

            return self._data_reply(build, asynchronous=self._async(call))

        return handler

    def _v2_identity(self, call: _Call) -> Reply:
        entity = self._entity(call.param("entity_id"))
        identity = self._world.person.identity()
        return self._data_reply(lambda rid: self._v2_body(rid, entity["id"], "identity", identity, None),
                                asynchronous=self._async(call))

    def _results(self, call: _Call) -> Reply:
        results_id = call.args[0]
        stored = self._state.results.get(results_id)
        if stored is None:
            raise _ApiError(404, "UNKNOWN_RESULTS_ID", f"No results with id {results_id}.", results_id=results_id)
        if stored.polls_left > 0:
            stored.polls_left -= 1
            empty = "payload" if stored.v1 else "data"
            return Reply(200 if stored.v1 else 202, {
                "status": "PENDING", "results_id": results_id, "message": PENDING_MESSAGE, "meta": None,
                "timestamp": now_iso(), "status_detail": None, empty: None})
        return Reply(200, copy.deepcopy(stored.body))

    # ------------------------------------------------------------------ refreshes

    def _refresh_object(self, refresh: _Refresh) -> dict[str, Any]:
        done = time.time() - refresh.created >= self.refresh_duration
        item = "OK" if done else "PENDING"
        start = dt.datetime.fromtimestamp(self._world.start, dt.timezone.utc).date()
        end = dt.datetime.fromtimestamp(self._world.end - DAY, dt.timezone.utc).date()
        return {
            "refresh_id": refresh.refresh_id,
            "entity_id": refresh.entity_id,
            "customer_id": refresh.customer_id,
            "status": "FINISHED" if done else "PENDING",
            "data_status": {
                "accounts": item,
                "identity": item,
                "account_data": [
                    {"account_id": info.account_id, "balance": item, "identity": item, "transactions": item,
                     "scheduled_payments": item if info.sub_type == "CURRENT" else "UNSUPPORTED",
                     "direct_debits": item if info.sub_type == "CURRENT" else "UNSUPPORTED",
                     "standing_orders": item if info.sub_type == "CURRENT" else "UNSUPPORTED",
                     "beneficiaries": item if info.sub_type == "CURRENT" else "UNSUPPORTED",
                     "transactionAvailability": {"start": start.isoformat(), "end": end.isoformat()}}
                    for info in self._world.accounts
                ] if refresh.entity_id == self._world.entity_id else [],
            },
            "created_at": iso(refresh.created),
            "updated_at": iso(refresh.created + (self.refresh_duration if done else 0)),
        }

    def _create_refresh(self, call: _Call) -> Reply:
        entity = self._entity(call.json().get("entity_id"))
        now = time.time()
        if any(r.entity_id == entity["id"] and now - r.created < self.refresh_duration
               for r in self._state.refreshes.values()):
            raise _ApiError(429, "DUPLICATED_REQUEST", "Data refresh is already pending.")
        refresh = _Refresh(self._new_id(), entity["id"], entity["customer_id"], now)
        self._state.refreshes[refresh.refresh_id] = refresh
        return Reply(200, {"refresh_id": refresh.refresh_id, "status": "OK",
                           "message": "Data refresh triggered successfully", "timestamp": now_iso()})

    def _list_refreshes(self, call: _Call) -> Reply:
        entity_id = call.param("entity_id")
        if entity_id:
            self._entity(entity_id)
        number, size = self._paging(call, "page", "size", 50)
        items = [self._refresh_object(r) for r in reversed(self._state.refreshes.values())
                 if not entity_id or r.entity_id == entity_id]
        chunk, page = self._slice(items, number, size)
        return Reply(200, {"content": chunk, "page": page})

    def _get_refresh(self, call: _Call) -> Reply:
        refresh = self._state.refreshes.get(call.args[0])
        if refresh is None:
            raise _ApiError(404, "UNKNOWN_REFRESH", f"Refresh with id {call.args[0]} was not found.")
        return Reply(200, self._refresh_object(refresh))

    # ------------------------------------------------------------------ data v1

    def _v1_handler(self, name: str) -> Handler:
        def handler(call: _Call) -> Reply:
            body = call.json()
            entity = self._entity(body.get("entity_id"))
            asynchronous = body.get("async") is True
            world = self._world
            if name == "identity":
                person = world.person
                payload: dict[str, Any] = {
                    "full_name": person.full_name, "mobile_number": person.mobile_number,
                    "email_address": person.email_address, "gender": person.gender,
                    "birth_date": person.birth_date, "national_identity_number": person.emirates_id,
                    "address": person.identity()["address"]["address_line"] + ", Dubai, ARE",
                }
                return self._v1_reply(payload, "identity", asynchronous)
            if name == "accounts":
                payload = {"accounts": [
                    {"id": info.account_id, "name": info.nickname, "currency_code": CURRENCY,
                     "type": info.sub_type, "iban": info.iban if info.sub_type != "CREDIT_CARD" else None,
                     "account_number": info.account_number}
                    for info in world.accounts if entity["id"] == world.entity_id]}
                return self._v1_reply(payload, "accounts", asynchronous)
            info = self._account(entity["id"], body.get("account_id"))
            table = world.table(info.account_id)
            if name == "balance":
                payload = {"balance": round(table.closing_balance / 100, 2), "currency_code": CURRENCY,
                           "account_id": info.account_id, "account_name": info.nickname,
                           "account_type": info.sub_type}
                return self._v1_reply(payload, "balance", asynchronous)
            start, end = self._window(body.get("start_date"), body.get("end_date"))
            lo, hi = table.window(start, end)
            insights = body.get("insights") is True
            return self._v1_reply(
                {"type": "transactions", "account_id": info.account_id,
                 "transactions": [table.transaction_v1(i, insights=insights) for i in range(hi - 1, lo - 1, -1)]},
                "transactions", asynchronous)

        return handler

    def _v1_reply(self, payload: dict[str, Any], kind: str, asynchronous: bool) -> Reply:
        def build(results_id: str) -> dict[str, Any]:
            return {"status": "OK", "type": kind, "payload": payload, "results_id": results_id,
                    "message": OK_MESSAGE, "meta": None, "timestamp": now_iso(), "status_detail": None}

        return self._data_reply(build, v1=True, asynchronous=asynchronous)

    # ------------------------------------------------------------------ insights

    def _months(self, since: int | None = None) -> dict[str, list[int]]:
        """Per month ``YYYY-MM``: [credits, debits, salary] in fils, from the current account."""
        table = self._world.table(self.account_ids[0])
        lo, _ = table.window(since, None)
        months: dict[str, list[int]] = {}
        catalogue, kinds, amounts, times = table.catalogue, table.kinds, table.amounts, table.times
        for i in range(lo, len(table)):
            month = fast_iso(times[i])[:7]
            row = months.setdefault(month, [0, 0, 0])
            amount = amounts[i]
            if amount > 0:
                row[0] += amount
                if catalogue[kinds[i]].category == "SALARY":
                    row[2] += amount
            else:
                row[1] -= amount
        return months

    def _insights_reply(self, call_entity: str | None, kind: str, build: Callable[[], dict[str, Any]],
                        asynchronous: bool = False) -> Reply:
        entity = self._entity(call_entity)
        if entity["id"] != self._world.entity_id:
            raise _ApiError(404, "DATA_NOT_FOUND", "No data is available for this entity yet.")
        insights = build()

        def body(results_id: str) -> dict[str, Any]:
            return {"status": "OK", "results_id": results_id, "message": OK_MESSAGE, "meta": None,
                    "timestamp": now_iso(), "status_detail": None, "type": kind, "insights": insights}

        return self._data_reply(body, asynchronous=asynchronous)

    def _income(self, call: _Call) -> Reply:
        body = call.json()
        income_type = str(body.get("income_type") or "ALL").upper()
        if income_type not in {"ALL", "SALARY", "OTHER"}:
            raise _invalid("'income_type' must be one of ALL, SALARY, OTHER.")

        def build() -> dict[str, Any]:
            months = self._months()

            def pick(row: list[int]) -> int:
                if income_type == "ALL":
                    return row[0]
                return row[2] if income_type == "SALARY" else row[0] - row[2]

            monthly = [{"month": m, "amount": {"currency": CURRENCY, "amount": money(pick(r))}}
                       for m, r in sorted(months.items())]
            total = sum(pick(r) for r in months.values())
            return {"income_type": income_type, "currency": CURRENCY,
                    "total": {"currency": CURRENCY, "amount": money(total)},
                    "monthly_average": {"currency": CURRENCY, "amount": money(total // max(1, len(months)))},
                    "employer": self._world.employer if income_type != "OTHER" else None,
                    "monthly": monthly}

        return self._insights_reply(body.get("entity_id"), "income", build)

    def _expenses(self, call: _Call) -> Reply:
        def build() -> dict[str, Any]:
            table = self._world.table(self.account_ids[0])
            by_category: dict[str, int] = {}
            for kind, amount in zip(table.kinds, table.amounts):
                if amount < 0:
                    category = table.catalogue[kind].category
                    by_category[category] = by_category.get(category, 0) - amount
            total = sum(by_category.values())
            months = max(1, len(self._months()))
            return {"currency": CURRENCY, "total": {"currency": CURRENCY, "amount": money(total)},
                    "monthly_average": {"currency": CURRENCY, "amount": money(total // months)},
                    "categories": [{"category": c, "total": {"currency": CURRENCY, "amount": money(v)},
                                    "share": round(v / total, 4) if total else 0.0}
                                   for c, v in sorted(by_category.items(), key=lambda kv: -kv[1])]}

        return self._insights_reply(call.param("entity_id"), "expenses", build, self._async(call))

    def _cashflows(self, call: _Call) -> Reply:
        start, _ = self._window(call.param("start_date"), None)

        def build() -> dict[str, Any]:
            months = self._months(start)
            return {"currency": CURRENCY, "cashflows": [
                {"month": m, "inflow": money(r[0]), "outflow": money(r[1]),
                 "net": round((r[0] - r[1]) / 100, 2)} for m, r in sorted(months.items())]}

        return self._insights_reply(call.param("entity_id"), "cashflows", build, self._async(call))

    def _name_verification(self, call: _Call) -> Reply:
        body = call.json()
        full_name = body.get("full_name")
        if not isinstance(full_name, str) or not full_name.strip():
            raise _missing("full_name")

        def build() -> dict[str, Any]:
            match_type, confidence = _name_match(full_name, self._world.person.full_name)
            return {"match_type": match_type, "confidence": confidence}

        return self._insights_reply(body.get("entity_id"), "name_verification", build, body.get("async") is True)

    # ------------------------------------------------------------------ verifications

    def _verify_account(self, call: _Call) -> Reply:
        body = call.json()
        details = body.get("account_details")
        identifications = body.get("identifications")
        if not body.get("country_code"):
            raise _missing("country_code")
        if not isinstance(details, dict) or not details.get("value"):
            raise _missing("account_details")
        if not isinstance(identifications, list) or not identifications:
            raise _missing("identifications")
        iban = str(details["value"]).replace(" ", "").upper()
        if str(details.get("type", "IBAN")).upper() != "IBAN" or not iban_is_valid(iban):
            raise _ApiError(400, "INVALID_IBAN", f"'{details['value']}' is not a valid IBAN.")
        stamp = now_iso()

        def failed(code: str, info: str) -> Reply:
            return Reply(200, {"status": "FAILED", "message": "The account could not be verified.",
                               "timestamp": stamp, "meta": None, "data": None,
                               "status_detail": {"granular_status_code": code, "status_additional_info": info}})

        if not iban.startswith("AE"):
            return failed("UNSUPPORTED_BY_BANK", "Only UAE IBANs can be verified.")
        owners = {a.iban: self._world.person.full_name for a in self._world.accounts}
        owners.update({str(d.get("iban") or "").replace(" ", "").upper(): str(d.get("name"))
                       for d in self._state.destinations.values() if d.get("iban")})
        owner = owners.get(iban)
        if owner is None:
            return failed("GIVEN_INPUT_CANNOT_BE_VERIFIED", "The bank holding this IBAN did not confirm it.")
        results = []
        for item in identifications:
            if not isinstance(item, dict) or not item.get("type") or not isinstance(item.get("value"), str):
                raise _invalid("Each identification needs a 'type' and a string 'value'.")
            if str(item["type"]).upper() == "FULL_NAME":
                match_type, confidence = _name_match(item["value"], owner)
            else:
                match_type, confidence = "UNSUPPORTED", 0.0
            results.append({"type": item["type"], "match_type": match_type, "confidence": confidence})
        verified = any(r["match_type"] == "PERFECT_MATCH" for r in results)
        return Reply(200, {"status": "OK", "message": "Account verification completed.", "timestamp": stamp,
                           "meta": None, "status_detail": None,
                           "data": {"verified": verified, "country_code": body["country_code"],
                                    "type": body.get("type", "PERSONAL"),
                                    "account_details": {"type": "IBAN", "value": iban},
                                    "identifications": results}})

    # ------------------------------------------------------------------ banks and customers

    def _banks(self, call: _Call) -> Reply:
        account_type = (call.param("account_types") or "PERSONAL").upper()
        if account_type not in {"PERSONAL", "BUSINESS"}:
            raise _invalid("'account_types' must be PERSONAL or BUSINESS.")
        countries = {c.upper() for c in call.params("country_codes")}
        connections = {c.upper() for c in call.params("connection_types")}
        bank_type = (call.param("bank_type") or "").upper()
        result = [bank for bank in banks()
                  if account_type in bank["supported_account_types"]
                  and (not countries or bank["country_code"] in countries)
                  and (not connections or bank["connection_type"] in connections)
                  and (not bank_type or bank["bank_type"] == bank_type)]
        return Reply(200, result)

    @staticmethod
    def _identifiers(value: Any) -> list[dict[str, str]]:
        if not isinstance(value, list) or not all(
                isinstance(i, dict) and isinstance(i.get("type"), str) and isinstance(i.get("value"), str)
                for i in value):
            raise _invalid("'government_identifiers' must be a list of {\"type\", \"value\"} objects.")
        return [{"type": i["type"], "value": i["value"]} for i in value]

    def _create_customer(self, call: _Call) -> Reply:
        body = call.json()
        app_user_id = body.get("app_user_id")
        if app_user_id is None or app_user_id == "":
            raise _missing("app_user_id")
        if not isinstance(app_user_id, str) or len(app_user_id) > 255:
            raise _invalid("'app_user_id' must be a string of 1 to 255 characters.")
        if any(c["app_user_id"] == app_user_id for c in self._state.customers.values()):
            raise _ApiError(409, "CUSTOMER_ALREADY_EXISTS",
                            f"A customer with app_user_id {app_user_id} already exists.")
        customer: dict[str, Any] = {"customer_id": self._new_id(), "app_user_id": app_user_id}
        if body.get("government_identifiers") is not None:
            customer["government_identifiers"] = self._identifiers(body["government_identifiers"])
        self._state.customers[customer["customer_id"]] = customer
        return Reply(200, copy.deepcopy(customer))

    def _list_customers(self, call: _Call) -> Reply:
        number, size = self._paging(call, "page_number", "page_size", 10)
        chunk, page = self._slice(list(self._state.customers.values()), number, size)
        return Reply(200, {"data": copy.deepcopy(chunk), "page": page})

    def _get_customer(self, call: _Call) -> Reply:
        return Reply(200, copy.deepcopy(self._customer(call.args[0])))

    def _customer_by_app_user_id(self, call: _Call) -> Reply:
        for customer in self._state.customers.values():
            if customer["app_user_id"] == call.args[0]:
                return Reply(200, copy.deepcopy(customer))
        raise _ApiError(404, "UNKNOWN_CUSTOMER", f"Customer with app_user_id {call.args[0]} was not found.")

    def _update_customer(self, call: _Call) -> Reply:
        customer = self._customer(call.args[0])
        body = call.json()
        if "government_identifiers" not in body:
            raise _missing("government_identifiers")
        customer["government_identifiers"] = self._identifiers(body["government_identifiers"])
        return Reply(200, copy.deepcopy(customer))

    # ------------------------------------------------------------------ entities

    def _customer_entities(self, customer_id: str) -> list[dict[str, Any]]:
        self._customer(customer_id)
        return [e for e in self._state.entities.values() if e["customer_id"] == customer_id]

    def _list_entities(self, call: _Call) -> Reply:
        return Reply(200, copy.deepcopy(self._customer_entities(call.args[0])))

    def _get_entity(self, call: _Call) -> Reply:
        for entity in self._customer_entities(call.args[0]):
            if entity["id"] == call.args[1]:
                return Reply(200, copy.deepcopy(entity))
        raise _ApiError(404, "UNKNOWN_ENTITY", f"Entity with id {call.args[1]} was not found.")

    def _delete_entity(self, call: _Call) -> Reply:
        if not any(e["id"] == call.args[1] for e in self._customer_entities(call.args[0])):
            raise _ApiError(404, "UNKNOWN_ENTITY", f"Entity with id {call.args[1]} was not found.")
        del self._state.entities[call.args[1]]
        return Reply(200, None)

    def _entities_by_range(self, call: _Call) -> Reply:
        for name in ("start_date", "end_date"):
            if not call.param(name):
                raise _missing(name)
        start = _parse_date(call.param("start_date"), "start_date")
        end = _parse_date(call.param("end_date"), "end_date")
        number, size = self._paging(call, "page_number", "page_size", 100)
        assert start is not None and end is not None  # noqa: S101 - checked just above
        items = [e for e in self._state.entities.values()
                 if start.isoformat() <= e["created_at"][:10] <= end.isoformat()]
        chunk, page = self._slice(items, number, size)
        return Reply(200, {"data": copy.deepcopy(chunk), "page": page})

    # ------------------------------------------------------------------ payments

    @staticmethod
    def _amount(body: Mapping[str, Any]) -> tuple[float, str]:
        amount, currency = body.get("amount"), body.get("currency")
        if amount is None:
            raise _missing("amount")
        if currency is None:
            raise _missing("currency")
        if not _number(amount) or amount <= 0:
            raise _ApiError(400, "INVALID_AMOUNT", f"'amount' must be a positive number, got {amount!r}.")
        if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
            raise _invalid(f"'currency' must be an ISO 4217 code such as AED, got {currency!r}.")
        low, high = PAYMENT_LIMITS.get(currency, (0.01, float("inf")))
        if amount < low:
            raise _ApiError(400, "AMOUNT_UNDER_MIN_VALUE", f"The minimum amount is {currency} {low:g}.")
        if amount > high:
            raise _ApiError(400, "AMOUNT_OVER_MAX_VALUE", f"The maximum amount is {currency} {high:,.0f}.")
        return float(amount), currency

    def _destination(self, destination_id: str) -> dict[str, Any]:
        destination = self._state.destinations.get(destination_id)
        if destination is None:
            raise _ApiError(404, "UNKNOWN_PAYMENT_DESTINATION",
                            f"Payment destination with id {destination_id} was not found.")
        return destination

    def _create_intent(self, call: _Call) -> Reply:
        body = call.json()
        customer_id = body.get("customer_id")
        if not customer_id:
            raise _missing("customer_id")
        amount, currency = self._amount(body)
        self._customer(str(customer_id))
        purpose = body.get("purpose_code")
        if purpose is not None and purpose not in PURPOSE_CODES:
            raise _invalid(f"'purpose_code' must be one of {', '.join(sorted(PURPOSE_CODES))}.")
        destination_id = body.get("payment_destination_id") or self._world.default_destination_id
        destination = self._destination(str(destination_id))
        stamp = now_iso()
        intent = {
            "payment_intent_id": self._new_id(),
            "customer_id": customer_id,
            "amount": amount,
            "currency": currency,
            "description": body.get("description"),
            "purpose_code": purpose,
            "payments": [],
            "payment_destination": copy.deepcopy(destination),
            "created_at": stamp,
            "updated_at": stamp,
        }
        self._state.intents[intent["payment_intent_id"]] = intent
        return Reply(200, copy.deepcopy(intent))

    def _list_intents(self, call: _Call) -> Reply:
        number, size = self._paging(call, "page", "size", 20)
        customer_id, status = call.param("customer_id"), call.param("status")
        since, until = _parse_datetime(call.param("from"), "from"), _parse_datetime(call.param("to"), "to")
        items = []
        for intent in reversed(self._state.intents.values()):
            created = _parse_datetime(intent["created_at"], "created_at")
            assert created is not None  # noqa: S101 - always set
            if customer_id and intent["customer_id"] != customer_id:
                continue
            if (since and created < since) or (until and created > until):
                continue
            if status and not any(p["status"] == status for p in intent["payments"]):
                continue
            items.append(intent)
        chunk, page = self._slice(items, number, size)
        return Reply(200, {"data": copy.deepcopy(chunk), "page": page})

    def _get_intent(self, call: _Call) -> Reply:
        intent = self._state.intents.get(call.args[0])
        if intent is None:
            raise _ApiError(404, "UNKNOWN_PAYMENT_INTENT", f"Payment intent with id {call.args[0]} was not found.")
        return Reply(200, copy.deepcopy(intent))

    def _get_payment(self, call: _Call) -> Reply:
        payment = self._state.payments.get(call.args[0])
        if payment is None:
            raise _ApiError(404, "UNKNOWN_PAYMENT", f"Payment with id {call.args[0]} was not found.")
        return Reply(200, copy.deepcopy(payment))

    def _create_destination(self, call: _Call) -> Reply:
        body = call.json()
        missing = [name for name in DESTINATION_REQUIRED if not body.get(name)]
        if missing:
            raise _ApiError(400, "MISSING_PARAMETERS", f"Missing required parameters: {', '.join(missing)}.")
        if not isinstance(body["country"], str) or not re.fullmatch(r"[A-Za-z]{3}", body["country"]):
            raise _invalid("'country' must be an ISO 3166 alpha-3 code such as ARE.")
        iban = body.get("iban")
        if iban is not None and (not isinstance(iban, str) or not iban_is_valid(iban)):
            raise _ApiError(400, "INVALID_IBAN", f"'{iban}' is not a valid IBAN.")
        customer_id = body.get("customer_id")
        if customer_id is not None:
            self._customer(str(customer_id))
        destination: dict[str, Any] = {
            "id": self._new_id(),
            "customer_id": customer_id,
            **{name: body.get(name) for name in ("name", "display_name", "address", "city", "account_number",
                                                 "iban", "swift_code", "branch_address", "bank_type",
                                                 "government_identifier")},
            "country": body["country"].upper(),
            "bank_identifier": body.get("bank_identifier"),
            "currency": body.get("currency") or CURRENCY,
            "status": "CONFIRMED",
            "default": False,
            "created_at": now_iso(),
        }
        self._state.destinations[destination["id"]] = destination
        return Reply(200, copy.deepcopy(destination))

    def _list_destinations(self, call: _Call) -> Reply:
        return Reply(200, copy.deepcopy(list(self._state.destinations.values())))

    def _get_destination(self, call: _Call) -> Reply:
        return Reply(200, copy.deepcopy(self._destination(call.args[0])))

    def _customer_destinations(self, call: _Call) -> Reply:
        self._customer(call.args[0])
        return Reply(200, copy.deepcopy([d for d in self._state.destinations.values()
                                         if d.get("customer_id") == call.args[0]]))

    def _customer_sources(self, customer_id: str) -> list[dict[str, Any]]:
        self._customer(customer_id)
        return [s for s in self._state.payment_sources.values() if s["customer_id"] == customer_id]

    def _list_payment_sources(self, call: _Call) -> Reply:
        return Reply(200, copy.deepcopy(self._customer_sources(call.args[0])))

    def _payment_source(self, call: _Call) -> dict[str, Any]:
        for source in self._customer_sources(call.args[0]):
            if source["id"] == call.args[1]:
                return source
        raise _ApiError(404, "UNKNOWN_PAYMENT_SOURCE", f"Payment source with id {call.args[1]} was not found.")

    def _get_payment_source(self, call: _Call) -> Reply:
        return Reply(200, copy.deepcopy(self._payment_source(call)))

    def _delete_payment_source(self, call: _Call) -> Reply:
        source = self._payment_source(call)
        del self._state.payment_sources[source["id"]]
        return Reply(200, {})

    def _idempotent(self, call: _Call, kind: str, required: bool,
                    make: Callable[[dict[str, Any]], dict[str, Any]]) -> Reply:
        """Run ``make`` once per ``Idempotency-Key``; a repeated key gets the first answer again."""
        key = call.headers.get("idempotency-key")
        if not key:
            if required:
                raise _ApiError(400, "MISSING_PARAMETERS", "The 'Idempotency-Key' header is required.")
            return Reply(200, make(call.json()))
        stored = self._state.idempotent.get((kind, key))
        if stored is not None:
            return Reply(stored[0], copy.deepcopy(stored[1]), {"Idempotent-Replayed": "true"})
        answer = make(call.json())
        self._state.idempotent[(kind, key)] = (200, copy.deepcopy(answer))
        return Reply(200, answer)

    def _account_on_file(self, call: _Call) -> Reply:
        def make(body: dict[str, Any]) -> dict[str, Any]:
            amount, currency = self._amount(body)
            if body.get("customer_id") is not None:
                self._customer(str(body["customer_id"]))
            stamp = now_iso()
            payment = {
                "payment_id": self._new_id(),
                "status": "ACCEPTED_BY_BANK",
                "amount": amount,
                "currency": currency,
                "customer_id": body.get("customer_id"),
                "consent_id": body.get("consent_id"),
                "description": body.get("description"),
                "reference": body.get("reference"),
                "bank_transaction_reference": f"LEAN{self._ids.randrange(10**11, 10**12)}",
                "created_at": stamp,
                "updated_at": stamp,
            }
            self._state.aof_payments.append(copy.deepcopy(payment))
            return payment

        return self._idempotent(call, "account-on-file", True, make)

    def _payout(self, call: _Call) -> Reply:
        def make(body: dict[str, Any]) -> dict[str, Any]:
            amount, currency = self._amount(body)
            destination_id = body.get("payment_destination_id") or body.get("destination_id")
            if destination_id is not None:
                self._destination(str(destination_id))
            stamp = now_iso()
            payout = {
                "id": self._new_id(),
                "status": "INITIATED",
                "amount": amount,
                "currency": currency,
                "payment_destination_id": destination_id,
                "description": body.get("description"),
                "reference": body.get("reference"),
                "created_at": stamp,
                "updated_at": stamp,
            }
            self._state.payouts.append(copy.deepcopy(payout))
            return payout

        return self._idempotent(call, "payout", False, make)


def port_is_open(port: int, host: str = "127.0.0.1") -> bool:
    """Whether something accepts TCP connections on ``host:port`` (for shutdown checks)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        return probe.connect_ex((host, port)) == 0

