"""Verify and parse the webhooks Lean sends to your server.

Lean signs every webhook with a ``lean-signature`` header whose value is
``sha512=<digest>``: an HMAC-SHA512 of the request body keyed with the app's
*webhook secret* (Lean dashboard, Development -> Integration settings; it is
not the OAuth client secret and not the app token).  Without this check anyone
who learns your webhook URL can make your server believe a payment succeeded.

Why the API looks the way it does:

* **Raw body.**  The HMAC covers the exact bytes Lean sent.  Parsing the JSON
  and re-serialising it changes whitespace, key order and escapes, so the
  digest no longer matches.  Pass the bytes straight from the framework
  (Django ``request.body``, Flask ``request.get_data()``, FastAPI/Starlette
  ``await request.body()``) *before* anything parses them; :func:`verify`
  refuses ``str`` and parsed objects.
* **Constant time.**  Digests are compared with :func:`hmac.compare_digest`
  on the decoded 64 bytes, so the time taken does not reveal how many leading
  bytes of a forged signature were right.
* **Digest encoding is not documented.**  Lean's documentation says the value
  "begins with sha512=" but not how the digest after it is encoded.  Hex is
  the most likely (it is what Node's ``digest('hex')`` gives); base64 is
  accepted too so that a wrong guess cannot lock every webhook out.  Both are
  decoded to the raw 64 bytes before comparing, so accepting two spellings of
  the same digest does not weaken the check.  Accepted: hex in any case, and
  base64 in the standard or URL-safe alphabet, with or without ``=`` padding.
* **The ``sha512=`` prefix is required** (case-insensitive, surrounding
  whitespace ignored).  A bare digest is refused with a message saying so:
  Lean always sends the prefix, and a missing one means the header was
  rewritten by something between Lean and you, or the value was copied from
  somewhere else.

Replays: the signature covers only the body; there is no timestamp or nonce
in it.  A captured delivery stays valid forever, and Lean itself delivers the
same event again when you do not answer HTTP 200 within 10 seconds (retries
at 1, 2, 5, 10, 60 and 180 minutes).  So: answer 200 quickly (queue the work),
and de-duplicate on :attr:`WebhookEvent.event_id` before acting.  Lean also
recommends allow-listing its source IP addresses.

Typical use (Django)::

    from lean_mtls import webhooks

    def lean_webhook(request):
        try:
            event = webhooks.verify_request(request.headers, request.body, settings.LEAN_WEBHOOK_SECRET)
        except webhooks.WebhookSignatureError:
            return HttpResponse(status=400)
        if not already_seen(event.event_id):
            enqueue(event.raw)
        return HttpResponse(status=200)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from types import MappingProxyType
from typing import Any, ClassVar, Protocol, Union, overload, runtime_checkable

from .errors import InvalidRequestError, LeanError

__all__ = [
    "EVENT_TYPES",
    "SIGNATURE_HEADER",
    "BankAvailabilityUpdatedEvent",
    "EntityCreatedEvent",
    "EntityDataRefreshUpdatedEvent",
    "EntityEvent",
    "EntityUpdatedEvent",
    "HeadersLike",
    "PaymentCreatedEvent",
    "PaymentEvent",
    "PaymentIntentCreatedEvent",
    "PaymentSourceBeneficiaryCreatedEvent",
    "PaymentSourceBeneficiaryEvent",
    "PaymentSourceBeneficiaryUpdatedEvent",
    "PaymentSourceCreatedEvent",
    "PaymentUpdatedEvent",
    "ResultsReadyEvent",
    "WebhookBody",
    "WebhookEvent",
    "WebhookSecret",
    "WebhookSignatureError",
    "sign",
    "verify",
    "verify_request",
]

#: Name of the HTTP header that carries Lean's signature.
SIGNATURE_HEADER = "lean-signature"

_PREFIX = "sha512="
_DIGEST_SIZE = hashlib.sha512().digest_size  # 64 bytes
_HEX_LENGTH = 2 * _DIGEST_SIZE  # 128 characters
_B64_LENGTH = 86  # 64 bytes in base64 without the two "=" of padding
_HEX = re.compile(r"[0-9A-Fa-f]+")
_B64 = re.compile(r"[A-Za-z0-9+/_-]+")
# "<algorithm>=<digest>"; the bound keeps a bare padded base64 digest from passing for an algorithm name.
_LABELLED = re.compile(r"([A-Za-z][A-Za-z0-9_-]{0,15})\s*=\s*(.*)", re.DOTALL)
# Names under which the header may show up: HTTP, and WSGI environ / Django request.META.
_HEADER_NAMES = (SIGNATURE_HEADER, "http-" + SIGNATURE_HEADER)

#: The webhook secret from Lean's developer portal, as text or bytes.
WebhookSecret = Union[str, bytes]
#: The raw request body exactly as received (before any JSON parsing).
WebhookBody = Union[bytes, bytearray, memoryview]


@runtime_checkable
class HeadersLike(Protocol):
    """Anything with ``items()`` yielding ``(name, value)`` pairs: a ``dict``,
    Django's ``request.headers`` or ``request.META``, Flask/Werkzeug's
    ``Headers`` (not a ``Mapping``, hence this protocol), Starlette's ``Headers``."""

    def items(self) -> Iterable[tuple[Any, Any]]: ...


class WebhookSignatureError(LeanError, ValueError):
    """The webhook cannot be trusted or used: do not act on it, answer 4xx.

    ``code`` is always ``"invalid-webhook-signature"``.  ``reason`` says which
    check failed, for logs and metrics:

    ``missing-secret``
        no webhook secret was configured (a deployment problem, not an attack).
    ``missing-header``
        the ``lean-signature`` header is absent or empty.
    ``ambiguous-header``
        several different ``lean-signature`` values were given.
    ``wrong-algorithm``
        the header does not start with ``sha512=`` (another algorithm, or a
        bare digest with no prefix).
    ``malformed-digest``
        the part after ``sha512=`` is not a 64-byte digest in hex or base64.
    ``mismatch``
        the digest is well formed but wrong: another secret, or a body that
        was changed (or re-encoded) after Lean signed it.
    ``invalid-body``
        the signature is valid but the body is not a JSON object in Lean's
        webhook envelope.

    Messages never contain the secret or the expected digest.
    """

    code = "invalid-webhook-signature"

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, reason={self.reason!r}, message={self.message!r})"


# --------------------------------------------------------------------------- events


_TIMESTAMP = re.compile(
    r"(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|z|[+-]\d{2}:?\d{2})?",
    re.ASCII,
)


def _parse_timestamp(value: str) -> datetime | None:
    """Lean sends nanoseconds (``2026-05-12T15:40:36.398576427Z``), which
    :meth:`datetime.fromisoformat` refuses before Python 3.11: truncate to
    microseconds.  A timestamp without an offset is taken as UTC (every sample
    Lean publishes ends in ``Z``)."""
    match = _TIMESTAMP.fullmatch(value.strip())
    if match is None:
        return None
    date, time, fraction, offset = match.groups()
    micro = (fraction or "0")[:6].ljust(6, "0")
    try:
        parsed = datetime.fromisoformat(f"{date}T{time}.{micro}")
        if offset is None or offset in ("Z", "z"):
            return parsed.replace(tzinfo=timezone.utc)
        sign = -1 if offset[0] == "-" else 1
        digits = offset[1:].replace(":", "")
        delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        return parsed.replace(tzinfo=timezone(sign * delta))
    except ValueError:  # month 13, offset >= 24h, ...
        return None


def _text(payload: Mapping[str, Any], key: str) -> str | None:
    value = payload.get(key)
    return value if isinstance(value, str) else None


class _PayloadText:
    """A read-only event attribute read from ``payload[key]``: the value when
    it is a string, else ``None`` (a shortcut never raises)."""

    def __init__(self, key: str, doc: str | None = None) -> None:
        self.key = key
        self.__doc__ = doc or f"``payload.{key}``."

    @overload
    def __get__(self, event: None, owner: type[Any]) -> _PayloadText: ...

    @overload
    def __get__(self, event: WebhookEvent, owner: type[Any]) -> str | None: ...

    def __get__(self, event: WebhookEvent | None, owner: type[Any]) -> str | _PayloadText | None:
        return self if event is None else _text(event.payload, self.key)


@dataclass(frozen=True)
class WebhookEvent:
    """A verified Lean webhook.

    Every event is at least a :class:`WebhookEvent`; the types Lean documents
    get a subclass (see :data:`EVENT_TYPES`) with typed shortcuts into
    ``payload``.  Types this version does not know come back as the base class
    with ``payload`` and ``raw`` untouched, so a new Lean event never breaks a
    receiver.

    Attributes:
        type: the event type, e.g. ``"entity.created"``.
        message: Lean's human description ("" when absent).
        payload: the event's object (entity, payment, ...) as Lean sent it.
        event_id: Lean's id for this event; the same on every retry of a
            delivery, so de-duplicate on it.  ``None`` if Lean omitted it.
        timestamp: the ``timestamp`` string as sent (see
            :attr:`parsed_timestamp`), ``None`` if absent.
        raw: the whole decoded body.

    The dataclass is frozen, but ``payload`` and ``raw`` are plain dicts
    shared with each other: treat them as read-only.  Shortcut properties
    return ``None`` when the field is missing or not a string, never raise.
    """

    #: The ``type`` this class is registered for (``None`` on the base class).
    event_type: ClassVar[str | None] = None

    type: str
    message: str
    payload: dict[str, Any] = field(hash=False)
    event_id: str | None
    timestamp: str | None
    raw: dict[str, Any] = field(hash=False, repr=False)

    @property
    def parsed_timestamp(self) -> datetime | None:
        """``timestamp`` as an aware :class:`~datetime.datetime` (UTC when the
        string has no offset), or ``None`` if it is absent or unparseable."""
        return None if self.timestamp is None else _parse_timestamp(self.timestamp)


class EntityEvent(WebhookEvent):
    """Base of ``entity.created`` and ``entity.updated``: the payload is an entity
    (a customer's connection to one bank)."""

    entity_id = _PayloadText("id", "``payload.id``: the entity id used for data calls.")
    customer_id = _PayloadText("customer_id")
    app_user_id = _PayloadText("app_user_id")


class EntityCreatedEvent(EntityEvent):
    """``entity.created``: the customer connected a bank through LinkSDK ``connect()``."""

    event_type = "entity.created"


class EntityUpdatedEvent(EntityEvent):
    """``entity.updated``: the entity's consent changed (reconnected or revoked).

    The payload is assumed to be shaped like ``entity.created``'s (no sample
    of it is published); check ``payload`` before relying on other fields."""

    event_type = "entity.updated"


class EntityDataRefreshUpdatedEvent(WebhookEvent):
    """``entity.data.refresh.updated``: a data refresh progressed or finished.

    ``payload.data_status`` holds per-account, per-dataset states
    (``OK``/``FAILED``/``UNSUPPORTED``/``PENDING``)."""

    event_type = "entity.data.refresh.updated"

    entity_id = _PayloadText("entity_id")
    refresh_id = _PayloadText("refresh_id")
    customer_id = _PayloadText("customer_id")
    status = _PayloadText("status", "Overall refresh status (samples show ``FINISHED`` and ``OK``).")


class ResultsReadyEvent(WebhookEvent):
    """``results.ready``: an asynchronous data call finished; fetch it with
    ``GET /data/v2/results/{results_id}``."""

    event_type = "results.ready"

    results_id = _PayloadText("id", "``payload.id``: the ``results_id`` the PENDING answer gave you.")


class PaymentEvent(WebhookEvent):
    """Base of ``payment.created`` and ``payment.updated``: the payload is a payment."""

    payment_id = _PayloadText("id")
    intent_id = _PayloadText("intent_id")
    customer_id = _PayloadText("customer_id")
    status = _PayloadText("status", "Payment status, e.g. ``ACCEPTED_BY_BANK``.")
    payment_destination_id = _PayloadText("payment_destination_id")
    bank_transaction_reference = _PayloadText("bank_transaction_reference")


class PaymentCreatedEvent(PaymentEvent):
    """``payment.created``."""

    event_type = "payment.created"


class PaymentUpdatedEvent(PaymentEvent):
    """``payment.updated``: the payment's status changed."""

    event_type = "payment.updated"


class PaymentIntentCreatedEvent(WebhookEvent):
    """``payment_intent.created``."""

    event_type = "payment_intent.created"

    intent_id = _PayloadText("intent_id")
    status = _PayloadText("status")


class PaymentSourceCreatedEvent(WebhookEvent):
    """``payment_source.created`` (Lean says it will be deprecated; prefer
    ``payment_source.beneficiary.updated``)."""

    event_type = "payment_source.created"

    payment_source_id = _PayloadText("id", "``payload.id``.")
    customer_id = _PayloadText("customer_id")
    status = _PayloadText("status")
    bank_identifier = _PayloadText("bank_identifier", "``payload.bank_identifier``, e.g. ``LEAN_OF_RETAIL_UAE``.")


class PaymentSourceBeneficiaryEvent(WebhookEvent):
    """Base of the ``payment_source.beneficiary.*`` events: the payload links a
    payment source to a payment destination."""

    beneficiary_id = _PayloadText("id", "``payload.id``.")
    payment_source_id = _PayloadText("payment_source_id")
    payment_destination_id = _PayloadText("payment_destination_id")
    customer_id = _PayloadText("customer_id")
    status = _PayloadText("status", "Beneficiary status, e.g. ``ACTIVE``.")


class PaymentSourceBeneficiaryCreatedEvent(PaymentSourceBeneficiaryEvent):
    """``payment_source.beneficiary.created``."""

    event_type = "payment_source.beneficiary.created"


class PaymentSourceBeneficiaryUpdatedEvent(PaymentSourceBeneficiaryEvent):
    """``payment_source.beneficiary.updated``: payments to this destination may
    now (or no longer) be possible."""

    event_type = "payment_source.beneficiary.updated"


class BankAvailabilityUpdatedEvent(WebhookEvent):
    """``bank.availability.updated``: a bank's data/payments availability changed.

    ``payload.availability`` is ``{"active": {"payments": bool, "data": bool},
    "enabled": {...}}``."""

    event_type = "bank.availability.updated"

    bank_identifier = _PayloadText("identifier", "``payload.identifier``, e.g. ``LEA1_SAMAOB_SAU``.")


#: Event ``type`` -> class.  Anything not listed is returned as :class:`WebhookEvent`.
EVENT_TYPES: Mapping[str, type[WebhookEvent]] = MappingProxyType(
    {
        cls.event_type: cls
        for cls in (
            EntityCreatedEvent,
            EntityUpdatedEvent,
            EntityDataRefreshUpdatedEvent,
            ResultsReadyEvent,
            PaymentCreatedEvent,
            PaymentUpdatedEvent,
            PaymentIntentCreatedEvent,
            PaymentSourceCreatedEvent,
            PaymentSourceBeneficiaryCreatedEvent,
            PaymentSourceBeneficiaryUpdatedEvent,
            BankAvailabilityUpdatedEvent,
        )
        if cls.event_type is not None
    }
)


# --------------------------------------------------------------------------- signing


def _key(secret: object) -> bytes:
    if secret is None or (isinstance(secret, (str, bytes)) and not secret):
        raise WebhookSignatureError(
            "No webhook secret was given, so the webhook cannot be verified. Configure the app's webhook "
            "secret (Lean dashboard, Development -> Integration settings) for this environment.",
            reason="missing-secret",
        )
    if isinstance(secret, str):
        return secret.encode("utf-8")
    if isinstance(secret, bytes):
        return secret
    raise InvalidRequestError(f"The webhook secret must be str or bytes, not {type(secret).__name__}.")


def _body(raw_body: object) -> bytes:
    if isinstance(raw_body, bytes):
        return raw_body
    if isinstance(raw_body, (bytearray, memoryview)):
        return bytes(raw_body)
    raise InvalidRequestError(
        f"raw_body must be the request body as bytes, not {type(raw_body).__name__}: the signature covers "
        "the exact bytes Lean sent, so pass them before any decoding or JSON parsing (Django request.body, "
        "Flask request.get_data(), Starlette await request.body())."
    )


def _hmac(body: bytes, key: bytes) -> bytes:
    return hmac.new(key, body, hashlib.sha512).digest()


def sign(raw_body: WebhookBody, secret: WebhookSecret) -> str:
    """Return the ``lean-signature`` value Lean would send for ``raw_body``:
    ``sha512=<lowercase hex HMAC-SHA512>``.  For tests and Lean emulators."""
    return _PREFIX + _hmac(_body(raw_body), _key(secret)).hex()


def _decode_digest(value: str) -> bytes:
    """The 64 digest bytes from hex (any case) or base64 (standard or
    URL-safe, padded or not).  Raises ``ValueError`` otherwise."""
    if len(value) == _HEX_LENGTH and _HEX.fullmatch(value):
        return bytes.fromhex(value)
    core = value.rstrip("=")
    if len(core) == _B64_LENGTH and len(value) - len(core) in (0, 2) and _B64.fullmatch(core):
        standard = core.replace("-", "+").replace("_", "/") + "=="
        try:
            decoded = base64.b64decode(standard, validate=True)
        except binascii.Error:
            raise ValueError("not base64") from None
        if len(decoded) == _DIGEST_SIZE:
            return decoded
    raise ValueError("not a SHA-512 digest")


def _received_digest(signature_header: str | None) -> bytes:
    if signature_header is not None and not isinstance(signature_header, str):
        raise InvalidRequestError(
            f"The {SIGNATURE_HEADER} header must be passed as str, not {type(signature_header).__name__}."
        )
    value = (signature_header or "").strip()
    if not value:
        raise WebhookSignatureError(
            f"The request has no {SIGNATURE_HEADER} header (or it is empty), so it cannot be shown to come "
            "from Lean. Refuse it; if genuine Lean webhooks arrive without it, check that no proxy strips "
            "the header.",
            reason="missing-header",
        )
    labelled = _LABELLED.fullmatch(value)
    if labelled is None or labelled.group(1).lower() != "sha512":
        if labelled is not None:
            problem = f"uses algorithm {labelled.group(1)!r}"
        else:
            try:
                _decode_digest(value)
                problem = "is a bare digest without the 'sha512=' prefix, which is refused"
            except ValueError:
                problem = "does not start with 'sha512='"
        raise WebhookSignatureError(
            f"The {SIGNATURE_HEADER} header {problem}; Lean signs webhooks as 'sha512=<digest>' "
            "(HMAC-SHA512). Refuse the request.",
            reason="wrong-algorithm",
        )
    try:
        return _decode_digest(labelled.group(2).strip())
    except ValueError:
        raise WebhookSignatureError(
            f"The {SIGNATURE_HEADER} header starts with 'sha512=' but what follows is not a 64-byte digest "
            "in hex or base64. Refuse the request.",
            reason="malformed-digest",
        ) from None


# --------------------------------------------------------------------------- parsing


def _invalid_body(problem: str) -> WebhookSignatureError:
    return WebhookSignatureError(
        f"The webhook signature is valid but {problem}, so it is not a Lean webhook this SDK can read. "
        "Answer 4xx and report it to Lean support with the event's delivery time.",
        reason="invalid-body",
    )


def _optional_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None or isinstance(value, str):
        return value
    raise _invalid_body(f"its {key!r} field is a {type(value).__name__}, not a string")


def _event(body: bytes) -> WebhookEvent:
    try:
        data = json.loads(body)
    except json.JSONDecodeError as exc:
        raise _invalid_body(f"the body is not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except (ValueError, RecursionError):  # undecodable bytes, absurd nesting
        raise _invalid_body("the body is not JSON") from None
    if not isinstance(data, dict):
        raise _invalid_body(f"the body is a JSON {type(data).__name__}, not an object")
    event_type = data.get("type")
    if not isinstance(event_type, str) or not event_type:
        raise _invalid_body("the body has no 'type' string")
    payload = data.get("payload")
    if not isinstance(payload, dict):
        raise _invalid_body("its 'payload' field is missing or not an object")
    cls = EVENT_TYPES.get(event_type, WebhookEvent)
    return cls(
        type=event_type,
        message=_optional_str(data, "message") or "",
        payload=payload,
        event_id=_optional_str(data, "event_id"),
        timestamp=_optional_str(data, "timestamp"),
        raw=data,
    )


# --------------------------------------------------------------------------- entry points


def verify(raw_body: WebhookBody, signature_header: str | None, secret: WebhookSecret) -> WebhookEvent:
    """Check a webhook's ``lean-signature`` and return the event it carries.

    Args:
        raw_body: the request body exactly as received (``bytes``, or a
            ``bytearray``/``memoryview`` of them; never a decoded ``str`` or
            parsed JSON, which would not match).
        signature_header: the ``lean-signature`` header value, e.g.
            ``"sha512=3f9a..."``, or ``None`` when the header is absent.
        secret: the app's webhook secret.  A ``str`` is UTF-8 encoded;
            ``bytes`` are used as they are.  Whitespace is *not* stripped.

    The digest after ``sha512=`` may be hex (any case) or base64 (standard or
    URL-safe, padded or not): Lean does not document which it sends, hex being
    the likely one.  A digest without the ``sha512=`` prefix is refused.

    The signature says nothing about freshness: de-duplicate on
    :attr:`WebhookEvent.event_id`, since Lean redelivers an event whenever it
    did not get HTTP 200 within 10 seconds.

    Returns:
        the :data:`EVENT_TYPES` class for the event's ``type``, or
        :class:`WebhookEvent` for types this version does not know.

    Raises:
        WebhookSignatureError: missing secret or header, wrong prefix,
            malformed or wrong digest, or a validly signed body that is not a
            JSON object with a ``type`` string and a ``payload`` object.
            ``reason`` tells which.
        InvalidRequestError: ``raw_body``, the header or the secret has the
            wrong Python type (a bug in the caller, not a bad request).
    """
    body = _body(raw_body)
    key = _key(secret)
    received = _received_digest(signature_header)
    if not hmac.compare_digest(_hmac(body, key), received):
        raise WebhookSignatureError(
            f"The {SIGNATURE_HEADER} header does not match the request body. Either the webhook secret is "
            "not this app's one for this environment (copy it again from the Lean dashboard), or the body "
            "was altered after Lean signed it (verify the raw bytes before any parsing or re-encoding). "
            "Refuse the request.",
            reason="mismatch",
        )
    return _event(body)


def _find_header(headers: HeadersLike) -> str | None:
    values = {
        value.strip() if isinstance(value, str) else value
        for name, value in headers.items()
        if isinstance(name, str) and name.lower().replace("_", "-") in _HEADER_NAMES
    }
    if len(values) > 1:
        raise WebhookSignatureError(
            f"The request carries {len(values)} different {SIGNATURE_HEADER} headers; Lean sends one. "
            "Refuse the request.",
            reason="ambiguous-header",
        )
    return values.pop() if values else None


def verify_request(headers: HeadersLike, raw_body: WebhookBody, secret: WebhookSecret) -> WebhookEvent:
    """:func:`verify`, finding ``lean-signature`` in ``headers`` whatever its case.

    ``headers`` may be Django's ``request.headers`` (or ``request.META``,
    where it is ``HTTP_LEAN_SIGNATURE``), Flask/Werkzeug's or Starlette's
    ``request.headers``, or a plain dict.  Several different values for the
    header are refused (``reason="ambiguous-header"``).
    """
    return verify(raw_body, _find_header(headers), secret)
