"""Webhook signature checks and event parsing (lean_mtls.webhooks); no network."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import json
import subprocess
import sys
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import pytest

from lean_mtls.errors import InvalidRequestError, LeanError
from lean_mtls.webhooks import (
    EVENT_TYPES,
    SIGNATURE_HEADER,
    BankAvailabilityUpdatedEvent,
    EntityCreatedEvent,
    EntityDataRefreshUpdatedEvent,
    EntityUpdatedEvent,
    PaymentCreatedEvent,
    PaymentIntentCreatedEvent,
    PaymentSourceBeneficiaryCreatedEvent,
    PaymentSourceBeneficiaryUpdatedEvent,
    PaymentSourceCreatedEvent,
    PaymentUpdatedEvent,
    ResultsReadyEvent,
    WebhookEvent,
    WebhookSignatureError,
    sign,
    verify,
    verify_request,
)

SECRET = "whsec_9d1c-NEVER-PRINT-ME-7f3a"
OTHER_SECRET = "whsec_0000-some-other-app-0000"


def envelope(event_type: str, payload: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "type": event_type,
        "message": f"{event_type} happened.",
        "payload": payload,
        "event_id": "0b6d7a52-3f4e-4c1a-9d0e-5a1f2b3c4d5e",
        "timestamp": "2026-05-12T15:40:36.398576427Z",
        **extra,
    }


def encode(data: object) -> bytes:
    # Lean's own spacing, so that tests show nothing re-serialises the body.
    return json.dumps(data, indent=4).encode()


ENTITY = envelope(
    "entity.created",
    {
        "id": "ent-1",
        "customer_id": "cus-1",
        "app_user_id": "user-1",
        "permissions": ["identity", "accounts"],
        "bank_details": {"identifier": "LEAN_OF_RETAIL_UAE", "swift_code": None},
    },
)
BODY = encode(ENTITY)


def hmac_sha512(body: bytes, secret: str = SECRET) -> bytes:
    """Independent of the module under test."""
    return hmac.new(secret.encode(), body, hashlib.sha512).digest()


def header_hex(body: bytes = BODY, secret: str = SECRET) -> str:
    return "sha512=" + hmac_sha512(body, secret).hex()


def reasons_of(exc_info: pytest.ExceptionInfo[WebhookSignatureError]) -> str:
    return exc_info.value.reason


# --------------------------------------------------------------------------- valid signatures


def test_valid_hex_signature_returns_the_event() -> None:
    event = verify(BODY, header_hex(), SECRET)
    assert type(event) is EntityCreatedEvent
    assert event.type == "entity.created"
    assert event.message == "entity.created happened."
    assert event.event_id == "0b6d7a52-3f4e-4c1a-9d0e-5a1f2b3c4d5e"
    assert event.timestamp == "2026-05-12T15:40:36.398576427Z"
    assert event.payload == ENTITY["payload"]
    assert event.raw == ENTITY


def test_uppercase_hex_and_uppercase_prefix_are_accepted() -> None:
    digest = hmac_sha512(BODY).hex()
    assert verify(BODY, "sha512=" + digest.upper(), SECRET).event_id == ENTITY["event_id"]
    assert verify(BODY, "SHA512=" + digest.upper(), SECRET).event_id == ENTITY["event_id"]


@pytest.mark.parametrize("template", [" {} ", "\t{}\r\n", "sha512= {digest} ", "sha512 = {digest}"])
def test_surrounding_whitespace_is_ignored(template: str) -> None:
    digest = hmac_sha512(BODY).hex()
    value = template.format(header_hex()) if "{}" in template else template.format(digest=digest)
    assert verify(BODY, value, SECRET).type == "entity.created"


def body_with_both_alphabets() -> tuple[bytes, bytes]:
    """A body whose digest's base64 contains '+' or '/' so that the standard
    and URL-safe spellings really differ."""
    for n in range(1000):
        body = encode(envelope("results.ready", {"id": f"res-{n}"}))
        digest = hmac_sha512(body)
        if base64.b64encode(digest) != base64.urlsafe_b64encode(digest):
            return body, digest
    raise AssertionError("no suitable body found")


@pytest.mark.parametrize(
    "encoder",
    [
        base64.b64encode,
        lambda d: base64.b64encode(d).rstrip(b"="),
        base64.urlsafe_b64encode,
        lambda d: base64.urlsafe_b64encode(d).rstrip(b"="),
    ],
    ids=["standard", "standard-unpadded", "urlsafe", "urlsafe-unpadded"],
)
def test_valid_base64_signature(encoder: Callable[[bytes], bytes]) -> None:
    body, digest = body_with_both_alphabets()
    value = "sha512=" + encoder(digest).decode()
    event = verify(body, value, SECRET)
    assert isinstance(event, ResultsReadyEvent)
    # and a base64 digest of the wrong HMAC is still refused
    wrong = hmac_sha512(body, OTHER_SECRET)
    with pytest.raises(WebhookSignatureError) as exc_info:
        verify(body, "sha512=" + encoder(wrong).decode(), SECRET)
    assert exc_info.value.reason == "mismatch"


def test_sign_produces_lowercase_hex_with_prefix() -> None:
    value = sign(BODY, SECRET)
    assert value == header_hex()
    assert value.startswith("sha512=")
    digest = value[len("sha512=") :]
    assert len(digest) == 128 and digest == digest.lower()


def test_secret_as_str_or_bytes_is_equivalent() -> None:
    assert sign(BODY, SECRET) == sign(BODY, SECRET.encode())
    assert verify(BODY, sign(BODY, SECRET), SECRET.encode()).raw == ENTITY
    assert verify(BODY, sign(BODY, SECRET.encode()), SECRET).raw == ENTITY


def test_non_ascii_str_secret_is_utf8() -> None:
    secret = "clé-secrète"
    expected = "sha512=" + hmac.new(secret.encode("utf-8"), BODY, hashlib.sha512).hexdigest()
    assert sign(BODY, secret) == expected
    assert verify(BODY, expected, secret.encode("utf-8")).type == "entity.created"


def test_bytearray_and_memoryview_bodies_are_accepted() -> None:
    assert verify(bytearray(BODY), header_hex(), SECRET).raw == ENTITY
    assert verify(memoryview(BODY), header_hex(), SECRET).raw == ENTITY


def test_comparison_is_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    verify(BODY, header_hex(), SECRET)
    assert calls == [(hmac_sha512(BODY), hmac_sha512(BODY))]


# --------------------------------------------------------------------------- refused signatures


def test_tampered_body_is_refused() -> None:
    tampered = BODY.replace(b'"cus-1"', b'"cus-2"')
    assert tampered != BODY
    with pytest.raises(WebhookSignatureError) as exc_info:
        verify(tampered, header_hex(), SECRET)
    assert exc_info.value.reason == "mismatch"
    assert exc_info.value.code == "invalid-webhook-signature"


def test_reserialised_body_is_refused() -> None:
    """Verifying json.dumps(request.json) instead of the raw bytes must fail."""
    reserialised = json.dumps(json.loads(BODY)).encode()
    assert reserialised != BODY
    with pytest.raises(WebhookSignatureError) as exc_info:
        verify(reserialised, header_hex(), SECRET)
    assert exc_info.value.reason == "mismatch"


def test_wrong_secret_is_refused() -> None:
    with pytest.raises(WebhookSignatureError) as exc_info:
        verify(BODY, header_hex(secret=OTHER_SECRET), SECRET)
    assert exc_info.value.reason == "mismatch"


def test_signature_replayed_onto_another_body_is_refused() -> None:
    other = encode(envelope("payment.updated", {"id": "pay-1", "status": "ACCEPTED_BY_BANK"}))
    genuine_for_other = header_hex(other)
    assert verify(other, genuine_for_other, SECRET).type == "payment.updated"
    with pytest.raises(WebhookSignatureError) as exc_info:
        verify(BODY, genuine_for_other, SECRET)
    assert exc_info.value.reason == "mismatch"


def test_missing_header_is_refused() -> None:
    with pytest.raises(WebhookSignatureError) as exc_info:
        verify(BODY, None, SECRET)
    assert exc_info.value.reason == "missing-header"
    assert SIGNATURE_HEADER in str(exc_info.value)


@pytest.mark.parametrize("value", ["", "   ", "\t\n"])
def test_empty_header_is_refused(value: str) -> None:
    with pytest.raises(WebhookSignatureError) as exc_info:
        verify(BODY, value, SECRET)
    assert exc_info.value.reason == "missing-header"


@pytest.mark.parametrize("algorithm", ["sha256", "sha1", "md5", "sha384", "sha512hex", "hmac-sha512"])
def test_wrong_prefix_is_refused(algorithm: str) -> None:
    name = algorithm if algorithm in hashlib.algorithms_available else "sha512"
    digest = hmac.new(SECRET.encode(), BODY, name).hexdigest()
    with pytest.raises(WebhookSignatureError) as exc_info:
        verify(BODY, f"{algorithm}={digest}", SECRET)
    assert exc_info.value.reason == "wrong-algorithm"
    assert repr(algorithm) in str(exc_info.value)


@pytest.mark.parametrize(
    "value",
    [
        hmac_sha512(BODY).hex(),
        base64.b64encode(hmac_sha512(BODY)).decode(),
        base64.urlsafe_b64encode(hmac_sha512(BODY)).decode(),
    ],
    ids=["hex", "base64", "base64-urlsafe"],
)
def test_bare_correct_digest_without_prefix_is_refused(value: str) -> None:
    with pytest.raises(WebhookSignatureError) as exc_info:
        verify(BODY, value, SECRET)
    assert exc_info.value.reason == "wrong-algorithm"
    assert "bare digest" in str(exc_info.value)


def test_garbage_header_is_refused() -> None:
    with pytest.raises(WebhookSignatureError) as exc_info:
        verify(BODY, "Bearer something", SECRET)
    assert exc_info.value.reason == "wrong-algorithm"


@pytest.mark.parametrize(
    "digest",
    [
        "",
        "z" * 128,  # not hex
        hmac_sha512(BODY).hex()[:-1],  # one character short
        hmac_sha512(BODY).hex() + "0",  # one character long
        hashlib.sha256(BODY).hexdigest(),  # a SHA-256-sized digest
        base64.b64encode(hmac_sha512(BODY)[:-1]).decode(),  # 63 bytes
        base64.b64encode(hmac_sha512(BODY)).decode().rstrip("=") + "=",  # one padding char
        base64.b64encode(hmac_sha512(BODY)).decode() + "==",  # four padding chars
        "!" * 86,
        "sha512=" + hmac_sha512(BODY).hex(),  # prefix twice
        hmac_sha512(BODY).hex()[:64] + " " + hmac_sha512(BODY).hex()[64:],  # space inside
    ],
)
def test_malformed_digest_is_refused(digest: str) -> None:
    with pytest.raises(WebhookSignatureError) as exc_info:
        verify(BODY, "sha512=" + digest, SECRET)
    assert exc_info.value.reason == "malformed-digest"


@pytest.mark.parametrize("secret", [None, "", b""])
def test_missing_secret_is_refused(secret: Any) -> None:
    with pytest.raises(WebhookSignatureError) as exc_info:
        verify(BODY, header_hex(), secret)
    assert exc_info.value.reason == "missing-secret"
    with pytest.raises(WebhookSignatureError):
        sign(BODY, secret)


def test_secret_is_used_exactly_as_given() -> None:
    """A trailing newline (from a .env file, say) is part of the key: no silent strip."""
    with pytest.raises(WebhookSignatureError) as exc_info:
        verify(BODY, header_hex(), SECRET + "\n")
    assert exc_info.value.reason == "mismatch"


@pytest.mark.parametrize(
    ("body", "header", "secret"),
    [
        (BODY.decode(), header_hex(), SECRET),  # str body
        (ENTITY, header_hex(), SECRET),  # parsed body
        (BODY, header_hex().encode(), SECRET),  # bytes header
        (BODY, header_hex(), 12345),  # secret of the wrong type
    ],
    ids=["str-body", "dict-body", "bytes-header", "int-secret"],
)
def test_wrong_python_types_are_caller_bugs(body: Any, header: Any, secret: Any) -> None:
    with pytest.raises(InvalidRequestError) as exc_info:
        verify(body, header, secret)
    assert not isinstance(exc_info.value, WebhookSignatureError)
    assert SECRET not in str(exc_info.value)


# --------------------------------------------------------------------------- validly signed, unusable bodies


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b"type=entity.created&payload=1", "not JSON"),
        (b"", "not JSON"),
        (b"\xff\xfe\x00garbage", "not JSON"),
        (b'[{"type": "entity.created", "payload": {}}]', "JSON list"),
        (b'"entity.created"', "JSON str"),
        (b"null", "JSON NoneType"),
        (encode({"message": "no type", "payload": {}}), "'type'"),
        (encode({"type": 7, "payload": {}}), "'type'"),
        (encode({"type": "entity.created"}), "'payload'"),
        (encode({"type": "entity.created", "payload": ["x"]}), "'payload'"),
        (encode({"type": "entity.created", "payload": {}, "event_id": 42}), "'event_id'"),
        # Lean's dashboard delivery log wraps the body; that wrapper is not what Lean signs and sends
        (encode({"event_type": "payment.created", "request": ENTITY, "response": None}), "'type'"),
    ],
)
def test_validly_signed_body_that_is_not_an_event_is_refused(body: bytes, fragment: str) -> None:
    with pytest.raises(WebhookSignatureError) as exc_info:
        verify(body, sign(body, SECRET), SECRET)
    assert exc_info.value.reason == "invalid-body"
    assert fragment in str(exc_info.value)


def test_non_json_body_is_checked_for_signature_first() -> None:
    with pytest.raises(WebhookSignatureError) as exc_info:
        verify(b"not json", sign(b"other", SECRET), SECRET)
    assert exc_info.value.reason == "mismatch"


# --------------------------------------------------------------------------- typed events

SAMPLES: list[tuple[str, type[WebhookEvent], dict[str, Any], dict[str, str]]] = [
    (
        "entity.created",
        EntityCreatedEvent,
        {"id": "ent-1", "customer_id": "cus-1", "app_user_id": "u-1", "permissions": ["accounts"]},
        {"entity_id": "ent-1", "customer_id": "cus-1", "app_user_id": "u-1"},
    ),
    (
        "entity.updated",
        EntityUpdatedEvent,
        {"id": "ent-2", "customer_id": "cus-2", "app_user_id": "u-2"},
        {"entity_id": "ent-2", "customer_id": "cus-2", "app_user_id": "u-2"},
    ),
    (
        "entity.data.refresh.updated",
        EntityDataRefreshUpdatedEvent,
        {
            "status": "FINISHED",
            "entity_id": "ent-3",
            "refresh_id": "ref-3",
            "customer_id": "cus-3",
            "data_status": {"accounts": "OK", "account_data": [{"account_id": "acc-1", "balance": "OK"}]},
        },
        {"entity_id": "ent-3", "refresh_id": "ref-3", "customer_id": "cus-3", "status": "FINISHED"},
    ),
    ("results.ready", ResultsReadyEvent, {"id": "res-4"}, {"results_id": "res-4"}),
    (
        "payment.created",
        PaymentCreatedEvent,
        {
            "id": "pay-5",
            "amount": 25,
            "currency": "AED",
            "status": "ACCEPTED_BY_BANK",
            "intent_id": "int-5",
            "customer_id": "cus-5",
        },
        {"payment_id": "pay-5", "status": "ACCEPTED_BY_BANK", "intent_id": "int-5", "customer_id": "cus-5"},
    ),
    (
        "payment.updated",
        PaymentUpdatedEvent,
        {"id": "pay-6", "amount": 12.34, "status": "FAILED", "intent_id": "int-6", "customer_id": "cus-6"},
        {"payment_id": "pay-6", "status": "FAILED", "intent_id": "int-6", "customer_id": "cus-6"},
    ),
    (
        "payment_intent.created",
        PaymentIntentCreatedEvent,
        {"amount": 10, "currency": "AED", "status": "INTENT_CREATED", "intent_id": "int-7"},
        {"intent_id": "int-7", "status": "INTENT_CREATED"},
    ),
    (
        "payment_source.created",
        PaymentSourceCreatedEvent,
        {"id": "src-8", "status": "ACTIVE", "customer_id": "cus-8", "bank_identifier": "LEAN_OF_RETAIL_UAE"},
        {"payment_source_id": "src-8", "status": "ACTIVE", "customer_id": "cus-8"},
    ),
    (
        "payment_source.beneficiary.created",
        PaymentSourceBeneficiaryCreatedEvent,
        {
            "id": "ben-9",
            "status": "ACTIVE",
            "customer_id": "cus-9",
            "payment_source_id": "src-9",
            "payment_destination_id": "dst-9",
        },
        {
            "beneficiary_id": "ben-9",
            "status": "ACTIVE",
            "customer_id": "cus-9",
            "payment_source_id": "src-9",
            "payment_destination_id": "dst-9",
        },
    ),
    (
        "payment_source.beneficiary.updated",
        PaymentSourceBeneficiaryUpdatedEvent,
        {
            "id": "ben-10",
            "status": "ACTIVE",
            "customer_id": "cus-10",
            "payment_source_id": "src-10",
            "payment_destination_id": "dst-10",
        },
        {
            "beneficiary_id": "ben-10",
            "status": "ACTIVE",
            "payment_source_id": "src-10",
            "payment_destination_id": "dst-10",
        },
    ),
    (
        "bank.availability.updated",
        BankAvailabilityUpdatedEvent,
        {
            "identifier": "LEA1_SAMAOB_SAU",
            "availability": {"active": {"payments": True, "data": False}, "enabled": {"payments": True, "data": True}},
        },
        {"bank_identifier": "LEA1_SAMAOB_SAU"},
    ),
]


@pytest.mark.parametrize(("event_type", "cls", "payload", "properties"), SAMPLES, ids=[sample[0] for sample in SAMPLES])
def test_documented_type_parses_to_its_class(
    event_type: str, cls: type[WebhookEvent], payload: dict[str, Any], properties: dict[str, str]
) -> None:
    body = encode(envelope(event_type, payload))
    event = verify(body, sign(body, SECRET), SECRET)
    assert type(event) is cls
    assert cls.event_type == event_type
    assert event.type == event_type
    assert event.payload == payload
    for name, expected in properties.items():
        assert getattr(event, name) == expected, name


def test_registry_covers_exactly_the_documented_types() -> None:
    assert {name: cls for name, cls, _, _ in SAMPLES} == dict(EVENT_TYPES)
    with pytest.raises(TypeError):
        EVENT_TYPES["x.y"] = WebhookEvent  # type: ignore[index]


def test_results_ready_exposes_results_id() -> None:
    body = encode(
        {
            "type": "results.ready",
            "payload": {"id": "8c1f-results"},
            "message": "Your results are ready.",
            "timestamp": "2026-05-12T15:40:36Z",
        }
    )
    event = verify(body, sign(body, SECRET), SECRET)
    assert isinstance(event, ResultsReadyEvent)
    assert event.results_id == "8c1f-results"
    assert event.event_id is None  # absent in Lean's async-docs sample: allowed, not invented


def test_shortcuts_return_none_for_missing_or_non_string_fields() -> None:
    body = encode(envelope("results.ready", {"id": 12345}))
    event = verify(body, sign(body, SECRET), SECRET)
    assert isinstance(event, ResultsReadyEvent)
    assert event.results_id is None
    assert event.payload == {"id": 12345}


def test_unknown_type_passes_through_untouched() -> None:
    payload = {"id": "rec-1", "nested": {"list": [1, 2.5, None, True], "text": "ü"}, "amount": 10}
    data = envelope("payment.reconciliation.updated", payload, extra_field={"kept": True})
    body = encode(data)
    event = verify(body, sign(body, SECRET), SECRET)
    assert type(event) is WebhookEvent
    assert event.type == "payment.reconciliation.updated"
    assert event.payload == payload
    assert event.raw == data
    assert event.raw["extra_field"] == {"kept": True}


def test_event_is_frozen_and_hashable() -> None:
    event = verify(BODY, header_hex(), SECRET)
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.type = "payment.updated"  # type: ignore[misc]
    again = verify(BODY, header_hex(), SECRET)
    assert event == again
    assert len({event, again}) == 1


def test_missing_optional_envelope_fields() -> None:
    body = encode({"type": "entity.created", "payload": {"id": "ent-1"}})
    event = verify(body, sign(body, SECRET), SECRET)
    assert event.message == ""
    assert event.event_id is None
    assert event.timestamp is None
    assert event.parsed_timestamp is None


@pytest.mark.parametrize(
    ("timestamp", "expected"),
    [
        ("2026-05-12T15:40:36.398576427Z", datetime(2026, 5, 12, 15, 40, 36, 398576, tzinfo=timezone.utc)),
        ("2021-06-23T14:17:34.342847Z", datetime(2021, 6, 23, 14, 17, 34, 342847, tzinfo=timezone.utc)),
        ("2026-11-23T10:00:00.000Z", datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)),
        ("2026-11-23T10:00:00Z", datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)),
        ("2026-11-23T10:00:00", datetime(2026, 11, 23, 10, 0, tzinfo=timezone.utc)),
        ("2026-11-23T14:00:00.5+04:00", datetime(2026, 11, 23, 14, 0, 0, 500000, tzinfo=timezone(timedelta(hours=4)))),
        ("2026-11-23T06:30:00-0330", datetime(2026, 11, 23, 6, 30, tzinfo=timezone(-timedelta(hours=3, minutes=30)))),
        ("2026-13-23T10:00:00Z", None),
        ("yesterday", None),
        ("", None),
    ],
)
def test_parsed_timestamp(timestamp: str, expected: datetime | None) -> None:
    body = encode(envelope("entity.created", {"id": "e"}, timestamp=timestamp))
    event = verify(body, sign(body, SECRET), SECRET)
    assert event.timestamp == timestamp
    parsed = event.parsed_timestamp
    assert parsed == expected
    if parsed is not None:
        assert parsed.utcoffset() is not None


# --------------------------------------------------------------------------- verify_request


class CaseInsensitiveHeaders(Mapping[str, str]):
    """Like Django's request.headers / Werkzeug's Headers: lookups ignore case."""

    def __init__(self, items: dict[str, str]) -> None:
        self._items = items

    def __getitem__(self, key: str) -> str:
        for name, value in self._items.items():
            if name.lower() == key.lower():
                return value
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


@pytest.mark.parametrize(
    "name", ["lean-signature", "Lean-Signature", "LEAN-SIGNATURE", "lEaN-sIgNaTuRe", "HTTP_LEAN_SIGNATURE"]
)
@pytest.mark.parametrize("mapping", [dict, CaseInsensitiveHeaders], ids=["dict", "case-insensitive"])
def test_verify_request_finds_header_whatever_its_case(name: str, mapping: Callable[[dict[str, str]], Any]) -> None:
    headers = mapping({"Content-Type": "application/json", name: header_hex(), "X-Other": "1"})
    assert verify_request(headers, BODY, SECRET).raw == ENTITY


def test_verify_request_without_the_header() -> None:
    with pytest.raises(WebhookSignatureError) as exc_info:
        verify_request({"Content-Type": "application/json", "signature": header_hex()}, BODY, SECRET)
    assert exc_info.value.reason == "missing-header"


def test_verify_request_refuses_conflicting_duplicate_headers() -> None:
    headers = {"Lean-Signature": header_hex(), "lean-signature": header_hex(secret=OTHER_SECRET)}
    with pytest.raises(WebhookSignatureError) as exc_info:
        verify_request(headers, BODY, SECRET)
    assert exc_info.value.reason == "ambiguous-header"


def test_verify_request_accepts_identical_duplicate_headers() -> None:
    headers = {"Lean-Signature": header_hex(), "lean-signature": " " + header_hex()}
    assert verify_request(headers, BODY, SECRET).type == "entity.created"


def test_verify_request_still_checks_the_signature() -> None:
    with pytest.raises(WebhookSignatureError) as exc_info:
        verify_request({"Lean-Signature": header_hex(secret=OTHER_SECRET)}, BODY, SECRET)
    assert exc_info.value.reason == "mismatch"


# --------------------------------------------------------------------------- errors never leak


def failing_calls() -> list[tuple[str, Callable[[], object]]]:
    tampered = BODY + b" "
    not_json = b"not json"
    return [
        ("mismatch-tampered", lambda: verify(tampered, header_hex(), SECRET)),
        ("mismatch-secret", lambda: verify(BODY, header_hex(secret=OTHER_SECRET), SECRET)),
        ("missing-header", lambda: verify(BODY, None, SECRET)),
        ("wrong-algorithm", lambda: verify(BODY, "sha256=" + hmac_sha512(BODY).hex(), SECRET)),
        ("bare", lambda: verify(BODY, hmac_sha512(BODY).hex(), SECRET)),
        ("malformed", lambda: verify(BODY, "sha512=" + hmac_sha512(BODY).hex()[:-2], SECRET)),
        ("invalid-body", lambda: verify(not_json, sign(not_json, SECRET), SECRET)),
        ("ambiguous", lambda: verify_request({"lean-signature": "a", "LEAN-SIGNATURE": "b"}, BODY, SECRET)),
        ("bytes-secret", lambda: verify(tampered, header_hex(), SECRET.encode())),
        ("str-body", lambda: verify(BODY.decode(), header_hex(), SECRET)),  # type: ignore[arg-type]
    ]


@pytest.mark.parametrize(("label", "call"), failing_calls(), ids=[label for label, _ in failing_calls()])
def test_errors_never_contain_the_secret_or_expected_digest(label: str, call: Callable[[], object]) -> None:
    with pytest.raises(LeanError) as exc_info:
        call()
    exc = exc_info.value
    expected = hmac_sha512(BODY)
    tampered_expected = hmac_sha512(BODY + b" ")
    forbidden = [SECRET, repr(SECRET.encode())]
    for digest in (expected, tampered_expected):
        forbidden += [digest.hex(), digest.hex()[:16], base64.b64encode(digest).decode()[:16]]
    texts = [str(exc), repr(exc), *map(str, exc.args), exc.message]
    for text in texts:
        for secret in forbidden:
            assert secret not in text, (label, text)
    # the message must still say something useful
    assert len(str(exc)) > 40
    assert exc.__cause__ is None or SECRET not in str(exc.__cause__)


def test_signature_error_is_a_lean_error_with_a_stable_code() -> None:
    assert issubclass(WebhookSignatureError, LeanError)
    assert WebhookSignatureError.code == "invalid-webhook-signature"
    with pytest.raises(WebhookSignatureError) as exc_info:
        verify(BODY, None, SECRET)
    exc = exc_info.value
    assert exc.code == "invalid-webhook-signature"
    assert "reason='missing-header'" in repr(exc)


# --------------------------------------------------------------------------- packaging


def test_module_is_lazy_and_free_of_cryptography() -> None:
    code = (
        "import sys, lean_mtls; loaded_eagerly = 'lean_mtls.webhooks' in sys.modules; "
        "import lean_mtls.webhooks; "
        "print(loaded_eagerly, sorted(m for m in sys.modules if m.startswith('cryptography')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False []"
