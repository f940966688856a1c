"""The emulator's building blocks: Lean's error answers, parsed calls, shared helpers.

Every route module (:mod:`lean_mtls.testing._routes`) raises :class:`ApiError`
to answer with Lean's error body, reads its request through :class:`Call`, and
uses the parsing helpers here, so each decision (what a malformed id answers,
how dates and pages are read) is made once.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from ._data import now_iso
from ._server import Reply

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

DATA_MESSAGES = {
    "FAILED": "Lean could not retrieve the data from the bank.",
    "RECONNECT_REQUIRED": "The entity must be reconnected through LinkSDK before data can be retrieved.",
    "CONSENT_EXPIRED": "The customer's consent has expired; ask the customer to connect again.",
}
DEFAULT_GRANULAR = {"FAILED": ("BANK_ISSUE", "The bank returned an error; try again later.")}

WEBHOOK_MESSAGES = {
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

GATEWAY_PAGE = (
    "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{status} {reason}</h1></center>\r\n</body>\r\n</html>\r\n"
)
REASONS = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Temporarily Unavailable",
            504: "Gateway Time-out"}
ERROR_CODES = {
    400: "INVALID_PARAMETERS",
    401: "INVALID_TOKEN",
    403: "INSUFFICIENT_ACCESS_LEVEL",
    404: "INVALID_URL",
    405: "INVALID_HTTP_METHOD",
    409: "CONFLICT",
    429: "RATE_LIMIT_EXCEEDED",
    500: "INTERNAL_SERVER_ERROR",
}


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


class ApiError(Exception):
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


def missing(name: str) -> ApiError:
    return ApiError(400, "MISSING_PARAMETERS", f"Missing required parameter '{name}'.")


def invalid(message: str) -> ApiError:
    return ApiError(400, "INVALID_PARAMETERS", message)


@dataclass
class Call:
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
            raise invalid("The request body must be a JSON object.")
        try:
            data = json.loads(self.body)
        except ValueError:
            raise invalid("Malformed JSON request body.") from None
        if not isinstance(data, dict):
            raise invalid("The request body must be a JSON object.")
        return data

    def form(self) -> dict[str, str]:
        try:
            return dict(parse_qsl(self.body.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            return {}


@dataclass
class Override:
    status: str
    granular: str | None
    pending_polls: int
    info: str | None = None


@dataclass
class Stored:
    """A data result announced by a PENDING answer."""

    body: dict[str, Any]
    polls_left: int
    v1: bool


@dataclass
class Token:
    expires_at: float
    scope: str


@dataclass
class Refresh:
    refresh_id: str
    entity_id: str
    customer_id: str
    created: float


@dataclass
class State:
    """Everything clients can change; rebuilt from the world by :meth:`FakeLean.reset`."""

    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    entities: dict[str, dict[str, Any]] = field(default_factory=dict)
    destinations: dict[str, dict[str, Any]] = field(default_factory=dict)
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    payment_sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    refreshes: dict[str, Refresh] = field(default_factory=dict)
    results: dict[str, Stored] = field(default_factory=dict)
    #: (kind, Idempotency-Key) -> (request body fingerprint, status, answer).
    idempotent: dict[tuple[str, str], tuple[str, int, Any]] = field(default_factory=dict)
    aof_consents: dict[str, dict[str, Any]] = field(default_factory=dict)
    aof_payments: list[dict[str, Any]] = field(default_factory=list)
    payouts: list[dict[str, Any]] = field(default_factory=list)
    payout_payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    payout_destinations: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Entities whose data consent has expired (refreshes answer 403 CONSENT_EXPIRED).
    expired: set[str] = field(default_factory=set)


Handler = Callable[[Any, Call], Reply]


def parse_date(value: object, name: str) -> dt.date | None:
    if value is None or value == "":
        return None
    try:
        return dt.date.fromisoformat(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise invalid(f"'{name}' must be a date in the format YYYY-MM-DD, got '{value}'.") from None


def parse_datetime(value: str | None, name: str) -> dt.datetime | None:
    if not value:
        return None
    text = value.strip().replace("Z", "+00:00").replace(" ", "+")
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        try:
            moment = dt.datetime.combine(dt.date.fromisoformat(text), dt.time())
        except ValueError:
            raise invalid(f"'{name}' must be an ISO 8601 date-time, got '{value}'.") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def epoch(day: dt.date) -> int:
    return int(dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc).timestamp())


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def same(given: object, expected: str) -> bool:
    return isinstance(given, str) and hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def name_match(given: str, actual: str) -> tuple[str, float]:
    """Lean's name-match verdict for ``given`` against ``actual``."""
    want = {part for part in re.split(r"[\s\-]+", given.casefold()) if part}
    have = {part for part in re.split(r"[\s\-]+", actual.casefold()) if part}
    if want and want == have:
        return "PERFECT_MATCH", 1.0
    common = want & have
    if common:
        return "PARTIAL_MATCH", round(len(common) / len(want | have), 2)
    return "NO_MATCH", 0.0




def int_param(call: Call, name: str, default: int, minimum: int, maximum: int | None = None) -> int:
    """An integer query parameter within bounds (400 ``INVALID_PARAMETERS`` otherwise)."""
    raw = call.param(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid(f"'{name}' must be an integer, got '{raw}'.") from None
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
        raise invalid(f"'{name}' must be {bound}, got {value}.")
    return value


def slice_page(items: list[Any], number: int, size: int) -> tuple[list[Any], dict[str, Any]]:
    """Page ``number`` of ``items`` and Lean's page object for it."""
    return items[number * size:(number + 1) * size], page_info(number, size, len(items))


def is_async(call: Call) -> bool:
    return (call.param("async") or "").lower() == "true"


def flag(value: Any) -> bool:
    """A boolean as Lean's requests send it: ``true`` or the string ``"true"``."""
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


#: The one UUID spelling Lean (Java's ``UUID.fromString``, Spring's converters) reads: 8-4-4-4-12 hex
#: digits in either case.  Python's ``uuid.UUID`` also takes the hyphenless, ``{...}`` and ``urn:uuid:``
#: forms, which Lean answers 400.
CANONICAL_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def check_uuid(value: Any, name: str, *, results_id: str | None = None) -> str:
    """``value`` as the lower-case UUID it names; a malformed one is Lean's 400 ``INVALID_PARAMETERS``,
    before any lookup.  UUIDs are values: the upper-case spelling of a known id finds it."""
    if value is None or value == "":
        raise missing(name)
    if not isinstance(value, str) or not CANONICAL_UUID.fullmatch(value):
        raise ApiError(400, "INVALID_PARAMETERS", f"'{name}' must be a UUID, got '{value}'.",
                       results_id=results_id)
    return value.lower()


def required(body: Mapping[str, Any], *names: str) -> None:
    """400 ``MISSING_PARAMETERS`` naming every absent (or empty) field of ``names``."""
    absent = [name for name in names if body.get(name) in (None, "", [], {})]
    if absent:
        raise ApiError(400, "MISSING_PARAMETERS", f"Missing required parameters: {', '.join(absent)}.")


def one_of(value: Any, name: str, allowed: frozenset[str] | tuple[str, ...]) -> str:
    """``value`` upper-cased if it is one of ``allowed`` (400 ``INVALID_PARAMETERS`` otherwise)."""
    text = str(value).upper() if isinstance(value, str) else ""
    if text not in allowed:
        raise invalid(f"'{name}' must be one of {', '.join(sorted(allowed))}, got {value!r}.")
    return text


def json_list(call: Call) -> list[Any]:
    """A request body that is a JSON array (refunds, payout destinations)."""
    try:
        data = json.loads(call.body) if call.body.strip() else None
    except ValueError:
        raise invalid("Malformed JSON request body.") from None
    if not isinstance(data, list) or not data:
        raise invalid("The request body must be a non-empty JSON array.")
    return data


def _absent(value: Any, parts: list[str]) -> bool:
    """Whether the dotted name ``parts`` (``[]`` = every element of a list) is missing from ``value``."""
    if not parts:
        return value is None or value == "" or value == [] or value == {}
    head, rest = parts[0], parts[1:]
    if head == "[]":
        return not isinstance(value, list) or not value or any(_absent(item, rest) for item in value)
    return not isinstance(value, dict) or _absent(value.get(head), rest)


#: Body names Lean's requests always send but Lean defaults when absent: ``async`` is false unless
#: asked (LEAN_API.md, "Async / PENDING": Lean recommends async=false; the flag is deprecated).
DEFAULTED_BODY_NAMES = frozenset({"async"})


#: ISO 4217 codes the emulator knows (Lean's markets and the usual settlement currencies); any other
#: ``currency``/``currency_iso_code`` is 400 ``INVALID_PARAMETERS``, as a Java ``Currency.getInstance`` would be.
CURRENCIES = frozenset({"AED", "SAR", "USD", "EUR", "GBP", "BHD", "KWD", "OMR", "QAR", "EGP", "JOD", "INR", "PKR"})
#: Body fields whose value is a currency code.
CURRENCY_FIELDS = frozenset({"currency", "currency_iso_code"})
#: Body fields with a fixed vocabulary in Lean's requests and remarks (P body and body_notes, O): the
#: value must be one of these (in any letter case for :data:`CASE_INSENSITIVE`).  ``risk_details.channel``
#: and ``language`` are UNCERTAIN beyond Lean's example values (``MOBILE``; ``en``/``ar`` as Lean's KSA
#: OpenAPI files' ``accept-language``).
VOCABULARY: dict[str, frozenset[str]] = {
    "channel": frozenset({"MOBILE", "WEB"}),
    "language": frozenset({"en", "ar"}),
    "reason": frozenset({"USER_REQUESTED"}),
    "period_type": frozenset({"Year", "Month", "Daily"}),
    "account_details.type": frozenset({"IBAN", "ACCOUNT_ID"}),
    "bank_identifier.type": frozenset({"BIC", "CLEARING_ID"}),
}

#: Vocabulary Lean's remarks spell in mixed case (``Year, Month, Daily``; ``en``): any case is accepted.
CASE_INSENSITIVE = frozenset({"language", "period_type"})


def _kind_of(marker: Any) -> str | None:
    """The JSON kind Lean's request shape gives a field (``None``: anything)."""
    if isinstance(marker, dict):
        return "object"
    if isinstance(marker, list):
        return "list"
    if marker in ("<integer>", "<number>"):
        return "number"
    if marker == "<boolean>":
        return "boolean"
    if isinstance(marker, str):
        return "string"
    return None


def _fits(value: Any, kind: str, name: str) -> bool:
    """Whether ``value`` is of ``kind`` as Lean (Jackson) reads it: numbers may come as numeric strings
    (account-on-file amounts are strings), booleans as ``"true"``/``"false"``, flags as either."""
    if value is None:
        return True
    if kind == "object":
        return isinstance(value, dict)
    if kind == "list":
        return isinstance(value, list)
    if kind == "number":
        if is_number(value):
            return True
        try:
            float(value)
        except (TypeError, ValueError):
            return False
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool) or (isinstance(value, str) and value.lower() in ("true", "false"))
    if name in DEFAULTED_BODY_NAMES:  # "async": "<string>" in Lean's request, a boolean in older clients
        return isinstance(value, (str, bool))
    return isinstance(value, str)


def check_body_values(shape: Any, body: Any, path: str = "") -> None:
    """400 ``INVALID_PARAMETERS`` for a present field of the wrong JSON kind (against Lean's request
    ``shape``), an unknown currency code, or a value outside :data:`VOCABULARY`.  Absent fields are
    :func:`check_required_body`'s (``MISSING_PARAMETERS``)."""
    if isinstance(body, dict):
        for key, value in body.items():
            name = f"{path}.{key}" if path else key
            sub = shape.get(key) if isinstance(shape, dict) else None
            kind = _kind_of(sub)
            if kind is not None and not _fits(value, kind, key):
                raise invalid(f"'{name}' must be {'an' if kind[0] in 'ao' else 'a'} {kind}, got {json.dumps(value)}.")
            if key in CURRENCY_FIELDS and value is not None and value not in CURRENCIES:
                raise invalid(f"'{name}' must be an ISO 4217 currency code such as AED, got {json.dumps(value)}.")
            allowed = VOCABULARY.get(key) or VOCABULARY.get(".".join(name.replace("[]", "").split(".")[-2:]))
            if allowed is not None and isinstance(value, str) and value not in allowed \
                    and not (key in CASE_INSENSITIVE and value.lower() in {a.lower() for a in allowed}):
                raise invalid(f"'{name}' must be one of {', '.join(sorted(allowed))}, got {json.dumps(value)}.")
            check_body_values(sub, value, name)
    elif isinstance(body, list):
        element = shape[0] if isinstance(shape, list) and shape else None
        for item in body:
            check_body_values(element, item, f"{path}[]")


def check_required_body(names: list[str], call: Call) -> None:
    """400 ``MISSING_PARAMETERS`` naming the required body fields (dotted, ``[]`` for lists) that are absent.

    ``names`` come from the endpoint list (:class:`~lean_mtls.resources._endpoints.Param` with
    ``required=True``: what Lean's own request always sends).  A body that is not JSON is left to the
    handler, which answers it as Lean does.
    """
    try:
        body = json.loads(call.body) if call.body.strip() else None
    except ValueError:
        return
    if body is None:
        # No body at all (a DELETE sent without its JSON): every required field is missing, unless
        # it came as a query parameter (Lean's OpenAPI files allow an entity deletion's reason there).
        wanted = [name for name in names if name not in DEFAULTED_BODY_NAMES and not call.param(name)]
        if wanted:
            raise ApiError(400, "MISSING_PARAMETERS", f"Missing required parameters: {', '.join(wanted)}.")
        return
    absent = [name for name in names if name not in DEFAULTED_BODY_NAMES
              and _absent(body, [p for p in name.replace("[]", ".[]").split(".") if p])]
    if absent:
        raise ApiError(400, "MISSING_PARAMETERS", f"Missing required parameters: {', '.join(absent)}.")
